package io.infermeter.schemas.serde;

import static io.infermeter.schemas.golden.AvroAssertions.assertSameData;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.type;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.schemas.SampleRecords;
import io.infermeter.schemas.golden.EvolutionSchemas;
import io.infermeter.testsupport.Infra;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * Events cross the REAL local broker with the serde configured the Kafka way (class names + config
 * map), and a v1 and a v2 writer share one topic and one subject: the old reader (generated class)
 * and a new reader (v2 schema, generic) both read both. Topics and groups are unique per test.
 */
class KafkaRoundTripIT {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final Infra infra = Infra.get();

  @Test
  void eventCrossesTheBrokerAndDecodesEqual() throws Exception {
    String topic = createTopic("it-kafka");
    RequestEvent event = SampleRecords.requestEvent();
    RequestEvent second =
        RequestEvent.newBuilder(event).setEventId("evt-0002").setOutputTokens(null).build();

    try (KafkaProducer<String, RequestEvent> producer =
        new KafkaProducer<>(producerProps(AvroSerializer.class))) {
      producer.send(new ProducerRecord<>(topic, event.getHost(), event)).get(30, TimeUnit.SECONDS);
      producer
          .send(new ProducerRecord<>(topic, second.getHost(), second))
          .get(30, TimeUnit.SECONDS);
    }

    Map<String, Object> consumerProps = consumerProps(AvroDeserializer.class);
    consumerProps.put(AvroDeserializer.SPECIFIC_TYPE_CONFIG, RequestEvent.class.getName());
    List<ConsumerRecord<String, RequestEvent>> got = consume(topic, consumerProps, 2);
    assertThat(got).extracting(ConsumerRecord::key).containsExactly("gpu-host-07", "gpu-host-07");
    assertThat(got).extracting(ConsumerRecord::value).containsExactly(event, second);
  }

  @Test
  void v1AndV2WritersOnOneTopicAreReadByOldAndNewReaders() throws Exception {
    String topic = createTopic("it-evolve");
    String subject = topic + "-value";
    RequestEvent v1Event = SampleRecords.requestEvent();
    try (KafkaProducer<String, RequestEvent> producer =
        new KafkaProducer<>(producerProps(AvroSerializer.class))) {
      producer.send(new ProducerRecord<>(topic, "v1", v1Event)).get(30, TimeUnit.SECONDS);
    }
    RegistryIT.setCompatibility(subject, "BACKWARD");
    // the v2 producer: registers its writer schema under the same subject, writes the wire format
    // itself
    HttpSchemaRegistryClient registry =
        new HttpSchemaRegistryClient(
            AvroSerdeConfig.from(
                Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, infra.schemaRegistryUrl())));
    int v2Id = registry.register(subject, EvolutionSchemas.v2());
    RequestEvent v2Base = RequestEvent.newBuilder(v1Event).setEventId("evt-v2").build();
    GenericRecord v2Event = EvolutionSchemas.asV2(v2Base, 2, "acme", "REJECTED");
    try (KafkaProducer<String, byte[]> raw =
        new KafkaProducer<>(producerProps(ByteArraySerializer.class))) {
      raw.send(new ProducerRecord<>(topic, "v2", wire(v2Id, v2Event))).get(30, TimeUnit.SECONDS);
    }

    // old reader: today's generated class through AvroDeserializer
    Map<String, Object> oldProps = consumerProps(AvroDeserializer.class);
    oldProps.put(AvroDeserializer.SPECIFIC_TYPE_CONFIG, RequestEvent.class.getName());
    List<ConsumerRecord<String, RequestEvent>> old = consume(topic, oldProps, 2);
    assertThat(old).extracting(ConsumerRecord::key).containsExactly("v1", "v2");
    assertThat(old.get(0).value()).isEqualTo(v1Event);
    // the v2-only fields are skipped and the unknown enum symbol falls back to the enum default
    assertThat(old.get(1).value())
        .isEqualTo(RequestEvent.newBuilder(v2Base).setStatus(RequestStatus.UNKNOWN).build());

