package io.infermeter.schemas.serde;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes Avro records in the Confluent wire format: magic byte 0, the writer schema's registry id
 * as a 4-byte big-endian int, then the Avro binary encoding. The schema is registered (or looked
 * up, when auto-registration is off) under the configured subject strategy once per (topic, schema)
 * and then read from a per-topic slot, so the per-record path builds no subject string and makes no
 * registry-cache lookup keyed by schema. Records are written by Avro's generated per-class encoders
 * (same bytes, about half the time of the reflective path), into an output buffer reused per
 * thread. A registry failure propagates and nothing is cached, so the next record retries.
 * Thread-safe once configured.
 *
 * @param <T> generated Avro record type
 */
public final class AvroSerializer<T extends SpecificRecord> implements Serializer<T> {

  static final byte MAGIC_BYTE = 0;

  /**
   * Avro's generated encoders ({@code customEncode}) are off by default unless a system property is
   * set.
   */
  private static final SpecificData DATA = new SpecificData();

  static {
    DATA.setCustomCoders(true);
  }

  /** The writer schema last seen on a topic, its registry id and its (thread-safe) datum writer. */
  private record Resolved(Schema schema, int id, SpecificDatumWriter<SpecificRecord> writer) {}

  /** A reusable output buffer and encoder of one thread. */
  private static final class Buffer extends ByteArrayOutputStream {
    BinaryEncoder encoder;

    Buffer() {
      super(512);
    }
  }

  private SchemaRegistryClient registry;
  private AvroSerdeConfig config;
  private boolean isKey;
  private final Map<String, Resolved> byTopic = new ConcurrentHashMap<>();
  private final ThreadLocal<Buffer> buffers = ThreadLocal.withInitial(Buffer::new);

  /** For Kafka's reflective construction; {@link #configure(Map, boolean)} must follow. */
  public AvroSerializer() {}

  /** A ready serializer sharing {@code registry} (and its caches). */
  public AvroSerializer(SchemaRegistryClient registry, AvroSerdeConfig config, boolean isKey) {
    this.registry = registry;
    this.config = config;
    this.isKey = isKey;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.config = AvroSerdeConfig.from(configs);
    this.registry = new HttpSchemaRegistryClient(config);
    this.isKey = isKey;
  }

  @Override
  public byte[] serialize(String topic, T record) {
    if (record == null) {
      return null;
    }
    if (registry == null) {
      throw new IllegalStateException("AvroSerializer used before configure()");
    }
    Schema schema = record.getSchema();
    Resolved r = byTopic.get(topic);
    if (!resolvedFor(r, schema)) {
      r = resolve(topic, schema);
    }
    Buffer out = buffers.get();
    out.reset();
    int id = r.id();
    out.write(MAGIC_BYTE);
    out.write(id >>> 24);
    out.write(id >>> 16);
    out.write(id >>> 8);
    out.write(id);
    out.encoder = EncoderFactory.get().binaryEncoder(out, out.encoder);
    try {
      r.writer().write(record, out.encoder);
      out.encoder.flush();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException(
          "cannot Avro-encode a "
              + schema.getFullName()
              + " for topic "
              + topic
              + ": "
              + e.getMessage(),
          e);
    }
    return out.toByteArray();
  }

  /**
   * Registers (or looks up, when auto-registration is off) {@code schema} for {@code topic} now and
   * keeps its id, as the first {@link #serialize} of such a record would; returns the id. Lets a
   * caller resolve the id off its hot path, so that {@code serialize} then makes no registry call.
   * A registry failure propagates.
   */
  public int prepare(String topic, Schema schema) {
    if (registry == null) {
      throw new IllegalStateException("AvroSerializer used before configure()");
    }
    Resolved r = byTopic.get(topic);
    return (resolvedFor(r, schema) ? r : resolve(topic, schema)).id();
  }

  /**
   * Whether {@code r} was resolved for this very schema instance. A generated class has one schema
   * instance, so the identity check is the cheap hit test; another instance, even an equal one, is
   * resolved again (a cached registry answer).
   */
  @SuppressWarnings("ReferenceEquality") // identity on purpose: the cheap hit test
  private static boolean resolvedFor(Resolved r, Schema schema) {
    return r != null && r.schema() == schema;
  }

  private Resolved resolve(String topic, Schema schema) {
    SubjectNameStrategy strategy = isKey ? config.keyStrategy() : config.valueStrategy();
    String subject = strategy.subject(topic, isKey, schema);
    int id =
        config.autoRegister()
            ? registry.register(subject, schema)
            : registry.lookup(subject, schema);
    Resolved r = new Resolved(schema, id, new SpecificDatumWriter<>(schema, DATA));
    byTopic.put(topic, r);
    return r;
  }
}
