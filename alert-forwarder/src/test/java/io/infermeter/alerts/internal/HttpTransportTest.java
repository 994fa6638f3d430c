package io.infermeter.alerts.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The JDK HTTP client transport against a local JDK HTTP server: headers, body, status, no
 * redirects, timeouts.
 */
class HttpTransportTest {

  private HttpServer server;
  private final List<String> seen = new CopyOnWriteArrayList<>();

  @BeforeEach
  void serve() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/api/v2/alerts",
        ex -> {
          seen.add(
              ex.getRequestMethod()
                  + " "
                  + ex.getRequestHeaders().getFirst("Content-Type")
                  + " "
                  + ex.getRequestHeaders().getFirst("Authorization")
                  + " "
                  + new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          byte[] body = "x".repeat(2000).getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(400, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    server.createContext(
        "/moved/api/v2/alerts",
        ex -> {
          ex.getResponseHeaders().set("Location", "/api/v2/alerts");
          ex.sendResponseHeaders(307, -1);
          ex.close();
        });
    server.createContext(
        "/slow/api/v2/alerts",
        ex -> {
          try {
            Thread.sleep(3000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          ex.sendResponseHeaders(200, -1);
          ex.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
  }

  @Test
  void postsJsonWithTheAuthorizationHeaderAndTruncatesLongAnswers() throws Exception {
    HttpTransport t = new HttpTransport(Duration.ofSeconds(5), Optional.of("Bearer abc"));
    Transport.Response r = t.post(uri("/api/v2/alerts"), "[]".getBytes(StandardCharsets.UTF_8));
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.body()).hasSize(515).endsWith("...");
    assertThat(seen).containsExactly("POST application/json Bearer abc []");
  }

  @Test
  void withoutCredentialsNoAuthorizationHeaderIsSent() throws Exception {
    new HttpTransport(Duration.ofSeconds(5), Optional.empty())
        .post(uri("/api/v2/alerts"), new byte[] {'[', ']'});
    assertThat(seen).containsExactly("POST application/json null []");
  }

  @Test
  void redirectsAreNotFollowed() throws Exception {
    Transport.Response r =
        new HttpTransport(Duration.ofSeconds(5), Optional.of("Bearer abc"))
            .post(uri("/moved/api/v2/alerts"), new byte[] {'[', ']'});
    assertThat(r.status()).isEqualTo(307);
    assertThat(seen).isEmpty(); // the credentials never went to the redirect target
  }

  @Test
  void aSlowAnswerOrAClosedPortIsAnIOException() throws Exception {
    HttpTransport t = new HttpTransport(Duration.ofMillis(300), Optional.empty());
    assertThatThrownBy(() -> t.post(uri("/slow/api/v2/alerts"), new byte[] {'[', ']'}))
        .isInstanceOf(IOException.class);
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    assertThatThrownBy(
            () -> t.post(URI.create("http://127.0.0.1:" + closed + "/api/v2/alerts"), new byte[0]))
        .isInstanceOf(IOException.class);
  }
}
