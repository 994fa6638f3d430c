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
    if (e.getModel() == null || e.getModel().isBlank()) {
      throw new InvalidEventException(RejectReason.MISSING_FIELD, "model is required");
    }
    long arrival = e.getArrivalUs();
    if (arrival <= 0) {
      throw new InvalidEventException(RejectReason.MISSING_FIELD,
          "arrival time is required (a positive epoch-microsecond timestamp), got " + arrival);
    }
    long completed = e.getCompletedUs();
    if (completed <= 0) {
      throw new InvalidEventException(RejectReason.MISSING_FIELD,
          "completion time is required (completedUs, e2e or span end), got " + completed);
    }
    Long scheduled = e.getScheduledUs();
    Long firstToken = e.getFirstTokenUs();
    if (scheduled != null && scheduled < arrival) {
      throw negative("scheduled", scheduled, "arrival", arrival);
    }
    if (firstToken != null && firstToken < arrival) {
      throw negative("firstToken", firstToken, "arrival", arrival);
    }
    if (firstToken != null && scheduled != null && firstToken < scheduled) {
      throw negative("firstToken", firstToken, "scheduled", scheduled);
    }
    if (completed < arrival) {
      throw negative("completed", completed, "arrival", arrival);
    }
    if (firstToken != null && completed < firstToken) {
      throw negative("completed", completed, "firstToken", firstToken);
    }
    if (completed - arrival > maxDurationUs) {
      throw new InvalidEventException(RejectReason.ABSURD_DURATION, "e2e latency " + (completed - arrival)
          + " us exceeds validation.max.duration (" + maxDurationUs + " us)");
    }
    Long gap = e.getMaxInterTokenGapUs();
    if (gap != null && gap < 0) {
      throw new InvalidEventException(RejectReason.NEGATIVE_DURATION, "maxInterTokenGapUs is negative: " + gap);
    }
    if (gap != null && gap > completed - arrival) {
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
    tokens("inputTokens", e.getInputTokens());
    tokens("outputTokens", e.getOutputTokens());
    tokens("cachedTokens", e.getCachedTokens());
    if (e.getCachedTokens() != null && e.getInputTokens() != null && e.getCachedTokens() > e.getInputTokens()) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, "cachedTokens " + e.getCachedTokens()
          + " exceeds inputTokens " + e.getInputTokens());
    }
    if (e.getBatchSize() != null && e.getBatchSize() <= 0) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, "batchSize must be positive, got " + e.getBatchSize());
    }
    if (e.getMaxBatchSize() != null && e.getMaxBatchSize() <= 0) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE,
          "maxBatchSize must be positive, got " + e.getMaxBatchSize());
    }
  }

  private void tokens(String name, Integer value) throws InvalidEventException {
    if (value == null) {
      return;
    }
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
