package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.Topics;
import io.infermeter.testsupport.Infra;
import io.infermeter.testsupport.TcpProxy;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Exactly once in effect on the real Kafka and ClickHouse: a sink that dies between insert and
 * commit, and a ClickHouse outage (a TCP proxy taken down and up), leave every aggregate row
 * exactly once in the FINAL view, with counts and sums equal to what was produced.
 */
class SinkExactlyOnceIT {

  private static final Duration WAIT = Duration.ofSeconds(60);

  /** Thrown by the test hook to kill the loop between insert and commit, like a crash. */
  private static final class Crash extends Error {
    Crash() {
      super("simulated crash between insert and commit");
    }
  }

  private static Map<String, WindowAggregate> aggregates(int from, int count, Random random) {
    Map<String, WindowAggregate> out = new LinkedHashMap<>();
    for (int i = from; i < from + count; i++) {
      String host = "host-" + (i % 7);
      long[] lat = new long[1 + random.nextInt(20)];
      for (int j = 0; j < lat.length; j++) {
        lat[j] = 1000L + random.nextInt(500_000);
      }
      WindowAggregate w =
          Fixtures.window(i / 7, host, "model-" + (i % 3), 1 + random.nextInt(1000))
              .setLatencies(List.of(Fixtures.latency("e2e", "warm", Fixtures.histogram(lat))))
              .build();
      out.put(host + "|" + i, w);
    }
    return out;
  }

  private static long sumRequests(Map<String, WindowAggregate> records) {
    return records.values().stream().mapToLong(WindowAggregate::getRequests).sum();
  }

  private static Thread start(SinkLoop loop) {
    Thread t = new Thread(loop, "sink-under-test");
    t.setUncaughtExceptionHandler((th, e) -> {});
    t.start();
    return t;
  }

  @Test
  void restartBetweenInsertAndCommitWritesEveryRowOnce() throws Exception {
    try (ClickHouseTestDb db =
            new ClickHouseTestDb(Map.of("batch.max.rows", "120", "batch.max.wait", "300ms"));
        KafkaTestTopics topics = new KafkaTestTopics(3)) {
      db.migrate();
      String group = Infra.uniqueName("sink");
      var config = db.config.with(Map.of("topic.prefix", topics.prefix, "kafka.group.id", group));
      Map<String, WindowAggregate> records = aggregates(0, 500, new Random(1));
      topics.sendAll(Topics.WINDOW_AGGREGATES, records);

      SinkMetrics first = new SinkMetrics(new PrometheusRegistry());
      SinkLoop crashing = SinkFactory.loop(config, first, Clock.systemUTC());
      AtomicInteger batches = new AtomicInteger();
      crashing.afterInsertHook(
          () -> {
            if (batches.incrementAndGet() == 2) {
              throw new Crash();
            }
          });
      Thread t1 = start(crashing);
      t1.join(WAIT.toMillis());
      assertThat(t1.isAlive()).isFalse();
      double writtenBeforeCrash = first.rowsWritten("window_aggregates");
      assertThat(writtenBeforeCrash).isPositive();

      SinkMetrics second = new SinkMetrics(new PrometheusRegistry());
      SinkLoop restarted = SinkFactory.loop(config, second, Clock.systemUTC());
      Thread t2 = start(restarted);
      try {
        Infra.await(
            WAIT,
            "all aggregates in ClickHouse after the restart",
            () ->
                count(db, "SELECT count() FROM ${db}.window_aggregates FINAL") == records.size()
                    && committed(topics, group));
      } finally {
        restarted.stop();
        t2.join(WAIT.toMillis());
      }
      // The crashed batch was written twice (re-delivered), yet every row counts once.
      assertThat(writtenBeforeCrash + second.rowsWritten("window_aggregates"))
          .isGreaterThan(records.size());
      assertThat(db.longValue("SELECT count() FROM ${db}.window_aggregates FINAL"))
          .isEqualTo(records.size());
      assertThat(db.longValue("SELECT sum(requests) FROM ${db}.window_aggregates FINAL"))
          .isEqualTo(sumRequests(records));
      assertThat(db.longValue("SELECT count() FROM ${db}.window_latency FINAL"))
          .isEqualTo(records.size());
      assertThat(db.longValue("SELECT sum(count) FROM ${db}.window_latency FINAL"))
          .isEqualTo(
              records.values().stream().mapToLong(w -> w.getLatencies().get(0).getCount()).sum());
    }
  }

