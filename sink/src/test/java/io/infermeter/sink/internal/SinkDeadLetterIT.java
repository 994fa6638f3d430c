package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.Topics;
import io.infermeter.testsupport.Infra;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Bad records on the real servers: undecodable bytes, a record the mapper refuses and a row
 * ClickHouse rejects are each dead-lettered with their reason (and, since the sink also consumes
 * the dead-letter topic, end up in dead_letters), while the good records of the same batch are
 * written and the sink keeps running.
 */
class SinkDeadLetterIT {

  @Test
  void badRecordsAreDeadLetteredWithTheReasonAndGoodOnesWritten() throws Exception {
    try (ClickHouseTestDb db =
            new ClickHouseTestDb(Map.of("batch.max.rows", "1000", "batch.max.wait", "300ms"));
        KafkaTestTopics topics = new KafkaTestTopics(1)) {
      db.migrate();
      var config =
          db.config.with(
              Map.of("topic.prefix", topics.prefix, "kafka.group.id", Infra.uniqueName("sink")));
      WindowAggregate good1 = Fixtures.window(0, "h1", "m", 10).build();
      WindowAggregate good2 = Fixtures.window(1, "h1", "m", 20).build();
      WindowAggregate rejectedByClickHouse = Fixtures.window(2, "h1", "m", 30).build();
      rejectedByClickHouse.setWindowEndUs(
          rejectedByClickHouse.getWindowStartUs()); // violates window_is_ordered
      WindowAggregate refusedByMapper = Fixtures.window(3, "h1", "m", 40).setRequests(-5).build();
      byte[] garbage = "not avro at all".getBytes(StandardCharsets.UTF_8);

      topics.send(Topics.WINDOW_AGGREGATES, "k1", good1); // offset 0
      topics.sendRaw(
          Topics.WINDOW_AGGREGATES, "k2".getBytes(StandardCharsets.UTF_8), garbage); // offset 1
      topics.send(Topics.WINDOW_AGGREGATES, "k3", rejectedByClickHouse); // offset 2
      topics.send(Topics.WINDOW_AGGREGATES, "k4", refusedByMapper); // offset 3
      topics.send(Topics.WINDOW_AGGREGATES, "k5", good2); // offset 4
      topics.sendRaw(
          Topics.DEAD_LETTERS, null, garbage); // a broken dead letter: stored, not re-published
      topics.send(
          Topics.HARDWARE,
          "h1/gpu0",
          Fixtures.gpuSample("h1", 0, null, 250.0, 0)); // another topic, same loop

      SinkMetrics metrics = new SinkMetrics(new PrometheusRegistry());
      SinkLoop loop = SinkFactory.loop(config, metrics, Clock.systemUTC());
      Thread t = new Thread(loop, "sink-under-test");
      t.start();
      try {
        Infra.await(
            Duration.ofSeconds(60),
            "good rows and four dead letters stored",
            () -> {
              try {
                return db.longValue("SELECT count() FROM ${db}.window_aggregates FINAL") == 2
                    && db.longValue("SELECT count() FROM ${db}.dead_letters FINAL") == 4
                    && db.longValue("SELECT count() FROM ${db}.hardware_samples FINAL") == 1;
              } catch (Exception e) {
                return false;
              }
            });
      } finally {
        loop.stop();
        t.join(60_000);
      }
      assertThat(db.longValue("SELECT sum(requests) FROM ${db}.window_aggregates FINAL"))
          .isEqualTo(30);
      assertThat(db.rows("SELECT utilization_pct, power_w FROM ${db}.hardware_samples").get(0))
          .containsExactly(null, 250.0);
      String aggregatesTopic = topics.name(Topics.WINDOW_AGGREGATES);
      List<List<Object>> letters =
          db.rows(
              "SELECT reason, source_topic, toString(source_offset), stage, payload_base64, "
                  + "message FROM ${db}.dead_letters FINAL ORDER BY source_topic, source_offset");
      assertThat(letters)
          .extracting(r -> r.get(0) + "@" + r.get(1) + ":" + r.get(2))
          .containsExactly(
              "deserialization@" + topics.name(Topics.DEAD_LETTERS) + ":0",
              "deserialization@" + aggregatesTopic + ":1",
              "clickhouse-rejected@" + aggregatesTopic + ":2",
              "mapping@" + aggregatesTopic + ":3");
      assertThat(letters).allSatisfy(r -> assertThat(r.get(3)).isEqualTo("sink"));
      assertThat(Base64.getDecoder().decode(letters.get(1).get(4).toString())).isEqualTo(garbage);
      assertThat(letters.get(2).get(5).toString()).contains("window_is_ordered");
      assertThat(letters.get(3).get(5).toString()).contains("requests is negative");
      assertThat(metrics.deadLetters(DeadLetters.REJECTED)).isEqualTo(1);
      assertThat(metrics.deadLetters(DeadLetters.DESERIALIZATION)).isEqualTo(2);
      assertThat(metrics.deadLetters(DeadLetters.MAPPING)).isEqualTo(1);
    }
  }
}
