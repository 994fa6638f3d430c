package io.infermeter.streams.support;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The app's own counters (late records, dead letters by reason, duplicates, key-cap folds, counter
 * resets, punctuation time, the limits of {@link io.infermeter.streams.StreamsLimits}), shared by
 * all stream threads and exported on /metrics (names in docs/STREAMS.md). Thread-safe.
 */
public final class StreamsCounters {

  /** Records too late to count (past window end + grace + allowed lateness): dead-lettered. */
  public final LongAdder lateRecords = new LongAdder();

  /**
   * Late records (and late partials, usage, samples) applied to a closed window as a correction.
   */
  public final LongAdder lateCorrected = new LongAdder();

  /** Closed windows that took a late record (counted once per correction round). */
  public final LongAdder windowsCorrected = new LongAdder();

  /** Corrected windows re-emitted. */
  public final LongAdder correctionsEmitted = new LongAdder();

  /**
   * Records whose event time was more than windows.max.future ahead of the wall clock (stream time
   * clamped).
   */
  public final LongAdder futureClamped = new LongAdder();

  /** Idle request tasks whose stream time was moved on by the wall clock (windows.idle.timeout). */
  public final LongAdder idleAdvances = new LongAdder();

  public final LongAdder duplicates = new LongAdder();
  public final LongAdder keyCapFolded = new LongAdder();
  public final LongAdder counterResets = new LongAdder();
  public final LongAdder punctuationNanos = new LongAdder();
  public final LongAdder windowsEmitted = new LongAdder();

  /** New error types and devices counted under "other" by the per-window map caps. */
  public final LongAdder mapEntriesFolded = new LongAdder();

  /** Error types cut to limits.error.type.max.bytes. */
  public final LongAdder errorTypesTruncated = new LongAdder();

  /** Dead letters whose payload, key or message was cut to its limit. */
  public final LongAdder deadLettersTruncated = new LongAdder();

  /**
   * Dead letters that could not be sent themselves (dropped, logged; never dead-lettered again).
   */
  public final LongAdder deadLetterSendFailures = new LongAdder();

  /** Records skipped after limits.failure.max.attempts failures on the same source record. */
  public final LongAdder recordsSkippedAfterRetries = new LongAdder();

  /** State entries that could not be encoded at commit (dropped from the store, logged). */
  public final LongAdder stateEncodeFailures = new LongAdder();

  /** Rule states, host-last-seen and device entries forgotten after state.inactive.expiry. */
  public final LongAdder stateEvicted = new LongAdder();

  /** New keys refused by state.max.keys.per.task. */
  public final LongAdder stateKeysRefused = new LongAdder();

  /**
   * Parts of a request's in-flight time in windows before its completion window that arrived after
   * that energy window's allowed lateness (dropped: that window's busy time misses them).
   */
  public final LongAdder inFlightDropped = new LongAdder();

  /** Sample intervals longer than {@code energy.gap.spread.after}, spread over their windows. */
  public final LongAdder energyGapsSpread = new LongAdder();

  /** Parts of a spread interval in windows past their allowed lateness (that energy is lost). */
  public final LongAdder energyGapPartsDropped = new LongAdder();

  /** Carbon-intensity updates refused (no region, intensity outside 0..5000 g/kWh, ...). */
  public final LongAdder carbonUpdatesRefused = new LongAdder();

  private final Map<String, LongAdder> deadLetters = new ConcurrentHashMap<>();

  public void deadLetter(String reason) {
    deadLetters.computeIfAbsent(reason, r -> new LongAdder()).increment();
  }

  public Map<String, LongAdder> deadLetters() {
    return deadLetters;
  }

  public long deadLetterTotal() {
    return deadLetters.values().stream().mapToLong(LongAdder::sum).sum();
  }
}
