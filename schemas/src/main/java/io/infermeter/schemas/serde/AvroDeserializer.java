package io.infermeter.schemas.serde;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads the Confluent wire format into a generated Avro class. The writer schema is fetched by id
 * from the registry (cached) and resolved against the reader schema of {@code T} (Avro schema
 * resolution: added fields take their defaults, removed fields are skipped), so producers and
 * consumers can upgrade independently. Malformed input (wrong magic byte, truncated, unknown id,
 * unresolvable schemas) raises {@link SerializationException} with the reason, which the apps route
 * to the dead-letter topic. Thread-safe once configured.
 *
 * @param <T> generated Avro record type
 */
public final class AvroDeserializer<T extends SpecificRecord> implements Deserializer<T> {

  /** Config key naming the generated class when constructed reflectively by Kafka. */
  public static final String SPECIFIC_TYPE_CONFIG = "infermeter.avro.specific.type";

  private Class<T> type;
  private Schema readerSchema;
  private SchemaRegistryClient registry;
  private final Map<Integer, DatumReader<T>> readers = new ConcurrentHashMap<>();

  /** Per thread: a decoder serves one deserialize call at a time, of any instance. */
  private static final ThreadLocal<BinaryDecoder> DECODERS = new ThreadLocal<>();

  /** For Kafka's reflective construction; {@link #configure(Map, boolean)} must follow. */
  public AvroDeserializer() {}

  public AvroDeserializer(Class<T> type, SchemaRegistryClient registry) {
    this.type = type;
    this.readerSchema = SpecificData.get().getSchema(type);
    this.registry = registry;
  }

  @Override
  @SuppressWarnings("unchecked")
  public void configure(Map<String, ?> configs, boolean isKey) {
    if (type == null) {
      Object name = configs.get(SPECIFIC_TYPE_CONFIG);
      if (name == null) {
        throw new IllegalArgumentException(
            "missing '" + SPECIFIC_TYPE_CONFIG + "': the generated Avro class to read");
      }
      try {
        type = (Class<T>) (name instanceof Class<?> c ? c : Class.forName(name.toString()));
      } catch (ClassNotFoundException e) {
        throw new IllegalArgumentException(
            "'" + SPECIFIC_TYPE_CONFIG + "' names an unknown class: " + name, e);
      }
      readerSchema = SpecificData.get().getSchema(type);
    }
    if (registry == null) {
      registry = new HttpSchemaRegistryClient(AvroSerdeConfig.from(configs));
    }
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    if (registry == null || readerSchema == null) {
      throw new IllegalStateException("AvroDeserializer used before configure()");
    }
    if (data.length < 5) {
      throw new SerializationException(
          "not Confluent Avro wire format on topic "
              + topic
              + ": "
              + data.length
              + " bytes, need at least 5 (magic byte + schema id)");
    }
    ByteBuffer buffer = ByteBuffer.wrap(data);
    byte magic = buffer.get();
    if (magic != AvroSerializer.MAGIC_BYTE) {
      throw new SerializationException(
          "not Confluent Avro wire format on topic "
              + topic
              + ": magic byte "
              + magic
              + ", expected 0");
    }
    int id = buffer.getInt();
    DatumReader<T> reader = readers.computeIfAbsent(id, this::readerFor);
    BinaryDecoder reused = DECODERS.get();
    BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(data, 5, data.length - 5, reused);
    if (decoder != reused) {
      DECODERS.set(
          decoder); // once per thread: the factory reconfigures and returns the decoder it is given
    }
    try {
      T value = reader.read(null, decoder);
      if (!decoder.isEnd()) {
        throw new SerializationException(
            "trailing bytes after a "
                + readerSchema.getFullName()
                + " (schema id "
                + id
                + ") on topic "
                + topic);
      }
      return value;
    } catch (SerializationException e) {
      throw e;
    } catch (Exception e) {
      throw new SerializationException(
          "cannot decode a "
              + readerSchema.getFullName()
              + " written with schema id "
              + id
              + " on topic "
              + topic
              + ": "
              + e,
          e);
    }
  }

  private DatumReader<T> readerFor(int id) {
    Schema writer = registry.byId(id);
    return new SpecificDatumReader<>(writer, readerSchema);
  }
}
