package io.infermeter.streams.energy;

import io.infermeter.streams.engine.EngineAcc;
import io.infermeter.streams.state.Codec;
import io.infermeter.streams.windows.AggKey;
import io.infermeter.streams.windows.Occupancy;
import io.infermeter.streams.windows.WindowTable;
import java.util.Map;
import java.util.TreeMap;

/**
 * One host's hardware, request-usage and engine state in one window: per-device accumulators,
 * per-(model, version) device busy times and per-engine-instance accumulators. Mutable, not
 * thread-safe (one task).
 */
public final class HostWindow implements WindowTable.Windowed {

  public String cluster = "";
  public String region = "";
  public final String host;
  final long startMs;
  final long sizeMs;
  public final Map<String, DeviceAcc> devices = new TreeMap<>();

  /**
   * The device id samples of devices past the per-window cap are counted under (kind OTHER, no
   * price).
   */
  static final String OTHER_DEVICE = AggKey.OTHER;

  /**
   * "model\u0000version" -> deviceId ("" = none) -> {requestUs, requests, outputTokens}: requestUs
   * is the model's in-flight request time clipped to this window (also of requests that completed
   * in a later window); requests and tokens count the requests that completed in this window.
   */
  public final Map<String, Map<String, long[]>> usage = new TreeMap<>();

  /**
   * deviceId ("" = none, or a pod key) -> the {@link Occupancy} bitmap of this window: the slots in
   * which at least one request of any model was in flight.
   */
  public final Map<String, long[]> occupancy = new TreeMap<>();

  /** Engine instance -> its samples in the window (at most the device cap of instances). */
  public final Map<String, EngineAcc> engines = new TreeMap<>();

  public long requests;
  public long queueSumUs;
  public long e2eSumUs;

  public HostWindow(String host, long startMs, long sizeMs) {
    this.host = host;
    this.startMs = startMs;
    this.sizeMs = sizeMs;
  }

  @Override
  public long windowStartMs() {
    return startMs;
  }

  @Override
  public AggKey key() {
    return EnergyProcessor.hostKey(host);
  }

  @Override
  public long windowSizeMs() {
    return sizeMs;
  }

  /**
   * The accumulator of {@code deviceId}, created on first use; past {@code cap} distinct devices a
   * new id gets the {@value #OTHER_DEVICE} accumulator (energy and samples conserved, kind OTHER)
   * and {@code folded} is set.
   */
  DeviceAcc device(String deviceId, int cap, boolean[] folded) {
    DeviceAcc d = devices.get(deviceId);
    if (d != null) {
      return d;
    }
    if (devices.size() >= cap + (devices.containsKey(OTHER_DEVICE) ? 1 : 0)) {
      folded[0] = true;
      deviceId = OTHER_DEVICE;
      d = devices.get(deviceId);
      if (d != null) {
        return d;
      }
    }
    d = new DeviceAcc();
    devices.put(deviceId, d);
    return d;
  }

  /**
   * The accumulator of engine {@code instance}, created on first use; null past {@code cap}
   * instances.
   */
  EngineAcc engine(String instance, int cap) {
    EngineAcc a = engines.get(instance);
    if (a == null && engines.size() < cap) {
      a = new EngineAcc();
      engines.put(instance, a);
    }
    return a;
  }

  void addUsage(HostUsage u) {
    cluster = u.cluster();
    region = u.region();
    requests += u.requests();
    queueSumUs += u.queueSumUs();
    e2eSumUs += u.e2eSumUs();
    Map<String, long[]> m =
        usage.computeIfAbsent(u.model() + '\u0000' + u.modelVersion(), k -> new TreeMap<>());
    u.devices()
        .forEach(
            (d, v) -> {
              long[] t = m.computeIfAbsent(d, k -> new long[3]);
              t[0] += v[0];
              t[1] += v[1];
              t[2] += v[2];
            });
    u.occupancy()
        .forEach(
            (d, o) -> {
              Occupancy.Part p = o.parts.get(startMs);
              if (p != null) {
                Occupancy.or(bits(d), p.bits);
              }
            });
  }

  /**
   * Adds the in-flight time {@code part} of requests of {@code modelKey} on device key {@code
   * device} that completed in a later window: their request time and busy slots, no requests or
   * tokens.
   */
  void addInFlight(String modelKey, String device, Occupancy.Part part) {
    usage.computeIfAbsent(modelKey, k -> new TreeMap<>())
            .computeIfAbsent(device, k -> new long[3])[0] +=
        part.requestUs;
    Occupancy.or(bits(device), part.bits);
  }

