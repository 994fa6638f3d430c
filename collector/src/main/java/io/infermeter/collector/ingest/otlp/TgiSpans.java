package io.infermeter.collector.ingest.otlp;

import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.HexFormat;
import java.util.List;

/**
 * Maps text-generation-inference's router spans ({@code --otlp-endpoint}, OTLP/gRPC). In
 * huggingface/text-generation-inference {@code router/src/server.rs}, {@code generate} and {@code
 * generate_stream} are {@code #[instrument(skip_all, fields(parameters = ?req.parameters,
 * total_time, validation_time, queue_time, inference_time, time_per_token, seed))]} and, when the
 * response ends, record each timing as {@code format!("{x:?}")}: Rust Debug durations such as
 * {@code "12.3ms"} ({@link RustDuration}). Timings: validation = queued - start, queue = engine
 * start - queued, inference = now - engine start, total = since the handler started. Mapping:
 * arrival = span start; scheduled = arrival + validation_time + queue_time; completed = arrival +
 * total_time (else the span end); no first token and no token counts on the span; model from the
 * resource ({@code --otlp-service-name}, whose default {@value #DEFAULT_SERVICE_NAME} is not a
 * model) or otlp.default.model; engine {@code tgi} unless configured; {@code time_per_token} kept
 * as the attribute {@code time_per_token_us}. Failed requests record no timings and are not
 * recognised. Stateless, thread-safe.
 */
final class TgiSpans {

  /** The router's default {@code --otlp-service-name} (router/src/main.rs). */
  static final String DEFAULT_SERVICE_NAME = "text-generation-inference.router";

  private TgiSpans() {}

  /**
   * A span with a string {@code total_time} or {@code inference_time} field, as only TGI's router
   * records them.
   */
  static boolean isRouterSpan(Span span) {
    for (KeyValue kv : span.getAttributesList()) {
      String k = kv.getKey();
      if ((k.equals("total_time") || k.equals("inference_time"))
          && kv.getValue().getValueCase() == AnyValue.ValueCase.STRING_VALUE) {
        return true;
      }
    }
    return false;
  }

  /** Maps the span; the model is left empty for the caller to resolve. */
  static RequestEvent map(Span span, EventDefaults defaults) throws InvalidEventException {
    RequestEvent e = defaults.newEvent("otlp");
    if (e.getEngine() == null) {
      e.setEngine("tgi");
    }
    if (span.getStartTimeUnixNano() == 0) {
      throw new InvalidEventException(
          RejectReason.MISSING_FIELD, "span has no start time (arrival)");
    }
    long arrivalUs = span.getStartTimeUnixNano() / 1_000L;
    e.setArrivalUs(arrivalUs);
    List<KeyValue> attrs = span.getAttributesList();
    double validation = duration(attrs, "validation_time");
    double queue = duration(attrs, "queue_time");
    double total = duration(attrs, "total_time");
    double perToken = duration(attrs, "time_per_token");
    duration(
        attrs, "inference_time"); // checked like the others, implied by total - validation - queue
    if (!Double.isNaN(validation) && !Double.isNaN(queue)) {
      e.setScheduledUs(arrivalUs + OtlpSpanMapper.micros(validation + queue));
    }
    if (!Double.isNaN(total)) {
      e.setCompletedUs(arrivalUs + OtlpSpanMapper.micros(total));
    } else if (span.getEndTimeUnixNano() != 0) {
      e.setCompletedUs(span.getEndTimeUnixNano() / 1_000L);
    } else {
      throw new InvalidEventException(
          RejectReason.MISSING_FIELD, "TGI span has neither total_time nor an end time");
    }
    if (!Double.isNaN(perToken)) {
      e.getAttributes().put("time_per_token_us", Long.toString(OtlpSpanMapper.micros(perToken)));
    }
    OtlpSpanMapper.applyStatus(e, span, null, List.of());
    if (!span.getTraceId().isEmpty()) {
      e.getAttributes().put("trace.id", HexFormat.of().formatHex(span.getTraceId().toByteArray()));
    }
    return e;
  }

  /**
   * Seconds of the field {@code key} (the last one if repeated, every one checked), or NaN when
   * absent.
   */
  private static double duration(List<KeyValue> attrs, String key) throws InvalidEventException {
    double seconds = Double.NaN;
    for (KeyValue kv : attrs) {
      if (kv.getKey().equals(key)) {
        AnyValue v = kv.getValue();
        seconds =
            v.getValueCase() != AnyValue.ValueCase.STRING_VALUE
                ? OtlpSpanMapper.seconds(kv) // a number: seconds, checked as vLLM's
                : RustDuration.seconds(key, v.getStringValue(), OtlpSpanMapper.MAX_SECONDS);
      }
    }
    return seconds;
  }
}
