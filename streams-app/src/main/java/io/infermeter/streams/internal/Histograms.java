package io.infermeter.streams.internal;

import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import org.HdrHistogram.HistogramIterationValue;
import org.HdrHistogram.Histogram;

/**
 * HdrHistogram helpers: 3 significant digits, auto-resizing, values in microseconds, and the two encodings. The
 * aggregation state records into {@link SparseHistogram} and builds an HdrHistogram only for output. Stateless and thread-safe; histograms themselves are not.
 */
public final class Histograms {

  /** 3 significant digits: relative error of any recorded value &lt;= 0.1 %. */
  public static final int SIGNIFICANT_DIGITS = 3;

  private Histograms() {}

  public static Histogram create() {
    Histogram h = new Histogram(SIGNIFICANT_DIGITS);
    h.setAutoResize(true);
    return h;
  }

  /** HdrHistogram's compressed (deflate) encoding, for the output topic and the partials repartition topic. */
  public static byte[] encodeCompressed(Histogram h) {
    ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoCompressedByteBuffer(buf);
    byte[] out = new byte[n];
    System.arraycopy(buf.array(), 0, out, 0, n);
    return out;
  }

  /** HdrHistogram's plain (run-length, LEB128) encoding: cheaper to write on every state-store commit. */
  public static byte[] encodePlain(Histogram h) {
    ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoByteBuffer(buf);
    byte[] out = new byte[n];
    System.arraycopy(buf.array(), 0, out, 0, n);
    return out;
  }

  public static Histogram decodeCompressed(byte[] bytes) {
    try {
      Histogram h = Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(bytes), 0);
      h.setAutoResize(true);
      return h;
    } catch (DataFormatException | RuntimeException e) {
      throw new IllegalArgumentException("not a compressed HdrHistogram: " + e.getMessage(), e);
    }
  }

  public static Histogram decodePlain(byte[] bytes) {
    try {
      Histogram h = Histogram.decodeFromByteBuffer(ByteBuffer.wrap(bytes), 0);
      h.setAutoResize(true);
      return h;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("not an HdrHistogram encoding: " + e.getMessage(), e);
    }
  }

  /** Non-empty buckets: highest equivalent value of each and its count, ascending ([0]=values, [1]=counts). */
  public static long[][] buckets(Histogram h) {
    int n = 0;
    for (HistogramIterationValue ignored : h.recordedValues()) {
      n++;
    }
    long[] values = new long[n];
    long[] counts = new long[n];
    int i = 0;
    for (HistogramIterationValue v : h.recordedValues()) {
      values[i] = h.highestEquivalentValue(v.getValueIteratedTo());
      counts[i] = v.getCountAtValueIteratedTo();
      i++;
    }
    return new long[][] {values, counts};
  }
}
