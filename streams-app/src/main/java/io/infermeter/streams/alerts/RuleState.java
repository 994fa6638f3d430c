package io.infermeter.streams.alerts;

import io.infermeter.streams.state.Codec;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Per (rule, key) alert state: whether it is firing, since when, the breach streak, the number of
 * consecutive clear windows while firing, an EWMA baseline, a bounded history of recent values, a
 * ring of per-bucket counts (rolling request counts of the SLO burn rule) and an opaque pool
 * (latency values pooled across low-traffic windows). Kept in a named key-value store between
 * windows. Mutable, not thread-safe.
 */
public final class RuleState {

  public boolean firing;
  public long firstSeenUs;
  public int streak;
  public double baseline = Double.NaN;

  /** Recent (a, b) pairs, oldest first, bounded by the rule's window count. */
  public final Deque<double[]> history = new ArrayDeque<>();

  /**
   * Wall-clock time of the last evaluation, epoch ms (0: unknown, read from a format without it).
   */
  public long lastActiveMs;

  /** Consecutive windows judged clear (below the resolve level) while firing. */
  public int quiet;

  /** Index of the bucket {@link #counts} starts with (its meaning is the rule's); 0 when none. */
  public long epoch;

  /** Rolling non-negative counts kept by the rule (a ring of buckets); empty when none. */
  public long[] counts = new long[0];

  /** Opaque bytes kept by the rule between windows (a pooled histogram); empty when none. */
  public byte[] pool = new byte[0];

  /**
   * Format version after {@link Codec#FORMAT_MARK}: 3 adds quiet, epoch, counts and pool; 2 has the
   * wall-clock time; a record without the mark is the version-1 layout. All are still read.
   */
  static final int VERSION = 3;

  public void push(double a, double b, int max) {
    history.addLast(new double[] {a, b});
    while (history.size() > max) {
      history.removeFirst();
    }
  }

  public byte[] toBytes() {
    return Codec.encode(
        out -> {
          Codec.writeHeader(out, VERSION);
          out.writeLong(lastActiveMs);
          out.writeBoolean(firing);
          out.writeLong(firstSeenUs);
          out.writeInt(streak);
          out.writeDouble(baseline);
          out.writeInt(history.size());
          for (double[] h : history) {
            out.writeDouble(h[0]);
            out.writeDouble(h[1]);
          }
          Codec.writeVarLong(out, quiet);
          out.writeLong(epoch);
          Codec.writeVarLong(out, counts.length);
          for (long c : counts) {
            Codec.writeVarLong(out, c);
          }
          Codec.writeVarLong(out, pool.length);
          out.write(pool);
        });
  }

  public static RuleState fromBytes(byte[] bytes) {
    return Codec.decode(
        bytes,
        "rule state",
        in -> {
          RuleState s = new RuleState();
          int version = 1;
          if (Codec.hasHeader(bytes)) {
            in.readUnsignedByte();
            version = in.readUnsignedByte();
            if (version != VERSION && version != 2) {
              throw new java.io.IOException("unknown rule state version " + version);
            }
            s.lastActiveMs = in.readLong();
          }
          s.firing = in.readBoolean();
          s.firstSeenUs = in.readLong();
          s.streak = in.readInt();
          s.baseline = in.readDouble();
          int n = in.readInt();
          for (int i = 0; i < n; i++) {
            s.history.addLast(new double[] {in.readDouble(), in.readDouble()});
          }
          if (version >= 3) {
            s.quiet = (int) Math.min(Integer.MAX_VALUE, Codec.readVarLong(in));
            s.epoch = in.readLong();
            s.counts = new long[length(Codec.readVarLong(in))];
            for (int i = 0; i < s.counts.length; i++) {
              s.counts[i] = Codec.readVarLong(in);
            }
            s.pool = new byte[length(Codec.readVarLong(in))];
            in.readFully(s.pool);
          }
          return s;
        });
  }

  private static int length(long n) throws java.io.IOException {
    if (n > 1 << 20) {
      throw new java.io.IOException("rule state length " + n + " out of range");
    }
    return (int) n;
  }
}
