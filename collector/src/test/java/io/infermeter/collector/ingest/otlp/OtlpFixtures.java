package io.infermeter.collector.ingest.otlp;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.util.HexFormat;

/**
 * Builders of OTLP spans for tests. {@link #vllmSpan} is vLLM's {@code llm_request} span with model
 * attributes added (as vLLM V0 and instrumented gateways send them); {@link #vllmV1Span}, {@link
 * #vllmV0Span}, {@link #tritonSpans} and {@link #tgiGenerateSpan} are each engine's own shape, with
 * the source they were built from named on each.
 */
public final class OtlpFixtures {

  public static final String TRACE_ID = "5b8efff798038103d269b633813fc60c";
  public static final String SPAN_ID = "eee19b7ec3c1b174";

  private OtlpFixtures() {}

  public static KeyValue str(String k, String v) {
    return KeyValue.newBuilder()
        .setKey(k)
        .setValue(AnyValue.newBuilder().setStringValue(v))
        .build();
  }

  public static KeyValue dbl(String k, double v) {
    return KeyValue.newBuilder()
        .setKey(k)
        .setValue(AnyValue.newBuilder().setDoubleValue(v))
        .build();
  }

  public static KeyValue num(String k, long v) {
    return KeyValue.newBuilder().setKey(k).setValue(AnyValue.newBuilder().setIntValue(v)).build();
  }

  /**
   * A vLLM llm_request span: queue 0.05 s, ttft 0.25 s, e2e 1.5 s, 128 prompt and 64 completion
   * tokens.
   */
  public static Span.Builder vllmSpan(long startNanos, String requestId) {
    return Span.newBuilder()
        .setTraceId(ByteString.copyFrom(HexFormat.of().parseHex(TRACE_ID)))
        .setSpanId(ByteString.copyFrom(HexFormat.of().parseHex(SPAN_ID)))
        .setName("llm_request")
        .setKind(Span.SpanKind.SPAN_KIND_SERVER)
        .setStartTimeUnixNano(startNanos)
        .setEndTimeUnixNano(startNanos + 1_600_000_000L)
        .addAttributes(str("gen_ai.request.model", "llama-alias"))
        .addAttributes(str("gen_ai.response.model", "meta-llama/Llama-3.1-8B-Instruct"))
        .addAttributes(str("gen_ai.request.id", requestId))
        .addAttributes(str("gen_ai.operation.name", "chat"))
        .addAttributes(num("gen_ai.usage.prompt_tokens", 128))
        .addAttributes(num("gen_ai.usage.completion_tokens", 64))
        .addAttributes(dbl("gen_ai.latency.time_in_queue", 0.05))
        .addAttributes(dbl("gen_ai.latency.time_to_first_token", 0.25))
        .addAttributes(dbl("gen_ai.latency.e2e", 1.5))
        .addAttributes(dbl("gen_ai.latency.time_in_model_prefill", 0.2))
        .addAttributes(dbl("gen_ai.latency.time_in_model_decode", 1.25))
        .setStatus(Status.newBuilder().setCode(Status.StatusCode.STATUS_CODE_UNSET));
  }

