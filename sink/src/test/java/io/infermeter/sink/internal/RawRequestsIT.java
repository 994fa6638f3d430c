package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.RequestTimings;
import io.infermeter.schemas.SampleRecords;
import io.infermeter.schemas.Topics;
import io.infermeter.sink.SinkConfig;
import io.infermeter.testsupport.Infra;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/**
 * The raw request path on the real servers: request events from Kafka land in {@code requests}
 * through client-v2's RowBinary insert, one row each; reading the topic again does not double them;
 * absurd records are dead-lettered while the rest of their batch is written; a sample ratio keeps
 * exactly the events the documented SQL hash keeps.
 */
class RawRequestsIT {

  /** The fixtures' times are months old: a 7-day TTL would drop their rows on insert. */
  static final Map<String, String> DB =
      Map.of(
          "batch.max.rows",
          "1000",
          "batch.max.wait",
          "300ms",
          "clickhouse.ttl.days.requests",
          "3650");

  /** Requests spread over 4 hosts and 2 models, 250 ms apart, built from schemas' SampleRecords. */
  static RequestEvent request(int i) {
    long completed = Fixtures.T0_US + i * 250_000L;
    long arrival = completed - 200_000L - (i % 17) * 10_000L;
    return RequestEvent.newBuilder(SampleRecords.requestEvent())
        .setEventId("evt-" + i)
        .setRequestId("req-" + i)
        .setHost("h" + (i % 4))
        .setModel(i % 2 == 0 ? "m-a" : "m-b")
        .setArrivalUs(arrival)
        .setScheduledUs(arrival + 1_000)
        .setFirstTokenUs(arrival + 20_000L + (i % 5) * 1_000L)
        .setCompletedUs(completed)
        .setInputTokens(100 + i)
        .setOutputTokens(50)
        .setColdStart(i % 50 == 0)
        .build();
  }

  private static void runUntil(
      SinkConfig config, SinkMetrics metrics, String what, Callable<Boolean> done)
      throws Exception {
    SinkLoop loop = SinkFactory.loop(config, metrics, Clock.systemUTC());
    Thread t = new Thread(loop, "sink-under-test");
    t.start();
    try {
      Infra.await(
          Duration.ofSeconds(90),
          what,
          () -> {
            try {
              return done.call();
            } catch (Exception e) {
              return false;
            }
          });
    } finally {
      loop.stop();
      t.join(60_000);
    }
  }

  @Test
  void everyRequestOnceEvenWhenTheTopicIsReadTwice() throws Exception {
    int n = 2_000;
    try (ClickHouseTestDb db = new ClickHouseTestDb(DB);
        KafkaTestTopics topics = new KafkaTestTopics(2)) {
      db.migrate();
      SinkConfig config =
          db.config.with(
              Map.of(
                  "topic.prefix",
                  topics.prefix,
                  "sink.topics",
                  "window-aggregates",
                  "kafka.group.id",
                  Infra.uniqueName("sink")));
      for (int i = 0; i < n; i++) {
        RequestEvent e = request(i);
        topics.send(Topics.REQUESTS, e.getHost(), e);
      }
      String count = "SELECT count() FROM ${db}.requests FINAL";
      SinkMetrics metrics = new SinkMetrics(new PrometheusRegistry());
      runUntil(config, metrics, n + " requests stored", () -> db.longValue(count) == n);
      assertThat(db.longValue("SELECT uniqExact(event_id) FROM ${db}.requests")).isEqualTo(n);

      // every field of one row as the mapper defines it
      RequestEvent e = request(1234);
      List<Object> row =
          db.rows(
                  "SELECT toUnixTimestamp64Micro(completed_at), request_id, host, model, e2e_us, "
                      + "ttft_us, queue_us, tpot_us, input_tokens, toUnixTimestamp64Micro(window_starts[10000]), "
                      + "toUnixTimestamp64Micro(window_starts[60000]), attributes['tenant'], status, cold_start "
                      + "FROM ${db}.requests FINAL WHERE event_id = 'evt-1234'")
              .get(0);
      long ms = e.getCompletedUs() / 1000;
      assertThat(row)
          .extracting(Object::toString)
          .containsExactly(
              Long.toString(e.getCompletedUs()),
              "req-1234",
              e.getHost(),
              e.getModel(),
              Long.toString(RequestTimings.e2eUs(e).getAsLong()),
              Long.toString(RequestTimings.ttftUs(e).getAsLong()),
              Long.toString(RequestTimings.queueUs(e).getAsLong()),
              Long.toString(RequestTimings.tpotUs(e).getAsLong()),
              Integer.toString(e.getInputTokens()),
              Long.toString(ms / 10_000 * 10_000_000L),
              Long.toString(ms / 60_000 * 60_000_000L),
              "acme",
              "ERROR",
              "false");

      // a second consumer group reads the whole topic again: the re-delivered copies replace
      // themselves
      SinkConfig again = config.with(Map.of("kafka.group.id", Infra.uniqueName("sink-again")));
      SinkMetrics second = new SinkMetrics(new PrometheusRegistry());
      runUntil(
          again,
          second,
          "topic read again",
          () -> topics.committedToEnd(again.groupId(), Topics.REQUESTS));
      assertThat(second.rowsWritten("requests"))
          .as("every row inserted a second time")
          .isEqualTo(n);
      assertThat(db.longValue(count)).isEqualTo(n);
      db.connection.createStatement().execute("OPTIMIZE TABLE " + db.database + ".requests FINAL");
      assertThat(db.longValue("SELECT count() FROM ${db}.requests")).isEqualTo(n);
    }
  }

