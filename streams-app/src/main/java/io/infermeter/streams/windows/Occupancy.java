package io.infermeter.streams.windows;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.RequestTimings;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * When one device key had at least one request in flight, per window: a bitmap of {@value #SLOT_US}
 * us slots (a slot is set when any part of it had a request in flight; 1,000 bits, 125 bytes, per
 * 10 s window) and the summed in-flight request time clipped to the window. A request's in-flight
 * interval is its device time ending at its completion: [completed - {@link RequestTimings#busyUs},
 * completed], i.e. from scheduling (prefill + decode), else from arrival.
 *
 * <p>The device's busy time in a window is the union of those intervals: {@code set slots x
 * SLOT_US}, at most the window length. Concurrent requests (continuous batching) set the same slots
 * once, so 16 concurrent 2 s requests make 2 s of busy time, not 32 s. Rounding a slot up when any
 * part of it is in flight overstates a busy run by less than one slot at each end, never hides a
 * request.
 *
 * <p>Parts are kept per window of the owner's size: the owner's own window and, for requests that
 * began before it, the earlier windows they span (up to a look-back; older in-flight time is not
 * kept, since the energy windows it belongs to are past their allowed lateness). Parts merge by OR
 * (and by adding request time), so the union of several accumulators' parts is exact. Not
 * thread-safe (owned by one task).
 */
public final class Occupancy {

  /** Resolution of the busy bitmap, microseconds. */
  public static final long SLOT_US = 10_000;

  /** Window start (ms) -> that window's part. */
  public final TreeMap<Long, Part> parts = new TreeMap<>();

  /** One window's slots and clipped request time. */
  public static final class Part {
    public final long[] bits;

    /** Sum of the in-flight request time clipped to the window, microseconds. */
    public long requestUs;

    Part(long[] bits, long requestUs) {
      this.bits = bits;
      this.requestUs = requestUs;
    }

    /** An empty part of a window of {@code sizeMs}. */
    public static Part empty(long sizeMs) {
      return new Part(new long[words(sizeMs)], 0);
    }

    /** Busy time: set slots x {@value #SLOT_US} us, at most {@code windowUs}. */
    public long busyUs(long windowUs) {
      return Occupancy.busyUs(bits, windowUs);
    }

    Part copy() {
      return new Part(bits.clone(), requestUs);
    }
  }

  /** a / b rounded up, for b > 0 (Math.ceilDiv is Java 18). */
  static long ceilDiv(long a, long b) {
    return -Math.floorDiv(-a, b);
  }

  /** Number of slots of a window of {@code sizeMs}. */
  public static int slots(long sizeMs) {
    return (int) ceilDiv(sizeMs * 1000, SLOT_US);
  }

  static int words(long sizeMs) {
    return (int) ceilDiv(slots(sizeMs), 64);
  }

  /** Set slots of {@code bits} x {@value #SLOT_US} us, at most {@code windowUs}. */
  public static long busyUs(long[] bits, long windowUs) {
    long n = 0;
    for (long w : bits) {
      n += Long.bitCount(w);
    }
    return Math.min(windowUs, n * SLOT_US);
  }

  /** ORs {@code src} into {@code dst} (same length or shorter). */
  public static void or(long[] dst, long[] src) {
    for (int i = 0; i < src.length && i < dst.length; i++) {
      dst[i] |= src[i];
    }
  }

  /** Sets slots [from, to) of {@code bits} (clipped to its length). */
  static void set(long[] bits, long from, long to) {
    from = Math.max(0, from);
    to = Math.min(to, (long) bits.length * 64);
    if (from >= to) {
      return;
    }
    int first = (int) (from >>> 6);
    int last = (int) ((to - 1) >>> 6);
    long firstMask = -1L << (from & 63);
    long lastMask = -1L >>> (63 - ((to - 1) & 63));
    if (first == last) {
      bits[first] |= firstMask & lastMask;
      return;
    }
    bits[first] |= firstMask;
    for (int i = first + 1; i < last; i++) {
      bits[i] = -1L;
    }
    bits[last] |= lastMask;
  }

  /** ORs {@code src} into {@code dst} shifted by {@code offset} slots (bits past dst dropped). */
  static void orShifted(long[] dst, long[] src, long offset) {
    for (int i = 0; i < src.length; i++) {
      long v = src[i];
      if (v == 0) {
        continue;
      }
      long p = offset + (long) i * 64;
      int w = (int) (p >>> 6);
      int shift = (int) (p & 63);
      if (w < dst.length) {
        dst[w] |= v << shift;
      }
      if (shift != 0 && w + 1 < dst.length) {
        dst[w + 1] |= v >>> (64 - shift);
      }
    }
  }

  /** Start of the in-flight interval of {@code e}, epoch microseconds. */
  public static long inFlightStartUs(RequestEvent e) {
    return e.getCompletedUs() - RequestTimings.busyUs(e);
  }

  /** The part of the window starting at {@code startMs}, created empty on first use. */
  Part part(long startMs, long sizeMs) {
    return parts.computeIfAbsent(startMs, s -> Part.empty(sizeMs));
  }

  /**
   * Records the in-flight interval [{@code fromUs}, {@code toUs}) of a request recorded in the
   * window [{@code startMs}, {@code startMs + sizeMs}): into that window's part and into the parts
   * of the earlier windows it spans whose end is less than {@code lookbackMs} before {@code
   * startMs}. Returns the change of the own window's busy time, microseconds.
   */
  public long add(long fromUs, long toUs, long startMs, long sizeMs, long lookbackMs) {
    if (toUs <= fromUs) {
      return 0;
    }
    long sizeUs = sizeMs * 1000;
    long ownStartUs = startMs * 1000;
    long endUs = Math.min(toUs, ownStartUs + sizeUs);
    long oldest = Math.max(fromUs, (startMs - lookbackMs) * 1000);
    long first = Math.floorDiv(oldest, sizeUs) * sizeUs;
    long ownBefore = 0;
    Part own = parts.get(startMs);
    if (own != null) {
      ownBefore = own.busyUs(sizeUs);
    }
    for (long w = first; w <= ownStartUs && w < endUs; w += sizeUs) {
      long a = Math.max(fromUs, w);
      long b = Math.min(endUs, w + sizeUs);
      if (b <= a || w + sizeUs <= (startMs - lookbackMs) * 1000) {
        continue;
      }
      Part p = part(w / 1000, sizeMs);
      p.requestUs += b - a;
      set(p.bits, (a - w) / SLOT_US, ceilDiv(b - w, SLOT_US));
    }
    own = parts.get(startMs);
    return own == null ? 0 : own.busyUs(sizeUs) - ownBefore;
  }

  /**
   * Adds every part of {@code later} (parts of windows of a size that divides {@code sizeMs}) into
   * this occupancy of windows of {@code sizeMs} (a multiple of it): each part goes into the window
   * containing it, at its offset; parts of windows ending {@code lookbackMs} or more before {@code
   * startMs} are dropped.
   */
  public void append(Occupancy later, long startMs, long sizeMs, long lookbackMs) {
    for (Map.Entry<Long, Part> e : later.parts.entrySet()) {
      long s = e.getKey();
      long target = Math.floorDiv(s, sizeMs) * sizeMs;
      if (target + sizeMs <= startMs - lookbackMs) {
        continue;
      }
      Part t = part(target, sizeMs);
      t.requestUs += e.getValue().requestUs;
      orShifted(t.bits, e.getValue().bits, (s - target) * 1000 / SLOT_US);
    }
  }

  /** Adds {@code other} (windows of the same size) into this: bits OR-ed, request time added. */
  public void merge(Occupancy other, long sizeMs) {
    for (Map.Entry<Long, Part> e : other.parts.entrySet()) {
      Part t = part(e.getKey(), sizeMs);
      or(t.bits, e.getValue().bits);
      t.requestUs += e.getValue().requestUs;
    }
  }

  /** Busy time of the window starting at {@code startMs}, microseconds (0 without a part). */
  public long busyUs(long startMs, long sizeMs) {
    Part p = parts.get(startMs);
    return p == null ? 0 : p.busyUs(sizeMs * 1000);
  }

  /** A deep copy. */
  public Occupancy copy() {
    Occupancy o = new Occupancy();
    parts.forEach((k, v) -> o.parts.put(k, v.copy()));
    return o;
  }

  /**
   * The occupancy of state written before the bitmap existed: {@code busyUs} of summed request time
   * as one busy run from the window start (capped at the window), the same busy fraction as the
   * min(1, summed busy / window) it stood for.
   */
  public static Occupancy fromSummedBusy(long busyUs, long startMs, long sizeMs) {
    Occupancy o = new Occupancy();
    if (busyUs > 0) {
      Part p = o.part(startMs, sizeMs);
      p.requestUs = busyUs;
      set(p.bits, 0, ceilDiv(Math.min(busyUs, sizeMs * 1000), SLOT_US));
    }
    return o;
  }

  /** Writes the parts: count, then per part start ms, request time, word count and the words. */
  public void write(DataOutput out) throws IOException {
    out.writeInt(parts.size());
    for (Map.Entry<Long, Part> e : parts.entrySet()) {
      out.writeLong(e.getKey());
      out.writeLong(e.getValue().requestUs);
      long[] bits = e.getValue().bits;
      out.writeInt(bits.length);
      for (long w : bits) {
        out.writeLong(w);
      }
    }
  }

  /** Reads what {@link #write} wrote, for windows of {@code sizeMs}. */
  public static Occupancy read(DataInput in, long sizeMs) throws IOException {
    Occupancy o = new Occupancy();
    int n = in.readInt();
    int words = words(sizeMs);
    for (int i = 0; i < n; i++) {
      long start = in.readLong();
      long requestUs = in.readLong();
      int len = in.readInt();
      if (len != words) {
        throw new IOException(
            "occupancy of " + len + " words, expected " + words + " for " + sizeMs + " ms");
      }
      long[] bits = new long[len];
      for (int j = 0; j < len; j++) {
        bits[j] = in.readLong();
      }
      o.parts.put(start, new Part(bits, requestUs));
    }
    return o;
  }
}
