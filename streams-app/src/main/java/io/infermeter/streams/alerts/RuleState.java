package io.infermeter.streams.alerts;

import io.infermeter.streams.state.Codec;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Per (rule, key) alert state: whether it is firing, since when, the breach streak, an EWMA
 * baseline and a bounded history of recent values. Kept in a named key-value store between windows.
 * Mutable, not thread-safe.
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

  /**
   * Format version after {@link Codec#FORMAT_MARK}; a record without the mark is the version-1
   * layout.
   */
  static final int VERSION = 2;

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
        });
  }

  public static RuleState fromBytes(byte[] bytes) {
    return Codec.decode(
        bytes,
        "rule state",
        in -> {
          RuleState s = new RuleState();
          if (Codec.hasHeader(bytes)) {
            in.readUnsignedByte();
            int version = in.readUnsignedByte();
            if (version != VERSION) {
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
          return s;
        });
  }
}
