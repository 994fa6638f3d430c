package io.infermeter.streams.windows;

import io.infermeter.avro.RequestEvent;
import io.infermeter.streams.state.Codec;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * The dimensions of a window aggregate. Host scope: (cluster, region, host, model, version, gpu
 * type); fleet scope: one rollup per (model, version) with cluster/region/host/gpuType "*". A key
 * folded by the key cap has host and model {@value #OTHER}. Immutable.
 */
public record AggKey(
    String scope,
    String cluster,
    String region,
    String host,
    String model,
    String modelVersion,
    String gpuType) {

  public static final String HOST_SCOPE = "host";
  public static final String FLEET_SCOPE = "fleet";
  public static final String ALL = "*";
  public static final String OTHER = "other";

  static AggKey hostKey(RequestEvent e) {
    return new AggKey(
        HOST_SCOPE,
        e.getCluster(),
        e.getRegion(),
        e.getHost(),
        e.getModel(),
        e.getModelVersion() == null ? "" : e.getModelVersion(),
        e.getGpuType() == null ? "" : e.getGpuType());
  }

  /**
   * The bucket a key is folded into when the cap is reached (cluster and region are kept: they are
   * few).
   */
  AggKey folded() {
    return new AggKey(scope, cluster, region, OTHER, OTHER, "", "");
  }

  AggKey fleet() {
    return new AggKey(FLEET_SCOPE, ALL, ALL, ALL, model, modelVersion, ALL);
  }

  /** Stable text form, used as record key prefix: scope|cluster|region|host|model|version|gpu. */
  public String asString() {
    return scope
        + '|'
        + cluster
        + '|'
        + region
        + '|'
        + host
        + '|'
        + model
        + '|'
        + modelVersion
        + '|'
        + gpuType;
  }

  /** Writes the seven strings with varint lengths ({@link Codec#writeString}). */
  void write(DataOutput out) throws IOException {
    Codec.writeString(out, scope);
    Codec.writeString(out, cluster);
    Codec.writeString(out, region);
    Codec.writeString(out, host);
    Codec.writeString(out, model);
    Codec.writeString(out, modelVersion);
    Codec.writeString(out, gpuType);
  }

  /** Reads a key written by {@link #write} ({@code varint}) or by the writeUTF format before it. */
  static AggKey read(DataInput in, boolean varint) throws IOException {
    String[] f = new String[7];
    for (int i = 0; i < f.length; i++) {
      f[i] = varint ? Codec.readString(in) : in.readUTF();
    }
    return new AggKey(f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
  }
}
