package io.infermeter.streams;

import static io.infermeter.streams.TopologyFixture.engineSample;
import static io.infermeter.streams.TopologyFixture.request;
import static io.infermeter.streams.TopologyFixture.sample;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.ModelAttribution;
import io.infermeter.avro.RequestEvent;
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
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
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
 * Engine state and per-pod attribution on the REAL local broker and registry, exactly-once, outputs
 * read read_committed: a node with two models in two pods on two GPUs (dcgm-exporter pod labels on
 * the samples, the pod on the requests, no GPU id) gets each model's energy on its own GPU only;
 * its vLLM engines at 90 % device memory and 20-30 % KV usage raise no memory alert, and the llama
 * engine's KV saturation fires it on llama's GPU only.
 */
class EngineStateIT {

  private static final long T0_MS = 1_700_000_040_000L;
  private final List<KafkaStreams> running = new ArrayList<>();

  @AfterEach
  void closeAll() {
    running.forEach(s -> s.close(Duration.ofSeconds(20)));
  }

  @Test
  void energyPerModelIsAttributedPerPodAndKvSaturationAlertsOnItsGpu() throws Exception {
    Infra infra = Infra.get();
    String prefix = Infra.uniqueName("engine-state") + "-";
    Map<String, Integer> topics = new LinkedHashMap<>();
    for (var t : List.of(Topics.REQUESTS, Topics.HARDWARE, Topics.ENGINE_STATE)) {
      topics.put(t.withPrefix(prefix).name(), 2);
    }
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
    m.put(
        "windows.max.future",
        "3650d"); // event times of 2023 against today's clock: no clamp needed either way
    m.put("kafka.streams.commit.interval.ms", "200");
    StreamsSettings s = StreamsSettings.fromMap(m);
    assertThat(TopicBootstrap.inputPartitionMismatch(s)).isNull();
    AvroSerdeConfig cfg = AvroSerdeConfig.from(s.serdeConfig());
    TopologySerdes serdes = TopologySerdes.of(new HttpSchemaRegistryClient(cfg), cfg);
    Properties props =
        InfermeterTopology.streamsProperties(s, serdes, new StreamsCounters(), Clock.systemUTC());
    props.put("state.dir", Files.createTempDirectory("engine-it").toString());
    KafkaStreams streams =
        new KafkaStreams(
            InfermeterTopology.build(s, serdes, new StreamsCounters(), Clock.systemUTC()), props);
    running.add(streams);
    streams.start();

    Map<String, Object> p =
        Map.of(
            "bootstrap.servers",
            infra.kafkaBootstrap(),
            "enable.idempotence",
            "true",
            "acks",
            "all");
    try (KafkaProducer<String, RequestEvent> req =
            new KafkaProducer<>(p, new StringSerializer(), serdes.requests().serializer());
        KafkaProducer<String, HardwareSample> hw =
            new KafkaProducer<>(p, new StringSerializer(), serdes.hardware().serializer());
        KafkaProducer<String, EngineSample> eng =
            new KafkaProducer<>(p, new StringSerializer(), serdes.engine().serializer())) {
      // window 0: llama busy 3 s in pod vllm-llama-0, mistral 1 s in pod vllm-mistral-0; no GPU ids
      List<RequestEvent> events = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        events.add(
            request("l" + i, "node-1", "llama", T0_MS + 2000 + i, 0, 100_000, 900_000, 100)
                .setPod("vllm-llama-0")
                .build());
      }
      events.add(
          request("m0", "node-1", "mistral", T0_MS + 3000, 0, 200_000, 800_000, 50)
              .setPod("vllm-mistral-0")
              .build());
      events.add(
          request("close", "node-1", "llama", T0_MS + 95_000, 0, 1000, 1000, 2)
              .setPod("vllm-llama-0")
              .build());
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (RequestEvent e : events) {
        sent.add(
            req.send(
                new ProducerRecord<>(
                    Topics.REQUESTS.withPrefix(prefix).name(),
                    null,
                    e.getCompletedUs() / 1000,
                    e.getHost(),
                    e)));
      }
      req.flush();
      // Sent window by window, each consumed by the app before the next is sent, as samples arrive
      // live: a replay at full speed lets the hardware samples' stream time run a minute ahead of
      // the engine samples', closing windows before their engine state is in (alerts are judged
      // once, when a window closes).
      String group = prefix + "app";
      // 100 s: the memory alert of windows 3-4 resolves after 3 clear windows (5, 6, 7)
      for (int sec = 0; sec <= 100; sec++) {
        if (sec > 0 && sec % 10 == 0) {
          hw.flush();
          eng.flush();
          awaitConsumed(
              group,
              Topics.HARDWARE.withPrefix(prefix).name(),
              Topics.ENGINE_STATE.withPrefix(prefix).name());
        }
        long t = T0_MS + sec * 1000L;
        for (String[] gpu : new String[][] {{"g1", "vllm-llama-0"}, {"g2", "vllm-mistral-0"}}) {
          HardwareSample h =
              sample("node-1", gpu[0], t)
                  .setPowerW(300.0)
                  .setEnergyMj(1_000_000_000L + sec * 300_000L)
                  .setUtilizationPct(70.0)
                  .setMemoryUsedBytes(72_000L)
                  .setMemoryTotalBytes(80_000L)
                  .setThrottleReasons(0L)
                  .setPod(gpu[1])
                  .build();
          sent.add(
              hw.send(
                  new ProducerRecord<>(
                      Topics.HARDWARE.withPrefix(prefix).name(), null, t, "node-1/" + gpu[0], h)));
        }
        if (sec % 10 == 5) {
          boolean saturated = sec >= 30 && sec < 50; // windows 3 and 4
          for (String[] e :
              new String[][] {
                {"10.0.0.1:8000", "vllm-llama-0", "llama"},
                {"10.0.0.1:8001", "vllm-mistral-0", "mistral"}
              }) {
            boolean full = saturated && e[2].equals("llama");
            EngineSample es =
                engineSample("node-1", e[0], t)
                    .setPod(e[1])
                    .setModel(e[2])
                    .setKvCacheUsage(full ? 0.99 : 0.25)
                    .setRequestsRunning(10L)
                    .setRequestsWaiting(full ? 20L : 0L)
                    .setPreemptionsTotal(full ? sec : 0L)
                    .build();
            sent.add(
                eng.send(
                    new ProducerRecord<>(
                        Topics.ENGINE_STATE.withPrefix(prefix).name(), null, t, "node-1", es)));
          }
        }
      }
      hw.flush();
      eng.flush();
      for (Future<RecordMetadata> f : sent) {
        f.get(); // a failed send fails the test here rather than as a missing window later
      }
    }

