package io.infermeter.streams.support;

import io.infermeter.schemas.Utf8;
import io.infermeter.streams.StreamsLimits;
import java.time.Clock;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * The first step of an input sub-topology: checks each record with its {@link Checks} and forwards
 * it re-keyed, or sends it to the dead-letter output with the reason ({@code validation} for a
 * tombstone or a record its checks refuse, {@link DeadLetters#DIMENSION_TOO_LONG} for an over-long
 * dimension) and its raw bytes. Any producer can write an input topic, so the collector's own
 * checks are not relied on. Stateless per record.
 *
 * @param <V> the topic's value type
 */
public final class ValidatingProcessor<V> implements Processor<String, V, String, Object> {

  /** What a topic's records must satisfy, and what a valid one becomes. */
  public interface Checks<V> {

    /** The topic's name in messages ("hardware", "engine-state"). */
    String noun();

    /** Why {@code v} (not null) cannot be used, or null. */
    String invalid(V v);

    /**
     * The dimensions of {@code v} whose length is bounded: name, value, name, value, ... (a null
     * value is skipped).
     */
    String[] dimensions(V v);

    /** The key a valid {@code v} is forwarded under. */
    String key(V v);

    /** The value a valid {@code v} is forwarded as. */
    Object value(V v);
  }

  private final Checks<V> checks;
  private final StreamsCounters counters;
  private final StreamsLimits limits;
  private final Serializer<V> raw;
  private final String topic;
  private final Clock clock;
  private ProcessorContext<String, Object> context;

  public ValidatingProcessor(
      Checks<V> checks,
      StreamsCounters counters,
      StreamsLimits limits,
      Serializer<V> raw,
      String topic,
      Clock clock) {
    this.checks = checks;
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
  public void process(Record<String, V> record) {
    V v = record.value();
    String invalid =
        v == null ? "null value (tombstone) on the " + checks.noun() + " topic" : checks.invalid(v);
    String reason = "validation";
    if (invalid == null) {
      invalid = firstTooLong(checks.dimensions(v), limits.dimensionMaxBytes());
      reason = DeadLetters.DIMENSION_TOO_LONG;
    }
    if (invalid == null) {
      context.forward(new Record<>(checks.key(v), checks.value(v), record.timestamp()));
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
        v == null ? null : raw.serialize(topic, v));
  }

  /**
   * The first of {@code namesAndValues} (name, value, ...) longer than {@code maxBytes} in UTF-8,
   * as a message naming it and its size; null when all fit.
   */
  public static String firstTooLong(String[] namesAndValues, int maxBytes) {
    for (int i = 0; i + 1 < namesAndValues.length; i += 2) {
      String value = namesAndValues[i + 1];
      if (value != null && Utf8.longerThan(value, maxBytes)) {
        return namesAndValues[i]
            + " is "
            + Utf8.length(value)
            + " bytes, over limits.dimension.max.bytes ("
            + maxBytes
            + ")";
      }
    }
    return null;
  }
}
