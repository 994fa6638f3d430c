package io.infermeter.sink.internal;

import org.apache.kafka.common.serialization.Deserializer;

/**
 * How the records of one topic become rows: the Avro deserializer and the row mapper.
 *
 * @param deserializer value deserializer (throws on bad bytes)
 * @param mapper rows of a decoded value
 * @param deadLetterTopic true for the dead-letter topic itself: its failures are stored directly in
 *     dead_letters instead of being re-published (which would loop)
 * @param <V> value type
 */
record TopicHandler<V>(
    Deserializer<V> deserializer, RowMappers.RowMapper<V> mapper, boolean deadLetterTopic) {

  void mapBytes(
      String topic, byte[] value, int partition, long offset, RowMappers.RowConsumer out) {
    V decoded = deserializer.deserialize(topic, value);
    mapper.map(decoded, partition, offset, out);
  }
}
