package io.infermeter.collector.ingest.otlp;

import static io.infermeter.collector.ingest.JsonLinesParserTest.DEFAULTS;
import static io.infermeter.collector.ingest.JsonLinesParserTest.NOW_US;
import static io.infermeter.collector.ingest.otlp.OtlpFixtures.str;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.ingest.JsonLinesParserTest;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Each engine's span as the engine itself builds it (the sources are named on the fixtures in
 * {@link OtlpFixtures}): vLLM V1 ({@code vllm/v1/engine/output_processor.py} do_tracing: no model
 * attribute), vLLM V0 ({@code vllm/engine/llm_engine.py} do_tracing), Triton ({@code
 * src/tracer.cc}: request span with events and a {@code compute} child) and
 * text-generation-inference ({@code router/src/server.rs}: Rust Debug durations). Each is mapped
 * through {@link OtlpSpanMapper#map} with the resource the engine sends and checked by the request
 * validator.
 */
class EngineSpanFixturesTest {

  static final long START_NS = (NOW_US - 30_000_000L) * 1000L + 123;
  static final long ARRIVAL = START_NS / 1000;

  static final class Capture implements OtlpSpanMapper.Sink {
    final List<RequestEvent> accepted = new ArrayList<>();
    final List<InvalidEventException> rejected = new ArrayList<>();
    final List<OtlpSpanMapper.Skip> skipped = new ArrayList<>();

    @Override
    public void accept(RequestEvent event, Span span) {
      accepted.add(event);
    }

    @Override
    public void reject(InvalidEventException reason, String where, Span span) {
      rejected.add(reason);
    }

    @Override
    public void skipped(OtlpSpanMapper.Skip reason, Span span) {
      skipped.add(reason);
    }
  }

  static Capture map(EventDefaults defaults, ExportTraceServiceRequest request)
      throws InvalidEventException {
    Capture c = new Capture();
    int ignored = new OtlpSpanMapper(defaults).map(request, c);
    assertThat(ignored).isEqualTo(c.skipped.size());
    for (RequestEvent e : c.accepted) {
      JsonLinesParserTest.VALIDATOR.validate(e, NOW_US);
    }
    return c;
  }

  static EventDefaults withDefaultModel(String model) {
    return DEFAULTS.withModelFallback(Optional.of(model), "");
  }

  @Test
  void vllmV1SpanWithoutModelIsCountedUnderTheConfiguredModel() throws Exception {
    Capture c =
        map(
            withDefaultModel("llama-8b"),
            OtlpFixtures.requestWithResource(
                OtlpFixtures.pythonSdkDefaultResource(),
                OtlpFixtures.vllmV1Span(START_NS, "cmpl-1", "stop").build()));
    assertThat(c.rejected).isEmpty();
    assertThat(c.skipped).isEmpty();
    RequestEvent e = c.accepted.get(0);
    assertThat(e.getModel())
        .isEqualTo("llama-8b"); // unknown_service is the SDK's default, not a model
    assertThat(e.getEngine()).isEqualTo("vllm");
    assertThat(e.getRequestId()).isEqualTo("cmpl-1");
    assertThat(e.getArrivalUs()).isEqualTo(ARRIVAL);
    assertThat(e.getFirstTokenUs()).isEqualTo(ARRIVAL + 250_000);
    // scheduled = first token - prefill: the 30 ms in the frontend count as waiting, not as prefill
    assertThat(e.getScheduledUs()).isEqualTo(ARRIVAL + 50_000);
    assertThat(e.getAttributes())
        .containsEntry("engine.queue_us", "20000")
        .containsEntry("finish_reasons", "stop")
        .doesNotContainKey("pod");
    assertThat(e.getCompletedUs()).isEqualTo(ARRIVAL + 1_500_000);
    assertThat(e.getInputTokens()).isEqualTo(128);
    assertThat(e.getOutputTokens()).isEqualTo(64);
    assertThat(e.getStatus()).isEqualTo(RequestStatus.OK);
    assertThat(e.getHost()).isEqualTo("host-a");
  }

  @Test
  void vllmV1SpanWithoutAnyModelSourceIsRejectedWithTheReason() throws Exception {
    Capture c =
        map(
            DEFAULTS,
            OtlpFixtures.requestWithResource(
                OtlpFixtures.pythonSdkDefaultResource(),
                OtlpFixtures.vllmV1Span(START_NS, "cmpl-1", "stop").build()));
    assertThat(c.accepted).isEmpty();
    assertThat(c.rejected)
        .singleElement()
        .satisfies(
            ex -> {
              assertThat(ex.reason()).isEqualTo(RejectReason.MISSING_FIELD);
              assertThat(ex.getMessage())
                  .contains("gen_ai.response.model")
                  .contains("service.name")
                  .contains("otlp.default.model");
            });
  }

  @Test
  void vllmV1FinishReasonsMapToStatus() throws Exception {
    EventDefaults d = withDefaultModel("m");
    RequestEvent abort =
        map(d, OtlpFixtures.request(OtlpFixtures.vllmV1Span(START_NS, "a", "abort").build()))
            .accepted
            .get(0);
    assertThat(abort.getStatus()).isEqualTo(RequestStatus.CANCELLED);
    assertThat(abort.getErrorType()).isEqualTo("abort");
    RequestEvent length =
        map(d, OtlpFixtures.request(OtlpFixtures.vllmV1Span(START_NS, "l", "length").build()))
            .accepted
            .get(0);
    assertThat(length.getStatus()).isEqualTo(RequestStatus.OK);
    assertThat(length.getAttributes()).containsEntry("finish_reasons", "length");
    RequestEvent error =
        map(d, OtlpFixtures.request(OtlpFixtures.vllmV1Span(START_NS, "e", "error").build()))
            .accepted
            .get(0);
    assertThat(error.getStatus()).isEqualTo(RequestStatus.ERROR);
  }

  @Test
  void vllmV0SpanNamesItsModel() throws Exception {
    Capture c =
        map(
            DEFAULTS,
            OtlpFixtures.requestWithResource(
                OtlpFixtures.pythonSdkDefaultResource(),
                OtlpFixtures.vllmV0Span(START_NS, "cmpl-0").build()));
    RequestEvent e = c.accepted.get(0);
    assertThat(e.getModel()).isEqualTo("meta-llama/Llama-3.1-8B-Instruct");
    assertThat(e.getScheduledUs())
        .isEqualTo(ARRIVAL + 50_000); // V0 has no prefill: arrival + time_in_queue
    assertThat(e.getFirstTokenUs()).isEqualTo(ARRIVAL + 250_000);
    assertThat(e.getCompletedUs()).isEqualTo(ARRIVAL + 1_500_000);
    assertThat(e.getStatus()).isEqualTo(RequestStatus.OK);
    assertThat(e.getEngine()).isEqualTo("vllm");
  }

  @Test
  void tritonRequestSpanWithItsComputeChild() throws Exception {
    Capture c =
        map(
            DEFAULTS,
            OtlpFixtures.requestWithResource(
                List.of(str("service.name", "triton-inference-server")),
                OtlpFixtures.tritonSpans(START_NS, "42")));
    assertThat(c.rejected).isEmpty();
    assertThat(c.skipped).containsExactly(OtlpSpanMapper.Skip.NOT_INFERENCE); // the compute child
    RequestEvent e = c.accepted.get(0);
    assertThat(e.getModel()).isEqualTo("resnet50");
    assertThat(e.getModelVersion()).isEqualTo("3");
    assertThat(e.getRequestId()).isEqualTo("42");
    assertThat(e.getEngine()).isEqualTo("triton");
    assertThat(e.getArrivalUs()).isEqualTo(ARRIVAL);
    assertThat(e.getScheduledUs()).isEqualTo(ARRIVAL + 40_000);
    assertThat(e.getFirstTokenUs()).isNull();
    assertThat(e.getCompletedUs()).isEqualTo(ARRIVAL + 95_000);
    assertThat(e.getStatus()).isEqualTo(RequestStatus.OK);
    assertThat(e.getAttributes())
        .containsEntry("triton.queue_start_us", Long.toString(ARRIVAL + 1_000));
  }

  @Test
  void tritonRequestSpanWhoseComputeChildCameInAnotherBatchHasNoScheduledTime() throws Exception {
    Capture c = map(DEFAULTS, OtlpFixtures.request(OtlpFixtures.tritonSpans(START_NS, "42")[0]));
    RequestEvent e = c.accepted.get(0);
    assertThat(e.getScheduledUs()).isNull();
    assertThat(e.getCompletedUs()).isEqualTo(ARRIVAL + 95_000);
  }

  @Test
  void tgiRouterSpanWithDebugDurations() throws Exception {
    List<KeyValue> tgiResource = List.of(str("service.name", TgiSpans.DEFAULT_SERVICE_NAME));
    // the router's default service name is not a model: without a configured one the span is
    // rejected
    Capture none =
        map(
            DEFAULTS,
            OtlpFixtures.requestWithResource(
                tgiResource, OtlpFixtures.tgiGenerateSpan(START_NS).build()));
    assertThat(none.rejected)
        .singleElement()
        .satisfies(ex -> assertThat(ex.reason()).isEqualTo(RejectReason.MISSING_FIELD));
    Capture c =
        map(
            withDefaultModel("bigscience/bloom-560m"),
            OtlpFixtures.requestWithResource(
                tgiResource, OtlpFixtures.tgiGenerateSpan(START_NS).build()));
    RequestEvent e = c.accepted.get(0);
    assertThat(e.getModel()).isEqualTo("bigscience/bloom-560m");
    assertThat(e.getEngine()).isEqualTo("tgi");
    assertThat(e.getArrivalUs()).isEqualTo(ARRIVAL);
    assertThat(e.getScheduledUs()).isEqualTo(ARRIVAL + 13_800); // validation 1.5 ms + queue 12.3 ms
    assertThat(e.getCompletedUs()).isEqualTo(ARRIVAL + 1_213_800);
    assertThat(e.getFirstTokenUs()).isNull();
    assertThat(e.getAttributes()).containsEntry("time_per_token_us", "24000");
    // --otlp-service-name set to the model: the resource names it
    Capture named =
        map(
            DEFAULTS,
            OtlpFixtures.requestWithResource(
                List.of(str("service.name", "mistral-7b")),
                OtlpFixtures.tgiGenerateSpan(START_NS).build()));
    assertThat(named.accepted.get(0).getModel()).isEqualTo("mistral-7b");
  }

  @Test
  void tgiSpansWithBadDurationsAreRejected() throws Exception {
    EventDefaults d = withDefaultModel("m");
    for (String bad :
        List.of(
            "fast", "12.3", "NaNms", "infs", "1e3ms", "1.2.3ms", "12 .3ms", "", "9".repeat(41))) {
      Capture c =
          map(
              d,
              OtlpFixtures.request(
                  OtlpFixtures.tgiGenerateSpan(START_NS)
                      .addAttributes(str("queue_time", bad))
                      .build()));
      assertThat(c.rejected)
          .as(bad)
          .singleElement()
          .satisfies(ex -> assertThat(ex.reason()).isEqualTo(RejectReason.INVALID_VALUE));
    }
    Capture negative =
        map(
            d,
            OtlpFixtures.request(
                OtlpFixtures.tgiGenerateSpan(START_NS)
                    .addAttributes(str("total_time", "-5ms"))
                    .build()));
    assertThat(negative.rejected)
        .singleElement()
        .satisfies(ex -> assertThat(ex.reason()).isEqualTo(RejectReason.NEGATIVE_DURATION));
    Capture absurd =
        map(
            d,
            OtlpFixtures.request(
                OtlpFixtures.tgiGenerateSpan(START_NS)
                    .addAttributes(str("total_time", "99999999999999999999s"))
                    .build()));
    assertThat(absurd.rejected)
        .singleElement()
        .satisfies(ex -> assertThat(ex.reason()).isEqualTo(RejectReason.ABSURD_DURATION));
  }
}
