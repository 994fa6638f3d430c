package io.infermeter.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Replays recorded request events from a file through a running collector instead of the simulator:
 * each line is either one request in the collector's JSON-lines format (posted in batches to {@code
 * /v1/requests}) or one OTLP {@code ExportTraceServiceRequest} in OTLP/JSON (posted as is to {@code
 * /v1/traces}); lines of both kinds may be mixed, blank lines and lines starting with {@code #} are
 * skipped. JSON lines without a {@code source} field are labelled {@code source=replay} by adding
 * it. The collector's answer for a rejected line (400) is printed and counted; the rest of its
 * batch is kept, as the collector does.
 */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description =
        "Replay recorded request events (JSON lines or OTLP/JSON, one per line) through the collector.")
final class ReplayCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      description =
          "File of recorded requests: JSON lines and/or OTLP/JSON requests, one per line.")
  Path file;

  @Option(
      names = "--collector",
      defaultValue = "http://127.0.0.1:4318",
      description = "Collector base URL (default: ${DEFAULT-VALUE}).")
  String collectorUrl;

  @Option(
      names = "--batch",
      defaultValue = "500",
      description = "JSON lines per post (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(
      names = "--database",
      defaultValue = "infermeter",
      description = "ClickHouse database of the sink, for the summary (default: ${DEFAULT-VALUE}).")
  String database;

  @Option(names = "--no-summary", description = "Do not print the summary from ClickHouse.")
  boolean noSummary;

  long postedLines;
  long acceptedLines;
  long rejectedPosts;

  @Override
  public Integer call() throws Exception {
    if (!Files.isReadable(file)) {
      System.err.println("cannot read " + file);
      return 2;
    }
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    List<String> batch = new ArrayList<>();
    long lineNo = 0;
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      while ((line = in.readLine()) != null) {
        lineNo++;
        String trimmed = line.strip();
        if (trimmed.isEmpty() || trimmed.startsWith("#")) {
          continue;
        }
        if (isOtlp(trimmed)) {
          post(http, "/v1/traces", "application/json", trimmed, 1, "line " + lineNo);
        } else {
          batch.add(labelled(trimmed));
          if (batch.size() >= batchSize) {
            flush(http, batch, lineNo);
          }
        }
      }
    }
    flush(http, batch, lineNo);
    System.out.printf(
        "replayed %s: %,d items posted, %,d accepted by the collector, %,d posts with rejects%n",
        file, postedLines, acceptedLines, rejectedPosts);
    if (!noSummary) {
      DemoEnvironment env = DemoEnvironment.resolve();
      try (Connection ch = DriverManager.getConnection(env.clickhouseJdbcUrl(), "default", "")) {
        System.out.println(
            "(the streams app emits a window once event time has passed its end; recorded data whose "
                + "last windows are still open shows up when newer events arrive)");
        new Summary(ch, database)
            .print(
                "1970-01-01 00:00:00",
                "2100-01-01 00:00:00",
                collectorUrl,
                env.clickhouseJdbcUrl());
      }
    }
    return rejectedPosts == 0 ? 0 : 1;
  }

  /** One OTLP/JSON export request per line: its top-level key is resourceSpans. */
  static boolean isOtlp(String line) {
    int key = line.indexOf('"');
    return line.startsWith("{") && key > 0 && line.startsWith("\"resourceSpans\"", key);
  }

  /**
   * Adds {@code "source":"replay"} to a JSON-lines request that does not say where it came from.
   */
  static String labelled(String line) {
    if (line.contains("\"source\"") || !line.startsWith("{")) {
      return line;
    }
    String rest = line.substring(1).strip();
    return rest.startsWith("}") ? "{\"source\":\"replay\"}" : "{\"source\":\"replay\"," + rest;
  }

  private void flush(HttpClient http, List<String> batch, long lineNo)
      throws IOException, InterruptedException {
    if (!batch.isEmpty()) {
      post(
          http,
          "/v1/requests",
          "application/x-ndjson",
          String.join("\n", batch),
          batch.size(),
          "lines up to " + lineNo);
      batch.clear();
    }
  }

  private void post(
      HttpClient http, String path, String contentType, String body, int items, String where)
      throws IOException, InterruptedException {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(collectorUrl + path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    postedLines += items;
    if (response.statusCode() == 200) {
      acceptedLines += items;
    } else {
      rejectedPosts++;
      System.err.printf(
          "collector answered %d for %s (%s): %s%n",
          response.statusCode(), path, where, response.body().lines().limit(5).toList());
    }
  }
}
