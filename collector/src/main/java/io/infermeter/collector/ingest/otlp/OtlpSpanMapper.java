package io.infermeter.collector.ingest.otlp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.Ids;
import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.ingest.JsonLinesParser;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.io.IOException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Turns OTLP trace export requests (protobuf or OTLP/JSON) into request events. Mapping
 * (docs/COLLECTOR.md, "OTLP mapping"):
 *
 * <ul>
 *   <li>vLLM ({@code gen_ai.latency.*}, seconds as doubles): arrival = span start; first token =
 *       arrival + {@code time_to_first_token}; scheduled = first token - {@code
 *       time_in_model_prefill} (so the frontend's tokenization and IPC count as waiting, as vLLM
 *       V1's {@code time_in_queue} covers only the engine-core queue), else arrival + {@code
 *       time_in_queue}; completed = arrival + {@code e2e}, else the span end, else first token +
 *       {@code time_in_model_decode}.
 *   <li>Triton ({@code triton.model_name}, timestamps as span events): {@link TritonSpans}.
 *   <li>text-generation-inference router spans (durations as Rust Debug strings): {@link TgiSpans}.
 * </ul>
 *
 * The model is, in order: {@code gen_ai.response.model}, {@code gen_ai.request.model}, the resource
 * attribute {@link EventDefaults#modelResourceAttribute()} (an SDK default {@code unknown_service*}
 * or an engine's fixed service name is not a model), {@link EventDefaults#defaultModel()}; a span
 * with none is rejected. The node is the collector's configured host; a resource {@code
 * k8s.pod.name} (else a {@code host.name} that differs from it) is kept as the attribute {@code
 * pod}. Spans that are not served inference requests (client-side {@code gen_ai.*} spans, agent and
 * tool spans, spans without an inference shape) are skipped with a {@link Skip} reason, counted,
 * never rejected. Thread-safe (stateless apart from the immutable defaults).
 */
public final class OtlpSpanMapper {

  /**
   * What a mapped export request produced: accepted events go to the sink, rejects are reported
   * with their span.
   */
  public interface Sink {
    /** A mapped event (not yet validated) and the span it came from. */
    void accept(RequestEvent event, Span span);

    /** A span that could not be mapped. */
    void reject(InvalidEventException reason, String where, Span span);

    /**
     * A span that is not a served inference request, skipped for {@code reason}; counted by {@link
     * #map}.
     */
    default void skipped(Skip reason, Span span) {}
  }

  /** Why a span was skipped; {@link #label()} is the reason as a metric label. */
  public enum Skip {
    /**
     * No {@code gen_ai.*}, Triton or TGI shape: health checks, HTTP middleware, Triton's compute
     * child span.
     */
    NOT_INFERENCE,
    /**
     * A client-side {@code gen_ai.*} span (kind CLIENT, PRODUCER or CONSUMER): the call, not the
     * serving.
     */
    CLIENT,
    /**
     * An agent or tool span ({@code gen_ai.operation.name} create_agent, invoke_agent,
     * execute_tool, ...).
     */
    AGENT_OR_TOOL,
    /**
     * A {@code gen_ai.*} span of kind INTERNAL or unset without vLLM's {@code gen_ai.latency.*}
     * attributes.
     */
    NOT_SERVER;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  static final String QUEUE = "gen_ai.latency.time_in_queue";
  static final String TTFT = "gen_ai.latency.time_to_first_token";
  static final String E2E = "gen_ai.latency.e2e";
  static final String PREFILL = "gen_ai.latency.time_in_model_prefill";
  static final String DECODE = "gen_ai.latency.time_in_model_decode";
  static final String FINISH_REASONS = "gen_ai.response.finish_reasons";

  /** Attribute of the event that keeps the serving pod or instance the resource named. */
  public static final String POD = "pod";

  /**
   * Longest pod or host name the resource may give: Kubernetes object names and DNS names are at
   * most 253.
   */
  static final int MAX_POD_CHARS = 253;

