package io.infermeter.collector.ingest.otlp;

import com.google.protobuf.ByteString;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Maps Triton Inference Server's OpenTelemetry trace ({@code --trace-config mode=opentelemetry};
 * the shape is built in triton-inference-server/server {@code src/tracer.cc}, {@code
 * TraceManager::Trace::StartSpan}/{@code AddEvent}): per model request a SERVER span named after
 * the model, with attributes {@code triton.model_name}, {@code triton.model_version}, {@code
 * triton.trace_id}, {@code triton.trace_parent_id} and, when the client sent one, {@code
 * triton.request_id}, and span events REQUEST_START, QUEUE_START, REQUEST_END; its child span
 * {@code compute} carries no attributes, only the events COMPUTE_START, COMPUTE_INPUT_END,
 * COMPUTE_OUTPUT_START, COMPUTE_END. Mapping: arrival = REQUEST_START (else the span start);
 * scheduled = the child's COMPUTE_START when the child is in the same export request (else unset);
 * completed = REQUEST_END (else the span end); no first token (Triton serves whole responses);
 * model = {@code triton.model_name}, model version = {@code triton.model_version}; engine {@code
 * triton} unless configured. The compute span itself is skipped (no request attributes). Stateless,
 * thread-safe.
 */
final class TritonSpans {

  static final String MODEL_NAME = "triton.model_name";
  static final String COMPUTE_SPAN = "compute";

  private TritonSpans() {}

  static boolean isRequestSpan(Span span) {
    for (KeyValue kv : span.getAttributesList()) {
      if (kv.getKey().equals(MODEL_NAME)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Triton's {@code compute} spans of the request, by their parent (request) span id; empty when
   * there is none.
   */
  static Map<ByteString, Span> computeSpansByParent(ExportTraceServiceRequest request) {
    Map<ByteString, Span> out = null;
    for (ResourceSpans rs : request.getResourceSpansList()) {
      for (ScopeSpans ss : rs.getScopeSpansList()) {
        for (Span span : ss.getSpansList()) {
          if (span.getName().equals(COMPUTE_SPAN)
              && !span.getParentSpanId().isEmpty()
              && eventNanos(span, "COMPUTE_START") != 0) {
            if (out == null) {
              out = new HashMap<>();
            }
            out.put(span.getParentSpanId(), span);
          }
        }
      }
    }
    return out == null ? Map.of() : out;
  }

  static RequestEvent map(Span span, Span compute, EventDefaults defaults)
      throws InvalidEventException {
    RequestEvent e = defaults.newEvent("otlp");
    if (e.getEngine() == null) {
      e.setEngine("triton");
    }
    List<KeyValue> attrs = span.getAttributesList();
    String model = OtlpSpanMapper.stringAttr(attrs, MODEL_NAME);
    if (model == null) {
      throw new InvalidEventException(
          RejectReason.MISSING_FIELD, "Triton span has an empty triton.model_name");
    }
    e.setModel(model);
    e.setModelVersion(OtlpSpanMapper.stringAttr(attrs, "triton.model_version"));
    e.setRequestId(OtlpSpanMapper.stringAttr(attrs, "triton.request_id"));
    long start = eventNanos(span, "REQUEST_START");
    long arrivalNs = start != 0 ? start : span.getStartTimeUnixNano();
    if (arrivalNs == 0) {
      throw new InvalidEventException(
          RejectReason.MISSING_FIELD, "Triton span has no REQUEST_START nor start time");
    }
    e.setArrivalUs(arrivalNs / 1_000L);
    long end = eventNanos(span, "REQUEST_END");
    long completedNs = end != 0 ? end : span.getEndTimeUnixNano();
    if (completedNs == 0) {
      throw new InvalidEventException(
          RejectReason.MISSING_FIELD, "Triton span has no REQUEST_END nor end time");
    }
    e.setCompletedUs(completedNs / 1_000L);
    long queued = eventNanos(span, "QUEUE_START");
    if (queued != 0) {
      e.getAttributes().put("triton.queue_start_us", Long.toString(queued / 1_000L));
    }
    if (compute != null) {
      e.setScheduledUs(eventNanos(compute, "COMPUTE_START") / 1_000L);
      long computeEnd = eventNanos(compute, "COMPUTE_END");
      if (computeEnd != 0) {
        e.getAttributes().put("triton.compute_end_us", Long.toString(computeEnd / 1_000L));
      }
    }
    OtlpSpanMapper.applyStatus(e, span, null, List.of());
    if (!span.getTraceId().isEmpty()) {
      e.getAttributes().put("trace.id", HexFormat.of().formatHex(span.getTraceId().toByteArray()));
    }
    return e;
  }

  /** The time of the first event named {@code name}, in Unix nanoseconds, or 0. */
  static long eventNanos(Span span, String name) {
    for (Span.Event ev : span.getEventsList()) {
      if (ev.getName().equals(name)) {
        return ev.getTimeUnixNano();
      }
    }
    return 0;
  }
}