  /**
   * vLLM V1's {@code llm_request} span, the exact attribute set of {@code
   * OutputProcessor.do_tracing} in vllm-project/vllm {@code vllm/v1/engine/output_processor.py}
   * (names from {@code vllm/tracing.py} SpanAttributes): time_to_first_token, e2e, time_in_queue
   * (engine-core scheduled - queued), prompt_tokens, completion_tokens, time_in_model_prefill
   * (first token - scheduled), time_in_model_decode, time_in_model_inference, request.id,
   * finish_reasons as {@code json.dumps([str(finish_reason)])}, and the optional top_p, max_tokens,
   * temperature, n; kind SERVER, started at the arrival time, <b>no model attribute</b>. Here:
   * arrival at {@code startNanos}, 30 ms in the frontend, engine queue 20 ms (so scheduled at +50
   * ms), prefill 200 ms (first token at +250 ms), decode 1.25 s (e2e 1.5 s), 128 prompt and 64
   * completion tokens.
   */
  public static Span.Builder vllmV1Span(long startNanos, String requestId, String finishReason) {
    return Span.newBuilder()
        .setTraceId(ByteString.copyFrom(HexFormat.of().parseHex(TRACE_ID)))
        .setSpanId(ByteString.copyFrom(HexFormat.of().parseHex(SPAN_ID)))
        .setName("llm_request")
        .setKind(Span.SpanKind.SPAN_KIND_SERVER)
        .setStartTimeUnixNano(startNanos)
        .setEndTimeUnixNano(startNanos + 1_502_000_000L)
        .addAttributes(dbl("gen_ai.latency.time_to_first_token", 0.25))
        .addAttributes(dbl("gen_ai.latency.e2e", 1.5))
        .addAttributes(dbl("gen_ai.latency.time_in_queue", 0.02))
        .addAttributes(num("gen_ai.usage.prompt_tokens", 128))
        .addAttributes(num("gen_ai.usage.completion_tokens", 64))
        .addAttributes(dbl("gen_ai.latency.time_in_model_prefill", 0.2))
        .addAttributes(dbl("gen_ai.latency.time_in_model_decode", 1.25))
        .addAttributes(dbl("gen_ai.latency.time_in_model_inference", 1.45))
        .addAttributes(str("gen_ai.request.id", requestId))
        .addAttributes(str("gen_ai.response.finish_reasons", "[\"" + finishReason + "\"]"))
        .addAttributes(dbl("gen_ai.request.top_p", 0.95))
        .addAttributes(num("gen_ai.request.max_tokens", 64))
        .addAttributes(dbl("gen_ai.request.temperature", 0.7))
        .addAttributes(num("gen_ai.request.n", 1));
  }

  /**
   * vLLM V0's {@code llm_request} span, the attribute set of {@code LLMEngine.do_tracing} in
   * vllm-project/vllm {@code vllm/engine/llm_engine.py} (V0 releases): response.model (the served
   * model), request.id, temperature, top_p, max_tokens, n, usage.num_sequences, prompt_tokens,
   * completion_tokens, time_in_queue (first scheduled - arrival), time_to_first_token, e2e, and the
   * optional time_in_scheduler, time_in_model_forward, time_in_model_execute; kind SERVER. Here:
   * queue 50 ms, first token at +250 ms, e2e 1.5 s.
   */
  public static Span.Builder vllmV0Span(long startNanos, String requestId) {
    return Span.newBuilder()
        .setTraceId(ByteString.copyFrom(HexFormat.of().parseHex(TRACE_ID)))
        .setSpanId(ByteString.copyFrom(HexFormat.of().parseHex(SPAN_ID)))
        .setName("llm_request")
        .setKind(Span.SpanKind.SPAN_KIND_SERVER)
        .setStartTimeUnixNano(startNanos)
        .setEndTimeUnixNano(startNanos + 1_501_000_000L)
        .addAttributes(str("gen_ai.response.model", "meta-llama/Llama-3.1-8B-Instruct"))
        .addAttributes(str("gen_ai.request.id", requestId))
        .addAttributes(dbl("gen_ai.request.temperature", 0.7))
        .addAttributes(dbl("gen_ai.request.top_p", 0.95))
        .addAttributes(num("gen_ai.request.max_tokens", 64))
        .addAttributes(num("gen_ai.request.n", 1))
        .addAttributes(num("gen_ai.usage.num_sequences", 1))
        .addAttributes(num("gen_ai.usage.prompt_tokens", 128))
        .addAttributes(num("gen_ai.usage.completion_tokens", 64))
        .addAttributes(dbl("gen_ai.latency.time_in_queue", 0.05))
        .addAttributes(dbl("gen_ai.latency.time_to_first_token", 0.25))
        .addAttributes(dbl("gen_ai.latency.e2e", 1.5))
        .addAttributes(dbl("gen_ai.latency.time_in_scheduler", 0.004))
        .addAttributes(dbl("gen_ai.latency.time_in_model_forward", 1.2))
        .addAttributes(dbl("gen_ai.latency.time_in_model_execute", 1.3));
  }

  private static Span.Event event(String name, long nanos) {
    return Span.Event.newBuilder().setName(name).setTimeUnixNano(nanos).build();
  }

