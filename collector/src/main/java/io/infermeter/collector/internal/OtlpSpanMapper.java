package io.infermeter.collector.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.internal.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.io.IOException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Turns OTLP trace export requests (protobuf or OTLP/JSON) into request events. Mapping (docs/COLLECTOR.md, "OTLP
 * mapping"): arrival = span start; scheduled = arrival + {@code gen_ai.latency.time_in_queue}; first token = arrival +
 * {@code gen_ai.latency.time_to_first_token} (else scheduled + {@code time_in_model_prefill}); completed = arrival +
 * {@code gen_ai.latency.e2e} (else the span end, else first token + {@code time_in_model_decode}). Latency attributes
 * are seconds (doubles), converted to whole microseconds by rounding. Spans without any {@code gen_ai.*} attribute, and
 * agent and tool spans ({@link #isInferenceSpan}), are not inference requests and are skipped (counted as ignored), not
 * rejected. Thread-safe (stateless apart from the
 * immutable defaults).
 */
public final class OtlpSpanMapper {

  /** What a mapped export request produced: accepted events go to the sink, rejects are reported with their span. */
  public interface Sink {
    /** A mapped event (not yet validated) and the span it came from. */
    void accept(RequestEvent event, Span span);

    /** A span that could not be mapped. */
    void reject(InvalidEventException reason, String where, Span span);
  }

  static final String QUEUE = "gen_ai.latency.time_in_queue";
  static final String TTFT = "gen_ai.latency.time_to_first_token";
  static final String E2E = "gen_ai.latency.e2e";
  static final String PREFILL = "gen_ai.latency.time_in_model_prefill";
  static final String DECODE = "gen_ai.latency.time_in_model_decode";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonFormat.Parser JSON_PARSER = JsonFormat.parser().ignoringUnknownFields();

  private final EventDefaults defaults;

  public OtlpSpanMapper(EventDefaults defaults) {
    this.defaults = defaults;
  }

  /** Decodes the protobuf encoding. */
  public static ExportTraceServiceRequest parseProtobuf(byte[] body) throws InvalidEventException {
    try {
      return ExportTraceServiceRequest.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidEventException(RejectReason.MALFORMED, "malformed OTLP protobuf: " + e.getMessage());
    }
  }

  /**
   * Decodes OTLP/JSON. Its differences from the proto3 JSON mapping that {@link JsonFormat} implements: trace and
   * span ids are hex strings, not base64, so they are rewritten before parsing. Enum values as integers, 64-bit
   * integers as strings or numbers and lowerCamelCase keys are all accepted by JsonFormat already; unknown fields are
   * ignored as the OTLP spec requires.
   */
  public static ExportTraceServiceRequest parseJson(byte[] body) throws InvalidEventException {
    int bad = JsonLinesParser.invalidUtf8(body, 0, body.length);
    if (bad >= 0) {
      // Jackson decodes overlong forms and encoded surrogates without complaint: the same strict check as JSON lines
      throw new InvalidEventException(RejectReason.MALFORMED, "OTLP/JSON body is not valid UTF-8 (byte " + (bad + 1)
          + ")");
    }
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      throw new InvalidEventException(RejectReason.MALFORMED, "malformed OTLP/JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new InvalidEventException(RejectReason.MALFORMED, "OTLP/JSON body must be an object");
    }
    for (JsonNode rs : root.path("resourceSpans")) {
      for (JsonNode ss : rs.path("scopeSpans")) {
        for (JsonNode span : ss.path("spans")) {
          hexToBase64(span, "traceId", "spanId", "parentSpanId");
          for (JsonNode link : span.path("links")) {
            hexToBase64(link, "traceId", "spanId");
          }
        }
      }
    }
    ExportTraceServiceRequest.Builder b = ExportTraceServiceRequest.newBuilder();
    try {
      JSON_PARSER.merge(JSON.writeValueAsString(root), b);
    } catch (IOException | RuntimeException e) {
      throw new InvalidEventException(RejectReason.MALFORMED, "malformed OTLP/JSON: " + e.getMessage());
    }
    return b.build();
  }

  private static void hexToBase64(JsonNode node, String... fields) throws InvalidEventException {
    if (!(node instanceof ObjectNode obj)) {
      return;
    }
    for (String f : fields) {
      JsonNode v = obj.get(f);
      if (v != null && v.isTextual() && !v.asText().isEmpty()) {
        try {
          obj.put(f, Base64.getEncoder().encodeToString(HexFormat.of().parseHex(v.asText())));
        } catch (IllegalArgumentException e) {
          throw new InvalidEventException(RejectReason.MALFORMED, f + " '" + v.asText() + "' is not hex");
        }
      }
    }
  }

  /** Maps every inference span of {@code request}; returns the number of non-inference spans skipped. */
  public int map(ExportTraceServiceRequest request, Sink sink) {
    int ignored = 0;
    for (ResourceSpans rs : request.getResourceSpansList()) {
      Resource resource = rs.getResource();
      String host = stringAttr(resource.getAttributesList(), "host.name");
      String region = stringAttr(resource.getAttributesList(), "cloud.region");
      String cluster = stringAttr(resource.getAttributesList(), "k8s.cluster.name");
      String service = stringAttr(resource.getAttributesList(), "service.name");
      for (ScopeSpans ss : rs.getScopeSpansList()) {
        for (Span span : ss.getSpansList()) {
          if (!isInferenceSpan(span)) {
            ignored++;
            continue;
          }
          try {
            RequestEvent e = mapSpan(span);
            if (host != null) {
              e.setHost(host);
            }
            if (region != null) {
              e.setRegion(region);
            }
            if (cluster != null) {
              e.setCluster(cluster);
            }
            if (service != null) {
              e.getAttributes().put("service.name", service);
            }
            sink.accept(e, span);
          } catch (InvalidEventException ex) {
            sink.reject(ex, where(span), span);
          }
        }
      }
    }
    return ignored;
  }

  /** How a span is named in reject messages: its span id and name. */
  public static String where(Span span) {
    return "span " + HexFormat.of().formatHex(span.getSpanId().toByteArray()) + " (" + span.getName() + ")";
  }

  /**
   * Values of {@code gen_ai.operation.name} that are a model inference call (OpenTelemetry GenAI semantic conventions:
   * chat, text_completion, generate_content, embeddings). The conventions' other well-known values, create_agent,
   * invoke_agent and execute_tool, describe agent and tool work around the calls.
   */
  static final java.util.Set<String> INFERENCE_OPERATIONS =
      java.util.Set.of("chat", "text_completion", "generate_content", "embeddings");
  static final java.util.Set<String> NON_INFERENCE_OPERATIONS =
      java.util.Set.of("create_agent", "invoke_agent", "invoke_workflow", "execute_tool");

  /**
   * Whether a span is an inference request: it has a {@code gen_ai.*} attribute, and its {@code gen_ai.operation.name}
   * (when present) is not agent or tool work; an operation name outside the well-known values counts as inference
   * only when the span names a model. Skipped spans are counted, never rejected: a trace of an agent run is sent
   * whole, and its agent and tool spans must not make the batch fail.
   */
  static boolean isInferenceSpan(Span span) {
    boolean genAi = false;
    boolean model = false;
    String operation = null;
    for (KeyValue kv : span.getAttributesList()) {
      String key = kv.getKey();
      if (key.startsWith("gen_ai.")) {
        genAi = true;
        if (key.equals("gen_ai.operation.name")) {
          operation = asString(kv.getValue());
        } else if (key.equals("gen_ai.request.model") || key.equals("gen_ai.response.model")) {
          model = true;
        }
      }
    }
    if (!genAi) {
      return false;
    }
    if (operation == null) {
      return true;
    }
    String op = operation.toLowerCase(Locale.ROOT);
    return !NON_INFERENCE_OPERATIONS.contains(op) && (INFERENCE_OPERATIONS.contains(op) || model);
  }

  /** Maps one inference span (identity defaults applied; resource attributes are the caller's). */
  public RequestEvent mapSpan(Span span) throws InvalidEventException {
    RequestEvent e = defaults.newEvent("otlp");
    long arrivalUs = span.getStartTimeUnixNano() / 1_000L;
    if (span.getStartTimeUnixNano() == 0) {
      throw new InvalidEventException(RejectReason.MISSING_FIELD, "span has no start time (arrival)");
    }
    e.setArrivalUs(arrivalUs);
    String model = null;
    String requestModel = null;
    String errorType = null;
    double queue = Double.NaN;
    double ttft = Double.NaN;
    double e2e = Double.NaN;
    double prefill = Double.NaN;
    double decode = Double.NaN;
    for (KeyValue kv : span.getAttributesList()) {
      AnyValue v = kv.getValue();
      switch (kv.getKey()) {
        case QUEUE -> queue = seconds(kv);
        case TTFT -> ttft = seconds(kv);
        case E2E -> e2e = seconds(kv);
        case PREFILL -> prefill = seconds(kv);
        case DECODE -> decode = seconds(kv);
        case "gen_ai.usage.prompt_tokens", "gen_ai.usage.input_tokens" -> e.setInputTokens(tokens(kv));
        case "gen_ai.usage.completion_tokens", "gen_ai.usage.output_tokens" -> e.setOutputTokens(tokens(kv));
        case "gen_ai.request.id" -> e.setRequestId(asString(v));
        case "gen_ai.response.model" -> model = asString(v);
        case "gen_ai.request.model" -> requestModel = asString(v);
        case "gen_ai.operation.name" -> e.setOperation(asString(v));
        case "gen_ai.system" -> {
          if (e.getEngine() == null) {
            e.setEngine(asString(v));
          }
        }
        case "error.type" -> errorType = asString(v);
        default -> { }
      }
    }
    // The served model is what the response names; the requested one is a fallback (aliases resolve to it).
    String served = model != null && !model.isEmpty() ? model : requestModel;
    if (served == null || served.isEmpty()) {
      throw new InvalidEventException(RejectReason.MISSING_FIELD,
          "span has neither gen_ai.response.model nor gen_ai.request.model");
    }
    e.setModel(served);
    // The gen_ai.latency.* attributes are vLLM's own (not in the GenAI semantic conventions).
    boolean vllm = !Double.isNaN(queue) || !Double.isNaN(ttft) || !Double.isNaN(e2e) || !Double.isNaN(prefill)
        || !Double.isNaN(decode);
    if (e.getEngine() == null && vllm) {
      e.setEngine("vllm");
    }
    if (!Double.isNaN(queue)) {
      e.setScheduledUs(arrivalUs + micros(queue));
    }
    if (!Double.isNaN(ttft)) {
      e.setFirstTokenUs(arrivalUs + micros(ttft));
    } else if (!Double.isNaN(prefill) && e.getScheduledUs() != null) {
      e.setFirstTokenUs(e.getScheduledUs() + micros(prefill));
    }
    if (!Double.isNaN(e2e)) {
      e.setCompletedUs(arrivalUs + micros(e2e));
    } else if (span.getEndTimeUnixNano() != 0) {
      e.setCompletedUs(span.getEndTimeUnixNano() / 1_000L);
    } else if (!Double.isNaN(decode) && e.getFirstTokenUs() != null) {
      e.setCompletedUs(e.getFirstTokenUs() + micros(decode));
    } else {
      throw new InvalidEventException(RejectReason.MISSING_FIELD,
          "span has neither gen_ai.latency.e2e nor an end time (completion)");
    }
    boolean spanError = span.getStatus().getCode() == Status.StatusCode.STATUS_CODE_ERROR;
    if (errorType != null && !errorType.isEmpty()) {
      e.setErrorType(errorType);
      e.setStatus(statusOfError(errorType));
    } else if (spanError) {
      e.setStatus(RequestStatus.ERROR);
      String msg = span.getStatus().getMessage();
      e.setErrorType(msg.isEmpty() ? "error" : msg);
    } else {
      e.setStatus(RequestStatus.OK);
    }
    if (!span.getTraceId().isEmpty()) {
      e.getAttributes().put("trace.id", HexFormat.of().formatHex(span.getTraceId().toByteArray()));
    }
    return e;
  }

  static RequestStatus statusOfError(String errorType) {
    String t = errorType.toLowerCase(Locale.ROOT);
    if (t.contains("timeout") || t.contains("timed_out") || t.contains("deadline")) {
      return RequestStatus.TIMEOUT;
    }
    if (t.contains("cancel") || t.contains("abort")) {
      return RequestStatus.CANCELLED;
    }
    return RequestStatus.ERROR;
  }

  private static long micros(double seconds) {
    return Math.round(seconds * 1_000_000.0);
  }

  private static double seconds(KeyValue kv) throws InvalidEventException {
    AnyValue v = kv.getValue();
    double d = switch (v.getValueCase()) {
      case DOUBLE_VALUE -> v.getDoubleValue();
      case INT_VALUE -> v.getIntValue();
      case STRING_VALUE -> parseDouble(kv.getKey(), v.getStringValue());
      default -> throw new InvalidEventException(RejectReason.INVALID_VALUE,
          kv.getKey() + " must be a number of seconds, got " + v.getValueCase());
    };
    if (!Double.isFinite(d)) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, kv.getKey() + " is not finite: " + d);
    }
    if (d < 0) {
      throw new InvalidEventException(RejectReason.NEGATIVE_DURATION, kv.getKey() + " is negative: " + d + " s");
    }
    if (d > 1.0e7) {
      throw new InvalidEventException(RejectReason.ABSURD_DURATION, kv.getKey() + " is absurd: " + d + " s");
    }
    return d;
  }

  private static double parseDouble(String key, String s) throws InvalidEventException {
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, key + " is not a number: '" + s + "'");
    }
  }

  private static int tokens(KeyValue kv) throws InvalidEventException {
    AnyValue v = kv.getValue();
    long n = switch (v.getValueCase()) {
      case INT_VALUE -> v.getIntValue();
      case DOUBLE_VALUE -> {
        double d = v.getDoubleValue();
        if (!Double.isFinite(d) || d != Math.rint(d)) {
          throw new InvalidEventException(RejectReason.INVALID_VALUE, kv.getKey() + " is not a whole number: " + d);
        }
        yield (long) d;
      }
      case STRING_VALUE -> {
        try {
          yield Long.parseLong(v.getStringValue().trim());
        } catch (NumberFormatException e) {
          throw new InvalidEventException(RejectReason.INVALID_VALUE,
              kv.getKey() + " is not an integer: '" + v.getStringValue() + "'");
        }
      }
      default -> throw new InvalidEventException(RejectReason.INVALID_VALUE,
          kv.getKey() + " must be an integer, got " + v.getValueCase());
    };
    if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, kv.getKey() + " is out of range: " + n);
    }
    return (int) n;
  }

  private static String asString(AnyValue v) {
    return switch (v.getValueCase()) {
      case STRING_VALUE -> v.getStringValue();
      case INT_VALUE -> Long.toString(v.getIntValue());
      case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
      case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
      default -> null;
    };
  }

  static String stringAttr(java.util.List<KeyValue> attrs, String key) {
    for (KeyValue kv : attrs) {
      if (kv.getKey().equals(key)) {
        String s = asString(kv.getValue());
        return s == null || s.isEmpty() ? null : s;
      }
    }
    return null;
  }
}
