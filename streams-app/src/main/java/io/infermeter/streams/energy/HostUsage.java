package io.infermeter.streams.energy;

import io.infermeter.streams.state.Codec;
import io.infermeter.streams.windows.AggKey;
import io.infermeter.streams.windows.RequestAccumulator;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The request side of one host window for one (model, version): busy time, requests and output
 * tokens per device ("" for requests without a device id), plus queue and e2e sums for the
 * bottleneck classifier. Sent from the request task to the host's energy task. Immutable after
 * construction.
 */
public record HostUsage(
    String cluster,
    String region,
    String host,
    String model,
    String modelVersion,
    long windowStartMs,
    long windowSizeMs,
    long requests,
    long queueSumUs,
    long e2eSumUs,
    Map<String, long[]> devices) {

  public static HostUsage of(RequestAccumulator a) {
    Map<String, long[]> d = new HashMap<>();
    a.devices.forEach((k, v) -> d.put(k, v.clone()));
    AggKey k = a.key;
    return new HostUsage(
        k.cluster(),
        k.region(),
        k.host(),
        k.model(),
        k.modelVersion(),
        a.windowStartMs,
        a.windowSizeMs,
        a.requests,
        a.queueSumUs,
        a.e2eSumUs,
        d);
  }

  /** Writes the varint-string format (energy input tag 3). */
  void write(DataOutput out) throws IOException {
    Codec.writeString(out, cluster);
    Codec.writeString(out, region);
    Codec.writeString(out, host);
    Codec.writeString(out, model);
    Codec.writeString(out, modelVersion);
    out.writeLong(windowStartMs);
    out.writeLong(windowSizeMs);
    out.writeLong(requests);
    out.writeLong(queueSumUs);
    out.writeLong(e2eSumUs);
    out.writeInt(devices.size());
    for (Map.Entry<String, long[]> e : devices.entrySet()) {
      Codec.writeString(out, e.getKey());
      for (long v : e.getValue()) {
        out.writeLong(v);
      }
    }
  }

  /**
   * Reads the varint-string format ({@code varint}) or the writeUTF one before it (energy input tag
   * 2).
   */
  static HostUsage read(DataInput in, boolean varint) throws IOException {
    Codec.Reader<String> str = varint ? Codec::readString : DataInput::readUTF;
    String cluster = str.read(in);
    String region = str.read(in);
    String host = str.read(in);
    String model = str.read(in);
    String version = str.read(in);
    long start = in.readLong();
    long size = in.readLong();
    long requests = in.readLong();
    long queue = in.readLong();
    long e2e = in.readLong();
    int n = in.readInt();
    Map<String, long[]> d = new HashMap<>();
    for (int i = 0; i < n; i++) {
      d.put(str.read(in), new long[] {in.readLong(), in.readLong(), in.readLong()});
    }
    return new HostUsage(
        cluster, region, host, model, version, start, size, requests, queue, e2e, d);
  }
}
