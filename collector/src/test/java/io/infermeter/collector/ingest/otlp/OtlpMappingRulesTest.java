package io.infermeter.collector.ingest.otlp;

import static io.infermeter.collector.ingest.JsonLinesParserTest.DEFAULTS;
import static io.infermeter.collector.ingest.otlp.EngineSpanFixturesTest.ARRIVAL;
import static io.infermeter.collector.ingest.otlp.EngineSpanFixturesTest.START_NS;
import static io.infermeter.collector.ingest.otlp.OtlpFixtures.dbl;
import static io.infermeter.collector.ingest.otlp.OtlpFixtures.num;
import static io.infermeter.collector.ingest.otlp.OtlpFixtures.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.ingest.otlp.EngineSpanFixturesTest.Capture;
import io.infermeter.collector.ingest.otlp.OtlpSpanMapper.Skip;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The model precedence chain, span kinds, node identity, finish reasons and GenAI attribute
 * fallbacks.
 */
class OtlpMappingRulesTest {

  private static Span.Builder v1() {
    return OtlpFixtures.vllmV1Span(START_NS, "r", "stop");
  }

  private static String model(EventDefaults d, List<KeyValue> resource, Span span)
      throws Exception {
    Capture c = EngineSpanFixturesTest.map(d, OtlpFixtures.requestWithResource(resource, span));
    assertThat(c.rejected).isEmpty();
    return c.accepted.get(0).getModel();
  }

  @Test
  void modelPrecedenceResponseRequestResourceDefault() throws Exception {
    EventDefaults d = DEFAULTS.withModelFallback(Optional.of("configured"), "service.name");
    List<KeyValue> named = List.of(str("service.name", "from-resource"));
    Span both =
        v1().addAttributes(str("gen_ai.request.model", "alias"))
            .addAttributes(str("gen_ai.response.model", "served"))
            .build();
    assertThat(model(d, named, both)).isEqualTo("served");
    assertThat(model(d, named, v1().addAttributes(str("gen_ai.request.model", "alias")).build()))
        .isEqualTo("alias");
    assertThat(model(d, named, v1().addAttributes(str("gen_ai.response.model", "")).build()))
        .isEqualTo("from-resource");
    assertThat(model(d, named, v1().build())).isEqualTo("from-resource");
    for (String sdkDefault :
        List.of(
            "unknown_service",
            "unknown_service:python",
            "unknown_service:java",
            TgiSpans.DEFAULT_SERVICE_NAME,
            " ")) {
      assertThat(model(d, List.of(str("service.name", sdkDefault)), v1().build()))
          .as(sdkDefault)
          .isEqualTo("configured");
    }
    assertThat(model(d, List.of(), v1().build())).isEqualTo("configured");
  }

  @Test
  void configuredResourceAttributeNamesTheModel() throws Exception {
    EventDefaults d = DEFAULTS.withModelFallback(Optional.empty(), "k8s.deployment.name");
    assertThat(
            model(
                d,
                List.of(str("service.name", "svc"), str("k8s.deployment.name", "qwen-72b")),
                v1().build()))
        .isEqualTo("qwen-72b");
    Capture c =
        EngineSpanFixturesTest.map(
            d, OtlpFixtures.requestWithResource(List.of(str("service.name", "svc")), v1().build()));
    assertThat(c.rejected)
        .singleElement()
        .satisfies(ex -> assertThat(ex.getMessage()).contains("k8s.deployment.name"));
    // blank settings fall back to service.name and no default model
    EventDefaults blank = DEFAULTS.withModelFallback(Optional.of("  "), " ");
    assertThat(blank.modelResourceAttribute()).isEqualTo("service.name");
    assertThat(blank.defaultModel()).isNull();
  }

