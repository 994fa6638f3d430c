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
 * connections are refused); {@link #resume()} listens again on the same port.
 */
final class TcpProxy implements AutoCloseable {

  private final int port;
  private final int targetPort;
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private volatile ServerSocket server;

  TcpProxy(int port, int targetPort) throws IOException {
    this.port = port;
    this.targetPort = targetPort;
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
        pump(upstream, client);
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

  @Override
  public void close() throws IOException {
    pause();
  }
}
