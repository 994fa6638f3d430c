package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.Topics;
import io.infermeter.testsupport.Infra;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * MEMORY_LIMIT_EXCEEDED on the real ClickHouse: the sink's session gets {@code max_memory_usage} of
 * 4 MB (a clickhouse-jdbc server setting, {@code
 * clickhouse.jdbc.clickhouse_setting_max_memory_usage}), and one batch carries 20 rows of about 200
 * KB each, which the server refuses whole with code 241. The sink splits the insert in halves until
 * each part fits: every row is written once, nothing is dead-lettered, the sink never stalls. The
 * second case needs a row that can never fit whatever the server's per-query overhead: a 1 MB limit
 * and rows whose model string alone is 600 KB (parsing it takes the string plus ClickHouse's 1 MiB
 * read buffer). Each such row is retried {@code retry.unknown.max.attempts} times, then
 * dead-lettered with reason {@code too-large}, and the sink moves on. A limit just below the
 * insert's fixed overhead (about 4 MB here) is not enough: that overhead differs between machines,
 * and small rows then fit.
 */
class SinkMemoryLimitIT {

  private static final int ROWS = Integer.getInteger("it.rows", 60);
  private static final int MODEL_BYTES = Integer.getInteger("it.bytes", 200_000);

  @Test
  void aBatchOverTheServersMemoryLimitIsSplitUntilItFits() throws Exception {
    try (ClickHouseTestDb db =
            new ClickHouseTestDb(
                Map.of(
                    "batch.max.rows",
                    "1000",
                    "batch.max.wait",
                    "1s",
                    "clickhouse.jdbc.clickhouse_setting_max_memory_usage",
                    "10000000",
                    "retry.unknown.max.attempts",
                    "2",
                    "retry.initial.backoff",
                    "50ms",
                    "retry.max.backoff",
                    "200ms"));
        KafkaTestTopics topics = new KafkaTestTopics(1)) {
      db.migrate();
      var config =
          db.config.with(
              Map.of("topic.prefix", topics.prefix, "kafka.group.id", Infra.uniqueName("sink")));
      for (int i = 0; i < ROWS; i++) {
        String model = (i + "-").repeat(MODEL_BYTES / 4); // one distinct large model per row
        WindowAggregate w = Fixtures.window(i, "h" + i, model, 1).build();
        topics.send(Topics.WINDOW_AGGREGATES, "k" + i, w);
      }

      SinkMetrics metrics = new SinkMetrics(new PrometheusRegistry());
      SinkLoop loop = SinkFactory.loop(config, metrics, Clock.systemUTC());
      Thread t = new Thread(loop, "sink-under-test");
      t.start();
      try {
        Infra.await(
            Duration.ofSeconds(90),
            "every row written",
            () -> {
              try {
                return db.longValue("SELECT count() FROM ${db}.window_aggregates FINAL") == ROWS;
              } catch (Exception e) {
                return false;
              }
            });
      } finally {
        loop.stop();
        t.join(60_000);
      }
      assertThat(metrics.splits()).as("inserts split after code 241").isGreaterThanOrEqualTo(1);
      assertThat(db.longValue("SELECT count() FROM ${db}.dead_letters FINAL")).isZero();
      assertThat(metrics.deadLetters(DeadLetters.TOO_LARGE)).isZero();
      assertThat(db.longValue("SELECT uniqExact(model) FROM ${db}.window_aggregates FINAL"))
          .isEqualTo(ROWS);
    }
  }

  @Test
  void aRowThatNeverFitsIsDeadLetteredAfterBoundedRetriesAndTheSinkMovesOn() throws Exception {
    try (ClickHouseTestDb db =
            new ClickHouseTestDb(
                Map.of(
                    "batch.max.rows",
                    "1000",
                    "batch.max.wait",
                    "500ms",
                    "clickhouse.jdbc.clickhouse_setting_max_memory_usage",
                    "1000000",
                    "retry.unknown.max.attempts",
                    "2",
                    "retry.initial.backoff",
                    "50ms",
                    "retry.max.backoff",
                    "200ms",
                    "sink.topics",
                    "window-aggregates"));
        KafkaTestTopics topics = new KafkaTestTopics(1)) {
      db.migrate();
      var config =
          db.config.with(
              Map.of("topic.prefix", topics.prefix, "kafka.group.id", Infra.uniqueName("sink")));
      int rows = 3;
      for (int i = 0; i < rows; i++) {
        String model = ("m" + i + "-").repeat(150_000); // 600 KB: over the 1 MB limit once parsed
        topics.send(
            Topics.WINDOW_AGGREGATES, "k" + i, Fixtures.window(i, "h" + i, model, 1).build());
      }

      SinkMetrics metrics = new SinkMetrics(new PrometheusRegistry());
      SinkLoop loop = SinkFactory.loop(config, metrics, Clock.systemUTC());
      Thread t = new Thread(loop, "sink-under-test");
      t.start();
      try {
        Infra.await(
            Duration.ofSeconds(90),
            "every row dead-lettered",
            () -> metrics.deadLetters(DeadLetters.TOO_LARGE) == rows);
        Infra.await(Duration.ofSeconds(30), "the batch committed", () -> metrics.batches() >= 1);
      } finally {
        loop.stop();
        t.join(60_000);
      }
      assertThat(db.longValue("SELECT count() FROM ${db}.window_aggregates FINAL")).isZero();
      assertThat(metrics.retries()).isGreaterThanOrEqualTo(2);
    }
  }
}
