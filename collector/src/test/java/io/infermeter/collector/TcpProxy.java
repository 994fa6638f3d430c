package io.infermeter.collector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP forwarder for outage tests: clients connect to {@link #port()}, bytes go to and from the target.
 * {@link #pause()} closes the listening socket and every open connection (the "broker" becomes unreachable: new
 * connections are refused); {@link #resume()} listens again on the same port. With a response delay, every byte the
 * target sends reaches the client that much later (a slow server: requests arrive at once, answers late).
 */
final class TcpProxy implements AutoCloseable {

  private final int port;
  private final int targetPort;
  private final long responseDelayNanos;
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private volatile ServerSocket server;

  TcpProxy(int port, int targetPort) throws IOException {
    this(port, targetPort, java.time.Duration.ZERO);
  }

  /** A proxy that holds back every chunk of the target's answers for {@code responseDelay}. */
  TcpProxy(int port, int targetPort, java.time.Duration responseDelay) throws IOException {
    this.port = port;
    this.targetPort = targetPort;
    this.responseDelayNanos = responseDelay.toNanos();
    resume();
  }

  int port() {
    return port;
  }

  synchronized void resume() throws IOException {
    if (server != null) {
      return;
    }
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress("127.0.0.1", port));
    server = s;
    Thread t = new Thread(() -> acceptLoop(s), "proxy-accept-" + port);
    t.setDaemon(true);
    t.start();
  }

  synchronized void pause() throws IOException {
    ServerSocket s = server;
    server = null;
    if (s != null) {
      s.close();
    }
    for (Socket c : open) {
      try {
        c.close();
      } catch (IOException ignored) {
        // closing is all we want
      }
    }
    open.clear();
  }

  private void acceptLoop(ServerSocket s) {
    while (!s.isClosed()) {
      try {
        Socket client = s.accept();
        Socket upstream = new Socket("127.0.0.1", targetPort);
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
        open.add(client);
        open.add(upstream);
        pump(client, upstream);
        if (responseDelayNanos > 0) {
          delayedPump(upstream, client);
        } else {
          pump(upstream, client);
        }
      } catch (IOException e) {
        // the listening socket was closed (pause) or the target refused: keep going / exit on close
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[65536];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException ignored) {
        // connection closed by either side or by pause()
      } finally {
        try {
          from.close();
          to.close();
        } catch (IOException ignored) {
          // already closed
        }
      }
    }, "proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  /** A chunk of the target's answer and when it may be passed on. */
  private record Held(long dueNanos, byte[] bytes) {}

  /** As {@link #pump}, passing each chunk on {@link #responseDelayNanos} after it arrived, in order. */
  private void delayedPump(Socket from, Socket to) {
    java.util.concurrent.BlockingQueue<Held> held = new java.util.concurrent.LinkedBlockingQueue<>();
    Held end = new Held(0, null);
    Thread reader = new Thread(() -> {
      byte[] buf = new byte[65536];
      try (InputStream in = from.getInputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          held.add(new Held(System.nanoTime() + responseDelayNanos, java.util.Arrays.copyOf(buf, n)));
        }
      } catch (IOException ignored) {
        // connection closed by either side or by pause()
      } finally {
        held.add(end);
      }
    }, "proxy-delay-read");
    Thread writer = new Thread(() -> {
      try (OutputStream out = to.getOutputStream()) {
        for (Held h = held.take(); h != end; h = held.take()) {
          long wait = h.dueNanos() - System.nanoTime();
          if (wait > 0) {
            java.util.concurrent.TimeUnit.NANOSECONDS.sleep(wait);
          }
          out.write(h.bytes());
          out.flush();
        }
      } catch (IOException | InterruptedException ignored) {
        // closed, or the test is over
      } finally {
        try {
          from.close();
          to.close();
        } catch (IOException ignored) {
          // already closed
        }
      }
    }, "proxy-delay-write");
    reader.setDaemon(true);
    writer.setDaemon(true);
    reader.start();
    writer.start();
  }

  @Override
  public void close() throws IOException {
    pause();
  }
}
