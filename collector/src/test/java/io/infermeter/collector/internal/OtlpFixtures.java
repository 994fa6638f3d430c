package io.infermeter.collector.internal;

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

/** Builders of vLLM-like OTLP spans for tests (attribute names as vLLM 0.6+ emits them). */
public final class OtlpFixtures {

  public static final String TRACE_ID = "5b8efff798038103d269b633813fc60c";
  public static final String SPAN_ID = "eee19b7ec3c1b174";

  private OtlpFixtures() {}

  public static KeyValue str(String k, String v) {
    return KeyValue.newBuilder().setKey(k).setValue(AnyValue.newBuilder().setStringValue(v)).build();
  }

  public static KeyValue dbl(String k, double v) {
    return KeyValue.newBuilder().setKey(k).setValue(AnyValue.newBuilder().setDoubleValue(v)).build();
  }

  public static KeyValue num(String k, long v) {
    return KeyValue.newBuilder().setKey(k).setValue(AnyValue.newBuilder().setIntValue(v)).build();
  }

  /** A vLLM llm_request span: queue 0.05 s, ttft 0.25 s, e2e 1.5 s, 128 prompt and 64 completion tokens. */
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

  public static ExportTraceServiceRequest request(Span... spans) {
    ScopeSpans.Builder ss = ScopeSpans.newBuilder();
    for (Span s : spans) {
      ss.addSpans(s);
    }
    return ExportTraceServiceRequest.newBuilder().addResourceSpans(ResourceSpans.newBuilder()
        .setResource(Resource.newBuilder()
            .addAttributes(str("service.name", "vllm"))
            .addAttributes(str("host.name", "gpu-node-7"))
            .addAttributes(str("cloud.region", "us-central1"))
            .addAttributes(str("k8s.cluster.name", "prod-a")))
        .addScopeSpans(ss)).build();
  }

  /** The same vLLM span in OTLP/JSON: hex ids, enums as integers, int64 as strings (as the spec examples do). */
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
        """.formatted(TRACE_ID, SPAN_ID, startNanos, startNanos + 1_600_000_000L, requestId, TRACE_ID, startNanos,
        startNanos + 1000);
  }
}
