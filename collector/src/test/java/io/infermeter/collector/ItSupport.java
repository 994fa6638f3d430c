package io.infermeter.collector;

import io.infermeter.schemas.serde.AvroDeserializer;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.testsupport.Infra;
import io.infermeter.testsupport.KafkaTopics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Shared helpers of the collector's integration tests: topic creation and reading Avro values back.
 */
final class ItSupport {

  private ItSupport() {}

  static void createTopics(String bootstrap, String... names) throws Exception {
    KafkaTopics.create(bootstrap, 3, Map.of(), List.of(names));
  }

  /**
   * Reads {@code topic} from the beginning until {@code done} holds for what was read (or the
   * timeout).
   */
  static <T extends SpecificRecord> List<ConsumerRecord<String, T>> readUntil(
      String topic,
      Class<T> type,
      Duration timeout,
      Predicate<List<ConsumerRecord<String, T>>> done) {
    return readUntil(Infra.get().kafkaBootstrap(), topic, type, timeout, done);
  }

  /** Same, from the broker at {@code bootstrap}. */
  static <T extends SpecificRecord> List<ConsumerRecord<String, T>> readUntil(
      String bootstrap,
      String topic,
      Class<T> type,
      Duration timeout,
      Predicate<List<ConsumerRecord<String, T>>> done) {
    Infra infra = Infra.get();
    AvroDeserializer<T> de =
        new AvroDeserializer<>(
            type,
            new HttpSchemaRegistryClient(
                AvroSerdeConfig.from(Map.of("schema.registry.url", infra.schemaRegistryUrl()))));
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, Infra.uniqueName("collector-it"));
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    List<ConsumerRecord<String, T>> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> c =
        new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      c.subscribe(List.of(topic));
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!done.test(out) && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          out.add(
              new ConsumerRecord<>(
                  r.topic(), r.partition(), r.offset(), r.key(), de.deserialize(topic, r.value())));
        }
      }
    }
    return out;
  }
}
