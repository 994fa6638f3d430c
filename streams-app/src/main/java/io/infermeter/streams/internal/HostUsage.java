package io.infermeter.streams.internal;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The request side of one host window for one (model, version): busy time, requests and output tokens per device
 * ("" for requests without a device id), plus queue and e2e sums for the bottleneck classifier. Sent from the request
 * task to the host's energy task. Immutable after construction.
 */
public record HostUsage(String cluster, String region, String host, String model, String modelVersion,
    long windowStartMs, long windowSizeMs, long requests, long queueSumUs, long e2eSumUs,
    Map<String, long[]> devices) {

  static HostUsage of(RequestAccumulator a) {
    Map<String, long[]> d = new HashMap<>();
    a.devices.forEach((k, v) -> d.put(k, v.clone()));
    AggKey k = a.key;
    return new HostUsage(k.cluster(), k.region(), k.host(), k.model(), k.modelVersion(), a.windowStartMs,
        a.windowSizeMs, a.requests, a.queueSumUs, a.e2eSumUs, d);
  }

  void write(DataOutput out) throws IOException {
    out.writeUTF(cluster);
    out.writeUTF(region);
    out.writeUTF(host);
    out.writeUTF(model);
    out.writeUTF(modelVersion);
    out.writeLong(windowStartMs);
    out.writeLong(windowSizeMs);
    out.writeLong(requests);
    out.writeLong(queueSumUs);
    out.writeLong(e2eSumUs);
    out.writeInt(devices.size());
    for (Map.Entry<String, long[]> e : devices.entrySet()) {
      out.writeUTF(e.getKey());
      for (long v : e.getValue()) {
        out.writeLong(v);
      }
    }
  }

  static HostUsage read(DataInput in) throws IOException {
    String cluster = in.readUTF();
    String region = in.readUTF();
    String host = in.readUTF();
    String model = in.readUTF();
    String version = in.readUTF();
    long start = in.readLong();
    long size = in.readLong();
    long requests = in.readLong();
    long queue = in.readLong();
    long e2e = in.readLong();
    int n = in.readInt();
    Map<String, long[]> d = new HashMap<>();
    for (int i = 0; i < n; i++) {
      d.put(in.readUTF(), new long[] {in.readLong(), in.readLong(), in.readLong()});
    }
    return new HostUsage(cluster, region, host, model, version, start, size, requests, queue, e2e, d);
  }
}
