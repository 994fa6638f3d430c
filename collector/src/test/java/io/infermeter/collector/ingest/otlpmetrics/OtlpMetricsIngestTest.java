package io.infermeter.collector.ingest.otlpmetrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import com.google.rpc.Status;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.IngestServer;
import io.infermeter.collector.ingest.RequestValidator;
import io.infermeter.collector.ingest.http.BearerTokens;
import io.infermeter.collector.ingest.http.HttpServerSettings;
import io.infermeter.collector.ingest.http.NettyHttpServer;
import io.infermeter.collector.sampling.HardwareSamples;
import io.infermeter.collector.sampling.prometheus.DcgmMapping;
import io.infermeter.collector.sampling.prometheus.EngineMapping;
import io.infermeter.collector.support.CollectorMetrics;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Gauge;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.metrics.v1.Sum;
import io.opentelemetry.proto.resource.v1.Resource;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code POST /v1/metrics} on the collector's real HTTP server: engine and dcgm-exporter data
 * points become samples, everything else is ignored and counted, impossible values are rejected
 * with partial_success, and hostile bodies (random bytes, broken gzip, oversized, wrong content
 * type, no token) get a 4xx, never a crash.
 */
class OtlpMetricsIngestTest {

  static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");
  static final long NOW_NS = NOW.getEpochSecond() * 1_000_000_000L;
  static final int MAX_BODY = 16 * 1024;

  private final List<EngineSample> engine = new CopyOnWriteArrayList<>();
  private final List<HardwareSample> hardware = new CopyOnWriteArrayList<>();
  private final CollectorMetrics metrics = new CollectorMetrics();
  private final HttpClient http = HttpClient.newHttpClient();
  private OtlpMetricsIngest ingest;
  private IngestServer server;

