package io.infermeter.collector.sampling.prometheus;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import io.infermeter.collector.sampling.HardwareSamples;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Maps the series of one dcgm-exporter scrape to one {@link HardwareSample} per GPU (or MIG
 * instance), keyed by the {@code UUID} label. Metric names and units are those of dcgm-exporter's
 * {@code etc/default-counters.csv} and {@code etc/dcp-metrics-included.csv}; the table is in
 * docs/COLLECTOR.md "Prometheus scrape: dcgm-exporter".
 *
 * <p>The sample's host, cluster and region are the collector's configured identity (the node), so
 * the samples join the node's request events; dcgm-exporter's {@code Hostname} label is kept in
 * {@link GpuState} only. A metric that is absent, not finite, or one of DCGM's "blank" sentinels
 * (values from 2<sup>47</sup> up: {@code DCGM_FP64_BLANK} and the {@code DCGM_INT64_*} codes such
 * as 9223372036854775794 = not supported) leaves its field null, never zero. A series without a
 * {@code UUID} label is skipped. When one GPU appears in several series of a metric (dcgm-exporter
 * writes one per pod when a GPU is shared), the first value is used and every (namespace, pod,
 * container) is kept; the sample's {@code pod} is the first pod listed.
 *
 * <p>{@code DCGM_FI_DEV_XID_ERRORS} is the code of the <em>last</em> XID, not a count: the schema's
 * count of XIDs since the collector started is derived by counting changes of that code to a
 * non-zero value between scrapes (a repeat of the same code is not visible, so the count is a lower
 * bound). Not thread-safe: one scrape thread.
 */
public final class DcgmMapping {

  /** DCGM_FP64_BLANK (2^47); every DCGM blank/not-supported sentinel is at or above it. */
  static final double DCGM_BLANK = 140_737_488_355_328.0;

  private static final double MIB = 1024.0 * 1024.0;

  /** A Kubernetes workload dcgm-exporter attributes a GPU to. Empty strings become null. */
  public record PodRef(String namespace, String pod, String container) {}

  /**
   * The mapped sample of one GPU plus what the schema has no field for yet: dcgm's labels (pods,
   * Hostname) and the profiling ratios (0-1, null when absent).
   */
  public record GpuState(
      HardwareSample sample,
      String gpuIndex,
      String dcgmHostname,
      Set<PodRef> pods,
      Double smActive,
      Double dramActive,
      Double tensorActive) {}

  private final HardwareSamples factory;
  private final String gpuTypeOverride;

  /** Per device id: the last XID code seen and the count of changes to a non-zero code. */
  private final Map<String, long[]> xid = new HashMap<>();

  public DcgmMapping(HardwareSamples factory, String gpuTypeOverride) {
    this.factory = factory;
    this.gpuTypeOverride = gpuTypeOverride;
  }

  private static final class Acc {
    final String deviceId;
    final DeviceKind kind;
    final Map<String, Double> values = new HashMap<>();
    final Map<String, String> firstLabels;
    final Set<PodRef> pods = new LinkedHashSet<>();

    Acc(String deviceId, DeviceKind kind, Map<String, String> labels) {
      this.deviceId = deviceId;
      this.kind = kind;
      this.firstLabels = labels;
    }
  }

  /**
   * Maps one scrape's samples, stamped {@code timestampUs}; in order of first appearance of each
   * device.
   */
  public List<GpuState> map(List<PrometheusText.Sample> samples, long timestampUs) {
    Map<String, Acc> byDevice = new LinkedHashMap<>();
    for (PrometheusText.Sample s : samples) {
      if (!s.name().startsWith("DCGM_FI_")) {
        continue;
      }
      String uuid = blankToNull(s.labels().get("UUID"));
      if (uuid == null) {
        continue;
      }
      String gi = blankToNull(s.labels().get("GPU_I_ID"));
      String deviceId = gi == null ? uuid : uuid + "/gi-" + gi;
      Acc acc =
          byDevice.computeIfAbsent(
              deviceId, k -> new Acc(k, gi == null ? DeviceKind.GPU : DeviceKind.MIG, s.labels()));
      acc.values.putIfAbsent(s.name(), s.value());
      PodRef pod =
          new PodRef(
              blankToNull(s.labels().get("namespace")),
              blankToNull(s.labels().get("pod")),
              blankToNull(s.labels().get("container")));
      if (pod.pod() != null) {
        acc.pods.add(pod);
      }
    }
    List<GpuState> out = new ArrayList<>(byDevice.size());
    for (Acc acc : byDevice.values()) {
      out.add(toState(acc, timestampUs));
    }
    return out;
  }

