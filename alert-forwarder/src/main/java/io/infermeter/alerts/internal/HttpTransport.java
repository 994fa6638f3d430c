package io.infermeter.alerts.internal;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** {@link Transport} over the JDK's HTTP client (HTTP/1.1; Alertmanager serves plain HTTP/1.1). Thread-safe. */
public final class HttpTransport implements Transport {

  private static final int MAX_BODY_CHARS = 512;

  private final HttpClient client;
  private final Duration timeout;

  public HttpTransport(Duration timeout) {
    this.timeout = timeout;
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout)
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  @Override
  public Response post(URI url, byte[] json) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout)
        .header("Content-Type", "application/json")
        .header("User-Agent", "infermeter-alert-forwarder")
        .POST(HttpRequest.BodyPublishers.ofByteArray(json)).build();
    HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    String body = response.body() == null ? "" : response.body().strip();
    return new Response(response.statusCode(),
        body.length() > MAX_BODY_CHARS ? body.substring(0, MAX_BODY_CHARS) + "..." : body);
  }
}
