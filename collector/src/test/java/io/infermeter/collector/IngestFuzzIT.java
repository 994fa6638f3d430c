package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.zip.GZIPOutputStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fuzz and abuse suite of the collector's door, against the real local Kafka and schema
 * registry: random protobuf bytes as OTLP, random and byte-flipped JSON lines, deeply nested JSON,
 * absurd numbers, non-UTF-8 text, request smuggling and broken chunking on a raw socket,
 * interleaved with valid requests.
 *
 * <p>What must hold: every hostile request gets a 4xx (or a 200 where the mutation happens to be
 * valid), never a 5xx and never a hang; the collector still answers afterwards; and the counts are
 * conserved: every valid request sent reaches Kafka exactly once, and the topic holds exactly the
 * events the collector counted as received.
 */
class IngestFuzzIT {

  private static final int VALID_BATCHES = 20;
  private static final int VALID_PER_BATCH = 10;

  @TempDir Path spool;

  private final Map<Integer, Integer> statusCounts = new HashMap<>();

  @Test
  void hostileInputEndsInFourHundredsAndTheValidRequestsAreCountedExactlyOnce() throws Exception {
    String prefix = Infra.uniqueName("fuzz") + "-";
    String requests = Topics.REQUESTS.withPrefix(prefix).name();
    ItSupport.createTopics(
        Infra.get().kafkaBootstrap(),
        requests,
        Topics.HARDWARE.withPrefix(prefix).name(),
        Topics.DEAD_LETTERS.withPrefix(prefix).name());
    Map<String, Object> cfg = CollectorIT.baseConfig(prefix, spool);
    cfg.put("sampling.enabled", "false");
    Random random = new Random(20261206L);
    Set<String> validIds = new HashSet<>();
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      int port = collector.httpPort();
      long now = System.currentTimeMillis() * 1000L;
      List<String> template = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        template.add(validLine("tmpl-" + i, now - 3_000_000L));
      }

      for (int batch = 0; batch < VALID_BATCHES; batch++) {
        // one valid batch: must be answered 200 and counted once each
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < VALID_PER_BATCH; i++) {
          String id = "valid-" + batch + "-" + i;
          validIds.add(id);
          body.append(validLine(id, now - 2_000_000L)).append('\n');
        }
        assertThat(
                post(
                        http,
                        port,
                        "/v1/requests",
                        "application/x-ndjson",
                        body.toString().getBytes(StandardCharsets.UTF_8))
                    .statusCode())
            .as("valid batch %d", batch)
            .isEqualTo(200);

