package io.infermeter.streams.latency;

import org.HdrHistogram.Histogram;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde of an HdrHistogram in its compressed encoding ({@code
 * encodeIntoCompressedByteBuffer}). Null maps to null; bytes that are not a compressed histogram
 * fail with a {@link SerializationException} naming the reason. Thread-safe (stateless).
 */
public final class HistogramSerde implements Serde<Histogram> {

  @Override
  public Serializer<Histogram> serializer() {
    return (topic, h) -> h == null ? null : Histograms.encodeCompressed(h);
  }

  @Override
  public Deserializer<Histogram> deserializer() {
    return (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      try {
        return Histograms.decodeCompressed(bytes);
      } catch (IllegalArgumentException e) {
        throw new SerializationException(
            "cannot decode histogram from topic " + topic + ": " + e.getMessage(), e);
      }
    };
  }
}
