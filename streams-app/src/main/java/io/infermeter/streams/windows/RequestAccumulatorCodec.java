package io.infermeter.streams.windows;

import io.infermeter.streams.latency.JitterTracker;
import io.infermeter.streams.latency.LatencyAccumulator;
import io.infermeter.streams.latency.SloCounts;
import io.infermeter.streams.state.Codec;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * The persisted layout of a {@link RequestAccumulator} (state stores, their changelogs and the
 * fleet repartition topic), version {@link RequestAccumulator#VERSION}; every earlier version is
 * still read. In order: the version byte; the key; window start and size; the counters (requests,
 * ok, errors, timeouts, cancelled, cold starts, input and output tokens, busy time, queue and e2e
 * sums, queue/e2e pairs, then the batch counts) and the largest maximum batch size; the error
 * types; a presence bit per metric and cohort (at {@code LatencyMetric.index() x 2 + cohort}) and
 * each present latency accumulator; per jitter metric its first, last, pairs and absolute
 * difference sum; the SLO classes; the batch sizes; the devices; the occupancy per device (version
 * 4 on); each present latency accumulator's exemplars (version 7 on). Strings are varint-length
 * UTF-8 from version 3. {@code StateCodecGoldenTest} pins the bytes. Stateless.
 */
final class RequestAccumulatorCodec {

  private RequestAccumulatorCodec() {}

  static void write(RequestAccumulator a, DataOutput out, boolean compressed) throws IOException {
    out.writeByte(RequestAccumulator.VERSION);
    a.key.write(out);
    out.writeLong(a.windowStartMs);
    out.writeLong(a.windowSizeMs);
    long[] counters = {
      a.requests,
      a.ok,
      a.errors,
      a.timeouts,
      a.cancelled,
      a.coldStarts,
      a.inputTokens,
      a.outputTokens,
      a.busyUs,
      a.queueSumUs,
      a.e2eSumUs,
      a.pairsQueueE2e,
      a.batches.requests,
      a.batches.sizeSum,
      a.batches.sizeOne,
      a.batches.outputTokens
    };
    for (long c : counters) {
      out.writeLong(c);
    }
    out.writeInt(a.batches.maxSize);
    out.writeInt(a.errorsByType.size());
    for (Map.Entry<String, Long> e : a.errorsByType.entrySet()) {
      Codec.writeString(out, e.getKey());
      out.writeLong(e.getValue());
    }
    int present = 0;
    for (int m = 0; m < a.latencies.length; m++) {
      for (int c = 0; c < RequestAccumulator.COHORTS; c++) {
        if (a.latencies[m][c] != null) {
          present |= 1 << (m * RequestAccumulator.COHORTS + c);
        }
      }
    }
    out.writeInt(present);
    for (int m = 0; m < a.latencies.length; m++) {
      for (int c = 0; c < RequestAccumulator.COHORTS; c++) {
        if (a.latencies[m][c] != null) {
          a.latencies[m][c].write(out, compressed);
        }
      }
    }
    for (int j = 0; j < JitterTracker.METRICS; j++) {
      out.writeLong(a.jitter.first[j]);
      out.writeLong(a.jitter.last[j]);
      out.writeLong(a.jitter.pairs[j]);
      out.writeDouble(a.jitter.absDiffSum[j]);
    }
    Map<String, SloCounts.Counts> slo = a.slo.byClass();
    out.writeInt(slo.size());
    for (Map.Entry<String, SloCounts.Counts> e : slo.entrySet()) {
      Codec.writeString(out, e.getKey());
      out.writeLong(e.getValue().requests);
      out.writeLong(e.getValue().good);
    }
    Map<Integer, Long> batchSizes = a.batches.sizes();
    out.writeInt(batchSizes.size());
    for (Map.Entry<Integer, Long> e : batchSizes.entrySet()) {
      out.writeInt(e.getKey());
      out.writeLong(e.getValue());
    }
    Map<String, DeviceUsage.Device> devices = a.usage.devices();
    out.writeInt(devices.size());
    for (Map.Entry<String, DeviceUsage.Device> e : devices.entrySet()) {
      Codec.writeString(out, e.getKey());
      out.writeLong(e.getValue().requestUs);
      out.writeLong(e.getValue().requests);
      out.writeLong(e.getValue().outputTokens);
    }
    // sorted, so that equal accumulators encode to equal bytes
    Map<String, Occupancy> occ = new TreeMap<>(a.usage.occupancy());
    out.writeInt(occ.size());
    for (Map.Entry<String, Occupancy> e : occ.entrySet()) {
      Codec.writeString(out, e.getKey());
      e.getValue().write(out);
    }
    for (int m = 0; m < a.latencies.length; m++) {
      for (int c = 0; c < RequestAccumulator.COHORTS; c++) {
        if (a.latencies[m][c] != null) {
          a.latencies[m][c].exemplars.write(out);
        }
      }
    }
  }

  static RequestAccumulator read(DataInput in, boolean compressed) throws IOException {
    int version = in.readByte();
    if (version < 1 || version > RequestAccumulator.VERSION) {
      throw new IOException("unknown accumulator version " + version);
    }
    RequestAccumulator a =
        new RequestAccumulator(
            AggKey.read(in, version >= RequestAccumulator.VARINT_STRINGS_SINCE),
            in.readLong(),
            in.readLong());
    a.requests = in.readLong();
    a.ok = in.readLong();
    a.errors = in.readLong();
    a.timeouts = in.readLong();
    a.cancelled = in.readLong();
    a.coldStarts = in.readLong();
    a.inputTokens = in.readLong();
    a.outputTokens = in.readLong();
    a.busyUs = in.readLong();
    a.queueSumUs = in.readLong();
    a.e2eSumUs = in.readLong();
    a.pairsQueueE2e = in.readLong();
    a.batches.requests = in.readLong();
    a.batches.sizeSum = in.readLong();
    a.batches.sizeOne = in.readLong();
    a.batches.outputTokens = in.readLong();
    a.batches.maxSize = in.readInt();
    int n = in.readInt();
    for (int i = 0; i < n; i++) {
      a.errorsByType.put(
          Codec.readString(in, version, RequestAccumulator.VARINT_STRINGS_SINCE), in.readLong());
    }
    int present = in.readInt();
    for (int m = 0; m < a.latencies.length; m++) {
      for (int c = 0; c < RequestAccumulator.COHORTS; c++) {
        if ((present & (1 << (m * RequestAccumulator.COHORTS + c))) != 0) {
          a.latencies[m][c] = LatencyAccumulator.read(in, compressed, version);
        }
      }
    }
    for (int j = 0; j < JitterTracker.METRICS; j++) {
      if (version >= 2) {
        a.jitter.first[j] = in.readLong();
      }
      a.jitter.last[j] = in.readLong();
      a.jitter.pairs[j] = in.readLong();
      a.jitter.absDiffSum[j] = in.readDouble();
    }
    n = in.readInt();
    for (int i = 0; i < n; i++) {
      a.slo.put(
          Codec.readString(in, version, RequestAccumulator.VARINT_STRINGS_SINCE),
          in.readLong(),
          in.readLong());
    }
    n = in.readInt();
    for (int i = 0; i < n; i++) {
      a.batches.addSize(in.readInt(), in.readLong());
    }
    n = in.readInt();
    for (int i = 0; i < n; i++) {
      a.usage.put(
          Codec.readString(in, version, RequestAccumulator.VARINT_STRINGS_SINCE),
          in.readLong(),
          in.readLong(),
          in.readLong());
    }
    if (version >= RequestAccumulator.OCCUPANCY_SINCE) {
      n = in.readInt();
      for (int i = 0; i < n; i++) {
        a.usage.putOccupancy(
            Codec.readString(in, version, RequestAccumulator.VARINT_STRINGS_SINCE),
            Occupancy.read(in, a.windowSizeMs));
      }
    } else if (!a.usage.devices().isEmpty()) {
      a.usage.occupancyFromSummedBusy(a.windowStartMs, a.windowSizeMs);
      a.busyUs = a.occupancyBusyUs();
    }
    if (version >= RequestAccumulator.EXEMPLARS_SINCE) {
      for (int m = 0; m < a.latencies.length; m++) {
        for (int c = 0; c < RequestAccumulator.COHORTS; c++) {
          if (a.latencies[m][c] != null) {
            a.latencies[m][c].exemplars.read(in);
          }
        }
      }
    }
    return a;
  }
}