  /**
   * Triton's two spans of one request in OpenTelemetry mode, as triton-inference-server/server
   * {@code src/tracer.cc} builds them: the request span, named after the model, kind SERVER, with
   * triton.model_name, triton.model_version (int), triton.trace_id, triton.trace_parent_id,
   * triton.request_id and the events REQUEST_START, QUEUE_START, REQUEST_END; and its child {@code
   * compute}, kind SERVER, no attributes, events COMPUTE_START, COMPUTE_INPUT_END,
   * COMPUTE_OUTPUT_START, COMPUTE_END. Here: queued at +1 ms, compute from +40 ms to +90 ms, end at
   * +95 ms.
   */
  public static Span[] tritonSpans(long startNanos, String requestId) {
    ByteString trace = ByteString.copyFrom(HexFormat.of().parseHex(TRACE_ID));
    ByteString request = ByteString.copyFrom(HexFormat.of().parseHex("00000000000000a1"));
    Span req =
        Span.newBuilder()
            .setTraceId(trace)
            .setSpanId(request)
            .setName("resnet50")
            .setKind(Span.SpanKind.SPAN_KIND_SERVER)
            .setStartTimeUnixNano(startNanos)
            .setEndTimeUnixNano(startNanos + 95_000_000L)
            .addAttributes(str("triton.model_name", "resnet50"))
            .addAttributes(num("triton.model_version", 3))
            .addAttributes(num("triton.trace_id", 1))
            .addAttributes(num("triton.trace_parent_id", 0))
            .addAttributes(str("triton.request_id", requestId))
            .addEvents(event("REQUEST_START", startNanos))
            .addEvents(event("QUEUE_START", startNanos + 1_000_000L))
            .addEvents(event("REQUEST_END", startNanos + 95_000_000L))
            .build();
    Span compute =
        Span.newBuilder()
            .setTraceId(trace)
            .setSpanId(ByteString.copyFrom(HexFormat.of().parseHex("00000000000000a2")))
            .setParentSpanId(request)
            .setName("compute")
            .setKind(Span.SpanKind.SPAN_KIND_SERVER)
            .setStartTimeUnixNano(startNanos + 40_000_000L)
            .setEndTimeUnixNano(startNanos + 90_000_000L)
            .addEvents(event("COMPUTE_START", startNanos + 40_000_000L))
            .addEvents(event("COMPUTE_INPUT_END", startNanos + 42_000_000L))
            .addEvents(event("COMPUTE_OUTPUT_START", startNanos + 88_000_000L))
            .addEvents(event("COMPUTE_END", startNanos + 90_000_000L))
            .build();
    return new Span[] {req, compute};
  }

  /**
   * text-generation-inference's router span of {@code generate}, as
   * huggingface/text-generation-inference {@code router/src/server.rs} declares it ({@code
   * #[instrument(skip_all, fields(parameters = ?req.parameters, total_time, validation_time,
   * queue_time, inference_time, time_per_token, seed))]}) and fills it ({@code
   * span.record("total_time", format!("{total_time:?}"))}: Rust Debug durations). Here: validation
   * 1.5 ms, queue 12.3 ms, inference 1.2 s over 50 tokens (24 ms per token), total 1.2138 s.
   */
  public static Span.Builder tgiGenerateSpan(long startNanos) {
    return Span.newBuilder()
        .setTraceId(ByteString.copyFrom(HexFormat.of().parseHex(TRACE_ID)))
        .setSpanId(ByteString.copyFrom(HexFormat.of().parseHex("00000000000000b1")))
        .setName("generate")
        .setKind(Span.SpanKind.SPAN_KIND_INTERNAL)
        .setStartTimeUnixNano(startNanos)
        .setEndTimeUnixNano(startNanos + 1_214_000_000L)
        .addAttributes(
            str(
                "parameters",
                "GenerateParameters { best_of: None, temperature: Some(0.7), "
                    + "max_new_tokens: Some(50), seed: None }"))
        .addAttributes(str("total_time", "1.2138s"))
        .addAttributes(str("validation_time", "1.5ms"))
        .addAttributes(str("queue_time", "12.3ms"))
        .addAttributes(str("inference_time", "1.2s"))
        .addAttributes(str("time_per_token", "24ms"))
        .addAttributes(str("seed", "None"));
  }

