package io.infermeter.streams.latency;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import org.HdrHistogram.Histogram;

/**
 * HdrHistogram helpers: 3 significant digits, auto-resizing, values in microseconds, and the two
 * encodings. The aggregation state records into {@link SparseHistogram} and builds an HdrHistogram
 * only for output. Stateless and thread-safe; histograms themselves are not.
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

  /**
   * The first int of every compressed encoding (HdrHistogram's V2 compressed cookie for 8-byte
   * counts).
   */
  private static final int COMPRESSED_COOKIE =
      ByteBuffer.wrap(referenceCompressed(create())).getInt();

  /** Per thread (stream threads are long-lived): a Deflater costs a native zlib state to create. */
  private static final ThreadLocal<Deflater> DEFLATER =
      ThreadLocal.withInitial(() -> new Deflater(Deflater.DEFAULT_COMPRESSION));

  private static final ThreadLocal<ByteBuffer> PLAIN =
      ThreadLocal.withInitial(() -> ByteBuffer.allocate(1 << 16));

  /**
   * HdrHistogram's compressed (deflate) encoding, for the output topic: byte for byte what {@code
   * encodeIntoCompressedByteBuffer} writes (cookie, compressed length, zlib deflate of the plain
   * encoding at the default level), but with a Deflater and a plain-encoding buffer reused per
   * thread. HdrHistogram creates a Deflater (a native zlib state) and a buffer for the whole counts
   * array on every call, which made encoding each window's histograms the largest cost of emitting
   * a window.
   */
  public static byte[] encodeCompressed(Histogram h) {
    ByteBuffer plain = plainBuffer(h.getNeededByteBufferCapacity());
    return deflate(plain, h.encodeIntoByteBuffer(plain));
  }

  /**
   * {@link #encodeCompressed(Histogram)} of {@code h.toHistogram()}, from the sparse buckets
   * directly.
   */
  public static byte[] encodeCompressed(SparseHistogram h) {
    ByteBuffer plain = plainBuffer(h.plainEncodingBound());
    return deflate(plain, h.encodePlain(plain));
  }

  private static ByteBuffer plainBuffer(int needed) {
    ByteBuffer plain = PLAIN.get();
    if (plain.capacity() < needed) {
      plain = ByteBuffer.allocate(Integer.highestOneBit(needed) << 1);
      PLAIN.set(plain);
    }
    plain.clear();
    return plain;
  }

  private static byte[] deflate(ByteBuffer plain, int n) {
    Deflater d = DEFLATER.get();
    d.reset();
    d.setInput(plain.array(), plain.arrayOffset(), n);
    d.finish();
    byte[] out = new byte[8 + n + (n >> 3) + 64];
    int len = 0;
    while (!d.finished()) {
      if (8 + len == out.length) {
        out = Arrays.copyOf(out, out.length * 2);
      }
      len += d.deflate(out, 8 + len, out.length - 8 - len);
    }
    ByteBuffer.wrap(out).putInt(COMPRESSED_COOKIE).putInt(len);
    return Arrays.copyOf(out, 8 + len);
  }

  /**
   * HdrHistogram's own compressed encoding (slower: see {@link #encodeCompressed}); the reference
   * in tests.
   */
  public static byte[] referenceCompressed(Histogram h) {
    ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoCompressedByteBuffer(buf);
    return Arrays.copyOf(buf.array(), n);
  }

  /**
   * HdrHistogram's plain (run-length, ZigZag LEB128) encoding (SparseHistogram writes the same
   * format directly).
   */
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
}
