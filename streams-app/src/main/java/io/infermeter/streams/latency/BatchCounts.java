package io.infermeter.streams.latency;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The batch sizes a window's requests reported: how many reported one, their sum, how many ran at
 * size 1, their output tokens, the largest configured maximum, and the exact count per size (the
 * percentiles of {@link Batching}). Sizes up to 128 are counted in an array allocated on first use,
 * larger ones in a map. Part of {@code RequestAccumulator}, whose codec persists these fields in
 * its layout. Mutable, not thread-safe.
 */
public final class BatchCounts {

  private static final int SMALL = 128;

  /** Requests that reported a batch size. */
  public long requests;

  /** Sum of their batch sizes. */
  public long sizeSum;

  /** Requests that ran at batch size 1. */
  public long sizeOne;

  /** Output tokens of the requests that reported a batch size. */
  public long outputTokens;

  /** The largest configured maximum batch size reported (0: none). */
  public int maxSize;

  private final Map<Integer, Long> large = new TreeMap<>();
  private long[] small;

  /** Counts one request's batch size (ignored when absent or not positive) and maximum. */
  public void add(Integer batchSize, Integer maxBatchSize, Integer requestOutputTokens) {
    if (batchSize != null && batchSize > 0) {
      requests++;
      sizeSum += batchSize;
      if (batchSize == 1) {
        sizeOne++;
      }
      addSize(batchSize, 1);
      if (requestOutputTokens != null) {
        outputTokens += requestOutputTokens;
      }
    }
    if (maxBatchSize != null && maxBatchSize > maxSize) {
      maxSize = maxBatchSize;
    }
  }

  /** Adds {@code other}'s counts into these. */
  public void merge(BatchCounts other) {
    requests += other.requests;
    sizeSum += other.sizeSum;
    maxSize = Math.max(maxSize, other.maxSize);
    sizeOne += other.sizeOne;
    outputTokens += other.outputTokens;
    other.sizes().forEach(this::addSize);
  }

  /** Adds {@code count} requests of batch size {@code size}. */
  public void addSize(int size, long count) {
    if (size <= SMALL) {
      if (small == null) {
        small = new long[SMALL + 1];
      }
      small[size] += count;
    } else {
      large.merge(size, count, Long::sum);
    }
  }

  /** Requests per batch size, ascending sizes (a new map). */
  public SortedMap<Integer, Long> sizes() {
    SortedMap<Integer, Long> out = new TreeMap<>(large);
    if (small != null) {
      for (int i = 0; i < small.length; i++) {
        if (small[i] != 0) {
          out.put(i, small[i]);
        }
      }
    }
    return out;
  }
}
