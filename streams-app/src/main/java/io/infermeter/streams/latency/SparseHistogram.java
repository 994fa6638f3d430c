package io.infermeter.streams.latency;

import io.infermeter.streams.state.ByteArrayDataOutput;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Arrays;
import org.HdrHistogram.Histogram;

/**
 * The recording side of an HdrHistogram with 3 significant digits, kept sparse: the non-empty
 * buckets (each bucket's lowest equivalent value) with their counts as two sorted arrays, plus an
 * append buffer of the buckets recorded since the last compaction. Recording a value here and
 * recording it in an HdrHistogram put it in the same bucket, so {@link #toHistogram()} is exactly
 * the HdrHistogram of the recorded values and {@link #valueAtPercentile} returns what
 * HdrHistogram's getValueAtPercentile returns.
 *
 * <p>Why not HdrHistogram itself: a Histogram allocates its full counts array (~100 KB for
 * microsecond latencies up to seconds) per metric and key, and PackedHistogram is slow while its
 * buckets are first filled and slow to encode; window accumulators are short-lived and mostly
 * filling. Why an append buffer rather than a hash map: a window's latencies are mostly distinct
 * buckets, so a map pays a cache miss and regular rehashing per record, while an append costs a
 * store; the buffer is sorted and merged into the base when read, encoded (every commit), or when
 * it outgrows the base (so recording stays amortized O(log n)). Memory: 16 bytes per non-empty
 * bucket plus 8 per buffered record. Not thread-safe.
 */
public final class SparseHistogram {

  private static final long[] NONE = new long[0];
  private static final int COUNT_BITS = 47;
  private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;

  /** The non-empty buckets ascending and their counts (the first {@code size} entries are used). */
  private long[] buckets = NONE;

  private long[] counts = NONE;
  private int size;

  /**
   * (bucket index, count) recorded or merged since the last compaction, packed, unsorted, with
   * repeats.
   */
  private long[] pending = NONE;

  private int pendingSize;
  private long total;

  /**
   * {@link #sorted()} until the next record: percentiles, jitter and the output read it several
   * times per window.
   */
  private long[][] sortedCache;

  public SparseHistogram() {}

  /**
   * HdrHistogram's lowestEquivalentValue for this geometry: the value with the bucket's
   * sub-resolution bits cleared.
   */
  public static long bucketOf(long value) {
    int bucketIndex = LEADING_ZERO_COUNT_BASE - Long.numberOfLeadingZeros(value | SUB_BUCKET_MASK);
    return value >>> bucketIndex << bucketIndex;
  }

  /**
   * HdrHistogram's highestEquivalentValue for this geometry: the bucket's lowest value plus its
   * width minus 1.
   */
  public static long highestEquivalent(long value) {
    int bucketIndex = LEADING_ZERO_COUNT_BASE - Long.numberOfLeadingZeros(value | SUB_BUCKET_MASK);
    return (value >>> bucketIndex << bucketIndex) + (1L << bucketIndex) - 1;
  }

  public void record(long value) {
    append(
        countsIndex(Math.max(0, value)),
        1); // a value and its bucket's lowest value share the index
  }

  /**
   * Buffers (bucket index, count), packed as index << 48 | count so that sorting the buffer sorts
   * by bucket.
   */
  private void append(int index, long count) {
    if (pendingSize == pending.length) {
      if (pendingSize >= 64 && pendingSize >= size) {
        compact();
      } else {
        pending = Arrays.copyOf(pending, Math.max(16, pending.length * 2));
      }
    }
    pending[pendingSize++] = ((long) index << COUNT_BITS) | count;
    total += count;
    sortedCache = null;
  }

