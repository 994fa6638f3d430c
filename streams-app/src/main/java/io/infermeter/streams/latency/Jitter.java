package io.infermeter.streams.latency;

import io.infermeter.avro.JitterStats;
import io.infermeter.streams.windows.RequestAccumulator;
import java.util.ArrayList;
import java.util.List;

/**
 * Jitter concern for warm e2e, TTFT and TPOT: stddev, coefficient of variation, p99/p50, IQR (p75 -
 * p25) and the mean absolute difference of consecutive latencies (RFC 3550 style). Consecutive
 * means in the order the task processes the events (completion order within a host's partition),
 * not strictly arrival order: see docs/STREAMS.md. In fleet rollups the pairs of each host are
 * pooled (pairs across hosts are meaningless). Stateless.
 */
public final class Jitter {

  private static final LatencyMetric[] METRICS = {
    LatencyMetric.E2E, LatencyMetric.TTFT, LatencyMetric.TPOT
  };

  private Jitter() {}

  public static List<JitterStats> stats(RequestAccumulator a) {
    List<JitterStats> out = new ArrayList<>();
    for (LatencyMetric m : METRICS) {
      LatencyAccumulator acc = a.latency(m, false);
      if (acc == null || acc.count == 0) {
        continue;
      }
      int j = RequestAccumulator.jitterIndex(m);
      double mean = acc.mean();
      double sd = acc.stddev();
      long p50 = LatencyPercentiles.percentile(acc, 50);
      long p99 = LatencyPercentiles.percentile(acc, 99);
      out.add(
          JitterStats.newBuilder()
              .setMetric(m.wireName())
              .setStddevUs(sd)
              .setCoefficientOfVariation(mean == 0 ? 0 : sd / mean)
              .setP99OverP50(p50 == 0 ? 0 : (double) p99 / p50)
              .setIqrUs(
                  LatencyPercentiles.percentile(acc, 75) - LatencyPercentiles.percentile(acc, 25))
              .setMeanAbsConsecutiveDiffUs(a.jitter.meanAbsDiff(j))
              .build());
    }
    return out;
  }
}
