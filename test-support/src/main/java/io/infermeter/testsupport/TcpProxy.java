package io.infermeter.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A TCP forwarder on 127.0.0.1 in front of a real server, for outage and slow-server tests: clients
 * connect to {@link #port()}, bytes go to and from the target. {@link #down()} closes the listening
 * socket and every open connection (the server becomes unreachable: new connections are refused);
 * {@link #up()} listens again on the same port. With a response delay every chunk the target sends
 * reaches the client that much later (a slow server: requests arrive at once, answers late).
 *
 * <p>Thread-safe: {@link #down()} and {@link #up()} may be called from any thread; each connection
 * is pumped by daemon threads of its own.
 */
public final class TcpProxy implements AutoCloseable {

  private final String targetHost;
  private final int targetPort;
  private final long responseDelayNanos;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile ServerSocket server;
  private Thread acceptor;
  private volatile int port;

  private TcpProxy(int port, String targetHost, int targetPort, Duration responseDelay)
      throws IOException {
    this.port = port;
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.responseDelayNanos = responseDelay.toNanos();
    up();
  }

  /**
   * A proxy on a free port in front of {@code targetHost:targetPort}; {@link #port()} says which.
   */
  public static TcpProxy to(String targetHost, int targetPort) throws IOException {
    return new TcpProxy(0, targetHost, targetPort, Duration.ZERO);
  }

  /**
   * A proxy on a given port (a broker that must advertise it before the proxy starts) in front of
   * {@code 127.0.0.1:targetPort}, holding back every chunk of the target's answers for {@code
   * responseDelay} ({@link Duration#ZERO} for none).
   */
  public static TcpProxy on(int port, int targetPort, Duration responseDelay) throws IOException {
    return new TcpProxy(port, "127.0.0.1", targetPort, responseDelay);
  }

  /** The port clients connect to; the same after {@link #down()} and {@link #up()}. */
  public int port() {
    return port;
  }

  /** Listens (again) on {@link #port()}; does nothing while up. */
  public synchronized void up() throws IOException {
    if (server != null) {
      return;
    }
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    port = s.getLocalPort();
    server = s;
    acceptor = new Thread(() -> accept(s), "tcp-proxy-accept-" + port);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Closes the listening socket and every open connection; does nothing while down. */
  public synchronized void down() throws IOException {
    ServerSocket s = server;
    server = null;
    if (s != null) {
      s.close();
      // until the thread blocked in accept() has left it, a connect can still be accepted and then
      // closed (EOF) rather than refused: TcpProxyTest saw that in 1 of 4 runs
      try {
        acceptor.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (Socket socket : open) {
      closeQuietly(socket);
    }
  }

  private void accept(ServerSocket s) {
    while (!s.isClosed()) {
      try {
        Socket client = s.accept();
        Socket upstream = new Socket(targetHost, targetPort);
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
        open.add(client);
        open.add(upstream);
        pipe(client, upstream);
        if (responseDelayNanos > 0) {
          delayedPipe(upstream, client);
        } else {
          pipe(upstream, client);
        }
      } catch (IOException e) {
        // closed by down(), or the target refused: the client sees its connection fail
      }
    }
  }

  private void pipe(Socket from, Socket to) {
    Thread t =
        new Thread(
            () -> {
              byte[] buffer = new byte[64 * 1024];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                  out.write(buffer, 0, n);
                  out.flush();
                }
              } catch (IOException e) {
                // connection closed by either side or by down()
              } finally {
                closeQuietly(from);
                closeQuietly(to);
              }
            },
            "tcp-proxy-pipe");
    t.setDaemon(true);
    t.start();
  }

  /** A chunk of the target's answer and when it may be passed on; no bytes: the end marker. */
  private record Held(long dueNanos, byte[] bytes) {

    boolean isEnd() {
      return bytes == null;
    }
  }

  /**
   * As {@link #pipe}, passing each chunk on {@link #responseDelayNanos} after it arrived, in order.
   */
  private void delayedPipe(Socket from, Socket to) {
    BlockingQueue<Held> held = new LinkedBlockingQueue<>();
    Held end = new Held(0, null);
    Thread reader =
        new Thread(
            () -> {
              byte[] buffer = new byte[64 * 1024];
              try (InputStream in = from.getInputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                  held.add(
                      new Held(System.nanoTime() + responseDelayNanos, Arrays.copyOf(buffer, n)));
                }
              } catch (IOException e) {
                // connection closed by either side or by down()
              } finally {
                held.add(end);
              }
            },
            "tcp-proxy-delay-read");
    Thread writer =
        new Thread(
            () -> {
              try (OutputStream out = to.getOutputStream()) {
                for (Held h = held.take(); !h.isEnd(); h = held.take()) {
                  long wait = h.dueNanos() - System.nanoTime();
                  if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                  }
                  out.write(h.bytes());
                  out.flush();
                }
              } catch (IOException e) {
                // closed
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } finally {
                closeQuietly(from);
                closeQuietly(to);
              }
            },
            "tcp-proxy-delay-write");
    reader.setDaemon(true);
    writer.setDaemon(true);
    reader.start();
    writer.start();
  }

  private void closeQuietly(Socket s) {
    open.remove(s);
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    down();
  }
}