  /** One export request with the given resource attributes. */
  public static ExportTraceServiceRequest requestWithResource(
      java.util.List<KeyValue> resource, Span... spans) {
    ScopeSpans.Builder ss = ScopeSpans.newBuilder();
    for (Span s : spans) {
      ss.addSpans(s);
    }
    return ExportTraceServiceRequest.newBuilder()
        .addResourceSpans(
            ResourceSpans.newBuilder()
                .setResource(Resource.newBuilder().addAllAttributes(resource))
                .addScopeSpans(ss))
        .build();
  }

  /**
   * The resource of the OpenTelemetry Python SDK's default {@code TracerProvider()} (what vLLM
   * builds) with no {@code OTEL_SERVICE_NAME}: service.name {@code unknown_service} and the
   * telemetry.sdk attributes.
   */
  public static java.util.List<KeyValue> pythonSdkDefaultResource() {
    return java.util.List.of(
        str("telemetry.sdk.language", "python"),
        str("telemetry.sdk.name", "opentelemetry"),
        str("telemetry.sdk.version", "1.27.0"),
        str("service.name", "unknown_service"));
  }

  public static ExportTraceServiceRequest request(Span... spans) {
    ScopeSpans.Builder ss = ScopeSpans.newBuilder();
    for (Span s : spans) {
      ss.addSpans(s);
    }
    return ExportTraceServiceRequest.newBuilder()
        .addResourceSpans(
            ResourceSpans.newBuilder()
                .setResource(
                    Resource.newBuilder()
                        .addAttributes(str("service.name", "vllm"))
                        .addAttributes(str("host.name", "gpu-node-7"))
                        .addAttributes(str("cloud.region", "us-central1"))
                        .addAttributes(str("k8s.cluster.name", "prod-a")))
                .addScopeSpans(ss))
        .build();
  }

  /**
   * The same vLLM span in OTLP/JSON: hex ids, enums as integers, int64 as strings (as the spec
   * examples do).
   */
  public static String json(long startNanos, String requestId) {
    return """
        {"resourceSpans":[{"resource":{"attributes":[
          {"key":"service.name","value":{"stringValue":"vllm"}},
          {"key":"host.name","value":{"stringValue":"gpu-node-7"}},
          {"key":"cloud.region","value":{"stringValue":"us-central1"}},
          {"key":"k8s.cluster.name","value":{"stringValue":"prod-a"}}]},
         "scopeSpans":[{"scope":{"name":"vllm.llm_engine"},"spans":[
          {"traceId":"%s","spanId":"%s","parentSpanId":"","name":"llm_request","kind":2,
           "startTimeUnixNano":"%d","endTimeUnixNano":"%d",
           "attributes":[
            {"key":"gen_ai.request.model","value":{"stringValue":"llama-alias"}},
            {"key":"gen_ai.response.model","value":{"stringValue":"meta-llama/Llama-3.1-8B-Instruct"}},
            {"key":"gen_ai.request.id","value":{"stringValue":"%s"}},
            {"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
            {"key":"gen_ai.usage.prompt_tokens","value":{"intValue":"128"}},
            {"key":"gen_ai.usage.completion_tokens","value":{"intValue":64}},
            {"key":"gen_ai.latency.time_in_queue","value":{"doubleValue":0.05}},
            {"key":"gen_ai.latency.time_to_first_token","value":{"doubleValue":0.25}},
            {"key":"gen_ai.latency.e2e","value":{"doubleValue":1.5}},
            {"key":"gen_ai.latency.time_in_model_prefill","value":{"doubleValue":0.2}},
            {"key":"gen_ai.latency.time_in_model_decode","value":{"doubleValue":1.25}}],
           "status":{"code":0},"someFutureField":true},
          {"traceId":"%s","spanId":"0000000000000001","name":"http GET /health","kind":2,
           "startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}
        """
        .formatted(
            TRACE_ID,
            SPAN_ID,
            startNanos,
            startNanos + 1_600_000_000L,
            requestId,
            TRACE_ID,
            startNanos,
            startNanos + 1000);
  }
}
