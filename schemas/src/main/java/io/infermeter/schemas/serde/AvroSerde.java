package io.infermeter.schemas.serde;

import io.infermeter.schemas.TopicSpec;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Serializer and deserializer of one generated Avro type in the Confluent wire format, sharing one
 * registry client.
 *
 * <pre>{@code
 * SchemaRegistryClient registry = new HttpSchemaRegistryClient(AvroSerdeConfig.from(props));
 * Serde<RequestEvent> serde = AvroSerde.of(Topics.REQUESTS, registry, AvroSerdeConfig.from(props));
 * }</pre>
 *
 * @param <T> generated Avro record type
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T> {

  private final AvroSerializer<T> serializer;
  private final AvroDeserializer<T> deserializer;

  public AvroSerde(
      Class<T> type, SchemaRegistryClient registry, AvroSerdeConfig config, boolean isKey) {
    this.serializer = new AvroSerializer<>(registry, config, isKey);
    this.deserializer = new AvroDeserializer<>(type, registry);
  }

  /** The value serde of a topic. */
  public static <T extends SpecificRecord> AvroSerde<T> of(
      TopicSpec<T> topic, SchemaRegistryClient registry, AvroSerdeConfig config) {
    return new AvroSerde<>(topic.valueType(), registry, config, false);
  }

  /**
   * A value serde of {@code type} talking to the registry named in {@code configs} (a fresh
   * client).
   */
  public static <T extends SpecificRecord> AvroSerde<T> forValues(
      Class<T> type, Map<String, ?> configs) {
    AvroSerdeConfig config = AvroSerdeConfig.from(configs);
    return new AvroSerde<>(type, new HttpSchemaRegistryClient(config), config, false);
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    // Already configured at construction; Kafka Streams calls this for serdes passed explicitly,
    // nothing to do.
  }

  @Override
  public Serializer<T> serializer() {
    return serializer;
  }

  @Override
  public Deserializer<T> deserializer() {
    return deserializer;
  }
}