  /**
   * Sorts the append buffer and merges it into the base arrays in place (backwards, into spare
   * capacity that grows by half when short): encoding at every commit compacts every dirty
   * histogram, and allocating new arrays each time made these arrays most of the app's garbage.
   */
  private void compact() {
    if (pendingSize == 0) {
      return;
    }
    Arrays.sort(pending, 0, pendingSize);
    int d = 0; // collapse equal buckets of the buffer, in place
    for (int p = 0; p < pendingSize; ) {
      long index = pending[p] >>> COUNT_BITS;
      long c = 0;
      while (p < pendingSize && (pending[p] >>> COUNT_BITS) == index) {
        c += pending[p] & COUNT_MASK;
        p++;
      }
      pending[d++] = (index << COUNT_BITS) | Math.min(c, COUNT_MASK);
    }
    int need = size + d;
    if (buckets.length < need) {
      int capacity = Math.max(need, buckets.length + (buckets.length >> 1));
      buckets = Arrays.copyOf(buckets, capacity);
      counts = Arrays.copyOf(counts, capacity);
    }
    int i = size - 1;
    int j = d - 1;
    int k = need - 1;
    while (j >= 0) {
      long b = valueFromIndex((int) (pending[j] >>> COUNT_BITS));
      if (i >= 0 && buckets[i] > b) {
        buckets[k] = buckets[i];
        counts[k--] = counts[i--];
      } else if (i >= 0 && buckets[i] == b) {
        buckets[k] = b;
        counts[k--] = counts[i--] + (pending[j--] & COUNT_MASK);
      } else {
        buckets[k] = b;
        counts[k--] = pending[j--] & COUNT_MASK;
      }
    }
    // base entries [0, i] are in place; merged ones are at [k + 1, need); close the gap left by
    // equal buckets
    int merged = need - 1 - k;
    if (k > i) {
      System.arraycopy(buckets, k + 1, buckets, i + 1, merged);
      System.arraycopy(counts, k + 1, counts, i + 1, merged);
    }
    size = i + 1 + merged;
    pendingSize = 0;
    sortedCache = null;
  }

  /**
   * Adds every bucket of {@code other} (exact: counts add bucket-wise). A tiny {@code other} (under
   * 1/16 of this one) is buffered like recorded values; a larger one (a host partial into a fleet
   * rollup, a 10 s window into its minute) is merged straight into the sorted base arrays,
   * backwards and in place, in one linear pass, which costs less than sorting it in with the buffer
   * once it exceeds about size / log2(size) buckets: buffering those made the fleet rollups sort
   * the same buckets over and over.
   */
  public void merge(SparseHistogram other) {
    other.compact();
    if (other.size == 0) {
      return;
    }
    boolean fits = true; // counts below 2^47 can go through the append buffer
    for (int k = 0; fits && k < other.size; k++) {
      fits = other.counts[k] <= COUNT_MASK;
    }
    if (fits && other.size * 16 < size + pendingSize) {
      for (int k = 0; k < other.size; k++) {
        append(countsIndex(other.buckets[k]), other.counts[k]);
      }
      return;
    }
    compact();
    int need = size + other.size;
    if (buckets.length < need) {
      int capacity = Math.max(need, buckets.length + (buckets.length >> 1));
      buckets = Arrays.copyOf(buckets, capacity);
      counts = Arrays.copyOf(counts, capacity);
    }
    int i = size - 1;
    int j = other.size - 1;
    int k = need - 1;
    while (j >= 0) {
      long b = other.buckets[j];
      if (i >= 0 && buckets[i] > b) {
        buckets[k] = buckets[i];
        counts[k--] = counts[i--];
      } else if (i >= 0 && buckets[i] == b) {
        buckets[k] = b;
        counts[k--] = counts[i--] + other.counts[j--];
      } else {
        buckets[k] = b;
        counts[k--] = other.counts[j--];
      }
    }
    int merged = need - 1 - k;
    if (k > i) {
      System.arraycopy(buckets, k + 1, buckets, i + 1, merged);
      System.arraycopy(counts, k + 1, counts, i + 1, merged);
    }
    size = i + 1 + merged;
    total += other.total;
    sortedCache = null;
  }

  public long totalCount() {
    return total;
  }