  @Test
  void clickHouseOutagePausesConsumptionAndCatchesUpWithoutDuplicates() throws Exception {
    URI http = URI.create(Infra.get().clickhouseHttpUrl());
    try (TcpProxy proxy = TcpProxy.to(http.getHost(), http.getPort());
        ClickHouseTestDb db =
            new ClickHouseTestDb(
                Map.of(
                    "batch.max.rows",
                    "100",
                    "batch.max.wait",
                    "200ms",
                    "retry.initial.backoff",
                    "50ms",
                    "retry.max.backoff",
                    "500ms"));
        KafkaTestTopics topics = new KafkaTestTopics(2)) {
      db.migrate();
      String group = Infra.uniqueName("sink");
      var config =
          db.config.with(
              Map.of(
                  "topic.prefix",
                  topics.prefix,
                  "kafka.group.id",
                  group,
                  "clickhouse.url",
                  "jdbc:clickhouse://127.0.0.1:" + proxy.port()));
      Random random = new Random(2);
      Map<String, WindowAggregate> before = aggregates(0, 300, random);
      Map<String, WindowAggregate> during = aggregates(300, 300, random);

      SinkMetrics metrics = new SinkMetrics(new PrometheusRegistry());
      SinkLoop loop = SinkFactory.loop(config, metrics, Clock.systemUTC());
      Thread t = start(loop);
      try {
        topics.sendAll(Topics.WINDOW_AGGREGATES, before);
        Infra.await(
            WAIT,
            "first records written",
            () -> count(db, "SELECT count() FROM ${db}.window_aggregates FINAL") == before.size());

        proxy.down();
        topics.sendAll(Topics.WINDOW_AGGREGATES, during);
        Infra.await(
            WAIT,
            "the sink noticing the outage and pausing",
            () -> metrics.retries() >= 3 && metrics.isPaused());
        assertThat(db.longValue("SELECT count() FROM ${db}.window_aggregates FINAL"))
            .isEqualTo(before.size());
        assertThat(committed(topics, group)).isFalse();

        proxy.up();
        Infra.await(
            WAIT,
            "catching up after the outage",
            () ->
                count(db, "SELECT count() FROM ${db}.window_aggregates FINAL")
                        == before.size() + during.size()
                    && committed(topics, group));
        Infra.await(WAIT, "consumption resumed", () -> !metrics.isPaused());
      } finally {
        loop.stop();
        t.join(WAIT.toMillis());
      }
      long expected = sumRequests(before) + sumRequests(during);
      assertThat(db.longValue("SELECT count() FROM ${db}.window_aggregates FINAL")).isEqualTo(600);
      assertThat(db.longValue("SELECT sum(requests) FROM ${db}.window_aggregates FINAL"))
          .isEqualTo(expected);
      assertThat(db.longValue("SELECT count() FROM ${db}.window_latency FINAL")).isEqualTo(600);
      assertThat(metrics.deadLetters(DeadLetters.REJECTED)).isZero();
    }
  }

  private static long count(ClickHouseTestDb db, String sql) {
    try {
      return db.longValue(sql);
    } catch (Exception e) {
      return -1;
    }
  }

  private static boolean committed(KafkaTestTopics topics, String group) {
    try {
      return topics.committedToEnd(group, Topics.WINDOW_AGGREGATES);
    } catch (Exception e) {
      return false;
    }
  }
}
