package io.infermeter.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.SampleRecords;
import io.infermeter.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Unit tests of the Confluent-wire-format serde against the in-memory registry: round trips and
 * every bad input.
 */
class AvroSerdeTest {

  private static final String TOPIC = "infermeter-test";

  private final InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
  private final AvroSerdeConfig config = config(true, SubjectNameStrategy.TOPIC_NAME);

  static Stream<Arguments> everyRecordType() {
    return SampleRecords.all().entrySet().stream()
        .map(e -> Arguments.of(Named.of(e.getKey(), e.getValue())));
  }

  @ParameterizedTest
  @MethodSource("everyRecordType")
  <T extends SpecificRecord> void roundTripsEveryRecordType(T record) {
    @SuppressWarnings("unchecked")
    Class<T> type = (Class<T>) record.getClass();
    AvroSerde<T> serde = new AvroSerde<>(type, registry, config, false);

    byte[] bytes = serde.serializer().serialize(TOPIC, record);
    T back = serde.deserializer().deserialize(TOPIC, bytes);

    assertThat(back).isEqualTo(record).isNotSameAs(record);
  }

  @ParameterizedTest
  @MethodSource("everyRecordType")
  void writesMagicByteThenRegistryIdThenPlainAvroBinary(SpecificRecord record) {
    AvroSerializer<SpecificRecord> serializer = new AvroSerializer<>(registry, config, false);

    byte[] bytes = serializer.serialize(TOPIC, record);

    int registeredId = registry.lookup(TOPIC + "-value", record.getSchema());
    assertThat(bytes[0]).isZero();
    assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(registeredId);
    assertThat(Arrays.copyOfRange(bytes, 5, bytes.length)).isEqualTo(plainAvro(record));
  }

  @Test
  void writesTheIdBigEndian() {
    int id = 0x01020304;
    AvroSerializer<RequestEvent> serializer =
        new AvroSerializer<>(new FixedIdRegistry(id), config, false);

    byte[] bytes = serializer.serialize(TOPIC, SampleRecords.requestEvent());

    assertThat(Arrays.copyOfRange(bytes, 0, 5)).containsExactly(0, 1, 2, 3, 4);
  }

  @Test
  void deserializerReadsAnIdAboveOneByteWrittenBigEndian() {
    FixedIdRegistry fixed = new FixedIdRegistry(0x7F00_00FE);
    RequestEvent event = SampleRecords.requestEvent();
    byte[] bytes = new AvroSerializer<RequestEvent>(fixed, config, false).serialize(TOPIC, event);

    assertThat(new AvroDeserializer<>(RequestEvent.class, fixed).deserialize(TOPIC, bytes))
        .isEqualTo(event);
  }

  @Test
  void registersUnderTopicValueAndTopicKeySubjects() {
    RequestEvent event = SampleRecords.requestEvent();
    new AvroSerializer<RequestEvent>(registry, config, false)
        .serialize(Topics.REQUESTS.name(), event);
    new AvroSerializer<RequestEvent>(registry, config, true)
        .serialize(Topics.REQUESTS.name(), event);

    assertThat(registry.lookup("infermeter-requests-value", event.getSchema())).isPositive();
    assertThat(registry.lookup("infermeter-requests-key", event.getSchema())).isPositive();
  }

  @Test
  void usesTheConfiguredValueSubjectStrategy() {
    AvroSerdeConfig byRecord = config(true, SubjectNameStrategy.TOPIC_RECORD_NAME);
    RequestEvent event = SampleRecords.requestEvent();

    new AvroSerializer<RequestEvent>(registry, byRecord, false).serialize(TOPIC, event);

    assertThat(registry.lookup(TOPIC + "-io.infermeter.avro.RequestEvent", event.getSchema()))
        .isPositive();
    assertThatThrownBy(() -> registry.lookup(TOPIC + "-value", event.getSchema()))
        .isInstanceOf(SchemaRegistryException.class);
  }

