package io.infermeter.schemas.golden;

import static io.infermeter.schemas.golden.AvroAssertions.assertSameData;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.type;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.schemas.SampleRecords;
import io.infermeter.schemas.serde.AvroDeserializer;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.InMemorySchemaRegistryClient;
import io.infermeter.schemas.serde.SchemaRegistryException;
import io.infermeter.schemas.serde.SubjectNameStrategy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.junit.jupiter.api.Test;

/**
 * The evolution rules of docs/SCHEMAS.md on a test-only v2 of RequestEvent: old readers read v2
 * data (new fields skipped, a new enum symbol falls back to the enum default), new readers read v1
 * data (new fields take their defaults), through plain Avro and through the serde with a registry
 * that enforces BACKWARD compatibility.
 */
class SchemaEvolutionTest {

  private static final Schema V1 = RequestEvent.getClassSchema();
  private static final String TOPIC = "infermeter-requests";

  @Test
  void v2IsBackwardAndForwardCompatibleWithToday() {
    assertThat(
            SchemaCompatibility.checkReaderWriterCompatibility(EvolutionSchemas.v2(), V1).getType())
        .as("new reader, old data")
        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    assertThat(
            SchemaCompatibility.checkReaderWriterCompatibility(V1, EvolutionSchemas.v2()).getType())
        .as("old reader, new data")
        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
  }

  @Test
  void aFieldAddedWithoutDefaultIsNotBackwardCompatible() {
    SchemaCompatibility.SchemaPairCompatibility result =
        SchemaCompatibility.checkReaderWriterCompatibility(EvolutionSchemas.v2Incompatible(), V1);

    assertThat(result.getType()).isEqualTo(SchemaCompatibilityType.INCOMPATIBLE);
    assertThat(result.getResult().getIncompatibilities())
        .anySatisfy(i -> assertThat(i.getMessage()).contains("tenant"));
  }

  @Test
  void newReaderReadsOldDataWithDefaults() throws IOException {
    RequestEvent v1 = SampleRecords.requestEvent();
    byte[] bytes = GoldenFixtures.binary(v1);

    GenericRecord read =
        new GenericDatumReader<GenericRecord>(V1, EvolutionSchemas.v2())
            .read(null, DecoderFactory.get().binaryDecoder(bytes, null));

    assertThat(read.get("priority")).isNull();
    assertThat(read.get("tenant").toString()).isEmpty();
    assertThat(read.get("status").toString()).isEqualTo(v1.getStatus().name());
    assertSameData("v2 reader", read, v1);
  }

  @Test
  void oldReaderReadsNewDataSkippingNewFieldsAndDefaultingNewEnumSymbols() throws IOException {
    RequestEvent original = SampleRecords.requestEvent();
    GenericRecord v2 = EvolutionSchemas.asV2(original, 3, "acme", "REJECTED");

    RequestEvent read =
        new SpecificDatumReader<RequestEvent>(EvolutionSchemas.v2(), V1)
            .read(null, DecoderFactory.get().binaryDecoder(genericBinary(v2), null));

    RequestEvent expected =
        RequestEvent.newBuilder(original).setStatus(RequestStatus.UNKNOWN).build();
    assertThat(read).isEqualTo(expected);
  }

  @Test
  void throughTheSerdeOldAndNewWritersMeetOldAndNewReaders() throws IOException {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    AvroSerdeConfig config =
        new AvroSerdeConfig(
            "http://registry.invalid",
            true,
            Optional.empty(),
            SubjectNameStrategy.TOPIC_NAME,
            SubjectNameStrategy.TOPIC_NAME,
            Duration.ofSeconds(1));
    RequestEvent event = SampleRecords.requestEvent();
    byte[] v1Wire =
        new AvroSerializer<RequestEvent>(registry, config, false).serialize(TOPIC, event);
    // a v2 producer registers its schema under the same subject: BACKWARD compatible, so accepted
    int v2Id = registry.register(TOPIC + "-value", EvolutionSchemas.v2());
    byte[] v2Wire = wire(v2Id, genericBinary(EvolutionSchemas.asV2(event, 1, "acme", "OK")));
    AvroDeserializer<RequestEvent> oldReader = new AvroDeserializer<>(RequestEvent.class, registry);

    assertThat(v2Id).isNotEqualTo(ByteBuffer.wrap(v1Wire, 1, 4).getInt());
    assertThat(oldReader.deserialize(TOPIC, v2Wire))
        .isEqualTo(RequestEvent.newBuilder(event).setStatus(RequestStatus.OK).build());
    assertThat(oldReader.deserialize(TOPIC, v1Wire)).isEqualTo(event);
    // a v2 consumer resolves the v1 writer schema it finds by id against its own
    int v1Id = ByteBuffer.wrap(v1Wire, 1, 4).getInt();
    GenericRecord newRead =
        new GenericDatumReader<GenericRecord>(registry.byId(v1Id), EvolutionSchemas.v2())
            .read(
                null,
                DecoderFactory.get()
                    .binaryDecoder(Arrays.copyOfRange(v1Wire, 5, v1Wire.length), null));
    assertThat(newRead.get("tenant").toString()).isEmpty();
    assertSameData("v2 consumer", newRead, event);
  }

  @Test
  void registryRejectsAnIncompatibleSchemaWithoutRetry() {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    registry.register(TOPIC + "-value", V1);

    assertThatThrownBy(() -> registry.register(TOPIC + "-value", EvolutionSchemas.v2Incompatible()))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(
            e -> {
              assertThat(e.isRetryable()).isFalse();
              assertThat(e.httpStatus()).isEqualTo(409);
              assertThat(e.getMessage()).contains("incompatible");
            });
  }

  static byte[] genericBinary(GenericRecord record) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(record.getSchema()).write(record, encoder);
    encoder.flush();
    return out.toByteArray();
  }

  static byte[] wire(int id, byte[] avro) {
    return ByteBuffer.allocate(5 + avro.length).put((byte) 0).putInt(id).put(avro).array();
  }
}
