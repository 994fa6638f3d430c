package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.clickhouse.client.api.ServerException;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.serde.AvroDeserializer;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.InMemorySchemaRegistryClient;
import io.infermeter.schemas.serde.SchemaRegistryClient;
import io.infermeter.schemas.serde.SchemaRegistryException;
import io.infermeter.testsupport.Infra;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The consume-insert-commit loop with Kafka's MockConsumer/MockProducer and a scripted writer (unit
 * test, no servers): commit only after insert, pause/retry/resume on retryable failures, bisection
 * of rejected rows, dead letters for undecodable records.
 */
class SinkLoopTest {

  private static final String TOPIC = "wa";
  private static final String DLQ = "dlq";
  private static final TopicPartition TP = new TopicPartition(TOPIC, 0);

  private final InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();

  /**
   * Schema look-ups by id that fail as an unreachable registry does (retryable) before they
   * succeed.
   */
  private final AtomicInteger registryDownFor = new AtomicInteger();

  private final SchemaRegistryClient flakyRegistry =
      new SchemaRegistryClient() {
        @Override
        public int register(String subject, org.apache.avro.Schema schema) {
          return registry.register(subject, schema);
        }

        @Override
        public int lookup(String subject, org.apache.avro.Schema schema) {
          return registry.lookup(subject, schema);
        }

        @Override
        public org.apache.avro.Schema byId(int id) {
          if (registryDownFor.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new SchemaRegistryException(
                "GET /schemas/ids/" + id + ": Connection refused",
                -1,
                -1,
                true,
                new ConnectException("Connection refused"));
          }
          return registry.byId(id);
        }
      };
  private final AvroSerdeConfig serdeConfig =
      AvroSerdeConfig.from(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, "http://unused.invalid"));
  private final AvroSerializer<WindowAggregate> serializer =
      new AvroSerializer<>(registry, serdeConfig, false);

  /** The sink's rebalance listener (MockConsumer.rebalance does not call it). */
  private volatile org.apache.kafka.clients.consumer.ConsumerRebalanceListener listener;

  private final MockConsumer<byte[], byte[]> consumer =
      new MockConsumer<>("earliest") {
        @Override
        public synchronized void subscribe(
            java.util.Collection<String> topics,
            org.apache.kafka.clients.consumer.ConsumerRebalanceListener l) {
          listener = l;
          super.subscribe(topics, l);
        }
      };

  /**
   * Dead letters whose payload is larger than this fail as the broker fails a record over its size
   * limit.
   */
  private volatile int producerMaxPayload = Integer.MAX_VALUE;

  private final MockProducer<byte[], DeadLetter> producer =
      new MockProducer<>(
          true,
          null,
          new ByteArraySerializer(),
          new AvroSerializer<>(registry, serdeConfig, false)) {
        @Override
        public synchronized java.util.concurrent.Future<
                org.apache.kafka.clients.producer.RecordMetadata>
            send(
                org.apache.kafka.clients.producer.ProducerRecord<byte[], DeadLetter> record,
                org.apache.kafka.clients.producer.Callback callback) {
          java.nio.ByteBuffer payload = record.value().getPayload();
          if (payload != null && payload.remaining() > producerMaxPayload) {
            java.util.concurrent.CompletableFuture<org.apache.kafka.clients.producer.RecordMetadata>
                failed = new java.util.concurrent.CompletableFuture<>();
            failed.completeExceptionally(
                new org.apache.kafka.common.errors.RecordTooLargeException(
                    "The message is "
                        + payload.remaining()
                        + " bytes when serialized which is larger than 1048576"));
            return failed;
          }
          return super.send(record, callback);
        }
      };
  private final ScriptedWriter writer = new ScriptedWriter();
  private final SinkMetrics metrics = new SinkMetrics(new PrometheusRegistry());
  private SinkLoop loop;
  private Thread thread;

  /** Records every successful insert; fails according to a script. */
  private static final class ScriptedWriter implements RowWriter {
    final List<Object[]> aggregates = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger attempts = new AtomicInteger();
    final AtomicInteger failNext = new AtomicInteger();
    volatile String rejectHost;

    /** More rows than this in one insert fail with MEMORY_LIMIT_EXCEEDED. */
    volatile int maxRowsThatFit = Integer.MAX_VALUE;

    /** A row of this host alone exceeds the memory limit. */
    volatile String hugeHost;

    /** A row of this host makes the driver throw an exception without a server code. */
    volatile String oddHost;

    final AtomicInteger oddNext = new AtomicInteger();
    final List<Integer> insertSizes = Collections.synchronizedList(new ArrayList<>());

    private static SQLException memoryLimit() {
      return new SQLException(
          "Code: 241. DB::Exception: Memory limit (for query) exceeded",
          "HY000",
          241,
          new ServerException(241, "MEMORY_LIMIT_EXCEEDED", 500, "q"));
    }

    @Override
    public void insert(Table table, List<Object[]> rows) throws SQLException {
      attempts.incrementAndGet();
      insertSizes.add(rows.size());
      if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new SQLException(
            "Failed to get response", new ConnectException("Connection refused"));
      }
      if (oddNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new IllegalStateException("driver state corrupted"); // no server code, no known cause
      }
      int hostColumn = table.columns().indexOf("host");
      if (rows.size() > maxRowsThatFit) {
        throw memoryLimit();
      }
      if (hugeHost != null && rows.stream().anyMatch(r -> hugeHost.equals(r[hostColumn]))) {
        throw memoryLimit();
      }
      if (oddHost != null && rows.stream().anyMatch(r -> oddHost.equals(r[hostColumn]))) {
        throw new SQLException("something odd"); // no server code, no known cause
      }
      if (rejectHost != null && rows.stream().anyMatch(r -> rejectHost.equals(r[hostColumn]))) {
        throw new SQLException(
            "Code: 469. VIOLATED_CONSTRAINT",
            "HY000",
            469,
            new ServerException(469, "VIOLATED_CONSTRAINT", 500, "q"));
      }
      if (table == Table.WINDOW_AGGREGATES) {
        aggregates.addAll(rows);
      }
    }

    @Override
    public void close() {}
  }

  @BeforeEach
  void setUp() {
    loop =
        new SinkLoop(
            consumer,
            producer,
            DLQ,
            writer,
            Map.of(
                TOPIC,
                new TopicHandler<>(
                    new AvroDeserializer<>(WindowAggregate.class, flakyRegistry),
                    RowMappers::windowAggregate,
                    false)),
            metrics,
            Clock.systemUTC(),
            4,
            Duration.ofMillis(20),
            Duration.ofMillis(5),
            Duration.ofMillis(1),
            Duration.ofMillis(5),
            Duration.ofSeconds(5));
    consumer.schedulePollTask(
        () -> {
          consumer.rebalance(List.of(TP));
          consumer.updateBeginningOffsets(Map.of(TP, 0L));
        });
  }

  @AfterEach
  void tearDown() throws Exception {
    if (thread != null) {
      loop.stop();
      thread.join(10_000);
    }
  }

  private void start() {
    thread = new Thread(loop, "loop-under-test");
    thread.start();
    Infra.await(
        Duration.ofSeconds(10), "partition assigned", () -> !consumer.assignment().isEmpty());
  }

  private void add(long offset, String host) {
    byte[] value =
        serializer.serialize(TOPIC, Fixtures.window(offset, host, "m", offset + 1).build());
    consumer.addRecord(new ConsumerRecord<>(TOPIC, 0, offset, null, value));
  }

  private long committed() {
    OffsetAndMetadata c = consumer.committed(Set.of(TP)).get(TP);
    return c == null ? -1 : c.offset();
  }

  @Test
  void commitsOnlyWhatWasInserted() {
    start();
    for (long i = 0; i < 10; i++) {
      add(i, "h");
    }
    Infra.await(Duration.ofSeconds(10), "all committed", () -> committed() == 10);
    assertThat(writer.aggregates).hasSize(10);
    assertThat(metrics.rowsWritten("window_aggregates")).isEqualTo(10);
    assertThat(producer.history()).isEmpty();
  }

  @Test
  void retryableFailuresPauseWithoutCommittingThenResume() {
    writer.failNext.set(3);
    start();
    add(0, "h");
    add(1, "h");
    Infra.await(Duration.ofSeconds(10), "committed after the outage", () -> committed() == 2);
    assertThat(metrics.retries()).isEqualTo(3);
    assertThat(writer.aggregates).hasSize(2); // written once, after the failures
    Infra.await(
        Duration.ofSeconds(10),
        "resumed",
        () -> consumer.paused().isEmpty() && !metrics.isPaused());
    assertThat(producer.history()).isEmpty();
  }

  @Test
  void pausedWhileTheWriterFails() {
    writer.failNext.set(Integer.MAX_VALUE);
    start();
    add(0, "h");
    Infra.await(
        Duration.ofSeconds(10),
        "paused",
        () -> consumer.paused().contains(TP) && metrics.retries() >= 2);
    assertThat(committed()).isEqualTo(-1);
    writer.failNext.set(0);
    Infra.await(
        Duration.ofSeconds(10), "caught up", () -> committed() == 1 && consumer.paused().isEmpty());
  }

  @Test
  void aRebalanceDuringAnOutageDoesNotLeaveTheSinkPausedForGood() {
    writer.failNext.set(Integer.MAX_VALUE);
    start();
    add(0, "h");
    Infra.await(
        Duration.ofSeconds(10),
        "paused",
        () -> consumer.paused().contains(TP) && metrics.retries() >= 1);
    // the batch held cannot be written during the rebalance: it is dropped uncommitted, to be
    // re-read
    java.util.concurrent.CountDownLatch rebalanced = new java.util.concurrent.CountDownLatch(1);
    consumer.schedulePollTask(
        () -> {
          listener.onPartitionsRevoked(List.of(TP));
          consumer.rebalance(List.of(TP));
          consumer.seek(
              TP,
              0L); // a real consumer starts a re-assigned partition at its committed offset (none:
          // 0)
          listener.onPartitionsAssigned(List.of(TP));
          rebalanced.countDown();
        });
    Infra.await(Duration.ofSeconds(10), "rebalanced", () -> rebalanced.getCount() == 0);
    writer.failNext.set(0);
    consumer.schedulePollTask(() -> add(0, "h")); // re-delivered from the uncommitted offset
    Infra.await(
        Duration.ofSeconds(10),
        "caught up after ClickHouse returned",
        () -> committed() == 1 && consumer.paused().isEmpty());
    assertThat(writer.aggregates).hasSize(1);
  }

  @Test
  void rejectedRowsAreFoundByBisectionAndDeadLettered() {
    writer.rejectHost = "bad";
    start();
    add(0, "h");
    add(1, "bad");
    add(2, "h");
    add(3, "h");
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 4);
    assertThat(writer.aggregates).hasSize(3);
    assertThat(producer.history())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.topic()).isEqualTo(DLQ);
              assertThat(r.value().getReason()).isEqualTo(DeadLetters.REJECTED);
              assertThat(r.value().getSourceOffset()).isEqualTo(1L);
              assertThat(r.value().getMessage()).contains("VIOLATED_CONSTRAINT");
            });
  }

  @Test
  void anUnreachableRegistryRewindsAndPausesInsteadOfDeadLetteringGoodRecords() {
    registryDownFor.set(1);
    start();
    consumer.schedulePollTask(
        () -> { // both in one poll, as a fetch returns them
          add(0, "h");
          add(1, "h");
        });
    // Record 0 fails: its partition is sought back to 0 and record 1 is skipped. MockConsumer
    // forgets polled records,
    // so hand both to it again (in one poll), as the broker sends them again after the seek.
    Infra.await(Duration.ofSeconds(10), "a registry failure", () -> metrics.retries() >= 1);
    assertThat(consumer.position(TP)).isZero();
    assertThat(committed()).isEqualTo(-1);
    consumer.schedulePollTask(
        () -> {
          add(0, "h");
          add(1, "h");
        });
    Infra.await(Duration.ofSeconds(10), "written and committed", () -> committed() == 2);
    assertThat(producer.history()).isEmpty(); // nothing dead-lettered
    assertThat(writer.aggregates).hasSize(2);
    assertThat(metrics.retries()).isEqualTo(1);
    Infra.await(
        Duration.ofSeconds(10),
        "resumed",
        () -> consumer.paused().isEmpty() && !metrics.isPaused());
  }

  @Test
  void undecodableAndNullRecordsAreDeadLetteredAndCommitted() {
    start();
    consumer.addRecord(
        new ConsumerRecord<>(
            TOPIC,
            0,
            0L,
            "k".getBytes(StandardCharsets.UTF_8),
            "garbage".getBytes(StandardCharsets.UTF_8)));
    consumer.addRecord(new ConsumerRecord<>(TOPIC, 0, 1L, null, null));
    add(2, "h");
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 3);
    assertThat(producer.history())
        .extracting(r -> r.value().getReason().toString())
        .containsExactly(DeadLetters.DESERIALIZATION, DeadLetters.TOMBSTONE);
    assertThat(producer.history().get(0).key()).isEqualTo("k".getBytes(StandardCharsets.UTF_8));
    assertThat(writer.aggregates).hasSize(1);
  }

  @Test
  void deadLetterTopicFailureIsRetriedAndNothingCommittedUntilItWorks() {
    producer.flushException = new org.apache.kafka.common.errors.TimeoutException("broker down");
    start();
    consumer.addRecord(
        new ConsumerRecord<>(TOPIC, 0, 0L, null, "garbage".getBytes(StandardCharsets.UTF_8)));
    Infra.await(
        Duration.ofSeconds(10),
        "retrying",
        () -> metrics.retries() >= 2 && consumer.paused().contains(TP));
    assertThat(committed()).isEqualTo(-1);
    producer.flushException = null;
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 1);
    // At least once on the dead-letter topic: an unacknowledged send is repeated, never dropped.
    assertThat(producer.history())
        .isNotEmpty()
        .allSatisfy(r -> assertThat(r.value().getSourceOffset()).isEqualTo(0L));
  }

  // --- bounded failure handling: nothing stalls the sink for good ---

  @Test
  void aMemoryLimitErrorSplitsTheBatchUntilEachPartFits() {
    writer.maxRowsThatFit = 1;
    start();
    for (long i = 0; i < 4; i++) {
      add(i, "h" + i);
    }
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 4);
    assertThat(writer.aggregates).hasSize(4);
    assertThat(metrics.splits()).isGreaterThanOrEqualTo(1);
    assertThat(producer.history()).isEmpty(); // split, not dead-lettered, not retried whole
    assertThat(metrics.retries()).isZero();
  }

  @Test
  void aSingleRowOverTheMemoryLimitIsRetriedABoundedNumberOfTimesThenDeadLettered() {
    loop.limits(3, DeadLetters.DEFAULT_MAX_PAYLOAD_BYTES);
    writer.hugeHost = "huge";
    start();
    add(0, "h");
    add(1, "huge");
    add(2, "h");
    add(3, "h");
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 4);
    assertThat(writer.aggregates)
        .extracting(r -> r[Table.WINDOW_AGGREGATES.columns().indexOf("host")])
        .containsOnly("h")
        .hasSize(3); // the good rows once each, although the batch was attempted 3 times
    assertThat(producer.history())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.value().getReason()).isEqualTo(DeadLetters.TOO_LARGE);
              assertThat(r.value().getSourceOffset()).isEqualTo(1L);
              assertThat(r.value().getMessage()).contains("MEMORY_LIMIT_EXCEEDED");
            });
    assertThat(metrics.deadLetters(DeadLetters.TOO_LARGE)).isEqualTo(1);
    assertThat(metrics.retries()).isEqualTo(3);
    Infra.await(
        Duration.ofSeconds(10),
        "resumed",
        () -> consumer.paused().isEmpty() && !metrics.isPaused());
  }

  @Test
  void anErrorWithoutAServerCodeIsRetriedABoundedNumberOfTimesThenTheFailingRowsAreDeadLettered() {
    loop.limits(3, DeadLetters.DEFAULT_MAX_PAYLOAD_BYTES);
    writer.oddHost = "odd";
    start();
    add(0, "h");
    add(1, "odd");
    add(2, "h");
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 3);
    assertThat(writer.aggregates).hasSize(2);
    assertThat(producer.history())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.value().getReason()).isEqualTo(DeadLetters.UNCLASSIFIED);
              assertThat(r.value().getSourceOffset()).isEqualTo(1L);
              assertThat(r.value().getMessage()).contains("something odd");
            });
    assertThat(metrics.deadLetters(DeadLetters.UNCLASSIFIED)).isEqualTo(1);
    assertThat(metrics.retries()).isEqualTo(3);
  }

  @Test
  void aPassingErrorWithoutAServerCodeLosesNothing() {
    loop.limits(3, DeadLetters.DEFAULT_MAX_PAYLOAD_BYTES);
    writer.oddNext.set(2);
    start();
    add(0, "h");
    add(1, "h");
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 2);
    assertThat(writer.aggregates).hasSize(2);
    assertThat(producer.history()).isEmpty();
    assertThat(metrics.retries()).isEqualTo(2);
  }

  @Test
  void anOutageIsNeverCountedTowardsTheBound() {
    loop.limits(2, DeadLetters.DEFAULT_MAX_PAYLOAD_BYTES);
    writer.failNext.set(6); // connection refused: an outage, retried for as long as it lasts
    start();
    add(0, "h");
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 1);
    assertThat(metrics.retries()).isEqualTo(6);
    assertThat(producer.history()).isEmpty();
  }

  @Test
  void aDeadLetterTheTopicRefusesAsTooLargeIsSentOnceTruncated() {
    loop.limits(3, 4096);
    producerMaxPayload =
        2048; // the loop keeps 4096 bytes, the "broker" takes 2048: the first send fails for good
    start();
    byte[] garbage = new byte[100_000];
    java.util.Arrays.fill(garbage, (byte) 'x');
    consumer.addRecord(new ConsumerRecord<>(TOPIC, 0, 0L, null, garbage));
    add(1, "h");
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 2);
    assertThat(producer.history())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.value().getReason()).isEqualTo(DeadLetters.DESERIALIZATION);
              assertThat(r.value().getPayload().remaining())
                  .isEqualTo(DeadLetters.LAST_RESORT_PAYLOAD_BYTES);
              assertThat(r.value().getMessage()).contains("truncated");
            });
    assertThat(writer.aggregates).hasSize(1);
    assertThat(metrics.deadLetters(DeadLetters.UNSENDABLE)).isZero();
  }

  @Test
  void aDeadLetterRefusedEvenTruncatedIsCountedAndSkippedNotRetriedForever() {
    producerMaxPayload = 10; // refuses the truncated copy too
    start();
    consumer.addRecord(
        new ConsumerRecord<>(
            TOPIC, 0, 0L, null, "garbage-garbage-garbage".getBytes(StandardCharsets.UTF_8)));
    add(1, "h");
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 2);
    assertThat(producer.history()).isEmpty();
    assertThat(metrics.deadLetters(DeadLetters.UNSENDABLE)).isEqualTo(1);
    assertThat(metrics.retries()).isZero();
    assertThat(writer.aggregates).hasSize(1);
  }

  @Test
  void deadLetterPayloadsAreCutToTheConfiguredSize() {
    loop.limits(3, 1000);
    start();
    consumer.addRecord(new ConsumerRecord<>(TOPIC, 0, 0L, null, new byte[50_000]));
    Infra.await(Duration.ofSeconds(10), "committed", () -> committed() == 1);
    assertThat(producer.history())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.value().getPayload().remaining()).isEqualTo(1000);
              assertThat(r.value().getMessage())
                  .contains("payload truncated to 1000 of 50000 bytes");
            });
  }
}
