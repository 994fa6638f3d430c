package io.infermeter.streams.internal;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Arrays;
import org.HdrHistogram.Histogram;

/**
 * The recording side of an HdrHistogram with 3 significant digits, kept sparse: an open-addressing map from each
 * value's HdrHistogram bucket (its lowest equivalent value) to a count. Recording a value here and recording it in an
 * HdrHistogram put it in the same bucket, so {@link #toHistogram()} is exactly the HdrHistogram of the recorded values
 * and {@link #valueAtPercentile} returns what HdrHistogram's getValueAtPercentile returns. Why not HdrHistogram itself:
 * a Histogram allocates its full counts array (~100 KB for microsecond latencies up to seconds) per metric and key, and
 * PackedHistogram is slow while its buckets are first filled and slow to encode; window accumulators are short-lived
 * and mostly filling. Memory here is about 16 bytes per non-empty bucket (x2 for the hash table's load factor).
 * Not thread-safe.
 */
final class SparseHistogram {

  /** Bucket geometry only (lowest/highestEquivalentValue are pure functions of the configuration). */
  private static final Histogram GEOMETRY = new Histogram(Histograms.SIGNIFICANT_DIGITS);
  private static final long EMPTY = -1;

  private long[] keys;
  private long[] counts;
  private int size;
  private long total;

  SparseHistogram() {
    this(64);
  }

  private SparseHistogram(int capacity) {
    keys = new long[capacity];
    counts = new long[capacity];
    Arrays.fill(keys, EMPTY);
  }

  static long bucketOf(long value) {
    return GEOMETRY.lowestEquivalentValue(value);
  }

  static long highestEquivalent(long bucket) {
    return GEOMETRY.highestEquivalentValue(bucket);
  }

  void record(long value) {
    add(bucketOf(Math.max(0, value)), 1);
  }

  private void add(long bucket, long count) {
    if ((size + 1) * 2 > keys.length) {
      grow();
    }
    int mask = keys.length - 1;
    int i = mix(bucket) & mask;
    while (true) {
      long k = keys[i];
      if (k == bucket) {
        counts[i] += count;
        break;
      }
      if (k == EMPTY) {
        keys[i] = bucket;
        counts[i] = count;
        size++;
        break;
      }
      i = (i + 1) & mask;
    }
    total += count;
  }

  private static int mix(long k) {
    long h = k * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32));
  }

  private void grow() {
    long[] oldKeys = keys;
    long[] oldCounts = counts;
    keys = new long[oldKeys.length * 2];
    counts = new long[oldKeys.length * 2];
    Arrays.fill(keys, EMPTY);
    size = 0;
    long t = total;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != EMPTY) {
        add(oldKeys[i], oldCounts[i]);
      }
    }
    total = t;
  }

  void merge(SparseHistogram other) {
    for (int i = 0; i < other.keys.length; i++) {
      if (other.keys[i] != EMPTY) {
        add(other.keys[i], other.counts[i]);
      }
    }
  }

  long totalCount() {
    return total;
  }

  /** Non-empty buckets ascending: [0] lowest equivalent values, [1] counts. */
  long[][] sorted() {
    long[] k = new long[size];
    int n = 0;
    for (long key : keys) {
      if (key != EMPTY) {
        k[n++] = key;
      }
    }
    Arrays.sort(k);
    long[] c = new long[size];
    for (int j = 0; j < size; j++) {
      c[j] = countOf(k[j]);
    }
    return new long[][] {k, c};
  }

  private long countOf(long bucket) {
    int mask = keys.length - 1;
    int i = mix(bucket) & mask;
    while (keys[i] != bucket) {
      i = (i + 1) & mask;
    }
    return counts[i];
  }

  /** HdrHistogram's getValueAtPercentile, same rank rule (nearest rank, percentile nudged down by one ulp). */
  long valueAtPercentile(double percentile) {
    return valueAtPercentile(sorted(), total, percentile);
  }

  static long valueAtPercentile(long[][] sorted, long total, double percentile) {
    if (total == 0) {
      return 0;
    }
    double requested = Math.min(Math.max(Math.nextAfter(percentile, Double.NEGATIVE_INFINITY), 0.0), 100.0);
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

  /** The equivalent HdrHistogram (built on demand: for the compressed bytes of the output). */
  Histogram toHistogram() {
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
   * Compact codec: entry count, then (bucket delta, count) pairs as unsigned varints, ascending buckets. The varints
   * are built in a local array and written in one call: DataOutputStream over ByteArrayOutputStream synchronizes per
   * byte, which made per-byte writes the dominant cost of every commit.
   */
  void write(DataOutput out) throws IOException {
    long[][] s = sorted();
    byte[] buf = new byte[10 + s[0].length * 20];
    int pos = putVarLong(buf, 0, s[0].length);
    long prev = 0;
    for (int i = 0; i < s[0].length; i++) {
      pos = putVarLong(buf, pos, s[0][i] - prev);
      pos = putVarLong(buf, pos, s[1][i]);
      prev = s[0][i];
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

  static SparseHistogram read(DataInput in) throws IOException {
    long n = readVarLong(in);
    if (n < 0 || n > 1_000_000) {
      throw new IOException("implausible histogram size " + n);
    }
    int cap = 64;
    while (cap < n * 2 + 2) {
      cap <<= 1;
    }
    SparseHistogram h = new SparseHistogram(cap);
    long bucket = 0;
    for (long i = 0; i < n; i++) {
      bucket += readVarLong(in);
      long count = readVarLong(in);
      if (count < 0 || bucket < 0 || bucket != bucketOf(bucket)) {
        throw new IOException("not a histogram bucket: " + bucket + " x " + count);
      }
      h.add(bucket, count);
    }
    return h;
  }

  static void writeVarLong(DataOutput out, long v) throws IOException {
    while ((v & ~0x7FL) != 0) {
      out.writeByte((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.writeByte((int) v);
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
    if (!(o instanceof SparseHistogram other) || other.total != total || other.size != size) {
      return false;
    }
    return Arrays.deepEquals(sorted(), other.sorted());
  }

  @Override
  public int hashCode() {
    return Long.hashCode(total) * 31 + size;
  }
}
