package io.infermeter.sink.internal;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The retry schedule of one kind of failure (ClickHouse or dead-letter topic; schema registry):
 * after the n-th consecutive failure the next attempt waits {@code initial * 2^(n-1)} capped at
 * {@code max}, jittered between 50 % and 100 % of that, at least 1 ms. Times are epoch milliseconds
 * of the caller's clock. Not thread-safe (the loop thread only).
 */
final class Backoff {

  private final Duration initial;
  private final Duration max;
  private int failures;

  /** When the next attempt may run, epoch ms; 0 when no failure is pending. */
  private long retryAt;

  Backoff(Duration initial, Duration max) {
    this.initial = initial;
    this.max = max;
  }

  /** Counts a failure at {@code now} and schedules the next attempt; returns its delay in ms. */
  long failed(long now) {
    failures++;
    long delay = delayMillis(failures);
    retryAt = now + delay;
    return delay;
  }

  /** Consecutive failures since the last {@link #reset()}. */
  int failures() {
    return failures;
  }

  /** Epoch ms of the next attempt; 0 when no failure is pending. */
  long retryAt() {
    return retryAt;
  }

  /** True while the delay of the last failure has not passed. */
  boolean waiting(long now) {
    return retryAt != 0 && now < retryAt;
  }

  /** Lets the next attempt run at {@code now}, keeping the failure count. */
  void retryAt(long now) {
    retryAt = now;
  }

  /** After a success: the next failure starts again from the initial delay. */
  void reset() {
    failures = 0;
    retryAt = 0;
  }

  /** The jittered delay after the {@code attempt}-th consecutive failure (1-based), ms. */
  long delayMillis(int attempt) {
    double base = initial.toMillis() * Math.pow(2, Math.min(attempt - 1, 30));
    double capped = Math.min(base, max.toMillis());
    // Full jitter between half and the whole delay: spreads restarts of many sinks after an outage.
    return Math.max(1, (long) (capped * (0.5 + 0.5 * ThreadLocalRandom.current().nextDouble())));
  }
}
