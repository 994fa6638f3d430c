package io.infermeter.collector.internal;

import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.internal.CollectorMetrics.RejectReason;
import java.time.Clock;
import java.time.Duration;

/**
 * Checks a parsed request event before it is accepted: the rules every source shares (docs/COLLECTOR.md,
 * "Validation"). Timestamps must be ordered arrival &lt;= scheduled &lt;= first token &lt;= completed (each optional
 * one only when present), e2e at most {@code maxDuration}, no timestamp later than now + {@code maxFutureSkew}, arrival
 * no older than now - {@code maxAge}, token counts in 0..{@code maxTokens}. Thread-safe (immutable; the clock is
 * injected for tests).
 */
public final class RequestValidator {

  private final Clock clock;
  private final long maxDurationUs;
  private final long maxFutureSkewUs;
  private final long maxAgeUs;
  private final int maxTokens;

  public RequestValidator(Clock clock, Duration maxDuration, Duration maxFutureSkew, Duration maxAge, int maxTokens) {
    this.clock = clock;
    this.maxDurationUs = micros(maxDuration);
    this.maxFutureSkewUs = micros(maxFutureSkew);
    this.maxAgeUs = micros(maxAge);
    this.maxTokens = maxTokens;
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

  /** Validates {@code e} against a given "now" (epoch microseconds), so a batch shares one clock reading. */
  public void validate(RequestEvent e, long nowUs) throws InvalidEventException {
    Long scheduled = e.getScheduledUs();
    Long firstToken = e.getFirstTokenUs();
    Long gap = e.getMaxInterTokenGapUs();
    Integer input = e.getInputTokens();
    Integer output = e.getOutputTokens();
    Integer cached = e.getCachedTokens();
    Integer batch = e.getBatchSize();
    Integer maxBatch = e.getMaxBatchSize();
    int present = (scheduled != null ? SCHEDULED : 0) | (firstToken != null ? FIRST_TOKEN : 0)
        | (gap != null ? GAP : 0) | (input != null ? INPUT_TOKENS : 0) | (output != null ? OUTPUT_TOKENS : 0)
        | (cached != null ? CACHED_TOKENS : 0) | (batch != null ? BATCH_SIZE : 0)
        | (maxBatch != null ? MAX_BATCH_SIZE : 0);
    validate(e.getModel() != null && !e.getModel().isBlank(), e.getArrivalUs(), e.getCompletedUs(), present,
        scheduled != null ? scheduled : 0, firstToken != null ? firstToken : 0, gap != null ? gap : 0,
        input != null ? input : 0, output != null ? output : 0, cached != null ? cached : 0,
        batch != null ? batch : 0, maxBatch != null ? maxBatch : 0, nowUs);
  }

  /** Bits of {@link #validate(boolean, long, long, int, long, long, long, int, int, int, int, int, long)}'s present. */
  static final int SCHEDULED = 1;
  static final int FIRST_TOKEN = 1 << 1;
  static final int GAP = 1 << 2;
  static final int INPUT_TOKENS = 1 << 3;
  static final int OUTPUT_TOKENS = 1 << 4;
  static final int CACHED_TOKENS = 1 << 5;
  static final int BATCH_SIZE = 1 << 6;
  static final int MAX_BATCH_SIZE = 1 << 7;

  /**
   * The rules on an event's values, for the paths that have no {@link RequestEvent} (the JSON-lines fast path encodes
   * a line straight into Avro): {@code present} has a bit per optional field that is set (the field's value is
   * ignored otherwise). Same rules, order and messages for every caller, since {@link #validate(RequestEvent, long)}
   * comes here too.
   */
  void validate(boolean hasModel, long arrival, long completed, int present, long scheduled, long firstToken,
      long gap, int input, int output, int cached, int batch, int maxBatch, long nowUs) throws InvalidEventException {
    if (!hasModel) {
      throw new InvalidEventException(RejectReason.MISSING_FIELD, "model is required");
    }
    if (arrival <= 0) {
      throw new InvalidEventException(RejectReason.MISSING_FIELD,
          "arrival time is required (a positive epoch-microsecond timestamp), got " + arrival);
    }
    if (completed <= 0) {
      throw new InvalidEventException(RejectReason.MISSING_FIELD,
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
    if (hasFirstToken && completed < firstToken) {
      throw negative("completed", completed, "firstToken", firstToken);
    }
    if (completed - arrival > maxDurationUs) {
      throw new InvalidEventException(RejectReason.ABSURD_DURATION, "e2e latency " + (completed - arrival)
          + " us exceeds validation.max.duration (" + maxDurationUs + " us)");
    }
    boolean hasGap = (present & GAP) != 0;
    if (hasGap && gap < 0) {
      throw new InvalidEventException(RejectReason.NEGATIVE_DURATION, "maxInterTokenGapUs is negative: " + gap);
    }
    if (hasGap && gap > completed - arrival) {
      throw new InvalidEventException(RejectReason.ABSURD_DURATION, "maxInterTokenGapUs " + gap
          + " us exceeds the request's e2e latency " + (completed - arrival) + " us");
    }
    if (completed > nowUs + maxFutureSkewUs) {
      throw new InvalidEventException(RejectReason.FUTURE_TIMESTAMP, "completion time " + completed
          + " us is " + (completed - nowUs) + " us in the future (allowed skew " + maxFutureSkewUs + " us)");
    }
    if (arrival < nowUs - maxAgeUs) {
      throw new InvalidEventException(RejectReason.STALE_TIMESTAMP, "arrival time " + arrival
          + " us is older than validation.max.age (" + maxAgeUs + " us)");
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
      throw new InvalidEventException(RejectReason.INVALID_VALUE, "cachedTokens " + cached
          + " exceeds inputTokens " + input);
    }
    if ((present & BATCH_SIZE) != 0 && batch <= 0) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, "batchSize must be positive, got " + batch);
    }
    if ((present & MAX_BATCH_SIZE) != 0 && maxBatch <= 0) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE,
          "maxBatchSize must be positive, got " + maxBatch);
    }
  }

  private void tokens(String name, int value) throws InvalidEventException {
    if (value < 0) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, name + " must not be negative, got " + value);
    }
    if (value > maxTokens) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, name + " " + value
          + " exceeds validation.max.tokens (" + maxTokens + ")");
    }
  }

  private static InvalidEventException negative(String later, long laterUs, String earlier, long earlierUs) {
    return new InvalidEventException(RejectReason.NEGATIVE_DURATION, later + " time (" + laterUs + " us) is before "
        + earlier + " time (" + earlierUs + " us): negative duration");
  }
}
