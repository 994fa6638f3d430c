package io.infermeter.bench.capacity;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Freshness of the host-scope windows of one cluster in ClickHouse, over its HTTP interface: per
 * window, window end -> the first version's {@code ingested_at} (as the demo's RunCommand does; a
 * correction re-emitting the window is newer by design), in milliseconds.
 */
final class Freshness {

  private static final DateTimeFormatter CH_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneOffset.UTC);

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String baseUrl;
  private final String database;
  private final String cluster;
  private final long windowMs;

  Freshness(String baseUrl, String database, String cluster, long windowMs) {
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
    this.database = database;
    this.cluster = cluster;
    this.windowMs = windowMs;
  }

  /** Window end -> row visible, ms, of every host window of the cluster that ends in [from, to). */
  long[] delaysMs(Instant from, Instant to) throws IOException, InterruptedException {
    String sql =
        "SELECT dateDiff('millisecond', any(window_end), min(ingested_at)) FROM "
            + database
            + ".window_aggregates WHERE scope = 'host' AND cluster = '"
            + cluster
            + "' AND window_size_ms = "
            + windowMs
            + " AND window_end >= '"
            + CH_TIME.format(from)
            + "' AND window_end < '"
            + CH_TIME.format(to)
            + "' GROUP BY window_start, cluster, region, host, model, model_version, gpu_type";
    String[] lines = query(sql).split("\n", -1);
    long[] out = new long[lines.length];
    int n = 0;
    for (String line : lines) {
      if (!line.isBlank()) {
        out[n++] = Long.parseLong(line.trim());
      }
    }
    return java.util.Arrays.copyOf(out, n);
  }

  /** Distinct host-scope window keys (host, model, ...) of the cluster seen so far. */
  long keys() throws IOException, InterruptedException {
    String text =
        query(
            "SELECT uniqExact(region, host, model, model_version, gpu_type) FROM "
                + database
                + ".window_aggregates WHERE scope = 'host' AND cluster = '"
                + cluster
                + "' AND window_size_ms = "
                + windowMs);
    return text.isBlank() ? 0 : Long.parseLong(text.trim());
  }

  private String query(String sql) throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(
                URI.create(
                    baseUrl
                        + "?default_format=TabSeparated&query="
                        + URLEncoder.encode(sql, StandardCharsets.UTF_8)))
            .timeout(Duration.ofSeconds(60))
            .GET()
            .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException(
          "ClickHouse answered " + response.statusCode() + ": " + response.body());
    }
    return response.body();
  }
}
