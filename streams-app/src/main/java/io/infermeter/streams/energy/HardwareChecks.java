package io.infermeter.streams.energy;

import io.infermeter.avro.HardwareSample;
import io.infermeter.streams.support.ValidatingProcessor;

/**
 * What a hardware sample must satisfy: a host, a device and a positive timestamp, no negative
 * energy counter, and bounded dimensions. A valid sample is keyed by host for the energy
 * repartition, as an {@link EnergyInput}. Stateless.
 */
public final class HardwareChecks implements ValidatingProcessor.Checks<HardwareSample> {

  @Override
  public String noun() {
    return "hardware";
  }

  @Override
  public String invalid(HardwareSample s) {
    if (s.getHost() == null || s.getHost().isEmpty()) {
      return "host is empty";
    }
    if (s.getDeviceId() == null || s.getDeviceId().isEmpty()) {
      return "deviceId is empty";
    }
    if (s.getTimestampUs() <= 0) {
      return "timestampUs must be positive, got " + s.getTimestampUs();
    }
    if (s.getEnergyMj() != null && s.getEnergyMj() < 0) {
      return "energyMj is negative";
    }
    return null;
  }

  @Override
  public String[] dimensions(HardwareSample s) {
    return new String[] {
      "host", s.getHost(),
      "deviceId", s.getDeviceId(),
      "cluster", s.getCluster(),
      "region", s.getRegion(),
      "gpuType", s.getGpuType(),
      "source", s.getSource(),
      "parentDeviceId", s.getParentDeviceId()
    };
  }

  @Override
  public String key(HardwareSample s) {
    return s.getHost();
  }

  @Override
  public Object value(HardwareSample s) {
    return new EnergyInput(s, null);
  }
}
