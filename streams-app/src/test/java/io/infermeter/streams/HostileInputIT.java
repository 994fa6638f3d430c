package io.infermeter.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.streams.support.DeadLetters;
import io.infermeter.streams.support.StreamsCounters;
import io.infermeter.testsupport.Infra;
import io.infermeter.testsupport.KafkaTopics;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The line that broke the streams app, on the REAL local broker and registry: the Avro RequestEvent
 * the collector makes of {@code {"model":"<65,536 x m>", ...}} (and of a span whose status message
 * is as long), sent among healthy traffic. Before the varint codec the commit flush of
 * request-window-store failed on it, the thread was replaced and failed again, and no window came
 * out meanwhile. Now the app stays RUNNING, dead-letters it (default limits) or stores and emits it
 * (dimension limit raised: the codec itself has no 64 KiB limit), and every healthy window after it
 * appears.
 */
class HostileInputIT {

  private static final long T0_MS = 1_700_000_040_000L;
  private static final String MODEL_64K = "m".repeat(65_536);
  private final List<KafkaStreams> running = new ArrayList<>();

  /** Stream-thread failures (each would replace the thread): none may happen. */
  private final List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();

  @AfterEach
  void closeAll() {
    running.forEach(s -> s.close(Duration.ofSeconds(20)));
  }

  private record Run(
      String prefix, StreamsSettings settings, TopologySerdes serdes, StreamsCounters counters) {}

  private static Run setUp(String name, Map<String, String> overrides) throws Exception {
    Infra infra = Infra.get();
    String prefix = Infra.uniqueName(name) + "-";
    Map<String, Integer> topics = new LinkedHashMap<>();
    topics.put(Topics.REQUESTS.withPrefix(prefix).name(), 2);
    topics.put(Topics.HARDWARE.withPrefix(prefix).name(), 2);
    topics.put(Topics.ENGINE_STATE.withPrefix(prefix).name(), 2);
    for (var t :
        List.of(
            Topics.WINDOW_AGGREGATES,
            Topics.ENERGY,
            Topics.BOTTLENECKS,
            Topics.ALERTS,
            Topics.DEAD_LETTERS)) {
      topics.put(t.withPrefix(prefix).name(), 1);
    }
    KafkaTopics.create(infra.kafkaBootstrap(), topics, KafkaTopics.KEEP_FOREVER);
    Map<String, Object> m = new HashMap<>();
    m.put("application.id", prefix + "app");
    m.put("topic.prefix", prefix);
    m.put("kafka.bootstrap.servers", infra.kafkaBootstrap());
    m.put("schema.registry.url", infra.schemaRegistryUrl());
    m.put("windows.sizes", "10s");
    m.put("windows.grace", "1s");
    m.put("kafka.streams.commit.interval.ms", "200");
    m.putAll(overrides);
    StreamsSettings settings = StreamsSettings.fromMap(m);
    AvroSerdeConfig cfg = AvroSerdeConfig.from(settings.serdeConfig());
    return new Run(
        prefix,
        settings,
        TopologySerdes.of(new HttpSchemaRegistryClient(cfg), cfg),
        new StreamsCounters());
  }

  private KafkaStreams start(Run run) throws Exception {
    Properties props =
        InfermeterTopology.streamsProperties(
            run.settings(), run.serdes(), run.counters(), Clock.systemUTC());
    props.put("state.dir", Files.createTempDirectory("streams-hostile-it").toString());
    KafkaStreams streams =
        new KafkaStreams(
            InfermeterTopology.build(
                run.settings(), run.serdes(), run.counters(), Clock.systemUTC()),
            props);
    streams.setUncaughtExceptionHandler(
        e -> {
          failures.add(e);
          return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
              .StreamThreadExceptionResponse.REPLACE_THREAD;
        });
    running.add(streams);
    streams.start();
    Infra.await(
        Duration.ofSeconds(60),
        "streams running",
        () -> streams.state() == KafkaStreams.State.RUNNING);
    return streams;
  }

  /** Ten healthy requests per host h0..h3 in 10 s window {@code w}. */
  private static List<RequestEvent> healthy(int w) {
    List<RequestEvent> out = new ArrayList<>();
    for (int h = 0; h < 4; h++) {
      for (int i = 0; i < 10; i++) {
        out.add(
            TopologyFixture.request(
                    "w" + w + "-h" + h + "-" + i,
                    "h" + h,
                    "m1",
                    T0_MS + w * 10_000L + i * 300L,
                    1000,
                    2000,
                    10_000,
                    5)
                .build());
      }
    }
    return out;
  }

  /**
   * The 64 KiB model line, and a failed request whose error type (a span's status message) is as
   * long.
   */
  private static List<RequestEvent> hostile() {
    return List.of(
        TopologyFixture.request("evil-model", "h1", MODEL_64K, T0_MS + 5_000, 1000, 2000, 10_000, 5)
            .build(),
        TopologyFixture.request("evil-error", "h2", "m1", T0_MS + 5_100, 1000, 2000, 10_000, 5)
            .setStatus(RequestStatus.ERROR)
            .setErrorType("E".repeat(65_536))
            .build());
  }

  private static void produce(Run run, List<RequestEvent> events) throws Exception {
    Map<String, Object> p =
        Map.of(
            "bootstrap.servers",
            Infra.get().kafkaBootstrap(),
            "enable.idempotence",
            "true",
            "acks",
            "all");
    try (KafkaProducer<String, RequestEvent> producer =
        new KafkaProducer<>(p, new StringSerializer(), run.serdes().requests().serializer())) {
      String topic = Topics.REQUESTS.withPrefix(run.prefix()).name();
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (RequestEvent e : events) {
        sent.add(
            producer.send(
                new ProducerRecord<>(topic, null, e.getCompletedUs() / 1000, e.getHost(), e)));
      }
      producer.flush();
      for (Future<RecordMetadata> f : sent) {
        f.get(); // a failed send fails the test here rather than as a missing window later
      }
    }
  }

