package io.infermeter.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.CarbonIntensityUpdate;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The app on the REAL local broker and registry: exactly-once across a restart in the middle of a
 * run, and two instances sharing the partitions. Outputs are read with
 * isolation.level=read_committed.
 */
class StreamsAppIT {

  private static final long T0_MS = 1_700_000_040_000L;
  private static final int HOSTS = 8;
  private final List<KafkaStreams> running = new ArrayList<>();

  @AfterEach
  void closeAll() {
    running.forEach(s -> s.close(Duration.ofSeconds(20)));
  }

  private record Run(String prefix, StreamsSettings settings, TopologySerdes serdes) {}

  private static Run setUp(String name) throws Exception {
    return setUp(name, Map.of());
  }

  private static Run setUp(String name, Map<String, String> extra) throws Exception {
    Infra infra = Infra.get();
    String prefix = Infra.uniqueName(name) + "-";
    Map<String, Integer> topics = new LinkedHashMap<>();
    topics.put(Topics.REQUESTS.withPrefix(prefix).name(), 4);
    topics.put(Topics.HARDWARE.withPrefix(prefix).name(), 4);
    topics.put(Topics.ENGINE_STATE.withPrefix(prefix).name(), 4);
    for (var t :
        List.of(
            Topics.WINDOW_AGGREGATES,
            Topics.ENERGY,
            Topics.BOTTLENECKS,
            Topics.ALERTS,
            Topics.DEAD_LETTERS)) {
      topics.put(t.withPrefix(prefix).name(), 2);
    }
    topics.put(Topics.CARBON_INTENSITY.withPrefix(prefix).name(), 1);
    KafkaTopics.create(infra.kafkaBootstrap(), topics, KafkaTopics.KEEP_FOREVER);
    Map<String, Object> m = new HashMap<>(extra);
    m.put("application.id", prefix + "app");
    m.put("topic.prefix", prefix);
    m.put("kafka.bootstrap.servers", infra.kafkaBootstrap());
    m.put("schema.registry.url", infra.schemaRegistryUrl());
    m.put("windows.sizes", "10s");
    m.put("windows.grace", "1s");
    m.put("kafka.streams.commit.interval.ms", "200");
    StreamsSettings settings = StreamsSettings.fromMap(m);
    AvroSerdeConfig cfg = AvroSerdeConfig.from(settings.serdeConfig());
    return new Run(prefix, settings, TopologySerdes.of(new HttpSchemaRegistryClient(cfg), cfg));
  }

  private KafkaStreams start(Run run) throws Exception {
    StreamsSettings s = run.settings();
    Properties props =
        InfermeterTopology.streamsProperties(
            s, run.serdes(), new StreamsCounters(), Clock.systemUTC());
    props.put("state.dir", Files.createTempDirectory("streams-it").toString());
    KafkaStreams streams =
        new KafkaStreams(
            InfermeterTopology.build(s, run.serdes(), new StreamsCounters(), Clock.systemUTC()),
            props);
    running.add(streams);
    streams.start();
    return streams;
  }

