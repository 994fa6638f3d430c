package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.ingest.Ids;
import io.infermeter.collector.ingest.otlp.OtlpFixtures;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that sends the same request twice (an OTLP exporter's retry after a timeout or a 503; a
 * JSON-lines client resending a batch) produces the same event ids on the raw requests topic of the
 * real local Kafka, so the streams app's de-duplication counts it once: the real OpenTelemetry Java
 * SDK exporters (OTLP/HTTP protobuf and OTLP/gRPC) export the same spans twice, an OTLP/JSON body
 * and a JSON-lines body are posted twice. Different spans and requests get different ids; lines
 * without a requestId get random ones (two copies, two ids).
 */
class EventIdentityIT {

  @TempDir Path spool;

  private static HttpResponse<String> post(
      HttpClient http, int port, String path, String type, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("Authorization", "Bearer it-token")
            .header("Content-Type", type)
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String hex(int bytes) {
    byte[] b = new byte[bytes];
    ThreadLocalRandom.current().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  @Test
  void theSameRequestSentTwiceHasTheSameEventId() throws Exception {
    String prefix = Infra.uniqueName("it-identity") + "-";
    String requests = Topics.REQUESTS.withPrefix(prefix).name();
    ItSupport.createTopics(
        Infra.get().kafkaBootstrap(),
        requests,
        Topics.HARDWARE.withPrefix(prefix).name(),
        Topics.DEAD_LETTERS.withPrefix(prefix).name());
    Map<String, Object> cfg = CollectorIT.baseConfig(prefix, spool);
    cfg.put("auth.token", "it-token");
    cfg.put("sampling.enabled", false);
    cfg.put("otlp.default.model", "Qwen/Qwen3-8B");
    int spans = 20;
    int lines = 30;
    int anonymous = 10;
    List<SpanData> httpSpans = OtelSdkExportIT.spans("http-", spans);
    List<SpanData> grpcSpans = OtelSdkExportIT.spans("grpc-", spans);
    long startNs = (System.currentTimeMillis() - 5_000) * 1_000_000L;
    String trace = hex(16);
    String span = hex(8);
    String otlpJson =
        OtlpFixtures.json(startNs, "json-0")
            .replace(OtlpFixtures.TRACE_ID, trace)
            .replace(OtlpFixtures.SPAN_ID, span);
    long a = System.currentTimeMillis() * 1000L - 5_000_000L;
    StringBuilder jsonl = new StringBuilder();
    for (int i = 0; i < lines; i++) {
      jsonl
          .append("{\"requestId\":\"line-")
          .append(i)
          .append("\",\"model\":\"m\",\"arrivalUs\":")
          .append(a + i)
          .append(",\"e2eUs\":1000}\n");
    }
    for (int i = 0; i < anonymous; i++) {
      jsonl.append("{\"model\":\"m\",\"arrivalUs\":").append(a + i).append(",\"e2eUs\":1000}\n");
    }
    HttpClient http = HttpClient.newHttpClient();
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      OtlpGrpcSpanExporter grpc =
          OtlpGrpcSpanExporter.builder()
              .setEndpoint("http://127.0.0.1:" + collector.grpcPort().orElseThrow())
              .addHeader("authorization", "Bearer it-token")
              .setTimeout(Duration.ofSeconds(10))
              .build();
      OtlpHttpSpanExporter otlpHttp =
          OtlpHttpSpanExporter.builder()
              .setEndpoint("http://127.0.0.1:" + collector.httpPort() + "/v1/traces")
              .addHeader("Authorization", "Bearer it-token")
              .setTimeout(Duration.ofSeconds(10))
              .build();
      try {
        for (int copy = 0; copy < 2; copy++) {
          CompletableResultCode h = otlpHttp.export(httpSpans).join(15, TimeUnit.SECONDS);
          CompletableResultCode g = grpc.export(grpcSpans).join(15, TimeUnit.SECONDS);
          assertThat(h.isSuccess()).as("HTTP export: %s", h.getFailureThrowable()).isTrue();
          assertThat(g.isSuccess()).as("gRPC export: %s", g.getFailureThrowable()).isTrue();
          assertThat(
                  post(http, collector.httpPort(), "/v1/traces", "application/json", otlpJson)
                      .statusCode())
              .isEqualTo(200);
          HttpResponse<String> r =
              post(
                  http,
                  collector.httpPort(),
                  "/v1/requests",
                  "application/x-ndjson",
                  jsonl.toString());
          assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
      } finally {
        grpc.shutdown().join(5, TimeUnit.SECONDS);
        otlpHttp.shutdown().join(5, TimeUnit.SECONDS);
      }
      int total = 2 * (2 * spans + 1 + lines + anonymous);
      List<ConsumerRecord<String, RequestEvent>> got =
          ItSupport.readUntil(
              requests, RequestEvent.class, Duration.ofSeconds(60), l -> l.size() >= total);
      assertThat(got).hasSize(total);

      Map<String, Set<String>> idsByRequest =
          got.stream()
              .filter(r -> r.value().getRequestId() != null)
              .collect(
                  Collectors.groupingBy(
                      r -> r.value().getRequestId(),
                      Collectors.mapping(r -> r.value().getEventId(), Collectors.toSet())));
      assertThat(idsByRequest).hasSize(2 * spans + 1 + lines);
      // both copies of every identified request carry one id, and no two requests share one
      assertThat(idsByRequest.values()).allSatisfy(ids -> assertThat(ids).hasSize(1));
      assertThat(idsByRequest.values().stream().map(s -> s.iterator().next()).distinct().count())
          .isEqualTo(idsByRequest.size());
      // OTLP: the id is the documented derivation from the span's trace and span ids, whatever the
      // encoding
      for (SpanData s : httpSpans) {
        String requestId =
            s.getAttributes()
                .get(io.opentelemetry.api.common.AttributeKey.stringKey("gen_ai.request.id"));
        assertThat(idsByRequest.get(requestId))
            .containsExactly(
                Ids.ofSpan(
                    s.getSpanContext().getTraceIdBytes(), s.getSpanContext().getSpanIdBytes()));
      }
      assertThat(idsByRequest.get("json-0"))
          .containsExactly(
              Ids.ofSpan(HexFormat.of().parseHex(trace), HexFormat.of().parseHex(span)));
      assertThat(idsByRequest.get("line-0"))
          .containsExactly(Ids.ofRequest("line-0", "it-host", "m"));
      // lines that name no request: every copy is a new event (nothing to tell a retry from a new
      // request)
      List<String> anonymousIds =
          got.stream()
              .filter(r -> r.value().getRequestId() == null)
              .map(r -> r.value().getEventId())
              .toList();
      assertThat(anonymousIds).hasSize(2 * anonymous).doesNotHaveDuplicates();
    }
  }
}