  @Test
  void withoutAutoRegisterAnUnregisteredSchemaFailsAndARegisteredOneIsUsed() {
    AvroSerializer<RequestEvent> serializer =
        new AvroSerializer<>(registry, config(false, SubjectNameStrategy.TOPIC_NAME), false);
    RequestEvent event = SampleRecords.requestEvent();

    assertThatThrownBy(() -> serializer.serialize(TOPIC, event))
        .isInstanceOf(SchemaRegistryException.class)
        .satisfies(e -> assertThat(((SchemaRegistryException) e).isRetryable()).isFalse())
        .hasMessageContaining("not registered");

    int id = registry.register(TOPIC + "-value", event.getSchema());
    byte[] bytes = serializer.serialize(TOPIC, event);
    assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(id);
  }

  @Test
  void nullRecordAndNullBytesStayNull() {
    AvroSerde<RequestEvent> serde = AvroSerde.of(Topics.REQUESTS, registry, config);

    assertThat(serde.serializer().serialize(TOPIC, null)).isNull();
    assertThat(serde.deserializer().deserialize(TOPIC, null)).isNull();
  }

  @ParameterizedTest(name = "{0} bytes")
  @ValueSource(ints = {0, 1, 2, 3, 4})
  void rejectsInputShorterThanTheHeader(int length) {
    AvroDeserializer<RequestEvent> deserializer =
        new AvroDeserializer<>(RequestEvent.class, registry);

    assertThatThrownBy(() -> deserializer.deserialize(TOPIC, new byte[length]))
        .isExactlyInstanceOf(SerializationException.class)
        .hasMessageContaining(length + " bytes, need at least 5")
        .hasMessageContaining(TOPIC);
  }

  @ParameterizedTest(name = "magic {0}")
  @ValueSource(bytes = {1, 0x7B, (byte) 0xFF})
  void rejectsAWrongMagicByte(byte magic) {
    byte[] bytes = serialize(SampleRecords.requestEvent());
    bytes[0] = magic;

    assertThatThrownBy(() -> deserializer().deserialize(TOPIC, bytes))
        .isExactlyInstanceOf(SerializationException.class)
        .hasMessageContaining("magic byte " + magic + ", expected 0");
  }

  @Test
  void rejectsAnUnknownSchemaIdWithoutRetry() {
    byte[] bytes = serialize(SampleRecords.requestEvent());
    ByteBuffer.wrap(bytes).putInt(1, 999_999);

    assertThatThrownBy(() -> deserializer().deserialize(TOPIC, bytes))
        .isInstanceOf(SchemaRegistryException.class)
        .hasMessageContaining("999999")
        .satisfies(e -> assertThat(((SchemaRegistryException) e).isRetryable()).isFalse());
  }

  @ParameterizedTest(name = "cut {0} bytes")
  @ValueSource(ints = {1, 7, 40})
  void rejectsATruncatedPayload(int cut) {
    byte[] full = serialize(SampleRecords.requestEvent());
    byte[] truncated = Arrays.copyOf(full, full.length - cut);

    assertThatThrownBy(() -> deserializer().deserialize(TOPIC, truncated))
        .isExactlyInstanceOf(SerializationException.class)
        .hasMessageContaining(
            "cannot decode a io.infermeter.avro.RequestEvent written with schema id");
  }

  @Test
  void rejectsAHeaderWithoutAnyPayload() {
    byte[] headerOnly = Arrays.copyOf(serialize(SampleRecords.requestEvent()), 5);

    assertThatThrownBy(() -> deserializer().deserialize(TOPIC, headerOnly))
        .isExactlyInstanceOf(SerializationException.class)
        .hasMessageContaining("cannot decode");
  }

  @ParameterizedTest(name = "{0} extra bytes")
  @ValueSource(ints = {1, 3})
  void rejectsTrailingBytes(int extra) {
    byte[] full = serialize(SampleRecords.requestEvent());
    byte[] padded = Arrays.copyOf(full, full.length + extra);

    assertThatThrownBy(() -> deserializer().deserialize(TOPIC, padded))
        .isExactlyInstanceOf(SerializationException.class)
        .hasMessageContaining("trailing bytes after a io.infermeter.avro.RequestEvent");
  }

