package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.schemas.Topics;
import io.infermeter.testsupport.Infra;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;

/**
 * Engine samples (Topics.ENGINE_STATE) and the pod of hardware samples land in the real ClickHouse
 * through the real sink: one row per sample in engine_samples (a re-delivered record collapses
 * under FINAL), nulls kept as NULL, an absent pod or model as ''.
 */
class SinkEngineSamplesIT {

  private static final Duration WAIT = Duration.ofSeconds(60);

  static EngineSample sample(String host, String instance, int i, Double kv) {
    return EngineSample.newBuilder()
        .setCluster("c1")
        .setRegion("eu-west")
        .setHost(host)
        .setInstance(instance)
        .setPod(i % 2 == 0 ? "vllm-" + instance : null)
        .setEngine("vllm")
        .setModel(i % 3 == 0 ? null : "m" + (i % 3))
        .setSource("scrape")
        .setTimestampUs(Fixtures.T0_US + i * 1_000_000L)
        .setKvCacheUsage(kv)
        .setRequestsRunning((long) i)
        .setRequestsWaiting(i % 4 == 0 ? null : (long) (i % 4))
        .setPreemptionsTotal((long) (i / 10))
        .build();
  }

  @Test
  void engineSamplesAndHardwarePodsReachClickHouse() throws Exception {
    try (ClickHouseTestDb db =
            new ClickHouseTestDb(Map.of("batch.max.rows", "50", "batch.max.wait", "200ms"));
        KafkaTestTopics topics = new KafkaTestTopics(2)) {
      db.migrate();
      topics
          .admin
          .createTopics(
              List.of(
                  new NewTopic(topics.name(Topics.ENGINE_STATE), 2, (short) 1)
                      .configs(Map.of("retention.ms", "-1"))))
          .all()
          .get();
      Map<String, EngineSample> engine = new LinkedHashMap<>();
      int n = 120;
      for (int i = 0; i < n; i++) {
        EngineSample s =
            sample(
                "host-" + (i % 3),
                "10.0.0." + (i % 5) + ":8000",
                i,
                i % 7 == 0 ? null : (i % 10) / 10.0);
        engine.put(s.getHost() + "|" + i, s);
      }
      topics.sendAll(Topics.ENGINE_STATE, engine);
      EngineSample first = engine.values().iterator().next();
      topics.send(Topics.ENGINE_STATE, first.getHost(), first); // re-delivered: one row under FINAL
      HardwareSample gpu = Fixtures.gpuSample("host-0", 0, 50.0, 300.0, 0);
      gpu.setPod("vllm-llama-0");
      topics.send(Topics.HARDWARE, "host-0/" + gpu.getDeviceId(), gpu);

      var config =
          db.config.with(
              Map.of(
                  "topic.prefix",
                  topics.prefix,
                  "kafka.group.id",
                  Infra.uniqueName("sink"),
                  "sink.topics",
                  "engine-state,hardware"));
      SinkLoop loop =
          SinkFactory.loop(config, new SinkMetrics(new PrometheusRegistry()), Clock.systemUTC());
      Thread t = new Thread(loop, "sink-under-test");
      t.start();
      try {
        Infra.await(
            WAIT,
            "engine samples and the hardware sample in ClickHouse",
            () ->
                count(db, "SELECT count() FROM ${db}.engine_samples FINAL") == n
                    && count(db, "SELECT count() FROM ${db}.hardware_samples FINAL") == 1);
      } finally {
        loop.stop();
        t.join(WAIT.toMillis());
      }
      assertThat(db.longValue("SELECT sum(requests_running) FROM ${db}.engine_samples FINAL"))
          .isEqualTo(engine.values().stream().mapToLong(EngineSample::getRequestsRunning).sum());
      assertThat(
              db.longValue(
                  "SELECT countIf(kv_cache_usage IS NULL) FROM ${db}.engine_samples FINAL"))
          .isEqualTo(engine.values().stream().filter(e -> e.getKvCacheUsage() == null).count());
      assertThat(
              db.longValue(
                  "SELECT countIf(requests_waiting IS NULL) FROM ${db}.engine_samples FINAL"))
          .isEqualTo(engine.values().stream().filter(e -> e.getRequestsWaiting() == null).count());
      assertThat(db.longValue("SELECT countIf(pod = '') FROM ${db}.engine_samples FINAL"))
          .isEqualTo(engine.values().stream().filter(e -> e.getPod() == null).count());
      assertThat(db.longValue("SELECT countIf(model = '') FROM ${db}.engine_samples FINAL"))
          .isEqualTo(engine.values().stream().filter(e -> e.getModel() == null).count());
      assertThat(db.doubleValue("SELECT max(kv_cache_usage) FROM ${db}.engine_samples FINAL"))
          .isEqualTo(
              engine.values().stream()
                  .filter(e -> e.getKvCacheUsage() != null)
                  .mapToDouble(EngineSample::getKvCacheUsage)
                  .max()
                  .orElseThrow());
      assertThat(db.rows("SELECT pod FROM ${db}.hardware_samples FINAL"))
          .containsExactly(List.of("vllm-llama-0"));
    }
  }

  private static long count(ClickHouseTestDb db, String sql) {
    try {
      return db.longValue(sql);
    } catch (Exception e) {
      return -1;
    }
  }
}