  private static <V> List<V> readUntil(
      Run run,
      io.infermeter.schemas.TopicSpec<?> topic,
      Deserializer<V> de,
      int atLeast,
      java.util.function.Predicate<V> filter) {
    Map<String, Object> c =
        Map.of(
            "bootstrap.servers",
            Infra.get().kafkaBootstrap(),
            "group.id",
            Infra.uniqueName("it-hostile"),
            "auto.offset.reset",
            "earliest",
            "isolation.level",
            "read_committed",
            "fetch.max.bytes",
            String.valueOf(8 << 20),
            "max.partition.fetch.bytes",
            String.valueOf(8 << 20));
    List<V> seen = new ArrayList<>();
    try (KafkaConsumer<String, V> consumer = new KafkaConsumer<>(c, new StringDeserializer(), de)) {
      consumer.subscribe(List.of(topic.withPrefix(run.prefix()).name()));
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (seen.size() < atLeast && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, V> r : consumer.poll(Duration.ofMillis(500))) {
          if (filter.test(r.value())) {
            seen.add(r.value());
          }
        }
      }
    }
    return seen;
  }

  /**
   * Sends windows 0..3 of healthy traffic with the hostile records in window 0, and a closer for
   * window 3.
   */
  private static void sendTraffic(Run run) throws Exception {
    produce(run, healthy(0));
    produce(run, hostile());
    for (int w = 1; w < 4; w++) {
      produce(run, healthy(w));
    }
    List<RequestEvent> closers = new ArrayList<>();
    for (int h = 0; h < 4; h++) {
      closers.add(
          TopologyFixture.request("close-" + h, "h" + h, "m1", T0_MS + 45_000, 0, 1000, 1000, 2)
              .build());
    }
    produce(run, closers);
  }

  @Test
  void aModelOf64KiBIsDeadLetteredAndTheNextWindowsAppear() throws Exception {
    Run run = setUp("streams-hostile", Map.of());
    KafkaStreams streams = start(run);
    sendTraffic(run);
    // windows 0..3 of h0..h3 (m1): 16 host aggregates, 160 healthy requests plus the failed one
    // with the long error
    List<WindowAggregate> aggs =
        readUntil(
            run,
            Topics.WINDOW_AGGREGATES,
            run.serdes().aggregates().deserializer(),
            16,
            a -> a.getScope().equals("host") && a.getModel().equals("m1"));
    assertThat(aggs).hasSize(16);
    assertThat(aggs.stream().mapToLong(WindowAggregate::getRequests).sum()).isEqualTo(161);
    assertThat(aggs)
        .extracting(WindowAggregate::getWindowStartUs)
        .contains((T0_MS + 30_000) * 1000);
    WindowAggregate withError =
        aggs.stream().filter(a -> a.getErrors() == 1).findFirst().orElseThrow();
    assertThat(withError.getErrorsByType()).containsValue(1L);
    assertThat(withError.getErrorsByType().keySet().iterator().next()).hasSize(256);
    List<DeadLetter> dead =
        readUntil(
            run, Topics.DEAD_LETTERS, run.serdes().deadLetters().deserializer(), 1, d -> true);
    assertThat(dead)
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.getReason()).isEqualTo(DeadLetters.DIMENSION_TOO_LONG);
              assertThat(d.getMessage()).contains("model is 65536 bytes");
              assertThat(d.getPayload().remaining()).isLessThanOrEqualTo(65_536);
            });
    assertThat(streams.state()).isEqualTo(KafkaStreams.State.RUNNING);
    assertThat(failures).as("stream threads failed").isEmpty();
    assertThat(run.counters().stateEncodeFailures.sum()).isZero();
    assertThat(run.counters().errorTypesTruncated.sum()).isEqualTo(1);
  }

  @Test
  void aModelOf64KiBUnderARaisedLimitIsStoredCommittedAndEmitted() throws Exception {
    // the original failure path: the record reaches request-window-store, whose commit flush wrote
    // it with writeUTF
    Run run =
        setUp(
            "streams-hostile-raised",
            Map.of(
                "limits.dimension.max.bytes", "1048576", "limits.error.type.max.bytes", "1048576"));
    KafkaStreams streams = start(run);
    sendTraffic(run);
    List<WindowAggregate> aggs =
        readUntil(
            run,
            Topics.WINDOW_AGGREGATES,
            run.serdes().aggregates().deserializer(),
            17,
            a -> a.getScope().equals("host"));
    assertThat(aggs).anyMatch(a -> a.getModel().equals(MODEL_64K) && a.getRequests() == 1);
    assertThat(aggs).filteredOn(a -> a.getModel().equals("m1")).hasSize(16);
    assertThat(aggs)
        .filteredOn(a -> a.getModel().equals("m1"))
        .extracting(WindowAggregate::getWindowStartUs)
        .contains((T0_MS + 30_000) * 1000);
    assertThat(streams.state()).isEqualTo(KafkaStreams.State.RUNNING);
    assertThat(failures).as("stream threads failed").isEmpty();
    assertThat(run.counters().stateEncodeFailures.sum()).isZero();
    assertThat(run.counters().deadLetterTotal()).isZero();
  }
}