  /**
   * The configured node wins; a pod name from the resource is kept apart in the field pod (the
   * streams app's join with dcgm-exporter's pod label) and, as before RequestEvent v2, the
   * attribute pod.
   */
  @Test
  void nodeIdentityFromConfigurationPodFromResource() throws Exception {
    Capture c =
        EngineSpanFixturesTest.map(
            DEFAULTS,
            OtlpFixtures.requestWithResource(
                List.of(str("service.name", "llama"), str("host.name", "vllm-7f9c6d-x2x8k")),
                v1().build()));
    RequestEvent e = c.accepted.get(0);
    assertThat(e.getHost()).isEqualTo("host-a");
    assertThat(e.getAttributes()).containsEntry("pod", "vllm-7f9c6d-x2x8k");
    assertThat(e.getPod()).isEqualTo("vllm-7f9c6d-x2x8k");
    Capture k8s =
        EngineSpanFixturesTest.map(
            DEFAULTS,
            OtlpFixtures.requestWithResource(
                List.of(
                    str("service.name", "llama"),
                    str("host.name", "node-12"),
                    str("k8s.pod.name", "vllm-0")),
                v1().build()));
    assertThat(k8s.accepted.get(0).getHost()).isEqualTo("host-a");
    assertThat(k8s.accepted.get(0).getAttributes()).containsEntry("pod", "vllm-0");
    assertThat(k8s.accepted.get(0).getPod()).isEqualTo("vllm-0");
    Capture same =
        EngineSpanFixturesTest.map(
            DEFAULTS,
            OtlpFixtures.requestWithResource(
                List.of(str("service.name", "llama"), str("host.name", "host-a")), v1().build()));
    assertThat(same.accepted.get(0).getAttributes()).doesNotContainKey("pod");
    assertThat(same.accepted.get(0).getPod()).isNull();
  }

  /**
   * An OpenAI client instrumentation's span (kind CLIENT, gen_ai.operation.name chat,
   * gen_ai.provider.name openai, request and response model, usage) is the call seen from the
   * application, not a served request: skipped.
   */
  @Test
  void spanKinds() throws Exception {
    Span client =
        Span.newBuilder()
            .setName("chat gpt-4o")
            .setKind(Span.SpanKind.SPAN_KIND_CLIENT)
            .setStartTimeUnixNano(START_NS)
            .setEndTimeUnixNano(START_NS + 900_000_000L)
            .addAttributes(str("gen_ai.operation.name", "chat"))
            .addAttributes(str("gen_ai.provider.name", "openai"))
            .addAttributes(str("gen_ai.request.model", "gpt-4o"))
            .addAttributes(str("gen_ai.response.model", "gpt-4o-2024"))
            .addAttributes(num("gen_ai.usage.input_tokens", 12))
            .addAttributes(num("gen_ai.usage.output_tokens", 30))
            .build();
    Span internalNoLatency = client.toBuilder().setKind(Span.SpanKind.SPAN_KIND_INTERNAL).build();
    Span unsetNoLatency = client.toBuilder().setKind(Span.SpanKind.SPAN_KIND_UNSPECIFIED).build();
    Span producer = client.toBuilder().setKind(Span.SpanKind.SPAN_KIND_PRODUCER).build();
    Span unsetVllm = v1().setKind(Span.SpanKind.SPAN_KIND_UNSPECIFIED).build();
    Span server = client.toBuilder().setKind(Span.SpanKind.SPAN_KIND_SERVER).build();
    Span tool =
        client.toBuilder()
            .setKind(Span.SpanKind.SPAN_KIND_INTERNAL)
            .addAttributes(str("gen_ai.operation.name", "execute_tool"))
            .build();
    Span health =
        Span.newBuilder()
            .setName("GET /health")
            .setKind(Span.SpanKind.SPAN_KIND_SERVER)
            .setStartTimeUnixNano(START_NS)
            .build();
    Capture c =
        EngineSpanFixturesTest.map(
            DEFAULTS.withModelFallback(Optional.of("m"), ""),
            OtlpFixtures.request(
                client,
                internalNoLatency,
                unsetNoLatency,
                producer,
                unsetVllm,
                server,
                tool,
                health));
    assertThat(c.skipped)
        .containsExactly(
            Skip.CLIENT,
            Skip.NOT_SERVER,
            Skip.NOT_SERVER,
            Skip.CLIENT,
            Skip.AGENT_OR_TOOL,
            Skip.NOT_INFERENCE);
    assertThat(c.rejected).isEmpty();
    // the unset-kind vLLM span names no model: the resource's service.name (vllm) comes before the
    // default model
    assertThat(c.accepted)
        .extracting(RequestEvent::getModel)
        .containsExactly("vllm", "gpt-4o-2024");
    RequestEvent served = c.accepted.get(1);
    assertThat(served.getEngine()).isEqualTo("openai");
    assertThat(served.getInputTokens()).isEqualTo(12);
    assertThat(served.getOutputTokens()).isEqualTo(30);
    assertThat(Skip.NOT_SERVER.label()).isEqualTo("not_server");
  }

