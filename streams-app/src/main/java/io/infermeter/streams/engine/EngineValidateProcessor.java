package io.infermeter.streams.engine;

import io.infermeter.avro.EngineSample;
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
 * Validates engine samples and keys them by host for the energy repartition; an invalid sample
 * (tombstone, no host, instance or engine, non-positive timestamp, a KV-cache usage outside 0-1 or
 * not finite, a negative count) or one with an over-long dimension goes to the dead-letter output
 * with the reason. Any producer can write the topic, so the collector's own checks are not relied
 * on. Stateless per record.
 */
public final class EngineValidateProcessor
    implements Processor<String, EngineSample, String, Object> {

  private final StreamsCounters counters;
  private final StreamsLimits limits;
  private final Serializer<EngineSample> raw;
  private final String topic;
  private final Clock clock;
  private ProcessorContext<String, Object> context;

  public EngineValidateProcessor(
      StreamsCounters counters,
      StreamsLimits limits,
      Serializer<EngineSample> raw,
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
  public void process(Record<String, EngineSample> record) {
    EngineSample s = record.value();
    String invalid = s == null ? "null value (tombstone) on the engine-state topic" : invalid(s);
    String reason = "validation";
    if (invalid == null) {
      invalid = tooLongDimension(s, limits.dimensionMaxBytes());
      reason = RequestWindowProcessor.DIMENSION_TOO_LONG;
    }
    if (invalid == null) {
      context.forward(new Record<>(s.getHost(), s, record.timestamp()));
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

  /** Why {@code s} cannot be used, or null. */
  static String invalid(EngineSample s) {
    if (s.getHost() == null || s.getHost().isEmpty()) {
      return "host is empty";
    }
    if (s.getInstance() == null || s.getInstance().isEmpty()) {
      return "instance is empty";
    }
    if (s.getEngine() == null || s.getEngine().isEmpty()) {
      return "engine is empty";
    }
    if (s.getTimestampUs() <= 0) {
      return "timestampUs must be positive, got " + s.getTimestampUs();
    }
    Double kv = s.getKvCacheUsage();
    if (kv != null && !(kv >= 0 && kv <= 1)) {
      return "kvCacheUsage must be a ratio in [0, 1], got " + kv;
    }
    if (negative(s.getRequestsRunning())
        || negative(s.getRequestsWaiting())
        || negative(s.getPreemptionsTotal())) {
      return "requestsRunning, requestsWaiting and preemptionsTotal must not be negative";
    }
    return null;
  }

  private static boolean negative(Long v) {
    return v != null && v < 0;
  }

  /**
   * The first dimension of {@code s} longer than {@code maxBytes} (UTF-8) as a message, or null.
   */
  static String tooLongDimension(EngineSample s, int maxBytes) {
    String[][] fields = {
      {"host", s.getHost()},
      {"instance", s.getInstance()},
      {"pod", s.getPod()},
      {"engine", s.getEngine()},
      {"model", s.getModel()},
      {"cluster", s.getCluster()},
      {"region", s.getRegion()},
      {"source", s.getSource()}
    };
    for (String[] f : fields) {
      if (f[1] != null && Utf8.longerThan(f[1], maxBytes)) {
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