    Map<String, DeviceWindowEnergy> window0 = new HashMap<>();
    List<Alert> alerts = new ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    try (KafkaConsumer<String, DeviceWindowEnergy> energy =
            consumer(serdes.energy().deserializer());
        KafkaConsumer<String, Alert> alertConsumer = consumer(serdes.alerts().deserializer())) {
      energy.subscribe(List.of(Topics.ENERGY.withPrefix(prefix).name()));
      alertConsumer.subscribe(List.of(Topics.ALERTS.withPrefix(prefix).name()));
      // a device window may close before the request side's usage arrives: the correction re-emits
      // it (newest wins)
      while ((!attributed(window0, "g1") || !attributed(window0, "g2") || alerts.size() < 2)
          && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, DeviceWindowEnergy> r : energy.poll(Duration.ofMillis(300))) {
          if (r.value().getWindowStartUs() == T0_MS * 1000) {
            window0.put(r.value().getDeviceId(), r.value());
          }
        }
        for (ConsumerRecord<String, Alert> r : alertConsumer.poll(Duration.ofMillis(300))) {
          alerts.add(r.value());
        }
      }
    }
    assertThat(window0).containsOnlyKeys("g1", "g2");
    assertThat(window0.get("g1").getAttributions())
        .extracting(ModelAttribution::getModel)
        .containsExactly("llama");
    assertThat(window0.get("g1").getAttributions().get(0).getBusyTimeUs()).isEqualTo(3_000_000L);
    assertThat(window0.get("g2").getAttributions())
        .extracting(ModelAttribution::getModel)
        .containsExactly("mistral");
    assertThat(window0.get("g2").getAttributions().get(0).getBusyTimeUs()).isEqualTo(1_000_000L);
    List<Alert> memory =
        alerts.stream().filter(a -> a.getRule().equals("gpu_memory_high")).toList();
    assertThat(memory)
        .extracting(Alert::getState)
        .containsExactly(AlertState.FIRING, AlertState.RESOLVED);
    assertThat(memory).extracting(Alert::getDeviceId).containsOnly("g1");
    assertThat(memory.get(0).getEvidence()).containsEntry("basis", "kv_cache");
  }

  /** Waits until the consumer group {@code group} has committed the end of every partition. */
  private static void awaitConsumed(String group, String... topics) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", Infra.get().kafkaBootstrap()))) {
      Infra.await(
          Duration.ofSeconds(60),
          "the app consumed " + List.of(topics),
          () -> {
            try {
              return KafkaTopics.committedToEnd(admin, group, List.of(topics));
            } catch (Exception e) {
              return false;
            }
          });
    }
  }

  private static boolean attributed(Map<String, DeviceWindowEnergy> w, String device) {
    return w.containsKey(device) && !w.get(device).getAttributions().isEmpty();
  }

  private static <V> KafkaConsumer<String, V> consumer(Deserializer<V> values) {
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
    return new KafkaConsumer<>(c, new StringDeserializer(), values);
  }
}
