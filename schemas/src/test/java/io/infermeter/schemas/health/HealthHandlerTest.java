package io.infermeter.schemas.health;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Unit tests: the health endpoints over a real JDK HTTP server on a loopback port. */
class HealthHandlerTest {

  private final AtomicReference<String> reason = new AtomicReference<>("starting");
  private final HttpClient client = HttpClient.newHttpClient();
  private HttpServer server;

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", new HealthHandler(reason::get));
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private HttpResponse<String> send(String method, String path) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    return client.send(
        HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void readyFollowsTheReadinessSupplier() throws Exception {
    HttpResponse<String> notReady = send("GET", "/-/ready");
    assertThat(notReady.statusCode()).isEqualTo(503);
    assertThat(notReady.body()).isEqualTo("not ready: starting\n");
    assertThat(notReady.headers().firstValue("Cache-Control")).hasValue("no-store");
    reason.set(null);
    HttpResponse<String> ready = send("GET", "/-/ready");
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(ready.body()).isEqualTo("ready\n");
  }

  @Test
  void healthyAnswersWhateverTheReadiness() throws Exception {
    assertThat(send("GET", "/-/healthy").statusCode()).isEqualTo(200);
    assertThat(send("HEAD", "/-/ready").statusCode()).isEqualTo(503);
  }

  @Test
  void aThrowingOrMultiLineReadinessIsNotReadyOnOneLine() throws Exception {
    server.removeContext("/");
    server.createContext(
        "/",
        new HealthHandler(
            () -> {
              throw new IllegalStateException("broken\nsecond line");
            }));
    HttpResponse<String> r = send("GET", "/-/ready");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body())
        .startsWith("not ready: readiness check failed")
        .endsWith("second line\n")
        .containsOnlyOnce("\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "/-/ready/", "/-/readyz", "/-/", "/../-/ready", "/-/ready%00"})
  void otherPathsAreNotFound(String path) throws Exception {
    assertThat(send("GET", path).statusCode()).isEqualTo(404);
  }

  @ParameterizedTest
  @ValueSource(strings = {"POST", "PUT", "DELETE"})
  void otherMethodsAreRefused(String method) throws Exception {
    HttpResponse<String> r = send(method, "/-/ready");
    assertThat(r.statusCode()).isEqualTo(405);
    assertThat(r.headers().firstValue("Allow")).hasValue("GET, HEAD");
  }
}