        // random protobuf bytes as an OTLP export
        byte[] junk = new byte[1 + random.nextInt(4096)];
        random.nextBytes(junk);
        expectClientOutcome(
            post(http, port, "/v1/traces", "application/x-protobuf", junk), "random protobuf");
        // random bytes as JSON lines and as OTLP/JSON
        random.nextBytes(junk);
        expectClientOutcome(
            post(http, port, "/v1/requests", "application/x-ndjson", junk), "random jsonl");
        expectClientOutcome(
            post(http, port, "/v1/traces", "application/json", junk), "random otlp json");
        // byte-flipped valid lines: some may stay valid (200), the rest are rejected per line
        byte[] line =
            template.get(random.nextInt(template.size())).getBytes(StandardCharsets.UTF_8);
        for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
          line[random.nextInt(line.length)] = (byte) random.nextInt(256);
        }
        expectClientOutcome(
            post(http, port, "/v1/requests", "application/x-ndjson", line), "mutated line");
      }

      // deeply nested JSON, in a field value and as OTLP/JSON
      String nested = "[".repeat(200_000);
      assertThat(
              post(
                      http,
                      port,
                      "/v1/requests",
                      "application/x-ndjson",
                      ("{\"model\":\"m\",\"attributes\":" + nested + "}")
                          .getBytes(StandardCharsets.UTF_8))
                  .statusCode())
          .isEqualTo(400);
      assertThat(
              post(
                      http,
                      port,
                      "/v1/traces",
                      "application/json",
                      ("{\"resourceSpans\":" + nested).getBytes(StandardCharsets.UTF_8))
                  .statusCode())
          .isEqualTo(400);
      // absurd numbers: each line must be rejected, not clamped into the numbers
      String a = Long.toString(now - 1_000_000L);
      for (String absurd :
          List.of(
              "{\"model\":\"m\",\"arrivalUs\":" + a + ",\"e2eUs\":1e308}",
              "{\"model\":\"m\",\"arrivalUs\":" + a + ",\"e2eUs\":-5}",
              "{\"model\":\"m\",\"arrivalUs\":" + a + ",\"e2eUs\":99999999999999999999999999}",
              "{\"model\":\"m\",\"arrivalUs\":" + a + ",\"e2eUs\":NaN}",
              "{\"model\":\"m\",\"arrivalUs\":" + a + ",\"e2eUs\":9000,\"outputTokens\":-1}",
              "{\"model\":\"m\",\"arrivalUs\":-1,\"e2eUs\":9000}",
              "{\"model\":\"m\",\"arrivalUs\":"
                  + a
                  + ",\"scheduledUs\":"
                  + (now + 5_000_000L)
                  + ",\"e2eUs\":9000}")) {
        HttpResponse<String> r =
            post(
                http,
                port,
                "/v1/requests",
                "application/x-ndjson",
                absurd.getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(absurd).isEqualTo(400);
      }
      // non-UTF-8 bytes in a dimension
      byte[] latin1 =
          ("{\"model\":\"caf\u00e9\",\"arrivalUs\":" + a + ",\"e2eUs\":9000}")
              .getBytes(StandardCharsets.ISO_8859_1);
      assertThat(post(http, port, "/v1/requests", "application/x-ndjson", latin1).statusCode())
          .isEqualTo(400);
      // a gzip body that is not gzip
      assertThat(
              http.send(
                      HttpRequest.newBuilder(
                              URI.create("http://127.0.0.1:" + port + "/v1/requests"))
                          .header("Content-Type", "application/x-ndjson")
                          .header("Content-Encoding", "gzip")
                          .POST(
                              HttpRequest.BodyPublishers.ofByteArray(
                                  new byte[] {1, 2, 3, 4, 5, 6, 7, 8}))
                          .build(),
                      HttpResponse.BodyHandlers.ofString())
                  .statusCode())
          .isEqualTo(400);

      // smuggling and broken chunking on a raw socket: refused, connection closed
      assertThat(
              raw(
                  port,
                  "POST /v1/requests HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
          .startsWith("HTTP/1.1 400");
      assertThat(
              raw(
                  port,
                  "POST /v1/requests HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + "zz\r\nabc\r\n0\r\n\r\n"))
          .startsWith("HTTP/1.1 400");
      assertThat(
              raw(
                  port,
                  "POST /v1/requests HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
                      + "ab"))
          .startsWith("HTTP/1.1 400");
      assertThat(raw(port, "\u0001\u0002garbage\r\n\r\n")).startsWith("HTTP/1.1 400");

      // still answering: a last valid gzip batch and the health endpoint
      validIds.add("valid-last");
      assertThat(
              post(
                      http,
                      port,
                      "/v1/requests",
                      "application/x-ndjson",
                      gzip(validLine("valid-last", now - 1_000_000L)),
                      "gzip")
                  .statusCode())
          .isEqualTo(200);
      assertThat(
              http.send(
                      HttpRequest.newBuilder(
                              URI.create(
                                  "http://127.0.0.1:" + collector.metricsPort() + "/-/healthy"))
                          .build(),
                      HttpResponse.BodyHandlers.ofString())
                  .statusCode())
          .isEqualTo(200);
      assertThat(statusCounts.keySet())
          .as("status codes seen (code -> count): %s", statusCounts)
          .allMatch(code -> code == 200 || (code >= 400 && code < 500))
          .contains(400);
      assertThat(statusCounts.get(400))
          .as("hostile requests refused")
          .isGreaterThan(3 * VALID_BATCHES);

      // conservation: the topic holds exactly what was counted as received, and every valid request
      // once
      long received =
          Math.round(
              collector.metrics().receivedCount("jsonl")
                  + collector.metrics().receivedCount("otlp"));
      List<ConsumerRecord<String, RequestEvent>> out =
          ItSupport.readUntil(
              requests,
              RequestEvent.class,
              Duration.ofSeconds(60),
              recs -> recs.size() >= received);
      assertThat(out).hasSize((int) received);
      Map<String, Integer> perValidId = new HashMap<>();
      for (ConsumerRecord<String, RequestEvent> r : out) {
        String id = r.value().getRequestId() == null ? null : r.value().getRequestId().toString();
        if (id != null && validIds.contains(id)) {
          perValidId.merge(id, 1, Integer::sum);
        }
      }
      assertThat(perValidId).hasSize(validIds.size());
      assertThat(perValidId.values()).allMatch(n -> n == 1);
    }
  }

  private static String validLine(String requestId, long arrivalUs) {
    return "{\"requestId\":\""
        + requestId
        + "\",\"model\":\"fuzz-model\",\"arrivalUs\":"
        + arrivalUs
        + ",\"ttftUs\":120000,\"e2eUs\":900000,\"inputTokens\":64,\"outputTokens\":32}";
  }

  private void expectClientOutcome(HttpResponse<String> r, String what) {
    statusCounts.merge(r.statusCode(), 1, Integer::sum);
    assertThat(r.statusCode())
        .as("%s answered %s: %s", what, r.statusCode(), r.body())
        .satisfiesAnyOf(c -> assertThat(c).isEqualTo(200), c -> assertThat(c).isBetween(400, 499));
  }

  private HttpResponse<String> post(
      HttpClient http, int port, String path, String type, byte[] body) throws Exception {
    return post(http, port, path, type, body, null);
  }

  private HttpResponse<String> post(
      HttpClient http, int port, String path, String type, byte[] body, String encoding)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", type)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (encoding != null) {
      b.header("Content-Encoding", encoding);
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    statusCounts.merge(r.statusCode(), 1, Integer::sum);
    return r;
  }

  /** Sends raw bytes and returns everything the server answered until it closed (or 5 s passed). */
  private static String raw(int port, String request) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
      s.setSoTimeout(5_000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      int n;
      while ((n = in.read(buf)) >= 0) { // the server must close: a read timeout fails the test
        answer.write(buf, 0, n);
      }
      return answer.toString(StandardCharsets.ISO_8859_1);
    }
  }

  private static byte[] gzip(String s) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
      gz.write(s.getBytes(StandardCharsets.UTF_8));
    }
    return bytes.toByteArray();
  }
}