  @Test
  void providerNameTokensAndCacheAttributes() throws Exception {
    OtlpSpanMapper mapper = new OtlpSpanMapper(DEFAULTS);
    RequestEvent e =
        mapper.mapSpan(
            v1().addAttributes(str("gen_ai.response.model", "m"))
                .addAttributes(str("gen_ai.system", "old-system"))
                .addAttributes(str("gen_ai.provider.name", "vllm-fleet"))
                .addAttributes(num("gen_ai.usage.input_tokens", 130))
                .addAttributes(num("gen_ai.usage.output_tokens", 66))
                .addAttributes(num("gen_ai.usage.cache_read.input_tokens", 96))
                .build());
    assertThat(e.getEngine()).isEqualTo("vllm-fleet");
    assertThat(e.getInputTokens())
        .isEqualTo(130); // the current names win over prompt/completion_tokens
    assertThat(e.getOutputTokens()).isEqualTo(66);
    assertThat(e.getCachedTokens()).isEqualTo(96);
    RequestEvent old =
        mapper.mapSpan(
            v1().addAttributes(str("gen_ai.response.model", "m"))
                .addAttributes(str("gen_ai.system", "old-system"))
                .build());
    assertThat(old.getEngine()).isEqualTo("old-system");
    RequestEvent configured =
        new OtlpSpanMapper(new EventDefaults("c", "r", "h", null, "sglang"))
            .mapSpan(
                v1().addAttributes(str("gen_ai.response.model", "m"))
                    .addAttributes(str("gen_ai.provider.name", "x"))
                    .build());
    assertThat(configured.getEngine()).isEqualTo("sglang");
  }

  private static KeyValue reasons(AnyValue v) {
    return KeyValue.newBuilder().setKey("gen_ai.response.finish_reasons").setValue(v).build();
  }

  private static AnyValue strings(String... values) {
    ArrayValue.Builder a = ArrayValue.newBuilder();
    for (String v : values) {
      a.addValues(AnyValue.newBuilder().setStringValue(v));
    }
    return AnyValue.newBuilder().setArrayValue(a).build();
  }

  @Test
  void finishReasonFormsAndPrecedence() throws Exception {
    OtlpSpanMapper mapper = new OtlpSpanMapper(DEFAULTS.withModelFallback(Optional.of("m"), ""));
    assertThat(
            mapper
                .mapSpan(v1().addAttributes(reasons(strings("length", "STOP"))).build())
                .getAttributes())
        .containsEntry("finish_reasons", "length,stop");
    assertThat(
            mapper
                .mapSpan(v1().addAttributes(str("gen_ai.response.finish_reasons", "abort")).build())
                .getStatus())
        .isEqualTo(RequestStatus.CANCELLED);
    assertThat(
            mapper
                .mapSpan(v1().addAttributes(str("gen_ai.response.finish_reasons", "[]")).build())
                .getAttributes())
        .doesNotContainKey("finish_reasons");
    // an explicit error.type wins over the finish reason, the finish reason over the span status
    RequestEvent timeout =
        mapper.mapSpan(
            v1().addAttributes(str("error.type", "TimeoutError"))
                .addAttributes(str("gen_ai.response.finish_reasons", "[\"abort\"]"))
                .build());
    assertThat(timeout.getStatus()).isEqualTo(RequestStatus.TIMEOUT);
    RequestEvent aborted =
        mapper.mapSpan(
            OtlpFixtures.vllmV1Span(START_NS, "r", "abort")
                .setStatus(
                    Status.newBuilder()
                        .setCode(Status.StatusCode.STATUS_CODE_ERROR)
                        .setMessage("boom"))
                .build());
    assertThat(aborted.getStatus()).isEqualTo(RequestStatus.CANCELLED);
  }