  /**
   * Non-empty buckets ascending: [0] lowest equivalent values, [1] counts. Callers must not modify
   * the arrays.
   */
  public long[][] sorted() {
    if (sortedCache == null) {
      compact();
      sortedCache = new long[][] {Arrays.copyOf(buckets, size), Arrays.copyOf(counts, size)};
    }
    return sortedCache;
  }

  /**
   * HdrHistogram's getValueAtPercentile, same rank rule (nearest rank, percentile nudged down by
   * one ulp).
   */
  public long valueAtPercentile(double percentile) {
    return valueAtPercentile(sorted(), total, percentile);
  }

  public static long valueAtPercentile(long[][] sorted, long total, double percentile) {
    if (total == 0) {
      return 0;
    }
    double requested =
        Math.min(Math.max(Math.nextAfter(percentile, Double.NEGATIVE_INFINITY), 0.0), 100.0);
    long rank = Math.max((long) Math.ceil(requested / 100.0 * total), 1);
    long seen = 0;
    for (int i = 0; i < sorted[0].length; i++) {
      seen += sorted[1][i];
      if (seen >= rank) {
        return percentile == 0.0 ? sorted[0][i] : highestEquivalent(sorted[0][i]);
      }
    }
    return highestEquivalent(sorted[0][sorted[0].length - 1]);
  }