    // new reader: the v2 schema, writer schemas fetched by id from the registry
    List<ConsumerRecord<String, byte[]>> raw =
        consume(topic, consumerProps(ByteArrayDeserializer.class), 2);
    HttpSchemaRegistryClient fresh =
        new HttpSchemaRegistryClient(
            AvroSerdeConfig.from(
                Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, infra.schemaRegistryUrl())));
    GenericRecord newReadOfV1 = readAs(raw.get(0).value(), EvolutionSchemas.v2(), fresh);
    GenericRecord newReadOfV2 = readAs(raw.get(1).value(), EvolutionSchemas.v2(), fresh);
    assertThat(newReadOfV1.get("priority")).isNull();
    assertThat(newReadOfV1.get("tenant").toString()).isEmpty();
    assertSameData("v2 reader of v1", newReadOfV1, v1Event);
    assertThat(newReadOfV2).isEqualTo(v2Event);
  }

  @Test
  void producerWithAnUnreachableRegistryFailsTheSendRetryably() throws Exception {
    String topic = createTopic("it-noreg");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Map<String, Object> props = producerProps(AvroSerializer.class);
    props.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, "http://127.0.0.1:" + port);
    props.put(AvroSerdeConfig.REQUEST_TIMEOUT_MS, "2000");

    try (KafkaProducer<String, RequestEvent> producer = new KafkaProducer<>(props)) {
      assertThatThrownBy(
              () -> producer.send(new ProducerRecord<>(topic, "k", SampleRecords.requestEvent())))
          .isInstanceOf(SerializationException.class)
          .asInstanceOf(type(SchemaRegistryException.class))
          .satisfies(
              e -> {
                assertThat(e.isRetryable()).isTrue();
                assertThat(e.getMessage()).contains("is unreachable");
              });
    }
  }

  private String createTopic(String prefix) throws Exception {
    String topic = Infra.uniqueName(prefix).replace('_', '-');
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, infra.kafkaBootstrap()))) {
      admin
          .createTopics(List.of(new NewTopic(topic, 1, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    return topic;
  }

  private Map<String, Object> producerProps(Class<?> valueSerializer) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, infra.kafkaBootstrap());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, valueSerializer);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
    p.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, infra.schemaRegistryUrl());
    return p;
  }

  private Map<String, Object> consumerProps(Class<?> valueDeserializer) {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, infra.kafkaBootstrap());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, Infra.uniqueName("it-group"));
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, valueDeserializer);
    p.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, infra.schemaRegistryUrl());
    return p;
  }

  private static <V> List<ConsumerRecord<String, V>> consume(
      String topic, Map<String, Object> props, int expected) {
    List<ConsumerRecord<String, V>> got = new ArrayList<>();
    try (KafkaConsumer<String, V> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(Set.of(topic));
      Infra.await(
          TIMEOUT,
          expected + " records on " + topic,
          () -> {
            consumer.poll(Duration.ofMillis(200)).forEach(got::add);
            return got.size() >= expected;
          });
    }
    assertThat(got).hasSize(expected);
    return got;
  }

  private static byte[] wire(int id, GenericRecord record) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0);
    out.write(ByteBuffer.allocate(4).putInt(id).array());
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(record.getSchema()).write(record, encoder);
    encoder.flush();
    return out.toByteArray();
  }

  /**
   * A v2 consumer: reads the wire header itself and resolves the writer schema found by id against
   * {@code reader}.
   */
  private static GenericRecord readAs(byte[] wire, Schema reader, SchemaRegistryClient registry)
      throws IOException {
    ByteBuffer buffer = ByteBuffer.wrap(wire);
    assertThat(buffer.get()).isZero();
    Schema writer = registry.byId(buffer.getInt());
    return new GenericDatumReader<GenericRecord>(writer, reader)
        .read(null, DecoderFactory.get().binaryDecoder(wire, 5, wire.length - 5, null));
  }
}
