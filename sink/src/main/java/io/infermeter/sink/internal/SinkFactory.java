package io.infermeter.sink.internal;

import io.infermeter.avro.Alert;
import io.infermeter.avro.Bottleneck;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroDeserializer;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.schemas.serde.SchemaRegistryClient;
import io.infermeter.sink.SinkConfig;
import java.sql.SQLException;
import java.time.Clock;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Wires a {@link SinkLoop} from a {@link SinkConfig}: Kafka clients, serdes, writer, handlers. */
public final class SinkFactory {

  private SinkFactory() {}

  /** Placeholder values of the migrations for {@code config}. */
  public static Map<String, String> placeholders(SinkConfig config) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("database", config.database());
    config.ttlDays().forEach((table, days) -> p.put("ttl_days_" + table, Integer.toString(days)));
    return p;
  }

  /**
   * Applies the bundled migrations to the configured database; returns the versions applied now.
   */
  public static List<Integer> migrate(SinkConfig config) throws SQLException {
    try (ClickHouseWriter writer = writer(config)) {
      return MigrationRunner.fromClasspath()
          .withCluster(config.cluster())
          .migrate(writer.connection(), placeholders(config));
    }
  }

  public static ClickHouseWriter writer(SinkConfig config) {
    return new ClickHouseWriter(
        config.clickhouseUrl(),
        config.user(),
        config.password(),
        config.database(),
        config.jdbcOverrides());
  }

  /** Rows of dead_letters: the payload scrubbed of prompt/completion fields and cut first. */
  static RowMappers.RowMapper<DeadLetter> storedDeadLetter(DeadLetterPayloads payloads) {
    return (d, partition, offset, out) ->
        RowMappers.deadLetter(payloads.scrub(d), partition, offset, out);
  }

  /** The loop with real Kafka clients and a registry client from the config. */
  public static SinkLoop loop(SinkConfig config, SinkMetrics metrics, Clock clock) {
    SchemaRegistryClient registry =
        new HttpSchemaRegistryClient(AvroSerdeConfig.from(config.serdeConfig()));
    return loop(config, metrics, clock, registry);
  }

  public static SinkLoop loop(
      SinkConfig config, SinkMetrics metrics, Clock clock, SchemaRegistryClient registry) {
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            consumerProperties(config), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    AvroSerdeConfig serdeConfig = AvroSerdeConfig.from(config.serdeConfig());
    KafkaProducer<byte[], DeadLetter> producer =
        new KafkaProducer<>(
            producerProperties(config),
            new ByteArraySerializer(),
            new AvroSerializer<>(registry, serdeConfig, false));
    return loop(config, metrics, clock, registry, consumer, producer);
  }

  /**
   * The consumer's settings: the sink's defaults ({@code isolation.level=read_committed} among
   * them), then {@code kafka.*} and {@code kafka.consumer.*}; auto-commit is forced off.
   */
  public static Map<String, Object> consumerProperties(SinkConfig config) {
    Map<String, Object> consumerProps = new HashMap<>();
    consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
    consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
    consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    consumerProps.put(
        ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Math.min(config.batchMaxRows(), 5000));
    consumerProps.put(ConsumerConfig.CLIENT_ID_CONFIG, "infermeter-sink");
    // Larger fetches keep the next batch arriving while the current one is being inserted.
    consumerProps.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 * 1024 * 1024);
    consumerProps.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024);
    // The streams app writes with exactly_once_v2: never store what an aborted transaction wrote.
    consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    consumerProps.putAll(config.consumerOverrides());
    // Offsets are committed only after ClickHouse acknowledged the batch: never auto-commit,
    // whatever the overrides say.
    consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    return consumerProps;
  }

  /**
   * The dead-letter producer's settings: {@code kafka.*} and {@code kafka.producer.*} over the
   * sink's defaults.
   */
  public static Map<String, Object> producerProperties(SinkConfig config) {
    Map<String, Object> producerProps = new HashMap<>();
    producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
    producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
    producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    producerProps.put(ProducerConfig.CLIENT_ID_CONFIG, "infermeter-sink-dlq");
    producerProps.putAll(config.producerOverrides());
    return producerProps;
  }

  private static SinkLoop loop(
      SinkConfig config,
      SinkMetrics metrics,
      Clock clock,
      SchemaRegistryClient registry,
      KafkaConsumer<byte[], byte[]> consumer,
      KafkaProducer<byte[], DeadLetter> producer) {
    String prefix = config.topicPrefix();
    Map<String, TopicHandler<?>> handlers = new LinkedHashMap<>();
    for (String name : config.topics()) {
      switch (name) {
        case "window-aggregates" ->
            handlers.put(
                Topics.WINDOW_AGGREGATES.withPrefix(prefix).name(),
                new TopicHandler<>(
                    new AvroDeserializer<>(WindowAggregate.class, registry),
                    RowMappers::windowAggregate,
                    false));
        case "energy" ->
            handlers.put(
                Topics.ENERGY.withPrefix(prefix).name(),
                new TopicHandler<>(
                    new AvroDeserializer<>(DeviceWindowEnergy.class, registry),
                    RowMappers::energy,
                    false));
        case "bottlenecks" ->
            handlers.put(
                Topics.BOTTLENECKS.withPrefix(prefix).name(),
                new TopicHandler<>(
                    new AvroDeserializer<>(Bottleneck.class, registry),
                    RowMappers::bottleneck,
                    false));
        case "alerts" ->
            handlers.put(
                Topics.ALERTS.withPrefix(prefix).name(),
                new TopicHandler<>(
                    new AvroDeserializer<>(Alert.class, registry), RowMappers::alert, false));
        case "dead-letters" ->
            handlers.put(
                Topics.DEAD_LETTERS.withPrefix(prefix).name(),
                new TopicHandler<>(
                    new AvroDeserializer<>(DeadLetter.class, registry),
                    storedDeadLetter(new DeadLetterPayloads(config.deadLetterMaxPayloadBytes())),
                    true));
        case "hardware" ->
            handlers.put(
                Topics.HARDWARE.withPrefix(prefix).name(),
                new TopicHandler<>(
                    new AvroDeserializer<>(HardwareSample.class, registry),
                    RowMappers::hardware,
                    false));
        case "engine-state" ->
            handlers.put(
                Topics.ENGINE_STATE.withPrefix(prefix).name(),
                new TopicHandler<>(
                    new AvroDeserializer<>(EngineSample.class, registry),
                    RowMappers::engine,
                    false));
        default -> throw new IllegalArgumentException("unknown topic " + name);
      }
    }
    RowWriter writer = writer(config);
    if (config.rawRequestsEnabled()) {
      RawRequests raw =
          new RawRequests(config.rawRequestsSampleRatio(), config.rawRequestsWindowSizes());
      handlers.put(
          Topics.REQUESTS.withPrefix(prefix).name(),
          new TopicHandler<>(
              new AvroDeserializer<>(RequestEvent.class, registry), raw::map, false));
      writer =
          new RawRequestWriter(writer, RawRequestWriter.client(config), config.shutdownTimeout());
    }
    return new SinkLoop(
            consumer,
            producer,
            Topics.DEAD_LETTERS.withPrefix(prefix).name(),
            writer,
            handlers,
            metrics,
            clock,
            config.batchMaxRows(),
            config.batchMaxWait(),
            config.pollTimeout(),
            config.retryInitialBackoff(),
            config.retryMaxBackoff(),
            config.shutdownTimeout())
        .limits(config.retryUnknownMaxAttempts(), config.deadLetterMaxPayloadBytes());
  }
}
