package io.infermeter.report;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * What one report covers: database, time range [from, to) (windows selected by window_start, alerts
 * by emission time, as the shipped views do), the window size whose rows are read (10 s and 1 min
 * windows describe the same requests, so exactly one is read), the TTFT/TPOT SLO thresholds in
 * microseconds and the latency metrics drawn over time. Immutable; validated on construction.
 *
 * @param database ClickHouse database holding the infermeter tables (an identifier: letters,
 *     digits, '_')
 * @param from inclusive start of the range
 * @param to exclusive end of the range (after from)
 * @param windowMs window size to read, milliseconds (e.g. 10000)
 * @param ttftThresholdUs TTFT SLO threshold, microseconds
 * @param tpotThresholdUs TPOT SLO threshold, microseconds
 * @param latencyMetrics metrics drawn per model over time (e2e, ttft, tpot, queue, prefill, decode)
 * @param maxPoints most points per time series; windows are merged (exactly, from the histograms)
 *     beyond that
 * @param generatedAt when the report was made (printed on the page)
 */
public record ReportRequest(
    String database,
    Instant from,
    Instant to,
    long windowMs,
    long ttftThresholdUs,
    long tpotThresholdUs,
    List<String> latencyMetrics,
    int maxPoints,
    Instant generatedAt) {

  /**
   * The per-request metrics the streams app writes to window_latency: latencies in microseconds and
   * the {@link #TOKEN_RATES} in milli-tokens per second.
   */
  public static final Set<String> METRICS =
      Set.of(
          "e2e",
          "ttft",
          "tpot",
          "queue",
          "prefill",
          "decode",
          "max_itl",
          "output_tps",
          "input_tps");

  /**
   * The metrics of window_latency whose values are token rates, milli-tokens per second (tokens/s x
   * 1000), rather than microseconds: value / 1000 is tokens/s where it is milliseconds for the
   * others.
   */
  public static final Set<String> TOKEN_RATES = Set.of("output_tps", "input_tps");

  /** Whether window_latency's {@code metric} is a token rate rather than a latency. */
  public static boolean isTokenRate(String metric) {
    return TOKEN_RATES.contains(metric);
  }

  public ReportRequest {
    if (database == null || !database.matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new IllegalArgumentException(
          "database must be an identifier (letters, digits, '_'), got '" + database + "'");
    }
    if (from == null || to == null || !to.isAfter(from)) {
      throw new IllegalArgumentException(
          "time range must have from < to, got from=" + from + " to=" + to);
    }
    if (windowMs <= 0 || windowMs > Duration.ofDays(1).toMillis()) {
      throw new IllegalArgumentException(
          "window size must be 1 ms .. 1 day, got " + windowMs + " ms");
    }
    if (ttftThresholdUs <= 0 || tpotThresholdUs <= 0) {
      throw new IllegalArgumentException(
          "SLO thresholds must be positive, got ttft="
              + ttftThresholdUs
              + " us, tpot="
              + tpotThresholdUs
              + " us");
    }
    latencyMetrics = List.copyOf(latencyMetrics);
    for (String m : latencyMetrics) {
      if (!METRICS.contains(m)) {
        throw new IllegalArgumentException(
            "unknown latency metric '" + m + "', expected one of " + METRICS);
      }
    }
    if (maxPoints < 2) {
      throw new IllegalArgumentException("maxPoints must be >= 2, got " + maxPoints);
    }
    if (generatedAt == null) {
      throw new IllegalArgumentException("generatedAt is required");
    }
  }

  /**
   * The time-series step, microseconds: the window size, or a multiple of it so that the range has
   * at most maxPoints steps. Merging windows into a step is exact (histograms are merged, never
   * percentiles averaged).
   */
  public long stepMicros() {
    long windowUs = windowMs * 1000;
    long rangeUs = Duration.between(from, to).toNanos() / 1000;
    long windows = Math.max(1, (rangeUs + windowUs - 1) / windowUs);
    long factor = Math.max(1, (windows + maxPoints - 1) / maxPoints);
    return windowUs * factor;
  }
}
