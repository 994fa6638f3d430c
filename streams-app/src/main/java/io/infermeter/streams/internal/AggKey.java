package io.infermeter.streams.internal;

import io.infermeter.avro.RequestEvent;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * The dimensions of a window aggregate. Host scope: (cluster, region, host, model, version, gpu type); fleet scope:
 * one rollup per (model, version) with cluster/region/host/gpuType "*". A key folded by the key cap has host and model
 * {@value #OTHER}. Immutable.
 */
public record AggKey(String scope, String cluster, String region, String host, String model, String modelVersion,
    String gpuType) {

  public static final String HOST_SCOPE = "host";
  public static final String FLEET_SCOPE = "fleet";
  public static final String ALL = "*";
  public static final String OTHER = "other";

  static AggKey hostKey(RequestEvent e) {
    return new AggKey(HOST_SCOPE, e.getCluster(), e.getRegion(), e.getHost(), e.getModel(),
        e.getModelVersion() == null ? "" : e.getModelVersion(), e.getGpuType() == null ? "" : e.getGpuType());
  }

  /** The bucket a key is folded into when the cap is reached (cluster and region are kept: they are few). */
  AggKey folded() {
    return new AggKey(scope, cluster, region, OTHER, OTHER, "", "");
  }

  AggKey fleet() {
    return new AggKey(FLEET_SCOPE, ALL, ALL, ALL, model, modelVersion, ALL);
  }

  /** Stable text form, used as record key prefix: scope|cluster|region|host|model|version|gpu. */
  public String asString() {
    return scope + '|' + cluster + '|' + region + '|' + host + '|' + model + '|' + modelVersion + '|' + gpuType;
  }

  void write(DataOutput out) throws IOException {
    out.writeUTF(scope);
    out.writeUTF(cluster);
    out.writeUTF(region);
    out.writeUTF(host);
    out.writeUTF(model);
    out.writeUTF(modelVersion);
    out.writeUTF(gpuType);
  }

  static AggKey read(DataInput in) throws IOException {
    return new AggKey(in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF());
  }
}
