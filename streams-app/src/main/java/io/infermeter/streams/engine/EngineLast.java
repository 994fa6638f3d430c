package io.infermeter.streams.engine;

import io.infermeter.avro.EngineSample;
import io.infermeter.streams.state.Codec;

/**
 * The last sample of one engine instance, kept across windows (store {@code engine-last-sample},
 * key {@code host/instance}): the previous value of the waiting queue and of the preemption counter
 * for the next sample's deltas, and the instance's KV-cache usage and pod for judging windows in
 * which it sent no sample. Units: us, counts, ratio 0-1; -1 (counts) and NaN (ratio) mean not
 * reported. {@code touchedMs} is the wall-clock time it was written (eviction). Immutable. Format:
 * {@link Codec#FORMAT_MARK}, version 1, fields in declaration order.
 */
public record EngineLast(
    long tsUs,
    long waiting,
    long preemptionsTotal,
    double kvCacheUsage,
    String engine,
    String model,
    String pod,
    long touchedMs) {

  static final int VERSION = 1;

  /** The last-sample entry of {@code s}, written at wall-clock {@code nowMs}. */
  public static EngineLast of(EngineSample s, long nowMs) {
    return new EngineLast(
        s.getTimestampUs(),
        orMinus1(s.getRequestsWaiting()),
        orMinus1(s.getPreemptionsTotal()),
        s.getKvCacheUsage() == null ? Double.NaN : s.getKvCacheUsage(),
        s.getEngine(),
        orEmpty(s.getModel()),
        orEmpty(s.getPod()),
        nowMs);
  }

  public byte[] toBytes() {
    return Codec.encode(
        out -> {
          Codec.writeHeader(out, VERSION);
          out.writeLong(tsUs);
          out.writeLong(waiting);
          out.writeLong(preemptionsTotal);
          out.writeDouble(kvCacheUsage);
          Codec.writeString(out, engine);
          Codec.writeString(out, model);
          Codec.writeString(out, pod);
          out.writeLong(touchedMs);
        });
  }

  public static EngineLast read(byte[] b) {
    return Codec.decode(
        b,
        "engine last sample",
        in -> {
          if (!Codec.hasHeader(b) || b[1] != VERSION) {
            throw new java.io.IOException("unknown engine last sample format");
          }
          in.readUnsignedByte();
          in.readUnsignedByte();
          return new EngineLast(
              in.readLong(),
              in.readLong(),
              in.readLong(),
              in.readDouble(),
              Codec.readString(in),
              Codec.readString(in),
              Codec.readString(in),
              in.readLong());
        });
  }

  static long orMinus1(Long v) {
    return v == null ? -1 : v;
  }

  static String orEmpty(String s) {
    return s == null ? "" : s;
  }
}