  /**
   * Events i in [from, to): host i % HOSTS, 15 ms apart; every event lands in a window the closers
   * close.
   */
  private static List<RequestEvent> events(int from, int to) {
    List<RequestEvent> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      long t = T0_MS + i * 15L; // event time rises with i: the second half of a run is never late
      out.add(
          TopologyFixture.request(
                  "e" + i, "h" + (i % HOSTS), "m" + (i % 3), t, 1000, 2000, 10_000 + i % 997, 5)
              .build());
    }
    return out;
  }

  /**
   * One event per host far in the future: closes every earlier window (it stays in an open one
   * itself).
   */
  private static List<RequestEvent> closers() {
    List<RequestEvent> out = new ArrayList<>();
    for (int h = 0; h < HOSTS; h++) {
      out.add(
          TopologyFixture.request("close-" + h, "h" + h, "m0", T0_MS + 120_000, 0, 1000, 1000, 2)
              .build());
    }
    return out;
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

  /**
   * Reads committed host-scope aggregates until {@code expected} requests are seen; returns
   * requests per key.
   */
  private static Map<String, Long> readHostCounts(Run run, long expected) {
    Map<String, Object> c =
        Map.of(
            "bootstrap.servers",
            Infra.get().kafkaBootstrap(),
            "group.id",
            Infra.uniqueName("it-reader"),
            "auto.offset.reset",
            "earliest",
            "isolation.level",
            "read_committed");
    Map<String, Long> counts = new ConcurrentHashMap<>();
    Map<String, Integer> emissions = new HashMap<>();
    try (KafkaConsumer<String, WindowAggregate> consumer =
        new KafkaConsumer<>(
            c, new StringDeserializer(), run.serdes().aggregates().deserializer())) {
      consumer.subscribe(List.of(Topics.WINDOW_AGGREGATES.withPrefix(run.prefix()).name()));
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (counts.values().stream().mapToLong(Long::longValue).sum() < expected) {
        if (System.nanoTime() > deadline) {
          break; // the assertions below show what is missing
        }
        for (ConsumerRecord<String, WindowAggregate> r : consumer.poll(Duration.ofMillis(500))) {
          if (r.value().getScope().equals("host")) {
            counts.merge(r.key(), r.value().getRequests(), Long::sum);
            emissions.merge(r.key(), 1, Integer::sum);
          }
        }
      }
      // a little more polling: nothing beyond the expected may arrive (no double counting)
      for (int i = 0; i < 4; i++) {
        for (ConsumerRecord<String, WindowAggregate> r : consumer.poll(Duration.ofMillis(500))) {
          if (r.value().getScope().equals("host")) {
            counts.merge(r.key(), r.value().getRequests(), Long::sum);
            emissions.merge(r.key(), 1, Integer::sum);
          }
        }
      }
    }
    assertThat(emissions.values()).as("each window key emitted once").allMatch(n -> n == 1);
    return counts;
  }

  private static Map<String, Long> expectedCounts(List<RequestEvent> events) {
    Map<String, Long> m = new HashMap<>();
    for (RequestEvent e : events) {
      long t = e.getCompletedUs() / 1000;
      long start = Math.floorDiv(t, 10_000L) * 10_000L;
      String key =
          "host|c1|eu-west-1|" + e.getHost() + "|" + e.getModel() + "|v1|H100|10000|" + start;
      m.merge(key, 1L, Long::sum);
    }
    return m;
  }

  @Test
  void exactlyOnceAcrossARestartInTheMiddleOfARun() throws Exception {
    Run run = setUp("streams-eos");
    int n = 4000;
    KafkaStreams first = start(run);
    produce(run, events(0, n / 2));
    Infra.await(
        Duration.ofSeconds(60),
        "first instance running",
        () -> first.state() == KafkaStreams.State.RUNNING);
    Infra.await(Duration.ofSeconds(60), "first half consumed", () -> committedInput(run) >= n / 2);
    first.close(
        org.apache.kafka.streams.CloseOptions.timeout(Duration.ofSeconds(30))
            .withGroupMembershipOperation(
                org.apache.kafka.streams.CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
    running.remove(first);
    produce(run, events(n / 2, n));
    produce(run, events(0, 200)); // re-sent events after the restart: de-duplicated by event id
    start(run);
    produce(run, closers());
    Map<String, Long> counts = readHostCounts(run, n);
    Map<String, Long> expected = expectedCounts(events(0, n));
    assertThat(counts.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(n);
    assertThat(counts).isEqualTo(expected);
  }

  /**
   * The carbon-intensity series is held by a global store whose processor re-keys every update by
   * (region, time). Updates already in the topic when the app starts reach the store through Kafka
   * Streams' restore, which must replay them through that processor: a store restored by copying
   * the topic's records would hold them under the bare region and every window would fall back to
   * the table (290 g/kWh for eu-west-1).
   */
  @Test
  void carbonSeriesInTheTopicBeforeStartPricesEachWindowAtItsTime() throws Exception {
    Run run = setUp("streams-carbon", Map.of("topics.carbon.intensity.enabled", "true"));
    long t0Us = T0_MS * 1000;
    Map<String, Object> p =
        Map.of("bootstrap.servers", Infra.get().kafkaBootstrap(), "acks", "all");
    try (KafkaProducer<String, CarbonIntensityUpdate> producer =
        new KafkaProducer<>(p, new StringSerializer(), run.serdes().intensities().serializer())) {
      String topic = Topics.CARBON_INTENSITY.withPrefix(run.prefix()).name();
      for (long[] point : new long[][] {{200, t0Us - 3_600_000_000L}, {400, t0Us + 20_000_000}}) {
        CarbonIntensityUpdate u =
            CarbonIntensityUpdate.newBuilder()
                .setRegion("eu-west-1")
                .setGramsPerKwh(point[0])
                .setEffectiveFromUs(point[1])
                .setSource("electricitymaps")
                .build();
        producer.send(new ProducerRecord<>(topic, "eu-west-1", u)).get();
      }
    }
    start(run);
    try (KafkaProducer<String, HardwareSample> producer =
        new KafkaProducer<>(p, new StringSerializer(), run.serdes().hardware().serializer())) {
      String topic = Topics.HARDWARE.withPrefix(run.prefix()).name();
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (int sec = 0; sec <= 60; sec++) {
        long t = T0_MS + sec * 1000L;
        HardwareSample h =
            TopologyFixture.sample("h1", "g1", t)
                .setEnergyMj(1_000_000_000L + sec * 300_000L)
                .setPowerW(300.0)
                .build();
        sent.add(producer.send(new ProducerRecord<>(topic, null, t, "h1/g1", h)));
      }
      for (Future<RecordMetadata> f : sent) {
        f.get();
      }
    }
    Map<Long, DeviceWindowEnergy> windows = new ConcurrentHashMap<>();
    Map<String, Object> c =
        Map.of(
            "bootstrap.servers",
            Infra.get().kafkaBootstrap(),
            "group.id",
            Infra.uniqueName("it-carbon"),
            "auto.offset.reset",
            "earliest",
            "isolation.level",
            "read_committed");
    try (KafkaConsumer<String, DeviceWindowEnergy> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), run.serdes().energy().deserializer())) {
      consumer.subscribe(List.of(Topics.ENERGY.withPrefix(run.prefix()).name()));
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (windows.size() < 3 && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, DeviceWindowEnergy> r : consumer.poll(Duration.ofMillis(500))) {
          long startS = (r.value().getWindowStartUs() - t0Us) / 1_000_000;
          if (r.value().getWindowSizeMs() == 10_000 && startS <= 20) {
            windows.put(startS, r.value());
          }
        }
      }
    }
    assertThat(windows).containsOnlyKeys(0L, 10L, 20L);
    assertThat(windows.get(0L).getCarbonIntensityGPerKwh()).isEqualTo(200.0);
    assertThat(windows.get(10L).getCarbonIntensityGPerKwh()).isEqualTo(200.0);
    assertThat(windows.get(20L).getCarbonIntensityGPerKwh()).isEqualTo(400.0);
    assertThat(windows.values()).allMatch(e -> e.getCarbonIntensitySource().equals("topic"));
  }

  @Test
  void startupCheckNamesInputTopicsWithDifferentPartitionCounts() throws Exception {
    Run same = setUp("streams-copart");
    assertThat(TopicBootstrap.inputPartitionMismatch(same.settings())).isNull();
    String prefix = Infra.uniqueName("streams-mismatch") + "-";
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", Infra.get().kafkaBootstrap()))) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(Topics.REQUESTS.withPrefix(prefix).name(), 4, (short) 1),
                  new NewTopic(Topics.HARDWARE.withPrefix(prefix).name(), 2, (short) 1)))
          .all()
          .get();
    }
    StreamsSettings s =
        StreamsSettings.fromMap(
            Map.of(
                "topic.prefix", prefix, "kafka.bootstrap.servers", Infra.get().kafkaBootstrap()));
    assertThat(TopicBootstrap.inputPartitionMismatch(s))
        .contains("has 4 partitions")
        .contains("has 2")
        .contains(Topics.HARDWARE.withPrefix(prefix).name());
    // the engine-state topic joins the energy task by partition too
    String enginePrefix = Infra.uniqueName("streams-engine-mismatch") + "-";
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", Infra.get().kafkaBootstrap()))) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(Topics.REQUESTS.withPrefix(enginePrefix).name(), 4, (short) 1),
                  new NewTopic(Topics.HARDWARE.withPrefix(enginePrefix).name(), 4, (short) 1),
                  new NewTopic(Topics.ENGINE_STATE.withPrefix(enginePrefix).name(), 1, (short) 1)))
          .all()
          .get();
    }
    StreamsSettings e =
        StreamsSettings.fromMap(
            Map.of(
                "topic.prefix",
                enginePrefix,
                "kafka.bootstrap.servers",
                Infra.get().kafkaBootstrap()));
    assertThat(TopicBootstrap.inputPartitionMismatch(e))
        .contains("has 4 partitions")
        .contains("has 1")
        .contains(Topics.ENGINE_STATE.withPrefix(enginePrefix).name());
  }

  @Test
  void twoInstancesShareThePartitionsAndProduceTheSameResultsAsOne() throws Exception {
    Run run = setUp("streams-two");
    int n = 3000;
    KafkaStreams a = start(run);
    KafkaStreams b = start(run);
    Infra.await(
        Duration.ofSeconds(90),
        "both instances running with tasks",
        () ->
            a.state() == KafkaStreams.State.RUNNING
                && b.state() == KafkaStreams.State.RUNNING
                && !a.metadataForLocalThreads().iterator().next().activeTasks().isEmpty()
                && !b.metadataForLocalThreads().iterator().next().activeTasks().isEmpty());
    produce(run, events(0, n));
    produce(run, closers());
    Map<String, Long> counts = readHostCounts(run, n);
    assertThat(counts).isEqualTo(expectedCounts(events(0, n)));
  }

  @Test
  void undecodableRecordsReachTheDeadLetterTopicThroughTheHandler() throws Exception {
    Run run = setUp("streams-dlq");
    start(run);
    Map<String, Object> p = Map.of("bootstrap.servers", Infra.get().kafkaBootstrap());
    byte[] garbage = "definitely not avro".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            p,
            new StringSerializer(),
            new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      producer
          .send(
              new ProducerRecord<>(Topics.REQUESTS.withPrefix(run.prefix()).name(), "h1", garbage))
          .get();
    }
    produce(run, events(0, 10));
    Map<String, Object> c =
        Map.of(
            "bootstrap.servers",
            Infra.get().kafkaBootstrap(),
            "group.id",
            Infra.uniqueName("it-dlq"),
            "auto.offset.reset",
            "earliest",
            "isolation.level",
            "read_committed");
    List<io.infermeter.avro.DeadLetter> seen = new ArrayList<>();
    try (KafkaConsumer<String, io.infermeter.avro.DeadLetter> consumer =
        new KafkaConsumer<>(
            c, new StringDeserializer(), run.serdes().deadLetters().deserializer())) {
      consumer.subscribe(List.of(Topics.DEAD_LETTERS.withPrefix(run.prefix()).name()));
      Infra.await(
          Duration.ofSeconds(90),
          "a dead letter for the undecodable record",
          () -> {
            consumer.poll(Duration.ofMillis(500)).forEach(r -> seen.add(r.value()));
            return !seen.isEmpty();
          });
    }
    assertThat(seen.get(0).getReason()).isEqualTo("deserialization");
    assertThat(seen.get(0).getPayload().array()).isEqualTo(garbage);
    assertThat(seen.get(0).getSourceTopic())
        .isEqualTo(Topics.REQUESTS.withPrefix(run.prefix()).name());
  }

  /** Sum of the app's committed offsets on the request topic. */
  private static long committedInput(Run run) {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", Infra.get().kafkaBootstrap()))) {
      return admin
          .listConsumerGroupOffsets(run.settings().applicationId())
          .partitionsToOffsetAndMetadata()
          .get()
          .entrySet()
          .stream()
          .filter(e -> e.getKey().topic().equals(Topics.REQUESTS.withPrefix(run.prefix()).name()))
          .mapToLong(e -> e.getValue().offset())
          .sum();
    } catch (Exception e) {
      return -1;
    }
  }
}
