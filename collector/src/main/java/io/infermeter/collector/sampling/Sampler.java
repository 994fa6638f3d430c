package io.infermeter.collector.sampling;

import io.infermeter.avro.HardwareSample;
import java.util.List;

/**
 * One hardware source polled by the {@link SamplerLoop}. Implementations are called from one thread
 * only.
 */
public interface Sampler extends AutoCloseable {

  /** Label of the sampler in metrics and logs (nvml, oshi, rapl, estimated). */
  String name();

  /** Samples every device of this source at {@code timestampUs} (epoch microseconds). */
  List<HardwareSample> sample(long timestampUs) throws Exception;

  @Override
  default void close() {}
}