  // HdrHistogram's counts-array layout for lowest discernible value 1 and 3 significant digits:
  // 2048 sub-buckets.
  private static final int SUB_BUCKET_HALF_COUNT_MAGNITUDE = 10;
  private static final int SUB_BUCKET_HALF_COUNT = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
  private static final long SUB_BUCKET_MASK = (2L << SUB_BUCKET_HALF_COUNT_MAGNITUDE) - 1;
  private static final int LEADING_ZERO_COUNT_BASE = 64 - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1);
  private static final int PLAIN_COOKIE =
      java.nio.ByteBuffer.wrap(Histograms.encodePlain(new Histogram(1, 2, 3))).getInt();

  /**
   * The lowest value of the bucket at counts-array {@code index} (inverse of {@link #countsIndex}).
   */
  public static long valueFromIndex(int index) {
    int bucketIndex = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) - 1;
    int subBucketIndex = (index & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if (bucketIndex < 0) {
      subBucketIndex -= SUB_BUCKET_HALF_COUNT;
      bucketIndex = 0;
    }
    return (long) subBucketIndex << bucketIndex;
  }

  /**
   * The index of {@code value}'s bucket in the counts array of an HdrHistogram {@code
   * Histogram(3)}.
   */
  public static int countsIndex(long value) {
    int bucketIndex = LEADING_ZERO_COUNT_BASE - Long.numberOfLeadingZeros(value | SUB_BUCKET_MASK);
    int subBucketIndex = (int) (value >>> bucketIndex);
    return ((bucketIndex + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE)
        + (subBucketIndex - SUB_BUCKET_HALF_COUNT);
  }

  /**
   * HdrHistogram's plain (V2) encoding of {@link #toHistogram()}, written straight from the sparse
   * buckets into {@code buf} (cleared first; must hold {@link #plainEncodingBound()} bytes): the
   * header, then the counts array up to the highest non-empty bucket as ZigZag LEB128 values, runs
   * of empty buckets as their negated length. Same bytes as {@code
   * toHistogram().encodeIntoByteBuffer(buf)} without allocating and walking a counts array (about
   * 100 KB for latencies up to seconds) per histogram. Returns the length.
   */
  int encodePlain(java.nio.ByteBuffer buf) {
    long[][] s = sorted();
    int n = s[0].length;
    long max = n == 0 ? 2 : Math.max(2, highestEquivalent(s[0][n - 1]));
    buf.clear();
    buf.putInt(PLAIN_COOKIE);
    buf.putInt(0); // payload length, set below
    buf.putInt(0); // normalizing index offset
    buf.putInt(Histograms.SIGNIFICANT_DIGITS);
    buf.putLong(1); // lowest discernible value
    buf.putLong(max); // highest trackable value
    buf.putDouble(1.0); // integer to double value conversion ratio
    int payloadStart = buf.position();
    int prev = -1;
    for (int i = 0; i < n; i++) {
      int index = countsIndex(s[0][i]);
      int zeros = index - prev - 1;
      if (zeros > 1) {
        putZigZag(buf, -zeros);
      } else if (zeros == 1) {
        putZigZag(buf, 0);
      }
      putZigZag(buf, s[1][i]);
      prev = index;
    }
    if (n == 0) {
      putZigZag(buf, 0); // an empty histogram encodes its single (zero) count
    }
    buf.putInt(4, buf.position() - payloadStart);
    return buf.position();
  }

  /** Upper bound of {@link #encodePlain}'s length. */
  int plainEncodingBound() {
    compact();
    return 40 + size * 18 + 9;
  }

  private static void putZigZag(java.nio.ByteBuffer buf, long value) {
    long v = (value << 1) ^ (value >> 63);
    for (int i = 0; i < 8; i++) {
      if ((v >>> 7) == 0) {
        buf.put((byte) v);
        return;
      }
      buf.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    buf.put((byte) v); // the 9th byte carries the top 8 bits
  }

  /** The equivalent HdrHistogram (built on demand; tests and the reference encodings use it). */
  public Histogram toHistogram() {
    long[][] s = sorted();
    long max = s[0].length == 0 ? 2 : Math.max(2, highestEquivalent(s[0][s[0].length - 1]));
    Histogram h = new Histogram(1, max, Histograms.SIGNIFICANT_DIGITS);
    h.setAutoResize(true);
    for (int i = 0; i < s[0].length; i++) {
      h.recordValueWithCount(s[0][i], s[1][i]);
    }
    return h;
  }

  /**
   * Compact codec: entry count, then (bucket delta, count) pairs as unsigned varints, ascending
   * buckets. The varints are built in a local array and written in one call: DataOutputStream over
   * ByteArrayOutputStream synchronizes per byte.
   */
  public void write(DataOutput out) throws IOException {
    compact();
    if (out instanceof ByteArrayDataOutput direct) {
      direct.writeVarLong(size);
      long prev = 0;
      for (int i = 0; i < size; i++) {
        direct.writeVarLong(buckets[i] - prev);
        direct.writeVarLong(counts[i]);
        prev = buckets[i];
      }
      return;
    }
    byte[] buf = new byte[10 + size * 20];
    int pos = putVarLong(buf, 0, size);
    long prev = 0;
    for (int i = 0; i < size; i++) {
      pos = putVarLong(buf, pos, buckets[i] - prev);
      pos = putVarLong(buf, pos, counts[i]);
      prev = buckets[i];
    }
    out.write(buf, 0, pos);
  }

  private static int putVarLong(byte[] buf, int pos, long v) {
    while ((v & ~0x7FL) != 0) {
      buf[pos++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[pos++] = (byte) v;
    return pos;
  }

  public static SparseHistogram read(DataInput in) throws IOException {
    long n = readVarLong(in);
    if (n < 0 || n > 1_000_000) {
      throw new IOException("implausible histogram size " + n);
    }
    SparseHistogram h = new SparseHistogram();
    h.buckets = new long[(int) n];
    h.counts = new long[(int) n];
    long bucket = 0;
    for (int i = 0; i < n; i++) {
      long delta = readVarLong(in);
      bucket += delta;
      long count = readVarLong(in);
      if (count <= 0 || bucket < 0 || (i > 0 && delta == 0) || bucket != bucketOf(bucket)) {
        throw new IOException("not a histogram bucket: " + bucket + " x " + count);
      }
      h.buckets[i] = bucket;
      h.counts[i] = count;
      h.total += count;
    }
    h.size = (int) n;
    return h;
  }

  static long readVarLong(DataInput in) throws IOException {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte b = in.readByte();
      v |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    throw new IOException("malformed varint");
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof SparseHistogram other) || other.total != total) {
      return false;
    }
    return Arrays.deepEquals(sorted(), other.sorted());
  }

  @Override
  public int hashCode() {
    return Long.hashCode(total);
  }
}
