package io.infermeter.collector.sampling;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import java.util.ArrayList;

/**
 * Factory of blank samples carrying the collector's identity; every measurement field starts null
 * (absent).
 */
public record HardwareSamples(String cluster, String region, String host) {

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
}
