package io.infermeter.collector.ingest;

import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.infermeter.schemas.Utf8;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Checks a parsed request event before it is accepted: the rules every source shares
 * (docs/COLLECTOR.md, "Validation"). Timestamps must be ordered arrival &lt;= scheduled &lt;= first
 * token &lt;= completed (each optional one only when present), e2e at most {@code maxDuration}, no
 * timestamp later than now + {@code maxFutureSkew}, arrival no older than now - {@code maxAge},
 * token counts in 0..{@code maxTokens}.
 *
 * <p>Strings, checked before the rules above and in the same order on every path (docs/SECURITY.md,
 * "Collector input validation and strings"): a dimension (request id, model, model version, engine,
 * operation, host, cluster, region, device id, gpu type, SLO class, an attribute's key) longer than
 * {@code maxDimensionBytes} in UTF-8 rejects the event ({@link RejectReason#TOO_LONG}); more than
 * {@value #MAX_ATTRIBUTES} attributes reject it too. Free text (the error type, which OTLP fills
 * from the span's status message, and attribute values) longer than {@code maxMessageBytes} is cut
 * on a UTF-8 character boundary once the event is accepted, and each cut is reported to {@code
 * onTruncated} with the field's name. Lengths are those of the bytes Avro writes: a Java string's
 * unpaired surrogate counts as the one byte {@code ?} it is replaced with. Thread-safe (immutable;
 * the clock is injected for tests; {@code onTruncated} must be thread-safe).
 */
public final class RequestValidator {

  /** Default of {@code validation.max.dimension.bytes}. */
  public static final int DEFAULT_MAX_DIMENSION_BYTES = 256;

  /** Default of {@code validation.max.message.bytes}. */
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 1024;

  /** Most attributes one event may carry. */
  public static final int MAX_ATTRIBUTES = 64;

  private final Clock clock;
  private final long maxDurationUs;
  private final long maxFutureSkewUs;
  private final long maxAgeUs;
  private final int maxTokens;
  private final int maxDimensionBytes;
  private final int maxMessageBytes;
  private final Consumer<String> onTruncated;

  /** With the default string limits and truncations not reported. */
  public RequestValidator(
      Clock clock, Duration maxDuration, Duration maxFutureSkew, Duration maxAge, int maxTokens) {
    this(
        clock,
        maxDuration,
        maxFutureSkew,
        maxAge,
        maxTokens,
        DEFAULT_MAX_DIMENSION_BYTES,
        DEFAULT_MAX_MESSAGE_BYTES,
        field -> {});
  }

  /**
   * @param maxDimensionBytes longest dimension, UTF-8 bytes (validation.max.dimension.bytes)
   * @param maxMessageBytes longest free text, UTF-8 bytes (validation.max.message.bytes); longer
   *     text is cut
   * @param onTruncated called with the field's name for each free-text value cut (a metric)
   */
  public RequestValidator(
      Clock clock,
      Duration maxDuration,
      Duration maxFutureSkew,
      Duration maxAge,
      int maxTokens,
      int maxDimensionBytes,
      int maxMessageBytes,
      Consumer<String> onTruncated) {
    if (maxDimensionBytes <= 0 || maxMessageBytes <= 0) {
      throw new IllegalArgumentException(
          "string limits must be positive: " + maxDimensionBytes + ", " + maxMessageBytes);
    }
    this.clock = clock;
    this.maxDurationUs = micros(maxDuration);
    this.maxFutureSkewUs = micros(maxFutureSkew);
    this.maxAgeUs = micros(maxAge);
    this.maxTokens = maxTokens;
    this.maxDimensionBytes = maxDimensionBytes;
    this.maxMessageBytes = maxMessageBytes;
    this.onTruncated = onTruncated;
  }

  int maxMessageBytes() {
    return maxMessageBytes;
  }

  /**
   * Rejects a dimension of {@code utf8Bytes} bytes over the limit. Shared by the event and the
   * scanner paths.
   */
  void dimension(String field, int utf8Bytes) throws InvalidEventException {
    if (utf8Bytes > maxDimensionBytes) {
      throw new InvalidEventException(
          RejectReason.TOO_LONG,
          field
              + " is "
              + utf8Bytes
              + " bytes (UTF-8), over validation.max.dimension.bytes ("
              + maxDimensionBytes
              + ")");
    }
  }

  private void dimension(String field, String value) throws InvalidEventException {
    if (value != null
        && value.length() * 3 > maxDimensionBytes) { // else it fits whatever its characters
      dimension(field, utf8Length(value));
    }
  }

  /** Reports one free-text value cut to the limit. */
  void truncated(String field) {
    onTruncated.accept(field);
  }

  /**
   * The length of {@code s} in the UTF-8 that Avro writes (an unpaired surrogate becomes one byte,
   * '?').
   */
  static int utf8Length(String s) {
    return Utf8.length(s);
  }

  /**
   * {@code s} cut to at most {@code maxBytes} UTF-8 bytes on a character boundary; {@code s} itself
   * when it fits.
   */
  static String truncateUtf8(String s, int maxBytes) {
    return Utf8.truncate(s, maxBytes);
  }

  private static long micros(Duration d) {
    return d.getSeconds() * 1_000_000L + d.getNano() / 1_000;
  }

  /** Current time in epoch microseconds from the injected clock. */
  public long nowUs() {
    java.time.Instant now = clock.instant();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  /** Validates {@code e}; throws with the first rule it breaks. */
  public void validate(RequestEvent e) throws InvalidEventException {
    validate(e, nowUs());
  }

  /**
   * Validates {@code e} against a given "now" (epoch microseconds), so a batch shares one clock
   * reading. An accepted event's free text is cut to the limit in place (see the class comment).
   */
  /** The fields checked against validation.max.dimension.bytes, in {@link RequestField} order. */
  private static final RequestField[] DIMENSIONS =
      java.util.Arrays.stream(RequestField.all())
          .filter(f -> f.kind == RequestField.Kind.DIMENSION || f.kind == RequestField.Kind.SOURCE)
          .toArray(RequestField[]::new);

  public void validate(RequestEvent e, long nowUs) throws InvalidEventException {
    // in RequestField order, as the scanner path checks them
    for (RequestField f : DIMENSIONS) {
      dimension(f.jsonName, f.text(e));
    }
    Map<String, String> attributes = e.getAttributes();
    if (attributes != null) {
      if (attributes.size() > MAX_ATTRIBUTES) {
        throw new InvalidEventException(
            RejectReason.TOO_LONG,
            "attributes has "
                + attributes.size()
                + " entries, over the limit of "
                + MAX_ATTRIBUTES);
      }
      for (String key : attributes.keySet()) {
        dimension("attribute key", key);
      }
    }
    rules(e, nowUs);
    String errorType = e.getErrorType();
    String cut = truncateUtf8(errorType, maxMessageBytes);
    if (!Objects.equals(cut, errorType)) {
      e.setErrorType(cut);
      truncated("errorType");
    }
    if (attributes != null) {
      Map<String, String> copy = null;
      for (Map.Entry<String, String> a : attributes.entrySet()) {
        String v = a.getValue();
        String c = truncateUtf8(v, maxMessageBytes);
        if (!Objects.equals(c, v)) {
          if (copy == null) {
            copy = new HashMap<>(attributes); // the caller's map may be immutable
          }
          copy.put(a.getKey(), c);
          truncated("attributes");
        }
      }
      if (copy != null) {
        e.setAttributes(copy);
      }
    }
  }

  private void rules(RequestEvent e, long nowUs) throws InvalidEventException {
    Long scheduled = e.getScheduledUs();
    Long firstToken = e.getFirstTokenUs();
    Long gap = e.getMaxInterTokenGapUs();
    Integer input = e.getInputTokens();
    Integer output = e.getOutputTokens();
    Integer cached = e.getCachedTokens();
    Integer batch = e.getBatchSize();
    Integer maxBatch = e.getMaxBatchSize();
    int present =
        (scheduled != null ? SCHEDULED : 0)
            | (firstToken != null ? FIRST_TOKEN : 0)
            | (gap != null ? GAP : 0)
            | (input != null ? INPUT_TOKENS : 0)
            | (output != null ? OUTPUT_TOKENS : 0)
            | (cached != null ? CACHED_TOKENS : 0)
            | (batch != null ? BATCH_SIZE : 0)
            | (maxBatch != null ? MAX_BATCH_SIZE : 0);
    validate(
        e.getModel() != null && !e.getModel().isBlank(),
        e.getArrivalUs(),
        e.getCompletedUs(),
        present,
        scheduled != null ? scheduled : 0,
        firstToken != null ? firstToken : 0,
        gap != null ? gap : 0,
        input != null ? input : 0,
        output != null ? output : 0,
        cached != null ? cached : 0,
        batch != null ? batch : 0,
        maxBatch != null ? maxBatch : 0,
        nowUs);
  }

  /**
   * Bits of {@link #validate(boolean, long, long, int, long, long, long, int, int, int, int, int,
   * long)}'s present.
   */
  static final int SCHEDULED = 1;

  static final int FIRST_TOKEN = 1 << 1;
  static final int GAP = 1 << 2;
  static final int INPUT_TOKENS = 1 << 3;
  static final int OUTPUT_TOKENS = 1 << 4;
  static final int CACHED_TOKENS = 1 << 5;
  static final int BATCH_SIZE = 1 << 6;
  static final int MAX_BATCH_SIZE = 1 << 7;

  /**
   * The rules on an event's values, for the paths that have no {@link RequestEvent} (the JSON-lines
   * fast path encodes a line straight into Avro): {@code present} has a bit per optional field that
   * is set (the field's value is ignored otherwise). Same rules, order and messages for every
   * caller, since {@link #validate(RequestEvent, long)} comes here too.
   */
  void validate(
      boolean hasModel,
      long arrival,
      long completed,
      int present,
      long scheduled,
      long firstToken,
      long gap,
      int input,
      int output,
      int cached,
      int batch,
      int maxBatch,
      long nowUs)
      throws InvalidEventException {
    if (!hasModel) {
      throw new InvalidEventException(RejectReason.MISSING_FIELD, "model is required");
    }
    if (arrival <= 0) {
      throw new InvalidEventException(
          RejectReason.MISSING_FIELD,
          "arrival time is required (a positive epoch-microsecond timestamp), got " + arrival);
    }
    if (completed <= 0) {
      throw new InvalidEventException(
          RejectReason.MISSING_FIELD,
          "completion time is required (completedUs, e2e or span end), got " + completed);
    }
    boolean hasScheduled = (present & SCHEDULED) != 0;
    boolean hasFirstToken = (present & FIRST_TOKEN) != 0;
    if (hasScheduled && scheduled < arrival) {
      throw negative("scheduled", scheduled, "arrival", arrival);
    }
    if (hasFirstToken && firstToken < arrival) {
      throw negative("firstToken", firstToken, "arrival", arrival);
    }
    if (hasFirstToken && hasScheduled && firstToken < scheduled) {
      throw negative("firstToken", firstToken, "scheduled", scheduled);
    }
    if (completed < arrival) {
      throw negative("completed", completed, "arrival", arrival);
    }
    if (hasScheduled && completed < scheduled) {
      throw negative("completed", completed, "scheduled", scheduled);
    }
    if (hasFirstToken && completed < firstToken) {
      throw negative("completed", completed, "firstToken", firstToken);
    }
    if (completed - arrival > maxDurationUs) {
      throw new InvalidEventException(
          RejectReason.ABSURD_DURATION,
          "e2e latency "
              + (completed - arrival)
              + " us exceeds validation.max.duration ("
              + maxDurationUs
              + " us)");
    }
    boolean hasGap = (present & GAP) != 0;
    if (hasGap && gap < 0) {
      throw new InvalidEventException(
          RejectReason.NEGATIVE_DURATION, "maxInterTokenGapUs is negative: " + gap);
    }
    if (hasGap && gap > completed - arrival) {
      throw new InvalidEventException(
          RejectReason.ABSURD_DURATION,
          "maxInterTokenGapUs "
              + gap
              + " us exceeds the request's e2e latency "
              + (completed - arrival)
              + " us");
    }
    if (completed > nowUs + maxFutureSkewUs) {
      throw new InvalidEventException(
          RejectReason.FUTURE_TIMESTAMP,
          "completion time "
              + completed
              + " us is "
              + (completed - nowUs)
              + " us in the future (allowed skew "
              + maxFutureSkewUs
              + " us)");
    }
    if (arrival < nowUs - maxAgeUs) {
      throw new InvalidEventException(
          RejectReason.STALE_TIMESTAMP,
          "arrival time " + arrival + " us is older than validation.max.age (" + maxAgeUs + " us)");
    }
    boolean hasInput = (present & INPUT_TOKENS) != 0;
    boolean hasCached = (present & CACHED_TOKENS) != 0;
    if (hasInput) {
      tokens("inputTokens", input);
    }
    if ((present & OUTPUT_TOKENS) != 0) {
      tokens("outputTokens", output);
    }
    if (hasCached) {
      tokens("cachedTokens", cached);
    }
    if (hasCached && hasInput && cached > input) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE, "cachedTokens " + cached + " exceeds inputTokens " + input);
    }
    if ((present & BATCH_SIZE) != 0 && batch <= 0) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE, "batchSize must be positive, got " + batch);
    }
    if ((present & MAX_BATCH_SIZE) != 0 && maxBatch <= 0) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE, "maxBatchSize must be positive, got " + maxBatch);
    }
  }

  private void tokens(String name, int value) throws InvalidEventException {
    if (value < 0) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE, name + " must not be negative, got " + value);
    }
    if (value > maxTokens) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE,
          name + " " + value + " exceeds validation.max.tokens (" + maxTokens + ")");
    }
  }

  private static InvalidEventException negative(
      String later, long laterUs, String earlier, long earlierUs) {
    return new InvalidEventException(
        RejectReason.NEGATIVE_DURATION,
        later
            + " time ("
            + laterUs
            + " us) is before "
            + earlier
            + " time ("
            + earlierUs
            + " us): negative duration");
  }
}
