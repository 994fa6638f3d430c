package io.infermeter.streams.windows;

import io.infermeter.streams.support.StreamsCounters;

/**
 * The bound on clock skew: a record's event time moves a task's stream time at most {@code
 * maxFutureMs} past the app's wall clock. A host whose clock runs ahead still has its records
 * counted in their own windows; it just cannot close everyone else's windows early. Stateless.
 */
public final class FutureClamp {

  private FutureClamp() {}

  /** The time to advance stream time to for an event at {@code eventTimeMs}, counting a clamp. */
  public static long clockTime(
      long eventTimeMs, long wallMs, long maxFutureMs, StreamsCounters counters) {
    long limit = wallMs > Long.MAX_VALUE - maxFutureMs ? Long.MAX_VALUE : wallMs + maxFutureMs;
    if (eventTimeMs > limit) {
      counters.futureClamped.increment();
      return limit;
    }
    return eventTimeMs;
  }
}
