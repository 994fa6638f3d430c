package io.infermeter.demo;

import io.infermeter.schemas.TopicSpec;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroDeserializer;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Prints the first records of a topic, decoded from Avro (schema fetched from the registry by id).
 */
@Command(
    name = "peek",
    mixinStandardHelpOptions = true,
    description =
        "Print the first records of an infermeter topic, decoded from the Confluent Avro wire format.")
final class PeekCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      defaultValue = "infermeter-requests",
      description = "Topic to read (default: ${DEFAULT-VALUE}); one of the infermeter topics.")
  String topic;

  @Option(
      names = {"-n", "--count"},
      defaultValue = "3",
      description = "Records to print (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(
      names = "--timeout",
      defaultValue = "20",
      description = "Seconds to wait for records (default: ${DEFAULT-VALUE}).")
  long timeoutSeconds;

  @Override
  public Integer call() {
    DemoEnvironment env = DemoEnvironment.resolve();
    TopicSpec<?> spec =
        Topics.ALL.stream()
            .filter(t -> t.name().equals(topic))
            .findFirst()
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "unknown topic '"
                            + topic
                            + "'; known: "
                            + Topics.ALL.stream().map(TopicSpec::name).toList()));
    return peek(env, spec);
  }

  private <V extends SpecificRecord> int peek(DemoEnvironment env, TopicSpec<V> spec) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, env.kafkaBootstrap());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "infermeter-peek-" + UUID.randomUUID());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    AvroSerdeConfig config =
        AvroSerdeConfig.from(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, env.schemaRegistryUrl()));
    int printed = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    try (KafkaConsumer<String, V> consumer =
        new KafkaConsumer<>(
            props,
            new StringDeserializer(),
            new AvroDeserializer<>(spec.valueType(), new HttpSchemaRegistryClient(config)))) {
      consumer.subscribe(List.of(spec.name()));
      while (printed < count && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, V> r : consumer.poll(Duration.ofMillis(500))) {
          if (printed++ < count) {
            System.out.printf(
                "%s[%d]@%d key=%s%n  %s%n",
                r.topic(), r.partition(), r.offset(), r.key(), r.value());
          }
        }
      }
    }
    if (printed == 0) {
      System.err.println("no records on " + spec.name() + " within " + timeoutSeconds + " s");
      return 1;
    }
    return 0;
  }
}
