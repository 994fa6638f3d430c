package io.infermeter.streams.energy;

import io.infermeter.avro.HardwareSample;
import io.infermeter.schemas.Utf8;
import io.infermeter.streams.StreamsLimits;
import io.infermeter.streams.support.DeadLetters;
import io.infermeter.streams.support.StreamsCounters;
import io.infermeter.streams.windows.RequestWindowProcessor;
import java.time.Clock;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Validates hardware samples and re-keys them by host for the energy repartition; an invalid sample
 * (tombstone, no host or device, non-positive timestamp) goes to the dead-letter output with the
 * reason. Stateless per record.
 */
public final class HardwareValidateProcessor
    implements Processor<String, HardwareSample, String, Object> {

  private final StreamsCounters counters;
  private final StreamsLimits limits;
  private final Serializer<HardwareSample> raw;
  private final String topic;
  private final Clock clock;
  private ProcessorContext<String, Object> context;

  public HardwareValidateProcessor(
      StreamsCounters counters,
      StreamsLimits limits,
      Serializer<HardwareSample> raw,
      String topic,
      Clock clock) {
    this.counters = counters;
    this.limits = limits;
    this.raw = raw;
    this.topic = topic;
    this.clock = clock;
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
  }

  @Override
  public void process(Record<String, HardwareSample> record) {
    HardwareSample s = record.value();
    String invalid =
        s == null
            ? "null value (tombstone) on the hardware topic"
            : s.getHost() == null || s.getHost().isEmpty()
                ? "host is empty"
                : s.getDeviceId() == null || s.getDeviceId().isEmpty()
                    ? "deviceId is empty"
                    : s.getTimestampUs() <= 0
                        ? "timestampUs must be positive, got " + s.getTimestampUs()
                        : s.getEnergyMj() != null && s.getEnergyMj() < 0
                            ? "energyMj is negative"
                            : null;
    String reason = "validation";
    if (invalid == null) {
      invalid = tooLongDimension(s, limits.dimensionMaxBytes());
      reason = RequestWindowProcessor.DIMENSION_TOO_LONG;
    }
    if (invalid == null) {
      context.forward(new Record<>(s.getHost(), new EnergyInput(s, null), record.timestamp()));
      return;
    }
    DeadLetters.forward(
        context,
        counters,
        limits,
        clock,
        record,
        topic,
        reason,
        invalid,
        s == null ? null : raw.serialize(topic, s));
  }

  /**
   * The first dimension of {@code s} longer than {@code maxBytes} (UTF-8) as a message, or null.
   */
  static String tooLongDimension(HardwareSample s, int maxBytes) {
    String[][] fields = {
      {"host", s.getHost()},
      {"deviceId", s.getDeviceId()},
      {"cluster", s.getCluster()},
      {"region", s.getRegion()},
      {"gpuType", s.getGpuType()},
      {"source", s.getSource()},
      {"parentDeviceId", s.getParentDeviceId()}
    };
    for (String[] f : fields) {
      if (Utf8.longerThan(f[1], maxBytes)) {
        return f[0]
            + " is "
            + Utf8.length(f[1])
            + " bytes, over limits.dimension.max.bytes ("
            + maxBytes
            + ")";
      }
    }
    return null;
  }
}
