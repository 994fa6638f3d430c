package io.infermeter.streams.energy;

import io.infermeter.streams.state.Codec;
import io.infermeter.streams.windows.AggKey;
import io.infermeter.streams.windows.Occupancy;
import io.infermeter.streams.windows.RequestAccumulator;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The request side of one host window for one (model, version): in-flight request time clipped to
 * the window, requests and output tokens per device ("" for requests without a device id), each
 * device's {@link Occupancy} (this window's and the earlier windows' its requests were in flight
 * in), plus queue and e2e sums for the bottleneck classifier. Sent from the request task to the
 * host's energy task. Immutable after construction.
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
    Map<String, long[]> devices,
    Map<String, Occupancy> occupancy) {

  /**
   * A usage without occupancy (the formats before it): each device's request time becomes one busy
   * run from the window start ({@link Occupancy#fromSummedBusy}).
   */
  public HostUsage(
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
    this(
        cluster,
        region,
        host,
        model,
        modelVersion,
        windowStartMs,
        windowSizeMs,
        requests,
        queueSumUs,
        e2eSumUs,
        devices,
        summed(devices, windowStartMs, windowSizeMs));
  }

  private static Map<String, Occupancy> summed(
      Map<String, long[]> devices, long startMs, long sizeMs) {
    Map<String, Occupancy> o = new HashMap<>();
    devices.forEach((k, v) -> o.put(k, Occupancy.fromSummedBusy(v[0], startMs, sizeMs)));
    return o;
  }

  public static HostUsage of(RequestAccumulator a) {
    Map<String, long[]> d = new HashMap<>();
    a.usage.devices().forEach((k, v) -> d.put(k, v.toArray()));
    Map<String, Occupancy> o = new HashMap<>();
    a.usage.occupancy().forEach((k, v) -> o.put(k, v.copy()));
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
        d,
        o);
  }

  /** Writes the format with occupancy (energy input tag 5). */
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
    Map<String, Occupancy> occ = new java.util.TreeMap<>(occupancy);
    out.writeInt(occ.size());
    for (Map.Entry<String, Occupancy> e : occ.entrySet()) {
      Codec.writeString(out, e.getKey());
      e.getValue().write(out);
    }
  }

  /**
   * Reads the format with occupancy ({@code occupancy}: tag 5), the varint-string format before it
   * ({@code varint}: tag 3) or the writeUTF one (tag 2).
   */
  static HostUsage read(DataInput in, boolean varint, boolean occupancy) throws IOException {
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
    if (!occupancy) {
      return new HostUsage(
          cluster, region, host, model, version, start, size, requests, queue, e2e, d);
    }
    Map<String, Occupancy> o = new HashMap<>();
    n = in.readInt();
    for (int i = 0; i < n; i++) {
      o.put(str.read(in), Occupancy.read(in, size));
    }
    return new HostUsage(
        cluster, region, host, model, version, start, size, requests, queue, e2e, d, o);
  }
}
