package io.infermeter.streams.windows;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * Serde of {@link RequestAccumulator} partials on the fleet repartition topic (compressed
 * histograms).
 */
public final class AccumulatorSerde {

  private AccumulatorSerde() {}

  public static Serde<RequestAccumulator> compressed() {
    return Serdes.serdeFrom(
        (topic, a) -> a == null ? null : a.toBytes(true),
        (topic, bytes) -> {
          if (bytes == null) {
            return null;
          }
          try {
            return RequestAccumulator.fromBytes(bytes, true);
          } catch (IllegalArgumentException e) {
            throw new SerializationException(e.getMessage(), e);
          }
        });
  }
}
