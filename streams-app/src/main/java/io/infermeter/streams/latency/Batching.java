package io.infermeter.streams.latency;

import io.infermeter.avro.BatchingStats;
import io.infermeter.streams.windows.RequestAccumulator;
import java.util.Map;

/**
 * Batching concern: mean batch size / max batch size (efficiency), share at batch size 1,
 * batch-size percentiles (nearest rank over the exact batch-size counts) and tokens per batch step
 * (mean output tokens per request x mean batch size). Null when no request reported a batch size.
 * Stateless.
 */
public final class Batching {

  private Batching() {}

  public static BatchingStats stats(RequestAccumulator a) {
    if (a.batches.requests == 0) {
      return null;
    }
    double mean = (double) a.batches.sizeSum / a.batches.requests;
    Map<Integer, Long> sizes = a.batches.sizes();
    Integer max = a.batches.maxSize > 0 ? a.batches.maxSize : null;
    return BatchingStats.newBuilder()
        .setRequestsWithBatchSize(a.batches.requests)
        .setMeanBatchSize(mean)
        .setMaxBatchSize(max)
        .setEfficiency(max == null ? null : mean / max)
        .setBatchSizeOneShare((double) a.batches.sizeOne / a.batches.requests)
        .setP50BatchSize(nearestRank(sizes, a.batches.requests, 50))
        .setP90BatchSize(nearestRank(sizes, a.batches.requests, 90))
        .setP99BatchSize(nearestRank(sizes, a.batches.requests, 99))
        .setTokensPerBatch(
            a.batches.outputTokens == 0
                ? null
                : (double) a.batches.outputTokens / a.batches.requests * mean)
        .build();
  }

  /** Nearest-rank percentile over a sorted map of value -&gt; count. */
  static long nearestRank(Map<Integer, Long> sortedCounts, long total, double p) {
    long rank = Math.max(1, (long) Math.ceil(p / 100.0 * total));
    long seen = 0;
    int last = 0;
    for (Map.Entry<Integer, Long> e : sortedCounts.entrySet()) {
      seen += e.getValue();
      last = e.getKey();
      if (seen >= rank) {
        return last;
      }
    }
    return last;
  }
}