  @Test
  void malformedFinishReasonsAreRejected() {
    OtlpSpanMapper mapper = new OtlpSpanMapper(DEFAULTS.withModelFallback(Optional.of("m"), ""));
    List<KeyValue> bad =
        new ArrayList<>(
            List.of(
                str("gen_ai.response.finish_reasons", "[\"stop\""),
                str("gen_ai.response.finish_reasons", "[1]"),
                str("gen_ai.response.finish_reasons", "[{\"a\":1}]"),
                str("gen_ai.response.finish_reasons", "[\"" + "x".repeat(33) + "\"]"),
                str("gen_ai.response.finish_reasons", "x".repeat(33)),
                str("gen_ai.response.finish_reasons", "[" + "\"s\",".repeat(16) + "\"s\"]"),
                str("gen_ai.response.finish_reasons", "[" + " ".repeat(100_000) + "]"),
                reasons(AnyValue.newBuilder().setIntValue(1).build()),
                reasons(
                    AnyValue.newBuilder()
                        .setArrayValue(
                            ArrayValue.newBuilder()
                                .addValues(AnyValue.newBuilder().setDoubleValue(Double.NaN)))
                        .build())));
    for (KeyValue kv : bad) {
      assertThatThrownBy(() -> mapper.mapSpan(v1().addAttributes(kv).build()))
          .as(kv.toString().substring(0, 60))
          .isInstanceOfSatisfying(
              InvalidEventException.class,
              ex -> {
                assertThat(ex.reason()).isEqualTo(RejectReason.INVALID_VALUE);
                assertThat(ex.getMessage()).hasSizeLessThanOrEqualTo(300);
              });
    }
  }

  /**
   * vLLM's latency attributes: NaN, infinite, negative, absurd and non-numeric values reject the
   * span.
   */
  @Test
  void abusiveLatencies() {
    OtlpSpanMapper mapper = new OtlpSpanMapper(DEFAULTS.withModelFallback(Optional.of("m"), ""));
    List<KeyValue> bad =
        List.of(
            dbl("gen_ai.latency.time_in_model_prefill", Double.NaN),
            dbl("gen_ai.latency.time_in_model_decode", Double.POSITIVE_INFINITY),
            dbl("gen_ai.latency.time_in_model_prefill", -0.1),
            dbl("gen_ai.latency.time_to_first_token", 1e12),
            str("gen_ai.latency.time_in_queue", "NaN"),
            str("gen_ai.latency.e2e", "12.3ms"),
            num("gen_ai.usage.cache_read.input_tokens", 1L << 40));
    for (KeyValue kv : bad) {
      assertThatThrownBy(() -> mapper.mapSpan(v1().addAttributes(kv).build()))
          .as(kv.getKey())
          .isInstanceOf(InvalidEventException.class);
    }
  }

  /**
   * A prefill longer than the time to first token (clocks of two processes) falls back to the
   * engine queue.
   */
  @Test
  void prefillLongerThanTtftFallsBackToTimeInQueue() throws Exception {
    OtlpSpanMapper mapper = new OtlpSpanMapper(DEFAULTS.withModelFallback(Optional.of("m"), ""));
    RequestEvent e =
        mapper.mapSpan(
            v1().addAttributes(dbl("gen_ai.latency.time_in_model_prefill", 0.3)).build());
    assertThat(e.getScheduledUs()).isEqualTo(ARRIVAL + 20_000);
    assertThat(e.getFirstTokenUs()).isEqualTo(ARRIVAL + 250_000);
  }
}