  private GpuState toState(Acc a, long ts) {
    HardwareSample s = factory.newSample(a.deviceId, a.kind, "dcgm", ts);
    if (!a.pods.isEmpty()) {
      s.setPod(
          a.pods
              .iterator()
              .next()
              .pod()); // the name a request event's pod attribute carries (k8s.pod.name)
    }
    String model = blankToNull(a.firstLabels.get("modelName"));
    s.setGpuType(gpuTypeOverride != null ? gpuTypeOverride : model);
    if (a.kind == DeviceKind.MIG) {
      // a MIG instance's series carry its parent GPU's UUID and the instance's profile
      s.setParentDeviceId(blankToNull(a.firstLabels.get("UUID")));
      s.setMigSlices(HardwareSamples.migSlices(a.firstLabels.get("GPU_I_PROFILE")));
      s.setMigSlicesTotal(HardwareSamples.migSlicesTotal(model));
    }
    Double v;
    if ((v = get(a, "DCGM_FI_DEV_POWER_USAGE")) != null && v >= 0) {
      s.setPowerW(v);
    }
    if ((v = get(a, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")) != null && v >= 0) {
      s.setEnergyMj(Math.round(v)); // dcgm: mJ since driver load; schema: mJ
    }
    Double used = get(a, "DCGM_FI_DEV_FB_USED");
    Double free = get(a, "DCGM_FI_DEV_FB_FREE");
    Double reserved = get(a, "DCGM_FI_DEV_FB_RESERVED");
    if (used != null && used >= 0) {
      s.setMemoryUsedBytes(Math.round(used * MIB));
      if (free != null && free >= 0) {
        double total = used + free + (reserved != null && reserved >= 0 ? reserved : 0);
        s.setMemoryTotalBytes(Math.round(total * MIB));
      }
    }
    if ((v = percent(get(a, "DCGM_FI_DEV_GPU_UTIL"))) != null) {
      s.setUtilizationPct(v);
    }
    if ((v = percent(get(a, "DCGM_FI_DEV_MEM_COPY_UTIL"))) != null) {
      s.setMemoryUtilizationPct(v);
    }
    if ((v = get(a, "DCGM_FI_DEV_GPU_TEMP")) != null) {
      s.setTemperatureC(v);
    }
    if ((v = get(a, "DCGM_FI_DEV_SM_CLOCK")) != null && v >= 0) {
      s.setSmClockMhz((int) Math.round(v));
    }
    if ((v = get(a, "DCGM_FI_DEV_MEM_CLOCK")) != null && v >= 0) {
      s.setMemClockMhz((int) Math.round(v));
    }
    Double reasons = get(a, "DCGM_FI_DEV_CLOCKS_EVENT_REASONS");
    if (reasons == null) {
      reasons = get(a, "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS"); // the name before DCGM 3.3
    }
    if (reasons != null && reasons >= 0) {
      s.setThrottleReasons((long) (double) reasons);
    }
    if ((v = get(a, "DCGM_FI_PROF_PCIE_TX_BYTES")) != null && v >= 0) {
      s.setPcieTxBytesPerSec(Math.round(v)); // dcp-metrics-included.csv: a rate, bytes per second
    }
    if ((v = get(a, "DCGM_FI_PROF_PCIE_RX_BYTES")) != null && v >= 0) {
      s.setPcieRxBytesPerSec(Math.round(v));
    }
    if ((v = get(a, "DCGM_FI_DEV_XID_ERRORS")) != null && v >= 0) {
      s.setXidErrors(xidCount(a.deviceId, (long) (double) v));
    }
    return new GpuState(
        s,
        blankToNull(a.firstLabels.get("gpu")),
        blankToNull(a.firstLabels.get("Hostname")),
        java.util.Collections.unmodifiableSet(new LinkedHashSet<>(a.pods)),
        ratio(get(a, "DCGM_FI_PROF_SM_ACTIVE")),
        ratio(get(a, "DCGM_FI_PROF_DRAM_ACTIVE")),
        ratio(get(a, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE")));
  }

  private long xidCount(String deviceId, long code) {
    long[] st = xid.get(deviceId);
    if (st == null) {
      xid.put(
          deviceId,
          new long[] {code, 0}); // an XID from before the collector started does not count
      return 0;
    }
    if (code != st[0] && code != 0) {
      st[1]++;
    }
    st[0] = code;
    return st[1];
  }

  /**
   * The value of a metric for the device; null when absent, not finite or a DCGM blank sentinel.
   */
  private static Double get(Acc a, String metric) {
    Double v = a.values.get(metric);
    if (v == null || !Double.isFinite(v) || Math.abs(v) >= DCGM_BLANK) {
      return null;
    }
    return v;
  }

  private static Double percent(Double v) {
    return v != null && v >= 0 && v <= 100 ? v : null;
  }

  private static Double ratio(Double v) {
    return v != null && v >= 0 && v <= 1 ? v : null;
  }

  private static String blankToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
