package io.infermeter.collector.sampling;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import java.util.ArrayList;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Factory of blank samples carrying the collector's identity; every measurement field starts null
 * (absent).
 */
public record HardwareSamples(String cluster, String region, String host) {

  /** A MIG profile ({@code 1g.10gb}, {@code 3g.40gb+me}) in a device name or a dcgm label. */
  private static final Pattern MIG_PROFILE = Pattern.compile("(?:^|\\s)(\\d{1,2})g\\.\\d+gb");

  public HardwareSample newSample(
      String deviceId, DeviceKind kind, String source, long timestampUs) {
    HardwareSample s = new HardwareSample();
    s.setCluster(cluster);
    s.setRegion(region);
    s.setHost(host);
    s.setDeviceId(deviceId);
    s.setDeviceKind(kind);
    s.setSource(source);
    s.setTimestampUs(timestampUs);
    s.setProcesses(new ArrayList<>(0));
    return s;
  }

  /**
   * The GPU slices of a MIG instance from its profile name (NVML names a MIG device {@code NVIDIA
   * A100-SXM4-40GB MIG 3g.20gb}; dcgm-exporter's {@code GPU_I_PROFILE} label is {@code 3g.20gb}):
   * the N of {@code Ng.XXgb}, or null when none is found.
   */
  public static Integer migSlices(String nameOrProfile) {
    if (nameOrProfile == null) {
      return null;
    }
    Matcher m = MIG_PROFILE.matcher(nameOrProfile);
    return m.find() ? Integer.valueOf(m.group(1)) : null;
  }

  /**
   * The GPU slices of a MIG-capable GPU by its model name, where the driver cannot be asked (a
   * dcgm-exporter scrape): 4 on A30 and RTX PRO 6000 (whose smallest profile is 1 of 4), else 7
   * (A100, H100, H200, B200, GB200: 1 of 7), per NVIDIA's MIG user guide profile tables.
   */
  public static int migSlicesTotal(String gpuModel) {
    String m = gpuModel == null ? "" : gpuModel.toUpperCase(Locale.ROOT);
    return m.contains("A30") || m.contains("RTX PRO 6000") ? 4 : 7;
  }
}
