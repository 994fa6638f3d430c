package io.infermeter.streams.internal;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The app's own counters (late records, dead letters by reason, duplicates, key-cap folds, counter resets,
 * punctuation time), shared by all stream threads and exported on /metrics. Thread-safe.
 */
public final class StreamsCounters {

  public final LongAdder lateRecords = new LongAdder();
  public final LongAdder duplicates = new LongAdder();
  public final LongAdder keyCapFolded = new LongAdder();
  public final LongAdder counterResets = new LongAdder();
  public final LongAdder punctuationNanos = new LongAdder();
  public final LongAdder windowsEmitted = new LongAdder();
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