  @Test
  void rejectsGarbageAfterAValidHeader() {
    byte[] bytes = serialize(SampleRecords.requestEvent());
    // the first field is a string: a huge negative length is not Avro
    Arrays.fill(bytes, 5, bytes.length, (byte) 0xFF);

    assertThatThrownBy(() -> deserializer().deserialize(TOPIC, bytes))
        .isExactlyInstanceOf(SerializationException.class)
        .hasMessageContaining("cannot decode");
  }

  @Test
  void recordMissingARequiredFieldFailsToSerializeWithTheReason() {
    RequestEvent incomplete = new RequestEvent(); // no builder: required strings stay null
    AvroSerializer<RequestEvent> serializer = new AvroSerializer<>(registry, config, false);

    assertThatThrownBy(() -> serializer.serialize(TOPIC, incomplete))
        .isExactlyInstanceOf(SerializationException.class)
        .hasMessageContaining(
            "cannot Avro-encode a io.infermeter.avro.RequestEvent for topic " + TOPIC);
  }

  @Test
  void unconfiguredSerdeFailsClearly() {
    assertThatThrownBy(
            () -> new AvroSerializer<RequestEvent>().serialize(TOPIC, SampleRecords.requestEvent()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("before configure()");
    assertThatThrownBy(() -> new AvroDeserializer<RequestEvent>().deserialize(TOPIC, new byte[8]))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("before configure()");
  }

  @Test
  void reflectiveDeserializerNeedsAKnownSpecificType() {
    Map<String, Object> base = Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, "http://127.0.0.1:1");

    assertThatThrownBy(() -> new AvroDeserializer<RequestEvent>().configure(base, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(AvroDeserializer.SPECIFIC_TYPE_CONFIG);
    Map<String, Object> unknown =
        Map.of(
            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
            "http://127.0.0.1:1",
            AvroDeserializer.SPECIFIC_TYPE_CONFIG,
            "io.infermeter.avro.NoSuchRecord");
    assertThatThrownBy(() -> new AvroDeserializer<RequestEvent>().configure(unknown, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown class: io.infermeter.avro.NoSuchRecord");
  }

  private byte[] serialize(RequestEvent event) {
    return new AvroSerializer<RequestEvent>(registry, config, false).serialize(TOPIC, event);
  }

  private AvroDeserializer<RequestEvent> deserializer() {
    return new AvroDeserializer<>(RequestEvent.class, registry);
  }

  static AvroSerdeConfig config(boolean autoRegister, SubjectNameStrategy valueStrategy) {
    return new AvroSerdeConfig(
        "http://registry.invalid",
        autoRegister,
        Optional.empty(),
        SubjectNameStrategy.TOPIC_NAME,
        valueStrategy,
        Duration.ofSeconds(1));
  }

  /**
   * The Avro binary encoding of {@code record}, written independently of the serializer under test.
   */
  static byte[] plainAvro(SpecificRecord record) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    try {
      new SpecificDatumWriter<SpecificRecord>(record.getSchema()).write(record, encoder);
      encoder.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** A registry that hands out one fixed id, to see the id's byte order on the wire. */
  private static final class FixedIdRegistry implements SchemaRegistryClient {
    private final int id;
    private volatile Schema schema;

    FixedIdRegistry(int id) {
      this.id = id;
    }

    @Override
    public int register(String subject, Schema s) {
      schema = s;
      return id;
    }

    @Override
    public int lookup(String subject, Schema s) {
      return register(subject, s);
    }

    @Override
    public Schema byId(int requested) {
      if (requested != id || schema == null) {
        throw new SchemaRegistryException("unknown id " + requested, 404, 40403, false, null);
      }
      return schema;
    }
  }
}
