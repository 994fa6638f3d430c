package io.infermeter.streams.latency;

/**
 * The consecutive-difference state of a window's warm e2e, TTFT and TPOT values (index {@code j} of
 * {@code RequestAccumulator.jitterIndex}): per metric the first and last value (-1: none), the
 * number of consecutive pairs and the sum of their absolute differences, from which {@link Jitter}
 * takes the mean absolute consecutive difference. Part of {@code RequestAccumulator}, whose codec
 * persists these arrays in its layout. Mutable, not thread-safe.
 */
public final class JitterTracker {

  /** The metrics tracked: e2e, TTFT, TPOT. */
  public static final int METRICS = 3;

  /** First value of the window per metric (-1: none): the pair across two appended parts. */
  public final long[] first = {-1, -1, -1};

  /** Last value per metric (-1: none). */
  public final long[] last = {-1, -1, -1};

  /** Consecutive pairs per metric. */
  public final long[] pairs = new long[METRICS];

  /** Sum of the absolute differences of those pairs per metric, microseconds. */
  public final double[] absDiffSum = new double[METRICS];

  /** Records the next warm value of metric {@code j}. */
  public void record(int j, long value) {
    if (last[j] >= 0) {
      pairs[j]++;
      absDiffSum[j] += Math.abs(value - last[j]);
    }
    if (first[j] < 0) {
      first[j] = value;
    }
    last[j] = value;
  }

  /**
   * Adds {@code other}'s pairs (another host's stream of the same window: no pair across the two).
   */
  public void merge(JitterTracker other) {
    for (int j = 0; j < METRICS; j++) {
      pairs[j] += other.pairs[j];
      absDiffSum[j] += other.absDiffSum[j];
    }
  }

  /**
   * Joins {@code later}, the next consecutive part of the same stream, whose pairs were already
   * merged: adds the pair across the boundary ({@code lastBefore}, this part's last values before
   * the merge, and the later part's first) and takes the later part's last values.
   */
  public void joinAfter(long[] lastBefore, JitterTracker later) {
    for (int j = 0; j < METRICS; j++) {
      if (lastBefore[j] >= 0 && later.first[j] >= 0) {
        pairs[j]++;
        absDiffSum[j] += Math.abs(later.first[j] - lastBefore[j]);
      }
      if (first[j] < 0) {
        first[j] = later.first[j];
      }
      if (later.last[j] >= 0) {
        last[j] = later.last[j];
      }
    }
  }

  /** The mean absolute consecutive difference of metric {@code j}, microseconds (0: no pair). */
  public double meanAbsDiff(int j) {
    return pairs[j] == 0 ? 0 : absDiffSum[j] / pairs[j];
  }
}