  /** Longest duration a span attribute may state, in seconds (about 116 days). */
  static final double MAX_SECONDS = 1.0e7;

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
      throw new InvalidEventException(
          RejectReason.MALFORMED, "malformed OTLP protobuf: " + e.getMessage());
    }
  }

  /**
   * Decodes OTLP/JSON. Its differences from the proto3 JSON mapping that {@link JsonFormat}
   * implements: trace and span ids are hex strings, not base64, so they are rewritten before
   * parsing. Enum values as integers, 64-bit integers as strings or numbers and lowerCamelCase keys
   * are all accepted by JsonFormat already; unknown fields are ignored as the OTLP spec requires.
   */
  public static ExportTraceServiceRequest parseJson(byte[] body) throws InvalidEventException {
    int bad = JsonLinesParser.invalidUtf8(body, 0, body.length);
    if (bad >= 0) {
      // Jackson decodes overlong forms and encoded surrogates without complaint: the same strict
      // check as JSON lines
      throw new InvalidEventException(
          RejectReason.MALFORMED, "OTLP/JSON body is not valid UTF-8 (byte " + (bad + 1) + ")");
    }
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      throw new InvalidEventException(
          RejectReason.MALFORMED, "malformed OTLP/JSON: " + e.getMessage());
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
      throw new InvalidEventException(
          RejectReason.MALFORMED, "malformed OTLP/JSON: " + e.getMessage());
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
          throw new InvalidEventException(
              RejectReason.MALFORMED, f + " '" + v.asText() + "' is not hex");
        }
      }
    }
  }

  /**
   * Maps every inference span of {@code request}; returns the number of spans skipped (each also
   * reported to {@link Sink#skipped} with its reason).
   */
  public int map(ExportTraceServiceRequest request, Sink sink) {
    int ignored = 0;
    Map<ByteString, Span> computeByParent = TritonSpans.computeSpansByParent(request);
    for (ResourceSpans rs : request.getResourceSpansList()) {
      List<KeyValue> resource = rs.getResource().getAttributesList();
      String region = stringAttr(resource, "cloud.region");
      String cluster = stringAttr(resource, "k8s.cluster.name");
      String service = stringAttr(resource, "service.name");
      String pod = podOf(resource);
      String resourceModel = resourceModel(resource);
      for (ScopeSpans ss : rs.getScopeSpansList()) {
        for (Span span : ss.getSpansList()) {
          Skip skip = skipReason(span);
          if (skip != null) {
            ignored++;
            sink.skipped(skip, span);
            continue;
          }
          try {
            if (pod != null && pod.length() > MAX_POD_CHARS) {
              throw new InvalidEventException(
                  RejectReason.TOO_LONG,
                  "resource k8s.pod.name/host.name is "
                      + pod.length()
                      + " characters (a Kubernetes or DNS name has at most "
                      + MAX_POD_CHARS
                      + ")");
            }
            RequestEvent e;
            if (TritonSpans.isRequestSpan(span)) {
              e = TritonSpans.map(span, computeByParent.get(span.getSpanId()), defaults);
            } else if (TgiSpans.isRouterSpan(span)) {
              e = TgiSpans.map(span, defaults);
              e.setModel(requireModel(null, resourceModel));
            } else {
              e = mapSpan(span, resourceModel);
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
            if (pod != null) {
              e.setPod(pod); // the field the streams app joins with dcgm-exporter's pod label
              e.getAttributes()
                  .put(POD, pod); // kept for consumers of the attribute (before RequestEvent v2)
            }
            e.setEventId(eventId(span, e));
            sink.accept(e, span);
          } catch (InvalidEventException ex) {
            sink.reject(ex, where(span), span);
          }
        }
      }
    }
    return ignored;
  }

  /**
   * The event id of a mapped span ({@link Ids}): derived from its trace id and span id, so that an
   * exporter's retry of the same span has the same id; for a span without both ids, from its
   * request id (with host and model) when it has one; else the event's random id.
   */
  static String eventId(Span span, RequestEvent e) {
    if (!span.getTraceId().isEmpty() && !span.getSpanId().isEmpty()) {
      return Ids.ofSpan(span.getTraceId(), span.getSpanId());
    }
    String byRequest = Ids.ofRequest(e.getRequestId(), e.getHost(), e.getModel());
    return byRequest != null ? byRequest : e.getEventId();
  }

  /**
   * The serving pod or instance a resource names, kept apart from the node: {@code k8s.pod.name},
   * else a {@code host.name} that is not the configured host (in Kubernetes the SDK's host.name is
   * the pod's hostname). The configured host stays the event's host so that requests join the
   * node's hardware samples.
   */
  private String podOf(List<KeyValue> resource) {
    String pod = stringAttr(resource, "k8s.pod.name");
    if (pod != null) {
      return pod;
    }
    String host = stringAttr(resource, "host.name");
    return host != null && !host.equals(defaults.host()) ? host : null;
  }

  /**
   * The model the resource names under {@link EventDefaults#modelResourceAttribute()}, or null: the
   * SDKs' default service names ({@code unknown_service}, {@code unknown_service:python}, ...) and
   * the fixed default of text-generation-inference's router ({@code --otlp-service-name}, default
   * {@code text-generation-inference.router}) name no model.
   */
  String resourceModel(List<KeyValue> resource) {
    String v = stringAttr(resource, defaults.modelResourceAttribute());
    if (v == null
        || v.isBlank()
        || v.startsWith("unknown_service")
        || v.equals(TgiSpans.DEFAULT_SERVICE_NAME)) {
      return null;
    }
    return v;
  }

  private String requireModel(String spanModel, String resourceModel) throws InvalidEventException {
    if (spanModel != null && !spanModel.isEmpty()) {
      return spanModel;
    }
    if (resourceModel != null) {
      return resourceModel;
    }
    if (defaults.defaultModel() != null) {
      return defaults.defaultModel();
    }
    throw new InvalidEventException(
        RejectReason.MISSING_FIELD,
        "span has neither gen_ai.response.model nor gen_ai.request.model, its resource no "
            + defaults.modelResourceAttribute()
            + ", and otlp.default.model is not set");
  }

  /** How a span is named in reject messages: its span id and name. */
  public static String where(Span span) {
    return "span "
        + HexFormat.of().formatHex(span.getSpanId().toByteArray())
        + " ("
        + span.getName()
        + ")";
  }

  /**
   * Values of {@code gen_ai.operation.name} that are a model inference call (OpenTelemetry GenAI
   * semantic conventions: chat, text_completion, generate_content, embeddings). The conventions'
   * other well-known values, create_agent, invoke_agent and execute_tool, describe agent and tool
   * work around the calls.
   */
  static final Set<String> INFERENCE_OPERATIONS =
      Set.of("chat", "text_completion", "generate_content", "embeddings");

  static final Set<String> NON_INFERENCE_OPERATIONS =
      Set.of("create_agent", "invoke_agent", "invoke_workflow", "execute_tool");

  /** Whether a span is a served inference request: {@link #skipReason} is null. */
  static boolean isInferenceSpan(Span span) {
    return skipReason(span) == null;
  }

  /**
   * Null when the span is a served inference request, else why it is skipped. A request is a Triton
   * request span ({@code triton.model_name}), a TGI router span (its duration fields), or a {@code
   * gen_ai.*} span that is not agent or tool work and is of kind SERVER, or of kind unset or
   * INTERNAL with vLLM's {@code gen_ai.latency.*} attributes. An operation name outside the
   * well-known values counts as inference only when the span names a model. Skipped spans are
   * counted, never rejected: a trace of an agent run is sent whole, and its client, agent and tool
   * spans must not make the batch fail.
   */
  static Skip skipReason(Span span) {
    if (TritonSpans.isRequestSpan(span) || TgiSpans.isRouterSpan(span)) {
      return null;
    }
    boolean genAi = false;
    boolean model = false;
    boolean latency = false;
    String operation = null;
    for (KeyValue kv : span.getAttributesList()) {
      String key = kv.getKey();
      if (key.startsWith("gen_ai.")) {
        genAi = true;
        if (key.equals("gen_ai.operation.name")) {
          operation = asString(kv.getValue());
        } else if (key.equals("gen_ai.request.model") || key.equals("gen_ai.response.model")) {
          model = true;
        } else if (key.startsWith("gen_ai.latency.")) {
          latency = true;
        }
      }
    }
    if (!genAi) {
      return Skip.NOT_INFERENCE;
    }
    if (operation != null) {
      String op = operation.toLowerCase(Locale.ROOT);
      if (NON_INFERENCE_OPERATIONS.contains(op)) {
        return Skip.AGENT_OR_TOOL;
      }
      if (!INFERENCE_OPERATIONS.contains(op) && !model) {
        return Skip.NOT_INFERENCE;
      }
    }
    return switch (span.getKind()) {
      case SPAN_KIND_SERVER -> null;
      case SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER -> Skip.CLIENT;
      default -> latency ? null : Skip.NOT_SERVER;
    };
  }

  /**
   * Maps one {@code gen_ai.*} span without a resource: the model comes from the span or the default
   * model.
   */
  public RequestEvent mapSpan(Span span) throws InvalidEventException {
    return mapSpan(span, null);
  }

  /**
   * Maps one {@code gen_ai.*} span (identity defaults applied; other resource attributes are the
   * caller's).
   */
  RequestEvent mapSpan(Span span, String resourceModel) throws InvalidEventException {
    RequestEvent e = defaults.newEvent("otlp");
    long arrivalUs = span.getStartTimeUnixNano() / 1_000L;
    if (span.getStartTimeUnixNano() == 0) {
      throw new InvalidEventException(
          RejectReason.MISSING_FIELD, "span has no start time (arrival)");
    }
    e.setArrivalUs(arrivalUs);
    String model = null;
    String requestModel = null;
    String errorType = null;
    String provider = null;
    String system = null;
    Integer inputTokens = null;
    Integer promptTokens = null;
    Integer outputTokens = null;
    Integer completionTokens = null;
    List<String> finishReasons = List.of();
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
        case "gen_ai.usage.input_tokens" -> inputTokens = tokens(kv);
        case "gen_ai.usage.prompt_tokens" -> promptTokens = tokens(kv);
        case "gen_ai.usage.output_tokens" -> outputTokens = tokens(kv);
        case "gen_ai.usage.completion_tokens" -> completionTokens = tokens(kv);
        case "gen_ai.usage.cache_read.input_tokens" -> e.setCachedTokens(tokens(kv));
        case "gen_ai.request.id" -> e.setRequestId(asString(v));
        case "gen_ai.response.model" -> model = asString(v);
        case "gen_ai.request.model" -> requestModel = asString(v);
        case "gen_ai.operation.name" -> e.setOperation(asString(v));
        case "gen_ai.provider.name" -> provider = asString(v);
        case "gen_ai.system" -> system = asString(v);
        case FINISH_REASONS -> finishReasons = FinishReasons.parse(kv);
        case "error.type" -> errorType = asString(v);
        default -> {}
      }
    }
    e.setInputTokens(inputTokens != null ? inputTokens : promptTokens);
    e.setOutputTokens(outputTokens != null ? outputTokens : completionTokens);
    // The served model is what the response names; the requested one is a fallback (aliases resolve
    // to it).
    e.setModel(
        requireModel(model != null && !model.isEmpty() ? model : requestModel, resourceModel));
    // The gen_ai.latency.* attributes are vLLM's own (not in the GenAI semantic conventions).
    boolean vllm =
        !Double.isNaN(queue)
            || !Double.isNaN(ttft)
            || !Double.isNaN(e2e)
            || !Double.isNaN(prefill)
            || !Double.isNaN(decode);
    if (e.getEngine() == null) {
      String engine = provider != null && !provider.isEmpty() ? provider : system;
      e.setEngine(engine != null && !engine.isEmpty() ? engine : vllm ? "vllm" : null);
    }
    if (!Double.isNaN(ttft)) {
      e.setFirstTokenUs(arrivalUs + micros(ttft));
    }
    if (!Double.isNaN(ttft) && !Double.isNaN(prefill) && prefill <= ttft) {
      // vLLM V1: prefill = first token - engine-core scheduled; frontend time before the engine
      // queue is waiting too
      e.setScheduledUs(e.getFirstTokenUs() - micros(prefill));
    } else if (!Double.isNaN(queue)) {
      e.setScheduledUs(arrivalUs + micros(queue));
    }
    if (e.getFirstTokenUs() == null && !Double.isNaN(prefill) && e.getScheduledUs() != null) {
      e.setFirstTokenUs(e.getScheduledUs() + micros(prefill));
    }
    if (!Double.isNaN(queue)) {
      e.getAttributes().put("engine.queue_us", Long.toString(micros(queue)));
    }
    if (!Double.isNaN(e2e)) {
      e.setCompletedUs(arrivalUs + micros(e2e));
    } else if (span.getEndTimeUnixNano() != 0) {
      e.setCompletedUs(span.getEndTimeUnixNano() / 1_000L);
    } else if (!Double.isNaN(decode) && e.getFirstTokenUs() != null) {
      e.setCompletedUs(e.getFirstTokenUs() + micros(decode));
    } else {
      throw new InvalidEventException(
          RejectReason.MISSING_FIELD,
          "span has neither gen_ai.latency.e2e nor an end time (completion)");
    }
    applyStatus(e, span, errorType, finishReasons);
    if (!span.getTraceId().isEmpty()) {
      e.getAttributes().put("trace.id", HexFormat.of().formatHex(span.getTraceId().toByteArray()));
    }
    return e;
  }

  /**
   * Status, in order: an {@code error.type} attribute; a finish reason {@code abort} (CANCELLED) or
   * {@code error} (ERROR); the span's ERROR status (its message as error type); else OK. The finish
   * reasons are kept as the attribute {@code finish_reasons} (comma-separated), so {@code length}
   * (cut at max tokens) can be counted.
   */
  static void applyStatus(RequestEvent e, Span span, String errorType, List<String> finishReasons) {
    if (!finishReasons.isEmpty()) {
      e.getAttributes().put("finish_reasons", String.join(",", finishReasons));
    }
    if (errorType != null && !errorType.isEmpty()) {
      e.setErrorType(errorType);
      e.setStatus(statusOfError(errorType));
    } else if (finishReasons.contains(FinishReasons.ABORT)) {
      e.setStatus(RequestStatus.CANCELLED);
      e.setErrorType(FinishReasons.ABORT);
    } else if (finishReasons.contains(FinishReasons.ERROR)) {
      e.setStatus(RequestStatus.ERROR);
      e.setErrorType(FinishReasons.ERROR);
    } else if (span.getStatus().getCode() == Status.StatusCode.STATUS_CODE_ERROR) {
      e.setStatus(RequestStatus.ERROR);
      String msg = span.getStatus().getMessage();
      e.setErrorType(msg.isEmpty() ? "error" : msg);
    } else {
      e.setStatus(RequestStatus.OK);
    }
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

  static long micros(double seconds) {
    return Math.round(seconds * 1_000_000.0);
  }

  static double seconds(KeyValue kv) throws InvalidEventException {
    AnyValue v = kv.getValue();
    double d =
        switch (v.getValueCase()) {
          case DOUBLE_VALUE -> v.getDoubleValue();
          case INT_VALUE -> v.getIntValue();
          case STRING_VALUE -> parseDouble(kv.getKey(), v.getStringValue());
          default ->
              throw new InvalidEventException(
                  RejectReason.INVALID_VALUE,
                  kv.getKey() + " must be a number of seconds, got " + v.getValueCase());
        };
    if (!Double.isFinite(d)) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE, kv.getKey() + " is not finite: " + d);
    }
    if (d < 0) {
      throw new InvalidEventException(
          RejectReason.NEGATIVE_DURATION, kv.getKey() + " is negative: " + d + " s");
    }
    if (d > MAX_SECONDS) {
      throw new InvalidEventException(
          RejectReason.ABSURD_DURATION, kv.getKey() + " is absurd: " + d + " s");
    }
    return d;
  }

  private static double parseDouble(String key, String s) throws InvalidEventException {
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE, key + " is not a number: '" + s + "'");
    }
  }

  static int tokens(KeyValue kv) throws InvalidEventException {
    AnyValue v = kv.getValue();
    long n =
        switch (v.getValueCase()) {
          case INT_VALUE -> v.getIntValue();
          case DOUBLE_VALUE -> {
            double d = v.getDoubleValue();
            if (!Double.isFinite(d) || d != Math.rint(d)) {
              throw new InvalidEventException(
                  RejectReason.INVALID_VALUE, kv.getKey() + " is not a whole number: " + d);
            }
            yield (long) d;
          }
          case STRING_VALUE -> {
            try {
              yield Long.parseLong(v.getStringValue().trim());
            } catch (NumberFormatException e) {
              throw new InvalidEventException(
                  RejectReason.INVALID_VALUE,
                  kv.getKey() + " is not an integer: '" + v.getStringValue() + "'");
            }
          }
          default ->
              throw new InvalidEventException(
                  RejectReason.INVALID_VALUE,
                  kv.getKey() + " must be an integer, got " + v.getValueCase());
        };
    if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE, kv.getKey() + " is out of range: " + n);
    }
    return (int) n;
  }

  static String asString(AnyValue v) {
    return switch (v.getValueCase()) {
      case STRING_VALUE -> v.getStringValue();
      case INT_VALUE -> Long.toString(v.getIntValue());
      case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
      case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
      default -> null;
    };
  }

  static String stringAttr(List<KeyValue> attrs, String key) {
    for (KeyValue kv : attrs) {
      if (kv.getKey().equals(key)) {
        String s = asString(kv.getValue());
        return s == null || s.isEmpty() ? null : s;
      }
    }
    return null;
  }
}