  /** The busy bitmap of {@code device}, created empty on first use. */
  long[] bits(String device) {
    return occupancy.computeIfAbsent(device, k -> Occupancy.Part.empty(sizeMs).bits);
  }

  /** Accumulated samples of one device in the window. Units: mJ, J, us, percent, bytes. */
  public static final class DeviceAcc {
    public String kind = "OTHER";
    public String gpuType = "";
    public String source = "";

    /**
     * Kubernetes pod holding the device (dcgm-exporter's pod label) as of the latest sample; ""
     * when none.
     */
    public String pod = "";

    public int samples;
    public long counterDeltaMj;
    public int counterDeltas;
    int resets;
    double powerIntegralJ;
    int powerIntervals;
    double utilSum;
    int utilN;
    double memUtilSum;
    int memUtilN;
    long memUsedMax = -1;
    long memUsedLast = -1;
    long memUsedLastTs = Long.MIN_VALUE;
    public long memTotal = -1;

    /** Longest run of counted throttle reasons ending in the window (may start before it), us. */
    long throttleRunMaxUs;

    /** Union of the counted throttle-reason bits ({@code alerts.throttle.reasons.mask}) seen. */
    long throttleReasons;

    double pcieSum;
    int pcieN;

    /**
     * Time covered by the sample intervals booked in this window (their energy is the measured
     * energy), us; 0 when unknown (a single sample, or a window written before this was kept): the
     * busy fraction is then taken against the whole window.
     */
    public long coveredUs;

    /**
     * For a MIG instance: the deviceId of the GPU it is carved from, its GPU slices and the
     * parent's (0 when unknown); "" and 0 for other devices.
     */
    public String parent = "";

    public int migSlices;
    public int migSlicesTotal;

    double utilMean() {
      return utilN == 0 ? Double.NaN : utilSum / utilN;
    }

    double memUtilMean() {
      return memUtilN == 0 ? Double.NaN : memUtilSum / memUtilN;
    }

    boolean isGpu() {
      return kind.equals("GPU") || kind.equals("MIG");
    }
  }

  /**
   * Format version after {@link Codec#FORMAT_MARK}: 6 adds each MIG instance's parent and slices; 5
   * adds each device's covered time; 4 adds the per-device occupancy bitmaps; 3 adds each device's
   * pod and the engine instances; 2 has varint strings; a record without the mark is version 1.
   * Before 4 the usage held summed request busy time: it becomes one busy run per device from the
   * window start ({@link Occupancy#fromSummedBusy}).
   */
  static final int VERSION = 6;

  public byte[] toBytes() {
    return Codec.encode(
        out -> {
          Codec.writeHeader(out, VERSION);
          Codec.writeString(out, cluster);
          Codec.writeString(out, region);
          Codec.writeString(out, host);
          out.writeLong(startMs);
          out.writeLong(sizeMs);
          out.writeLong(requests);
          out.writeLong(queueSumUs);
          out.writeLong(e2eSumUs);
          out.writeInt(devices.size());
          for (Map.Entry<String, DeviceAcc> e : devices.entrySet()) {
            DeviceAcc d = e.getValue();
            Codec.writeString(out, e.getKey());
            Codec.writeString(out, d.kind);
            Codec.writeString(out, d.gpuType);
            Codec.writeString(out, d.source);
            out.writeInt(d.samples);
            out.writeLong(d.counterDeltaMj);
            out.writeInt(d.counterDeltas);
            out.writeInt(d.resets);
            out.writeDouble(d.powerIntegralJ);
            out.writeInt(d.powerIntervals);
            out.writeDouble(d.utilSum);
            out.writeInt(d.utilN);
            out.writeDouble(d.memUtilSum);
            out.writeInt(d.memUtilN);
            out.writeLong(d.memUsedMax);
            out.writeLong(d.memUsedLast);
            out.writeLong(d.memUsedLastTs);
            out.writeLong(d.memTotal);
            out.writeLong(d.throttleRunMaxUs);
            out.writeLong(d.throttleReasons);
            out.writeDouble(d.pcieSum);
            out.writeInt(d.pcieN);
            Codec.writeString(out, d.pod);
            out.writeLong(d.coveredUs);
            Codec.writeString(out, d.parent);
            out.writeInt(d.migSlices);
            out.writeInt(d.migSlicesTotal);
          }
          out.writeInt(usage.size());
          for (Map.Entry<String, Map<String, long[]>> e : usage.entrySet()) {
            Codec.writeString(out, e.getKey());
            out.writeInt(e.getValue().size());
            for (Map.Entry<String, long[]> d : e.getValue().entrySet()) {
              Codec.writeString(out, d.getKey());
              out.writeLong(d.getValue()[0]);
              out.writeLong(d.getValue()[1]);
              out.writeLong(d.getValue()[2]);
            }
          }
          EngineAcc.writeAll(out, engines);
          out.writeInt(occupancy.size());
          for (Map.Entry<String, long[]> e : occupancy.entrySet()) {
            Codec.writeString(out, e.getKey());
            out.writeInt(e.getValue().length);
            for (long b : e.getValue()) {
              out.writeLong(b);
            }
          }
        });
  }

