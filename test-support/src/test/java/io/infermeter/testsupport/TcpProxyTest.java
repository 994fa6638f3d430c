package io.infermeter.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The proxy forwards both ways, refuses while down, listens on the same port when up again, delays
 * answers.
 */
class TcpProxyTest {

  private ServerSocket echo;

  @BeforeEach
  void startEchoServer() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t =
        new Thread(
            () -> {
              while (!echo.isClosed()) {
                try {
                  Socket s = echo.accept();
                  Thread c =
                      new Thread(
                          () -> {
                            try (s;
                                InputStream in = s.getInputStream();
                                OutputStream out = s.getOutputStream()) {
                              in.transferTo(out);
                            } catch (IOException e) {
                              // client gone
                            }
                          });
                  c.setDaemon(true);
                  c.start();
                } catch (IOException e) {
                  // closed
                }
              }
            });
    t.setDaemon(true);
    t.start();
  }

  @AfterEach
  void stopEchoServer() throws IOException {
    echo.close();
  }

  private static String roundTrip(int port, String text) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
      s.getOutputStream().flush();
      byte[] back = s.getInputStream().readNBytes(text.length());
      return new String(back, StandardCharsets.UTF_8);
    }
  }

  @Test
  void forwardsRefusesWhileDownAndComesBackOnTheSamePort() throws IOException {
    try (TcpProxy proxy = TcpProxy.to("127.0.0.1", echo.getLocalPort())) {
      int port = proxy.port();
      assertThat(port).isPositive().isNotEqualTo(echo.getLocalPort());
      assertThat(roundTrip(port, "hello")).isEqualTo("hello");

      proxy.down();
      assertThatThrownBy(() -> roundTrip(port, "x")).isInstanceOf(ConnectException.class);

      proxy.up();
      assertThat(proxy.port()).isEqualTo(port);
      assertThat(roundTrip(port, "again")).isEqualTo("again");
    }
  }

  @Test
  void holdsBackAnswersForTheResponseDelay() throws IOException {
    int port;
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    try (TcpProxy proxy = TcpProxy.on(port, echo.getLocalPort(), Duration.ofMillis(300))) {
      long start = System.nanoTime();
      assertThat(roundTrip(proxy.port(), "slow")).isEqualTo("slow");
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isGreaterThanOrEqualTo(Duration.ofMillis(300));
    }
  }
}
