package io.infermeter.alerts.internal;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * {@link Transport} over the JDK's HTTP client (HTTP/1.1, redirects not followed), with an optional
 * Authorization header. https uses the JVM's trust store ({@code -Djavax.net.ssl.trustStore=...}
 * for a private CA). Thread-safe.
 */
public final class HttpTransport implements Transport {

  private static final int MAX_BODY_CHARS = 512;

  private final HttpClient client;
  private final Duration timeout;
  private final Optional<String> authorization;

  /**
   * @param timeout connect and answer timeout of one request
   * @param authorization value of the Authorization header (a secret), or empty
   */
  public HttpTransport(Duration timeout, Optional<String> authorization) {
    this.timeout = timeout;
    this.authorization = authorization;
    this.client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(timeout)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  @Override
  public Response post(URI url, byte[] json) throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(url)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("User-Agent", "infermeter-alert-forwarder")
            .POST(HttpRequest.BodyPublishers.ofByteArray(json));
    authorization.ifPresent(a -> request.header("Authorization", a));
    HttpResponse<String> response =
        client.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    String body = response.body() == null ? "" : response.body().strip();
    return new Response(
        response.statusCode(),
        body.length() > MAX_BODY_CHARS ? body.substring(0, MAX_BODY_CHARS) + "..." : body);
  }
}