  public static HostWindow fromBytes(byte[] bytes) {
    return Codec.decode(
        bytes,
        "host window",
        in -> {
          int version = 1;
          if (Codec.hasHeader(bytes)) {
            in.readUnsignedByte();
            version = in.readUnsignedByte();
            if (version < 2 || version > VERSION) {
              throw new java.io.IOException("unknown host window version " + version);
            }
          }
          int v = version;
          Codec.Reader<String> str = i -> Codec.readString(i, v, 2);
          String cluster = str.read(in);
          String region = str.read(in);
          HostWindow w = new HostWindow(str.read(in), in.readLong(), in.readLong());
          w.cluster = cluster;
          w.region = region;
          w.requests = in.readLong();
          w.queueSumUs = in.readLong();
          w.e2eSumUs = in.readLong();
          int n = in.readInt();
          for (int i = 0; i < n; i++) {
            String id = str.read(in);
            DeviceAcc d = new DeviceAcc();
            d.kind = str.read(in);
            d.gpuType = str.read(in);
            d.source = str.read(in);
            d.samples = in.readInt();
            d.counterDeltaMj = in.readLong();
            d.counterDeltas = in.readInt();
            d.resets = in.readInt();
            d.powerIntegralJ = in.readDouble();
            d.powerIntervals = in.readInt();
            d.utilSum = in.readDouble();
            d.utilN = in.readInt();
            d.memUtilSum = in.readDouble();
            d.memUtilN = in.readInt();
            d.memUsedMax = in.readLong();
            d.memUsedLast = in.readLong();
            d.memUsedLastTs = in.readLong();
            d.memTotal = in.readLong();
            d.throttleRunMaxUs = in.readLong();
            d.throttleReasons = in.readLong();
            d.pcieSum = in.readDouble();
            d.pcieN = in.readInt();
            if (v >= 3) {
              d.pod = str.read(in);
            }
            if (v >= 5) {
              d.coveredUs = in.readLong();
            }
            if (v >= 6) {
              d.parent = str.read(in);
              d.migSlices = in.readInt();
              d.migSlicesTotal = in.readInt();
            }
            w.devices.put(id, d);
          }
          n = in.readInt();
          for (int i = 0; i < n; i++) {
            String k = str.read(in);
            int m = in.readInt();
            Map<String, long[]> map = new TreeMap<>();
            for (int j = 0; j < m; j++) {
              map.put(str.read(in), new long[] {in.readLong(), in.readLong(), in.readLong()});
            }
            w.usage.put(k, map);
          }
          if (v >= 3) {
            EngineAcc.readAll(in, w.engines);
          }
          if (v >= 4) {
            n = in.readInt();
            int words = Occupancy.Part.empty(w.sizeMs).bits.length;
            for (int i = 0; i < n; i++) {
              String id = str.read(in);
              int len = in.readInt();
              if (len != words) {
                throw new java.io.IOException("occupancy of " + len + " words, expected " + words);
              }
              long[] bits = new long[len];
              for (int j = 0; j < len; j++) {
                bits[j] = in.readLong();
              }
              w.occupancy.put(id, bits);
            }
          } else {
            Map<String, Long> summed = new TreeMap<>();
            w.usage.values().forEach(m -> m.forEach((d, u) -> summed.merge(d, u[0], Long::sum)));
            summed.forEach(
                (d, busyUs) -> {
                  Occupancy.Part p =
                      Occupancy.fromSummedBusy(busyUs, w.startMs, w.sizeMs).parts.get(w.startMs);
                  if (p != null) {
                    w.occupancy.put(d, p.bits);
                  }
                });
          }
          return w;
        });
  }
}