  @BeforeEach
  void start() throws Exception {
    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    ingest =
        new OtlpMetricsIngest(
            new EngineMapping("c1", "r1", "node-a"),
            new DcgmMapping(new HardwareSamples("c1", "r1", "node-a"), null),
            engine::add,
            hardware::add,
            metrics,
            clock);
    EventDefaults defaults =
        EventDefaults.of("c1", "r1", "node-a", Optional.empty(), Optional.empty());
    RequestValidator validator =
        new RequestValidator(
            clock, Duration.ofMinutes(10), Duration.ofMinutes(1), Duration.ofDays(1), 1_000_000);
    server =
        new IngestServer(
            HttpServerSettings.of(
                "127.0.0.1", 0, 4, MAX_BODY, BearerTokens.single(Optional.of("tok"))),
            defaults,
            validator,
            e -> {},
            null,
            d -> {},
            metrics,
            new IngestServer.MetricsExport() {
              @Override
              public NettyHttpServer.Response export(byte[] body, int length, boolean json) {
                return ingest.exportHttp(body, length, json);
              }

              @Override
              public NettyHttpServer.Response unreadable(boolean json, String message) {
                return ingest.unreadable(json, message);
              }
            });
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<byte[]> post(byte[] body, String type, String encoding, String token)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/metrics"))
            .header("Content-Type", type)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (encoding != null) {
      b.header("Content-Encoding", encoding);
    }
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static KeyValue attr(String k, String v) {
    return KeyValue.newBuilder()
        .setKey(k)
        .setValue(AnyValue.newBuilder().setStringValue(v))
        .build();
  }

  static Metric gauge(String name, double v, KeyValue... attrs) {
    return Metric.newBuilder()
        .setName(name)
        .setGauge(
            Gauge.newBuilder()
                .addDataPoints(
                    NumberDataPoint.newBuilder()
                        .setTimeUnixNano(NOW_NS - 1_000_000_000L)
                        .setAsDouble(v)
                        .addAllAttributes(List.of(attrs))))
        .build();
  }

  static ExportMetricsServiceRequest request(Metric... metrics) {
    return ExportMetricsServiceRequest.newBuilder()
        .addResourceMetrics(
            ResourceMetrics.newBuilder()
                .setResource(
                    Resource.newBuilder()
                        .addAttributes(attr("service.instance.id", "10.0.0.5:8000"))
                        .addAttributes(attr("k8s.pod.name", "vllm-0")))
                .addScopeMetrics(ScopeMetrics.newBuilder().addAllMetrics(List.of(metrics))))
        .build();
  }

  @Test
  void engineAndDcgmPointsBecomeSamplesAndTheRestIsIgnoredAndCounted() throws Exception {
    KeyValue model = attr("model_name", "m1");
    Metric histogram =
        Metric.newBuilder()
            .setName("vllm:time_to_first_token_seconds")
            .setHistogram(
                Histogram.newBuilder()
                    .addDataPoints(
                        HistogramDataPoint.newBuilder().setCount(3).setTimeUnixNano(NOW_NS)))
            .build();
    Metric deltaCounter =
        Metric.newBuilder()
            .setName("vllm:num_preemptions_total")
            .setSum(
                Sum.newBuilder()
                    .setIsMonotonic(true)
                    .setAggregationTemporality(AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA)
                    .addDataPoints(
                        NumberDataPoint.newBuilder().setAsDouble(1).addAttributes(model)))
            .build();
    ExportMetricsServiceRequest req =
        request(
            gauge("vllm:kv_cache_usage_perc", 0.5, model),
            gauge("vllm:num_requests_waiting", 2, model),
            gauge("http_server_requests", 9),
            histogram,
            deltaCounter,
            gauge("DCGM_FI_DEV_POWER_USAGE", 300, attr("UUID", "GPU-1"), attr("pod", "vllm-0")));

    HttpResponse<byte[]> r = post(req.toByteArray(), "application/x-protobuf", null, "tok");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(ExportMetricsServiceResponse.parseFrom(r.body()).hasPartialSuccess()).isFalse();
    assertThat(engine)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getInstance()).isEqualTo("10.0.0.5:8000");
              assertThat(e.getPod()).isEqualTo("vllm-0");
              assertThat(e.getHost()).isEqualTo("node-a");
              assertThat(e.getKvCacheUsage()).isEqualTo(0.5);
              assertThat(e.getRequestsWaiting()).isEqualTo(2L);
              assertThat(e.getTimestampUs()).isEqualTo((NOW_NS - 1_000_000_000L) / 1000);
            });
    assertThat(hardware)
        .singleElement()
        .satisfies(
            h -> {
              assertThat(h.getDeviceId()).isEqualTo("GPU-1");
              assertThat(h.getPod()).isEqualTo("vllm-0");
              assertThat(h.getPowerW()).isEqualTo(300.0);
            });
    assertThat(ingest.droppedCount("unknown_metric")).isEqualTo(1.0);
    assertThat(ingest.droppedCount("unsupported_type")).isEqualTo(2.0);
    assertThat(ingest.usedCount("engine")).isEqualTo(2.0);
    assertThat(ingest.usedCount("hardware")).isEqualTo(1.0);
  }

  @Test
  void absurdValuesAreRejectedWithPartialSuccessInJson() throws Exception {
    KeyValue model = attr("model_name", "m1");
    ExportMetricsServiceRequest req =
        request(
            gauge("vllm:kv_cache_usage_perc", 1.7, model),
            gauge("vllm:num_requests_running", Double.NaN, model),
            gauge("vllm:num_requests_waiting", -4, model),
            gauge("vllm:num_requests_waiting", 3, attr("model_name", "m2")));
    String json = JsonFormat.printer().print(req);

    HttpResponse<byte[]> r =
        post(json.getBytes(StandardCharsets.UTF_8), "application/json", null, "tok");

    assertThat(r.statusCode()).isEqualTo(200);
    ExportMetricsServiceResponse.Builder resp = ExportMetricsServiceResponse.newBuilder();
    JsonFormat.parser().merge(new String(r.body(), StandardCharsets.UTF_8), resp);
    assertThat(resp.getPartialSuccess().getRejectedDataPoints()).isEqualTo(3);
    assertThat(resp.getPartialSuccess().getErrorMessage())
        .contains("above 1")
        .contains("not a finite")
        .contains("negative");
    assertThat(engine)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getModel()).isEqualTo("m2");
              assertThat(e.getRequestsWaiting()).isEqualTo(3L);
            });
    assertThat(ingest.droppedCount("invalid_value")).isEqualTo(3.0);
  }

  @Test
  void onlyRejectedPointsIsAPermanentFailure() throws Exception {
    HttpResponse<byte[]> r =
        post(
            request(gauge("sglang:token_usage", 42, attr("model_name", "m"))).toByteArray(),
            "application/x-protobuf",
            null,
            "tok");

    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(Status.parseFrom(r.body()).getCode())
        .isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT.value());
    assertThat(engine).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 100, 4000})
  void randomBytesAreAnsweredWithAStatusNotACrash(int size) throws Exception {
    byte[] junk = new byte[size];
    new Random(size).nextBytes(junk);
    junk[0] = (byte) 0xff; // field 31, wire type 7: never a valid protobuf start

    HttpResponse<byte[]> r = post(junk, "application/x-protobuf", null, "tok");

    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(Status.parseFrom(r.body()).getMessage()).startsWith("malformed");
    assertStillServes();
  }

  @Test
  void hostileHeadsAndBodiesGet4xx() throws Exception {
    byte[] ok = request(gauge("vllm:num_requests_running", 1)).toByteArray();
    assertThat(post(ok, "application/x-protobuf", null, null).statusCode()).isEqualTo(401);
    assertThat(post(ok, "text/plain", null, "tok").statusCode()).isEqualTo(415);
    assertThat(post(new byte[MAX_BODY + 1], "application/x-protobuf", null, "tok").statusCode())
        .isEqualTo(413);
    assertThat(
            post(
                    "{\"resourceMetrics\": [".getBytes(StandardCharsets.UTF_8),
                    "application/json",
                    null,
                    "tok")
                .statusCode())
        .isEqualTo(400);
    assertThat(
            post(
                    new byte[] {0x1f, (byte) 0x8b, 8, 0, 1, 2},
                    "application/x-protobuf",
                    "gzip",
                    "tok")
                .statusCode())
        .isEqualTo(400);
    ByteArrayOutputStream bomb = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(bomb)) {
      gz.write(new byte[MAX_BODY * 8]);
    }
    assertThat(post(bomb.toByteArray(), "application/x-protobuf", "gzip", "tok").statusCode())
        .isEqualTo(413);
    assertThat(engine).isEmpty();
    assertStillServes();
  }

  private void assertStillServes() throws Exception {
    HttpResponse<byte[]> r =
        post(
            request(gauge("tgi_queue_size", 5)).toByteArray(),
            "application/x-protobuf",
            null,
            "tok");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(engine)
        .last()
        .satisfies(
            e -> {
              assertThat(e.getEngine()).isEqualTo("tgi");
              assertThat(e.getRequestsWaiting()).isEqualTo(5L);
            });
  }

  @Test
  void aPointTimeFarFromTheClockIsReplacedByTheTimeOfReceipt() {
    long nowUs = NOW_NS / 1000;
    assertThat(OtlpMetricsIngest.timestamp(0, nowUs)).isEqualTo(nowUs);
    assertThat(OtlpMetricsIngest.timestamp(NOW_NS + 3_600_000_000_000L, nowUs)).isEqualTo(nowUs);
    assertThat(OtlpMetricsIngest.timestamp(NOW_NS - 2 * 3_600_000_000_000L, nowUs))
        .isEqualTo(nowUs);
    assertThat(OtlpMetricsIngest.timestamp(NOW_NS - 5_000_000_000L, nowUs))
        .isEqualTo(nowUs - 5_000_000L);
  }
}