  @Test
  void absurdRecordsAreDeadLetteredAndTheirBatchWritten() throws Exception {
    try (ClickHouseTestDb db = new ClickHouseTestDb(DB);
        KafkaTestTopics topics = new KafkaTestTopics(1)) {
      db.migrate();
      SinkConfig config =
          db.config.with(
              Map.of(
                  "topic.prefix",
                  topics.prefix,
                  "sink.topics",
                  "dead-letters",
                  "kafka.group.id",
                  Infra.uniqueName("sink")));
      topics.send(Topics.REQUESTS, "h0", request(0)); // offset 0
      topics.send(
          Topics.REQUESTS,
          "h1",
          RequestEvent.newBuilder(request(1)).setCompletedUs(1).build()); // 1
      topics.send(
          Topics.REQUESTS,
          "h2",
          RequestEvent.newBuilder(request(2)).setOutputTokens(-7).build()); // 2
      topics.send(
          Topics.REQUESTS,
          "h3",
          RequestEvent.newBuilder(request(3)).setCompletedUs(Long.MAX_VALUE / 2).build()); // 3
      topics.sendRaw(
          Topics.REQUESTS,
          "h0".getBytes(StandardCharsets.UTF_8),
          "not avro".getBytes(StandardCharsets.UTF_8)); // 4
      topics.send(
          Topics.REQUESTS, "h1", RequestEvent.newBuilder(request(5)).setEventId("").build()); // 5
      topics.send(Topics.REQUESTS, "h2", request(6)); // 6
      SinkMetrics metrics = new SinkMetrics(new PrometheusRegistry());
      runUntil(
          config,
          metrics,
          "good requests stored and the bad ones dead-lettered",
          () ->
              db.longValue("SELECT count() FROM ${db}.requests FINAL") == 2
                  && db.longValue("SELECT count() FROM ${db}.dead_letters FINAL") == 5);
      assertThat(db.rows("SELECT event_id FROM ${db}.requests FINAL ORDER BY event_id"))
          .extracting(r -> r.get(0))
          .containsExactly("evt-0", "evt-6");
      assertThat(
              db.rows(
                  "SELECT reason, toString(source_offset), message FROM ${db}.dead_letters FINAL "
                      + "ORDER BY source_offset"))
          .extracting(r -> r.get(0) + "@" + r.get(1))
          .containsExactly("mapping@1", "mapping@2", "mapping@3", "deserialization@4", "mapping@5");
      assertThat(
              db.rows("SELECT message FROM ${db}.dead_letters FINAL WHERE source_offset = 2")
                  .get(0)
                  .get(0)
                  .toString())
          .contains("outputTokens is negative");
      assertThat(metrics.deadLetters(DeadLetters.MAPPING)).isEqualTo(4);
      assertThat(topics.committedToEnd(config.groupId(), Topics.REQUESTS)).isTrue();
    }
  }

  @Test
  void aSampleKeepsExactlyTheEventsTheSqlHashKeeps() throws Exception {
    int n = 2_000;
    double ratio = 0.3;
    try (ClickHouseTestDb db = new ClickHouseTestDb(DB);
        KafkaTestTopics topics = new KafkaTestTopics(1)) {
      db.migrate();
      SinkConfig config =
          db.config.with(
              Map.of(
                  "topic.prefix",
                  topics.prefix,
                  "sink.topics",
                  "window-aggregates",
                  "kafka.group.id",
                  Infra.uniqueName("sink"),
                  "raw.requests.sample.ratio",
                  Double.toString(ratio)));
      Map<String, RequestEvent> all = new LinkedHashMap<>();
      long expected = 0;
      for (int i = 0; i < n; i++) {
        RequestEvent e = request(i);
        all.put(e.getEventId(), e);
        expected += RawRequests.sampled(e.getEventId(), ratio) ? 1 : 0;
      }
      all.values()
          .forEach(
              e -> {
                try {
                  topics.send(Topics.REQUESTS, e.getHost(), e);
                } catch (Exception ex) {
                  throw new IllegalStateException(ex);
                }
              });
      long want = expected;
      runUntil(
          config,
          new SinkMetrics(new PrometheusRegistry()),
          "requests read to the end",
          () -> topics.committedToEnd(config.groupId(), Topics.REQUESTS));
      assertThat(db.longValue("SELECT count() FROM ${db}.requests FINAL")).isEqualTo(want);
      assertThat(want).isBetween((long) (n * ratio * 0.85), (long) (n * ratio * 1.15));
      // the documented SQL form of the rule agrees on every stored row
      assertThat(
              db.longValue(
                  "SELECT countIf(reinterpretAsUInt64(reverse(substring(SHA256(event_id), 1, 8))) "
                      + ">= "
                      + ratio
                      + " * pow(2, 64)) FROM ${db}.requests FINAL"))
          .isZero();
    }
  }
}
