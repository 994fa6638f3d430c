package io.infermeter.alerts;

import io.infermeter.alerts.internal.AlertMapping;
import io.infermeter.alerts.internal.Delivery;
import io.infermeter.alerts.internal.FiringAlerts;
import io.infermeter.alerts.internal.ForwarderLoop;
import io.infermeter.alerts.internal.ForwarderMetrics;
import io.infermeter.alerts.internal.HttpTransport;
import io.infermeter.avro.Alert;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroDeserializer;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The running alert forwarder: the alerts topic to every configured Alertmanager (API v2), see
 * docs/ALERTING.md. {@link #start} starts its poll thread; {@link #close()} stops it. Thread-safe.
 */
public final class AlertForwarder implements AutoCloseable {

  private final ForwarderLoop loop;
  private final ForwarderMetrics metrics;
  private final ExecutorService senders;
  private final Thread thread;

  private AlertForwarder(ForwarderLoop loop, ForwarderMetrics metrics, ExecutorService senders) {
    this.loop = loop;
    this.metrics = metrics;
    this.senders = senders;
    this.thread = new Thread(loop, "infermeter-alert-forwarder");
  }

  /**
   * Builds the Kafka clients and the Alertmanager client from {@code config} and starts consuming.
   */
  public static AlertForwarder start(ForwarderConfig config, PrometheusRegistry registry) {
    Clock clock = Clock.systemUTC();
    ForwarderMetrics metrics = new ForwarderMetrics(registry);
    HttpSchemaRegistryClient schemaRegistry =
        new HttpSchemaRegistryClient(AvroSerdeConfig.from(config.serdeConfig()));
    AvroDeserializer<Alert> deserializer = new AvroDeserializer<>(Alert.class, schemaRegistry);
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            consumerProps(config, true), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    ExecutorService senders =
        Executors.newFixedThreadPool(
            config.alertmanagers().size(),
            r -> {
              Thread t = new Thread(r, "infermeter-alertmanager-sender");
              t.setDaemon(true);
              return t;
            });
    CountDownLatch stopping = new CountDownLatch(1);
    Delivery delivery =
        new Delivery(
            config.alertmanagers(),
            new HttpTransport(config.requestTimeout(), config.authorization()),
            clock,
            ForwarderLoop.sleeper(stopping),
            config.retryInitialBackoff(),
            config.retryMaxBackoff(),
            config.retryGiveUpAfter(),
            metrics,
            senders);
    ForwarderLoop loop =
        new ForwarderLoop(
            consumer,
            () ->
                new KafkaConsumer<>(
                    consumerProps(config, false),
                    new ByteArrayDeserializer(),
                    new ByteArrayDeserializer()),
            deserializer,
            Topics.ALERTS.withPrefix(config.topicPrefix()).name(),
            new AlertMapping(
                config.resendTimeout(), config.externalLabels(), config.generatorUrl()),
            delivery,
            new FiringAlerts(config.resendInterval(), config.firingMax()),
            metrics,
            clock,
            config.pollTimeout(),
            config.rebuildLookback(),
            stopping);
    AlertForwarder forwarder = new AlertForwarder(loop, metrics, senders);
    forwarder.thread.start();
    return forwarder;
  }

  /**
   * Consumer settings; the rebuild consumer ({@code group = false}) reads without a group and
   * commits nothing.
   */
  static Map<String, Object> consumerProps(ForwarderConfig config, boolean group) {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
    p.put(
        ConsumerConfig.CLIENT_ID_CONFIG,
        group ? "infermeter-alert-forwarder" : "infermeter-alert-forwarder-rebuild");
    p.put(
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
        "latest"); // unused: a partition without an offset is sought
    // The streams app writes with exactly_once_v2: never forward what an aborted transaction wrote.
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    // A delivery may retry for alertmanager.retry.give.up.after (per Alertmanager in parallel)
    // between two polls.
    long deliveryMs =
        config
            .retryGiveUpAfter()
            .plus(config.requestTimeout())
            .multipliedBy(2)
            .plus(Duration.ofMinutes(1))
            .toMillis();
    p.put(
        ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG,
        (int) Math.min(Integer.MAX_VALUE, Math.max(300_000, deliveryMs)));
    p.putAll(config.consumerOverrides());
    // Offsets are committed only after delivery: never auto-commit, whatever the overrides say.
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    if (!group) {
      p.remove(ConsumerConfig.GROUP_ID_CONFIG);
      p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
    }
    return p;
  }

  /** True while partitions are assigned, rebuilt and being consumed (for {@code /-/ready}). */
  public boolean isReady() {
    return loop.isReady();
  }

  /** Whether the poll thread is still running (for {@code /-/healthy}). */
  public boolean isAlive() {
    return thread.isAlive();
  }

  public ForwarderMetrics metrics() {
    return metrics;
  }

  /** Waits until the forwarder has stopped; returns the error that stopped it, or null. */
  public RuntimeException awaitTermination() throws InterruptedException {
    loop.awaitTermination();
    return loop.failure();
  }

  /**
   * Stops consuming; an in-flight delivery is abandoned without committing (it is repeated after a
   * restart).
   */
  @Override
  public void close() {
    try {
      loop.stop(Duration.ofSeconds(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      senders.shutdownNow();
    }
  }
}
