package io.infermeter.bench.capacity;

import java.util.Arrays;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/** The pure arithmetic of the capacity benchmark: percentiles, consumer lag and its growth. */
final class Stats {

  private Stats() {}

  /**
   * The {@code q} quantile (0-1) of {@code values} by the nearest-rank method (the smallest value
   * with at least q of all values at or below it, as ClickHouse's quantileExact); NaN when empty.
   */
  static double percentile(long[] values, double q) {
    if (values.length == 0) {
      return Double.NaN;
    }
    if (q < 0 || q > 1) {
      throw new IllegalArgumentException("quantile must be within 0-1: " + q);
    }
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, rank - 1)];
  }

  /**
   * A consumer group's lag over the partitions of {@code endOffsets}: per partition, its end offset
   * minus the group's committed offset, or minus its first offset where the group committed none;
   * never below 0.
   */
  static long lag(
      Map<TopicPartition, Long> endOffsets,
      Map<TopicPartition, Long> committed,
      Map<TopicPartition, Long> firstOffsets) {
    long total = 0;
    for (Map.Entry<TopicPartition, Long> e : endOffsets.entrySet()) {
      Long position = committed.get(e.getKey());
      if (position == null) {
        position = firstOffsets.getOrDefault(e.getKey(), 0L);
      }
      total += Math.max(0, e.getValue() - position);
    }
    return total;
  }

  /** Seconds of lag in front of a consumer: records behind / records per second into the topic. */
  static double lagSeconds(long lagRecords, double recordsPerSecond) {
    if (lagRecords == 0) {
      return 0;
    }
    return recordsPerSecond > 0 ? lagRecords / recordsPerSecond : Double.POSITIVE_INFINITY;
  }

  /**
   * Whether a consumer fell behind over a measured interval: its lag rose by more than {@code
   * toleranceSeconds} of the topic's input over the interval ({@code recordsIn} records arrived in
   * {@code seconds}), and by at least {@code minRecords} records (lag moves by a commit interval's
   * worth of records on its own).
   */
  static boolean lagGrew(
      long lagAtStart,
      long lagAtEnd,
      long recordsIn,
      double seconds,
      double toleranceSeconds,
      long minRecords) {
    double ratePerSecond = seconds > 0 ? recordsIn / seconds : 0;
    double threshold = Math.max(minRecords, ratePerSecond * toleranceSeconds);
    return lagAtEnd - lagAtStart > threshold;
  }
}
