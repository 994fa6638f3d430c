package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real OpenTelemetry Java SDK exporters (OTLP/gRPC and OTLP/HTTP protobuf, from Maven Central)
 * send spans shaped like vLLM V1's {@code llm_request} span, without a model attribute, to the
 * whole collector configured with {@code otlp.default.model}, which counts them under that model,
 * rejects none, and publishes them to the real local Kafka.
 */
class OtelSdkExportIT {

  @TempDir Path spool;

  /**
   * The attributes vLLM V1 sets on {@code llm_request} ({@code OutputProcessor.do_tracing} in
   * vllm-project/vllm {@code vllm/v1/engine/output_processor.py}, names from {@code
   * vllm/tracing.py} SpanAttributes), kind SERVER, <b>no model attribute</b> (as V1 sends it).
   * Arrival {@code arrivalNs}: queue 20 ms, prefill 200 ms, decode 1.25 s.
   */
  private static void vllmV1Span(Tracer tracer, long arrivalNs, String requestId) {
    Span span =
        tracer
            .spanBuilder("llm_request")
            .setSpanKind(SpanKind.SERVER)
            .setStartTimestamp(arrivalNs, TimeUnit.NANOSECONDS)
            .startSpan();
    span.setAllAttributes(
        Attributes.builder()
            .put("gen_ai.latency.time_to_first_token", 0.25)
            .put("gen_ai.latency.e2e", 1.5)
            .put("gen_ai.latency.time_in_queue", 0.02)
            .put("gen_ai.usage.prompt_tokens", 128L)
            .put("gen_ai.usage.completion_tokens", 64L)
            .put("gen_ai.latency.time_in_model_prefill", 0.2)
            .put("gen_ai.latency.time_in_model_decode", 1.25)
            .put("gen_ai.latency.time_in_model_inference", 1.45)
            .put("gen_ai.request.id", requestId)
            .put("gen_ai.response.finish_reasons", "[\"stop\"]")
            .put("gen_ai.request.top_p", 0.95)
            .put("gen_ai.request.max_tokens", 64L)
            .put("gen_ai.request.temperature", 0.7)
            .put("gen_ai.request.n", 1L)
            .build());
    span.end(arrivalNs + 1_502_000_000L, TimeUnit.NANOSECONDS);
  }

  /** The spans the SDK built, as the SDK hands them to an exporter. */
  static List<SpanData> spans(String prefix, int n) {
    List<SpanData> out = new CopyOnWriteArrayList<>();
    SpanExporter capture =
        new SpanExporter() {
          @Override
          public CompletableResultCode export(Collection<SpanData> spans) {
            out.addAll(spans);
            return CompletableResultCode.ofSuccess();
          }

          @Override
          public CompletableResultCode flush() {
            return CompletableResultCode.ofSuccess();
          }

          @Override
          public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
          }
        };
    try (SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .setResource(
                Resource.getDefault()) // service.name unknown_service:java, as vLLM's without
            // OTEL_SERVICE_NAME
            .addSpanProcessor(SimpleSpanProcessor.create(capture))
            .build()) {
      Tracer tracer = provider.get("vllm.llm_engine");
      long now = System.currentTimeMillis() * 1_000_000L;
      for (int i = 0; i < n; i++) {
        vllmV1Span(tracer, now - 3_000_000_000L + i * 1_000_000L, prefix + i);
      }
    }
    return new ArrayList<>(out);
  }

  @Test
  void grpcAndHttpExportersDeliverVllmV1SpansToKafka() throws Exception {
    String prefix = Infra.uniqueName("it-otelsdk") + "-";
    String requests = Topics.REQUESTS.withPrefix(prefix).name();
    ItSupport.createTopics(
        Infra.get().kafkaBootstrap(),
        requests,
        Topics.HARDWARE.withPrefix(prefix).name(),
        Topics.DEAD_LETTERS.withPrefix(prefix).name());
    Map<String, Object> cfg = CollectorIT.baseConfig(prefix, spool);
    cfg.put("auth.token", "it-token");
    cfg.put("sampling.enabled", false);
    cfg.put(
        "otlp.default.model",
        "Qwen/Qwen3-8B"); // the spans name no model: the collector's setting does
    int n = 25;
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      int grpcPort = collector.grpcPort().orElseThrow();
      OtlpGrpcSpanExporter grpc =
          OtlpGrpcSpanExporter.builder()
              .setEndpoint("http://127.0.0.1:" + grpcPort)
              .addHeader("authorization", "Bearer it-token")
              .setCompression("gzip")
              .setTimeout(Duration.ofSeconds(10))
              .build();
      OtlpHttpSpanExporter http =
          OtlpHttpSpanExporter.builder()
              .setEndpoint("http://127.0.0.1:" + collector.httpPort() + "/v1/traces")
              .addHeader("Authorization", "Bearer it-token")
              .setTimeout(Duration.ofSeconds(10))
              .build();
      try {
        CompletableResultCode g = grpc.export(spans("grpc-", n)).join(15, TimeUnit.SECONDS);
        CompletableResultCode h = http.export(spans("http-", n)).join(15, TimeUnit.SECONDS);
        assertThat(g.isSuccess()).as("gRPC export: %s", g.getFailureThrowable()).isTrue();
        assertThat(h.isSuccess()).as("HTTP export: %s", h.getFailureThrowable()).isTrue();
      } finally {
        grpc.shutdown().join(5, TimeUnit.SECONDS);
        http.shutdown().join(5, TimeUnit.SECONDS);
      }
      assertThat(collector.metrics().receivedCount("otlp")).isEqualTo(2.0 * n);
      for (RejectReason reason : RejectReason.values()) {
        assertThat(collector.metrics().rejectedCount("otlp", reason)).as(reason.label()).isZero();
      }

      List<ConsumerRecord<String, RequestEvent>> got =
          ItSupport.readUntil(
              requests, RequestEvent.class, Duration.ofSeconds(60), l -> l.size() >= 2 * n);
      assertThat(got).hasSize(2 * n);
      assertThat(got).extracting(r -> r.value().getModel()).containsOnly("Qwen/Qwen3-8B");
      assertThat(got).filteredOn(r -> r.value().getRequestId().startsWith("grpc-")).hasSize(n);
      assertThat(got).filteredOn(r -> r.value().getRequestId().startsWith("http-")).hasSize(n);
      assertThat(got)
          .allSatisfy(
              r -> {
                assertThat(r.value().getInputTokens()).isEqualTo(128);
                assertThat(r.value().getOutputTokens()).isEqualTo(64);
                assertThat(r.value().getHost()).isEqualTo("it-host");
              });
    }
  }
}
