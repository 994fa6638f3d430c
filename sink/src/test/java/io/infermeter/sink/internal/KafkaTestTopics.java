package io.infermeter.sink.internal;

import io.infermeter.schemas.TopicSpec;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.testsupport.Infra;
import io.infermeter.testsupport.KafkaTopics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Unique sink topics on the real local Kafka, and producers of Avro and raw records into them. */
final class KafkaTestTopics implements AutoCloseable {

  final String prefix = Infra.uniqueName("sinkit") + "-";
  final Admin admin;
  private final KafkaProducer<String, SpecificRecord> avro;
  private final KafkaProducer<byte[], byte[]> raw;

  KafkaTestTopics(int partitions) throws Exception {
    String bootstrap = Infra.get().kafkaBootstrap();
    admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
    List<String> names = new ArrayList<>();
    for (TopicSpec<?> t :
        List.of(
            Topics.WINDOW_AGGREGATES,
            Topics.ENERGY,
            Topics.BOTTLENECKS,
            Topics.ALERTS,
            Topics.DEAD_LETTERS,
            Topics.HARDWARE,
            Topics.REQUESTS)) {
      names.add(t.withPrefix(prefix).name());
    }
    KafkaTopics.create(bootstrap, partitions, KafkaTopics.KEEP_FOREVER, names);
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    AvroSerdeConfig serde =
        AvroSerdeConfig.from(
            Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, Infra.get().schemaRegistryUrl()));
    avro =
        new KafkaProducer<>(
            p,
            new StringSerializer(),
            new AvroSerializer<>(new HttpSchemaRegistryClient(serde), serde, false));
    raw = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  String name(TopicSpec<?> spec) {
    return spec.withPrefix(prefix).name();
  }

  <V extends SpecificRecord> void send(TopicSpec<V> spec, String key, V value) throws Exception {
    avro.send(new ProducerRecord<>(name(spec), key, value)).get();
  }

  <V extends SpecificRecord> void sendAll(TopicSpec<V> spec, Map<String, V> records)
      throws Exception {
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    records.forEach((k, v) -> sent.add(avro.send(new ProducerRecord<>(name(spec), k, v))));
    avro.flush();
    for (Future<RecordMetadata> f : sent) {
      f.get(); // a failed send fails the test here rather than as a missing row later
    }
  }

  void sendRaw(TopicSpec<?> spec, byte[] key, byte[] value) throws Exception {
    raw.send(new ProducerRecord<>(name(spec), key, value)).get();
  }

  /** True when the group's committed offsets reached the end of every partition of {@code spec}. */
  boolean committedToEnd(String group, TopicSpec<?> spec) throws Exception {
    return KafkaTopics.committedToEnd(admin, group, List.of(name(spec)));
  }

  @Override
  public void close() {
    avro.close();
    raw.close();
    try {
      admin
          .deleteTopics(
              List.of(
                  name(Topics.WINDOW_AGGREGATES),
                  name(Topics.ENERGY),
                  name(Topics.BOTTLENECKS),
                  name(Topics.ALERTS),
                  name(Topics.DEAD_LETTERS),
                  name(Topics.HARDWARE),
                  name(Topics.REQUESTS)))
          .all()
          .get();
    } catch (Exception e) {
      // best effort; unique names never collide
    }
    admin.close();
  }
}
