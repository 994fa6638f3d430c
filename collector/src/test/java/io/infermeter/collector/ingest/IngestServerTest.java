package io.infermeter.collector.ingest;

import static io.infermeter.collector.ingest.JsonLinesParserTest.DEFAULTS;
import static io.infermeter.collector.ingest.JsonLinesParserTest.NOW_US;
import static io.infermeter.collector.ingest.JsonLinesParserTest.VALIDATOR;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.delivery.AvroBinary;
import io.infermeter.collector.ingest.otlp.OtlpFixtures;
import io.infermeter.collector.support.CollectorMetrics;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IngestServerTest {

  static final long A = NOW_US - 5_000_000L;
  private final List<RequestEvent> accepted = new CopyOnWriteArrayList<>();
  private final List<DeadLetter> deadLetters = new CopyOnWriteArrayList<>();
  private final CollectorMetrics metrics = new CollectorMetrics();
  private final HttpClient http = HttpClient.newHttpClient();
  private IngestServer server;

  @BeforeEach
  void start() throws Exception {
    server =
        new IngestServer(
            "127.0.0.1",
            0,
            2,
            4096,
            Optional.of("tok"),
            DEFAULTS,
            VALIDATOR,
            accepted::add,
            deadLetters::add,
            metrics);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<String> post(
      String path, byte[] body, String contentType, String encoding, String token)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .header("Content-Type", contentType)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (encoding != null) {
      b.header("Content-Encoding", encoding);
    }
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<byte[]> postBytes(String path, byte[] body, String contentType)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .header("Content-Type", contentType)
            .header("Authorization", "Bearer tok")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  /**
   * OTLP JSON in, OTLP JSON out: a partly rejected batch answers partialSuccess, a wholly rejected
   * one a Status.
   */
  @Test
  void otlpJsonPartialSuccessAndStatus() throws Exception {
    long startNs = A * 1000;
    var bad =
        OtlpFixtures.vllmSpan(startNs, "bad-j")
            .addAttributes(OtlpFixtures.dbl("gen_ai.latency.time_in_queue", -1))
            .build();
    // proto3 JSON writes ids in base64, OTLP/JSON in hex
    java.util.function.Function<
            io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest, String>
        printer =
            req -> {
              try {
                return com.google.protobuf.util.JsonFormat.printer()
                    .omittingInsignificantWhitespace()
                    .print(req)
                    .replaceAll(
                        "\"traceId\":\"[^\"]*\"", "\"traceId\":\"" + OtlpFixtures.TRACE_ID + "\"")
                    .replaceAll(
                        "\"spanId\":\"[^\"]*\"", "\"spanId\":\"" + OtlpFixtures.SPAN_ID + "\"");
              } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new AssertionError(e);
              }
            };
    String both =
        printer.apply(OtlpFixtures.request(OtlpFixtures.vllmSpan(startNs, "good-j").build(), bad));
    HttpResponse<String> r =
        post("/v1/traces", both.getBytes(StandardCharsets.UTF_8), "application/json", null, "tok");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    var partial = io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse.newBuilder();
    com.google.protobuf.util.JsonFormat.parser().merge(r.body(), partial);
    assertThat(partial.getPartialSuccess().getRejectedSpans()).isEqualTo(1);
    assertThat(partial.getPartialSuccess().getErrorMessage()).contains("negative_duration");

    String onlyBad = printer.apply(OtlpFixtures.request(bad));
    HttpResponse<String> r2 =
        post(
            "/v1/traces",
            onlyBad.getBytes(StandardCharsets.UTF_8),
            "application/json",
            null,
            "tok");
    assertThat(r2.statusCode()).isEqualTo(400);
    var status = com.google.rpc.Status.newBuilder();
    com.google.protobuf.util.JsonFormat.parser().merge(r2.body(), status);
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT.value());
    assertThat(status.getMessage()).contains("rejected 1 of 1");
    assertThat(accepted).extracting(RequestEvent::getRequestId).containsExactly("good-j");
  }

  static String line(String model, long arrival, long e2e) {
    return "{\"model\":\"" + model + "\",\"arrivalUs\":" + arrival + ",\"e2eUs\":" + e2e + "}";
  }

  static byte[] gzip(byte[] b) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(b);
    }
    return out.toByteArray();
  }

  @Test
  void acceptsJsonLinesBatch() throws Exception {
    String body = line("a", A, 100) + "\n\n" + line("b", A, 200) + "\r\n";
    HttpResponse<String> r =
        post(
            "/v1/requests",
            body.getBytes(StandardCharsets.UTF_8),
            "application/x-ndjson",
            null,
            "tok");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("\"accepted\":2");
    assertThat(accepted).extracting(RequestEvent::getModel).containsExactly("a", "b");
    assertThat(metrics.receivedCount("jsonl")).isEqualTo(2);
  }

  @Test
  void badLinesAreRejectedWithReasonAndTheRestKept() throws Exception {
    String body =
        String.join(
            "\n",
            line("ok1", A, 100),
            "{broken",
            line("", A, 5),
            line("ok2", A, 7),
            "{\"model\":\"m\",\"arrivalUs\":" + A + ",\"completedUs\":" + (A - 1) + "}",
            "{\"model\":\"m\",\"arrivalUs\":" + (NOW_US + 3_600_000_000L) + ",\"e2eUs\":1}");
    HttpResponse<String> r =
        post(
            "/v1/requests",
            body.getBytes(StandardCharsets.UTF_8),
            "application/x-ndjson",
            null,
            "tok");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body())
        .contains("rejected 4 of 6")
        .contains("line 2: malformed")
        .contains("line 3: missing_field")
        .contains("line 5: negative_duration")
        .contains("line 6: future_timestamp");
    assertThat(accepted).extracting(RequestEvent::getModel).containsExactly("ok1", "ok2");
    assertThat(metrics.rejectedCount("jsonl", RejectReason.MALFORMED)).isEqualTo(1);
    assertThat(metrics.rejectedCount("jsonl", RejectReason.MISSING_FIELD)).isEqualTo(1);
    assertThat(metrics.rejectedCount("jsonl", RejectReason.NEGATIVE_DURATION)).isEqualTo(1);
    assertThat(metrics.rejectedCount("jsonl", RejectReason.FUTURE_TIMESTAMP)).isEqualTo(1);
    assertThat(metrics.receivedCount("jsonl")).isEqualTo(2);
    // every rejected line is kept as a dead letter with its reason and its raw bytes
    assertThat(deadLetters).hasSize(4);
    assertThat(deadLetters).extracting(DeadLetter::getStage).containsOnly("collector");
    assertThat(deadLetters)
        .extracting(DeadLetter::getReason)
        .containsExactly("deserialization", "validation", "validation", "validation");
    assertThat(StandardCharsets.UTF_8.decode(deadLetters.get(0).getPayload()).toString())
        .isEqualTo("{broken");
    assertThat(deadLetters.get(2).getMessage()).contains("line 5").contains("negative_duration");
  }

  /**
   * With an encoded sink (as the collector runs), lines of the common shape reach it as wire bytes,
   * the rest as events; decoded, they are the events the event path gives, in order, and answers,
   * rejects and dead letters are the same.
   */
  @Test
  void encodedPathGivesTheSameEventsAnswersAndRejects() throws Exception {
    byte[] header = {0, 0, 0, 0, 42};
    List<Object> encodedKeys = new CopyOnWriteArrayList<>();
    List<RequestEvent> viaEncoded = new CopyOnWriteArrayList<>();
    List<DeadLetter> encodedDeadLetters = new CopyOnWriteArrayList<>();
    CollectorMetrics encodedMetrics = new CollectorMetrics();
    IngestServer.EncodedSink sink =
        new IngestServer.EncodedSink() {
          @Override
          public byte[] requestHeader() {
            return header;
          }

          @Override
          public void acceptEncoded(String key, byte[] wire) {
            assertThat(Arrays.copyOf(wire, 5)).isEqualTo(header);
            try {
              RequestEvent e =
                  (RequestEvent)
                      AvroBinary.decode(
                          AvroBinary.REQUEST, Arrays.copyOfRange(wire, 5, wire.length));
              encodedKeys.add(key);
              assertThat(key).isEqualTo(e.getHost());
              viaEncoded.add(e);
            } catch (java.io.IOException ex) {
              throw new java.io.UncheckedIOException(ex);
            }
          }
        };
    String body =
        String.join(
            "\n",
            line("ok1", A, 100),
            "{broken",
            line("", A, 5),
            "{\"model\":\"m2\",\"arrivalUs\":"
                + A
                + ",\"e2eUs\":9,\"host\":\"h9\",\"attributes\":{\"k\":\"v\"}}",
            "{\"model\":\"m3\",\"arrivalUs\":" + A + ",\"completedUs\":" + (A - 1) + "}",
            "{\"model\":\"m4\",\"host\":\"h9\",\"requestId\":\"r4\",\"arrivalUs\":"
                + A
                + ",\"queueUs\":3,\"ttftUs\":40,\"e2eUs\":900,\"inputTokens\":12,\"outputTokens\":3}",
            "{\"model\":\"m\",\"arrivalUs\":" + (NOW_US + 3_600_000_000L) + ",\"e2eUs\":1}");
    try (IngestServer encoded =
        new IngestServer(
            "127.0.0.1",
            0,
            2,
            4096,
            Optional.of("tok"),
            DEFAULTS,
            VALIDATOR,
            viaEncoded::add,
            sink,
            encodedDeadLetters::add,
            encodedMetrics)) {
      HttpResponse<String> reference =
          post(
              "/v1/requests",
              body.getBytes(StandardCharsets.UTF_8),
              "application/x-ndjson",
              null,
              "tok");
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + encoded.port() + "/v1/requests"))
                  .header("Authorization", "Bearer tok")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(400).isEqualTo(reference.statusCode());
      assertThat(r.body()).isEqualTo(reference.body());
    }
    // m2 has attributes: the event path; ok1 and m4 the encoded path
    assertThat(encodedKeys).containsExactly("host-a", "h9");
    assertThat(viaEncoded)
        .extracting(RequestEvent::getModel)
        .containsExactlyInAnyOrder("ok1", "m2", "m4");
    assertThat(accepted).hasSize(3);
    for (RequestEvent expected : accepted) {
      RequestEvent got =
          viaEncoded.stream()
              .filter(e -> e.getModel().equals(expected.getModel()))
              .findFirst()
              .orElseThrow();
      if (expected.getRequestId() != null) {
        // derived from (requestId, host, model) on both paths
        assertThat(got.getEventId()).isEqualTo(expected.getEventId());
      } else {
        assertThat(got.getEventId()).isNotEqualTo(expected.getEventId());
        got.setEventId(expected.getEventId()); // ids are random
      }
      assertThat(got).isEqualTo(expected);
    }
    assertThat(encodedDeadLetters)
        .extracting(DeadLetter::getMessage)
        .containsExactlyElementsOf(deadLetters.stream().map(DeadLetter::getMessage).toList());
    assertThat(encodedDeadLetters).hasSize(4);
    for (RejectReason reason : RejectReason.values()) {
      assertThat(encodedMetrics.rejectedCount("jsonl", reason))
          .isEqualTo(metrics.rejectedCount("jsonl", reason));
    }
    assertThat(encodedMetrics.receivedCount("jsonl")).isEqualTo(3);
  }

  @Test
  void chunkedBodiesWithoutContentLength() throws Exception {
    byte[] plain =
        (line("ch1", A, 100) + "\n" + line("ch2", A, 100) + "\n").getBytes(StandardCharsets.UTF_8);
    for (byte[] body : List.of(plain, gzip(plain))) {
      // a body from a stream: the client sends it chunked
      HttpRequest.Builder b =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/requests"))
              .header("Authorization", "Bearer tok")
              .POST(
                  HttpRequest.BodyPublishers.ofInputStream(
                      () -> new java.io.ByteArrayInputStream(body)));
      if (body != plain) {
        b.header("Content-Encoding", "gzip");
      }
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("\"accepted\":2");
    }
    assertThat(accepted)
        .extracting(RequestEvent::getModel)
        .containsExactly("ch1", "ch2", "ch1", "ch2");
    // over the limit when chunked (no Content-Length to refuse it up front): 413 after reading the
    // limit
    HttpResponse<String> big =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/requests"))
                .header("Authorization", "Bearer tok")
                .POST(
                    HttpRequest.BodyPublishers.ofInputStream(
                        () -> new java.io.ByteArrayInputStream(new byte[10_000])))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(big.statusCode()).isEqualTo(413);
  }

  @Test
  void gzipBodies() throws Exception {
    byte[] body = gzip((line("gz", A, 100) + "\n").getBytes(StandardCharsets.UTF_8));
    assertThat(post("/v1/requests", body, "application/x-ndjson", "gzip", "tok").statusCode())
        .isEqualTo(200);
    assertThat(accepted).extracting(RequestEvent::getModel).containsExactly("gz");
  }

  @Test
  void otlpProtobufAndJson() throws Exception {
    long startNs = A * 1000;
    HttpResponse<String> r1 =
        post(
            "/v1/traces",
            OtlpFixtures.request(OtlpFixtures.vllmSpan(startNs, "p").build()).toByteArray(),
            "application/x-protobuf",
            null,
            "tok");
    assertThat(r1.statusCode()).isEqualTo(200);
    HttpResponse<String> r2 =
        post(
            "/v1/traces",
            gzip(OtlpFixtures.json(startNs, "j").getBytes(StandardCharsets.UTF_8)),
            "application/json",
            "gzip",
            "tok");
    assertThat(r2.statusCode()).isEqualTo(200);
    assertThat(r2.body()).isEqualTo("{}");
    assertThat(accepted).extracting(RequestEvent::getRequestId).containsExactly("p", "j");
    assertThat(metrics.receivedCount("otlp")).isEqualTo(2);
  }

  @Test
  void otlpRejectsOneSpanKeepsTheOther() throws Exception {
    long startNs = A * 1000;
    var bad =
        OtlpFixtures.vllmSpan(startNs, "bad")
            .addAttributes(OtlpFixtures.dbl("gen_ai.latency.time_in_queue", -1))
            .build();
    byte[] body =
        OtlpFixtures.request(OtlpFixtures.vllmSpan(startNs, "good").build(), bad).toByteArray();
    HttpResponse<byte[]> r = postBytes("/v1/traces", body, "application/x-protobuf");
    // OTLP partial success: 200 with the rejected count and the reasons, so the sender does not
    // retry the batch
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/x-protobuf");
    var partial =
        io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse.parseFrom(r.body())
            .getPartialSuccess();
    assertThat(partial.getRejectedSpans()).isEqualTo(1);
    assertThat(partial.getErrorMessage())
        .contains("rejected 1 of 2")
        .contains("negative_duration")
        .contains("time_in_queue");
    assertThat(accepted).extracting(RequestEvent::getRequestId).containsExactly("good");
    assertThat(metrics.rejectedCount("otlp", RejectReason.NEGATIVE_DURATION)).isEqualTo(1);
    assertThat(deadLetters).hasSize(1);
    assertThat(
            io.opentelemetry.proto.trace.v1.Span.parseFrom(deadLetters.get(0).getPayload())
                .getAttributesList())
        .anySatisfy(kv -> assertThat(kv.getValue().getStringValue()).isEqualTo("bad"));
  }

  @Test
  void malformedOtlpIs400() throws Exception {
    HttpResponse<byte[]> r =
        postBytes("/v1/traces", new byte[] {0x0a, 0x7f, 0x01}, "application/x-protobuf");
    assertThat(r.statusCode()).isEqualTo(400);
    // a google.rpc.Status in the request's encoding (OTLP specification, "Failures")
    com.google.rpc.Status status = com.google.rpc.Status.parseFrom(r.body());
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT.value());
    assertThat(status.getMessage()).startsWith("malformed");
    assertThat(metrics.rejectedCount("otlp", RejectReason.MALFORMED)).isEqualTo(1);
    assertThat(deadLetters)
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.getReason()).isEqualTo("deserialization");
              assertThat(d.getPayload().remaining()).isEqualTo(3);
            });
  }

  @Test
  void authSizeMethodAndTypeErrors() throws Exception {
    byte[] ok = (line("a", A, 1) + "\n").getBytes(StandardCharsets.UTF_8);
    assertThat(post("/v1/requests", ok, "application/x-ndjson", null, null).statusCode())
        .isEqualTo(401);
    assertThat(post("/v1/requests", ok, "application/x-ndjson", null, "wrong").statusCode())
        .isEqualTo(401);
    assertThat(
            post("/v1/requests", new byte[5000], "application/x-ndjson", null, "tok").statusCode())
        .isEqualTo(413);
    // small on the wire, over the limit once decompressed: refused as well
    assertThat(
            post("/v1/requests", gzip(new byte[100_000]), "application/x-ndjson", "gzip", "tok")
                .statusCode())
        .isEqualTo(413);
    assertThat(post("/v1/requests", ok, "application/x-ndjson", "br", "tok").statusCode())
        .isEqualTo(415);
    assertThat(post("/v1/traces", ok, "text/plain", null, "tok").statusCode()).isEqualTo(415);
    HttpResponse<String> get =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/requests"))
                .header("Authorization", "Bearer tok")
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(accepted).isEmpty();
  }

  /**
   * A token bound to a host (and cluster) may write events of that identity only: lines claiming
   * another host, or inheriting the collector's default host, are refused (403, counted); the
   * unbound token writes as anyone.
   */
  @Test
  void tokensBoundToAnIdentityCannotWriteAsAnother() throws Exception {
    var settings =
        io.infermeter.collector.ingest.http.HttpServerSettings.from(
            io.infermeter.schemas.config.Settings.fromMap(
                java.util.Map.of(
                    "http.host",
                    "127.0.0.1",
                    "http.port",
                    "0",
                    "http.max.connections",
                    "8",
                    "http.max.body.bytes",
                    "65536",
                    "auth.token",
                    "tok",
                    "auth.tokens.node7.token",
                    "t7",
                    "auth.tokens.node7.host",
                    "gpu-node-7",
                    "auth.tokens.node7.cluster",
                    "prod-a")));
    CollectorMetrics m = new CollectorMetrics();
    List<RequestEvent> got = new CopyOnWriteArrayList<>();
    try (IngestServer bound =
        new IngestServer(settings, DEFAULTS, VALIDATOR, got::add, null, deadLetters::add, m)) {
      String own =
          "{\"model\":\"m\",\"host\":\"gpu-node-7\",\"cluster\":\"prod-a\",\"arrivalUs\":"
              + A
              + ",\"e2eUs\":5}";
      String other =
          "{\"model\":\"m\",\"host\":\"gpu-node-8\",\"cluster\":\"prod-a\",\"arrivalUs\":"
              + A
              + ",\"e2eUs\":5}";
      String inherits = line("m", A, 5); // the collector's default host-a, cluster c1
      String jackson =
          "{\"model\":\"m\",\"host\":\"gpu-node-\\u0038\",\"cluster\":\"prod-a\",\"arrivalUs\":"
              + A
              + ",\"e2eUs\":5}"; // an escape: the Jackson path, host gpu-node-8
      String body = String.join("\n", own, other, inherits, jackson);
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + bound.port() + "/v1/requests"))
                  .header("Authorization", "Bearer t7")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(r.body())
          .contains("rejected 3 of 4")
          .contains("line 2: identity_mismatch: host")
          .contains("line 3: identity_mismatch: host")
          .contains("line 4: identity_mismatch: host");
      assertThat(got).extracting(RequestEvent::getHost).containsExactly("gpu-node-7");
      assertThat(
              bound
                  .limitMetrics()
                  .countOf(
                      io.infermeter.collector.ingest.http.HttpLimitMetrics.Limit.IDENTITY_MISMATCH))
          .isEqualTo(3);
      // OTLP: the node is the collector's host (host-a); the resource's host.name gpu-node-7 is
      // only the pod: the
      // token bound to gpu-node-7 is refused, the unbound token accepted
      byte[] span =
          OtlpFixtures.request(OtlpFixtures.vllmSpan(A * 1000, "s").build()).toByteArray();
      for (String token : List.of("t7", "tok")) {
        HttpResponse<String> t =
            http.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + bound.port() + "/v1/traces"))
                    .header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/x-protobuf")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(span))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(t.statusCode()).as(token).isEqualTo(token.equals("t7") ? 403 : 200);
      }
      // the unbound token writes as anyone
      HttpResponse<String> any =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + bound.port() + "/v1/requests"))
                  .header("Authorization", "Bearer tok")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(any.statusCode()).isEqualTo(200);
      HttpResponse<String> wrong =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + bound.port() + "/v1/requests"))
                  .header("Authorization", "Bearer t8")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(wrong.statusCode()).isEqualTo(401);
    }
    assertThat(deadLetters).isEmpty();
  }

  /** A body of two gzip members (as some clients write them, one per flush) is ingested whole. */
  @Test
  void twoMemberGzipBodiesAreCountedWhole() throws Exception {
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    body.write(gzip((line("m1", A, 1) + "\n").getBytes(StandardCharsets.UTF_8)));
    body.write(gzip((line("m2", A, 2) + "\n").getBytes(StandardCharsets.UTF_8)));
    HttpResponse<String> r =
        post("/v1/requests", body.toByteArray(), "application/x-ndjson", "gzip", "tok");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("\"accepted\":2");
    assertThat(accepted).extracting(RequestEvent::getModel).containsExactly("m1", "m2");
  }

  @Test
  void brokenGzipIsAMalformedBodyWithADeadLetter() throws Exception {
    byte[] broken = Arrays.copyOf(gzip("x".repeat(1000).getBytes(StandardCharsets.UTF_8)), 20);
    HttpResponse<String> r = post("/v1/requests", broken, "application/x-ndjson", "gzip", "tok");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(metrics.rejectedCount("jsonl", RejectReason.MALFORMED)).isEqualTo(1);
    assertThat(deadLetters)
        .singleElement()
        .satisfies(d -> assertThat(d.getReason()).isEqualTo("deserialization"));
  }
}
