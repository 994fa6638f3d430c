package io.infermeter.streams.latency;

import io.infermeter.avro.LatencyExemplar;
import io.infermeter.avro.LatencyStats;
import io.infermeter.streams.windows.RequestAccumulator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Latency percentiles concern: turns each (metric, cohort) accumulator into a {@link LatencyStats}
 * with min, mean, stddev, p50..p99.9, max, the non-empty HdrHistogram buckets (highest equivalent
 * value, count), the compressed histogram and the slowest requests ({@link Exemplars}), so
 * percentiles can be merged later. Percentiles are HdrHistogram's (nearest rank over buckets
 * reported as the bucket's highest equivalent value, capped at the exact max); stateless.
 */
public final class LatencyPercentiles {

  private LatencyPercentiles() {}

  public static List<LatencyStats> stats(RequestAccumulator a, boolean withHdrHistogram) {
    List<LatencyStats> out = new ArrayList<>();
    for (LatencyMetric m : LatencyMetric.all()) {
      for (boolean cold : new boolean[] {false, true}) {
        LatencyAccumulator acc = a.latency(m, cold);
        if (acc == null || acc.count == 0) {
          continue;
        }
        out.add(stats(m.wireName(), cold ? "cold" : "warm", acc, withHdrHistogram));
      }
    }
    return out;
  }

  public static LatencyStats stats(
      String metric, String cohort, LatencyAccumulator acc, boolean withHdrHistogram) {
    long[][] buckets = acc.histogram.sorted();
    List<Long> values = new ArrayList<>(buckets[0].length);
    List<Long> counts = new ArrayList<>(buckets[0].length);
    for (int i = 0; i < buckets[0].length; i++) {
      values.add(SparseHistogram.highestEquivalent(buckets[0][i]));
      counts.add(buckets[1][i]);
    }
    return LatencyStats.newBuilder()
        .setMetric(metric)
        .setCohort(cohort)
        .setCount(acc.count)
        .setMinUs(acc.min)
        .setMaxUs(acc.max)
        .setMeanUs(acc.mean())
        .setStddevUs(acc.stddev())
        .setP50Us(percentile(acc, buckets, 50))
        .setP90Us(percentile(acc, buckets, 90))
        .setP95Us(percentile(acc, buckets, 95))
        .setP99Us(percentile(acc, buckets, 99))
        .setP999Us(percentile(acc, buckets, 99.9))
        .setBucketValuesUs(values)
        .setBucketCounts(counts)
        .setHdrHistogram(
            withHdrHistogram ? ByteBuffer.wrap(Histograms.encodeCompressed(acc.histogram)) : null)
        .setExemplars(exemplars(acc.exemplars))
        .build();
  }

  /** The exemplars, slowest first. */
  static List<LatencyExemplar> exemplars(Exemplars ex) {
    List<LatencyExemplar> out = new ArrayList<>(ex.size());
    for (int i = 0; i < ex.size(); i++) {
      out.add(new LatencyExemplar(ex.value(i), ex.eventId(i), ex.requestId(i)));
    }
    return out;
  }

  /**
   * The percentile as HdrHistogram reports it, never above the exact maximum (the last bucket's top
   * may be).
   */
  public static long percentile(LatencyAccumulator acc, double p) {
    return percentile(acc, acc.histogram.sorted(), p);
  }

  private static long percentile(LatencyAccumulator acc, long[][] sortedBuckets, double p) {
    return Math.min(SparseHistogram.valueAtPercentile(sortedBuckets, acc.count, p), acc.max);
  }
}
