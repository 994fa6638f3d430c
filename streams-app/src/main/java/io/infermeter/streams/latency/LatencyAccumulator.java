package io.infermeter.streams.latency;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * One latency distribution: a sparse HdrHistogram recorder (3 significant digits, microseconds)
 * plus the exact count, sum, sum of squares, min and max so mean and stddev are exact rather than
 * bucket-rounded, and the {@link Exemplars} (slowest requests) when the caller offers them. Not
 * thread-safe (owned by one task).
 */
public final class LatencyAccumulator {

  public final SparseHistogram histogram;
  public long count;
  double sum;
  double sumSquares;
  long min = Long.MAX_VALUE;
  long max = Long.MIN_VALUE;

  /** The slowest requests recorded with {@link #record(long, String, String, boolean)}. */
  public final Exemplars exemplars = new Exemplars();

  public LatencyAccumulator() {
    this(new SparseHistogram());
  }

  private LatencyAccumulator(SparseHistogram histogram) {
    this.histogram = histogram;
  }

  public void record(long valueUs) {
    histogram.record(valueUs);
    count++;
    sum += valueUs;
    sumSquares += (double) valueUs * valueUs;
    if (valueUs < min) {
      min = valueUs;
    }
    if (valueUs > max) {
      max = valueUs;
    }
  }

  /**
   * Records one request's value and offers it as an exemplar ({@code lowerIsSlower}: the metric's
   * slowest requests have its lowest values).
   */
  public void record(long valueUs, String eventId, String requestId, boolean lowerIsSlower) {
    record(valueUs);
    exemplars.offer(valueUs, eventId, requestId, lowerIsSlower);
  }

  /** {@link #merge(LatencyAccumulator, boolean)} of a metric whose slowest values are largest. */
  public void merge(LatencyAccumulator other) {
    merge(other, false);
  }

  /** Adds {@code other}; the exemplars keep the slowest of both. */
  public void merge(LatencyAccumulator other, boolean lowerIsSlower) {
    exemplars.merge(other.exemplars, lowerIsSlower);
    histogram.merge(other.histogram);
    count += other.count;
    sum += other.sum;
    sumSquares += other.sumSquares;
    min = Math.min(min, other.min);
    max = Math.max(max, other.max);
  }

  double mean() {
    return count == 0 ? 0 : sum / count;
  }

  /** Population standard deviation. */
  double stddev() {
    if (count == 0) {
      return 0;
    }
    double m = mean();
    return Math.sqrt(Math.max(0, sumSquares / count - m * m));
  }

  public void write(DataOutput out, boolean compressed) throws IOException {
    out.writeLong(count);
    out.writeDouble(sum);
    out.writeDouble(sumSquares);
    out.writeLong(min);
    out.writeLong(max);
    histogram.write(out);
  }

  public static LatencyAccumulator read(DataInput in, boolean compressed, int version)
      throws IOException {
    long count = in.readLong();
    double sum = in.readDouble();
    double sumSquares = in.readDouble();
    long min = in.readLong();
    long max = in.readLong();
    LatencyAccumulator a = new LatencyAccumulator(SparseHistogram.read(in));
    a.count = count;
    a.sum = sum;
    a.sumSquares = sumSquares;
    a.min = min;
    a.max = max;
    return a;
  }
}
