package io.infermeter.sink.internal;

import io.infermeter.avro.DeadLetter;
import io.infermeter.schemas.serde.SchemaRegistryException;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consume-insert-commit loop. Records are decoded and mapped into an open batch bounded by
 * {@code maxRows} rows and {@code maxWait} age. A full or old batch is handed to a single inserter
 * thread, which inserts it table by table and sends its dead letters (acknowledged by Kafka); only
 * then does the loop thread commit the batch's offsets ({@code commitSync}). While one batch is
 * being inserted the loop keeps polling and fills the next one (at most one batch in flight; when
 * the next one is full too, consumption is paused until the insert ends), so decoding overlaps the
 * insert. A crash anywhere before the commit re-delivers the batch; the ReplacingMergeTree tables
 * keyed on each record's natural key make the second copy harmless (queries read FINAL).
 *
 * <p>The parts: {@link BatchPipeline} (open batch, batch in flight, retries, commit), {@link
 * BatchWriter} (inserts, isolation of refused rows), {@link DeadLetterSender} (dead letters,
 * last-resort copy), {@link RebalanceListener} (write or drop what is held before partitions move).
 * This class polls, decodes, pauses and reports lag.
 *
 * <p>Failures ({@link ErrorClassifier}): a retryable one pauses every assigned partition and
 * retries the same batch with exponential backoff and full jitter while {@code poll} keeps the
 * group membership alive; a rejection bisects the batch down to the rows ClickHouse refuses and
 * dead-letters their records. MEMORY_LIMIT_EXCEEDED splits the rows in halves until each part fits.
 * An exception without a ClickHouse error code, or a single row that still exceeds the memory
 * limit, is retried with the same backoff at most {@code maxUnknownAttempts} times; then the batch
 * is bisected and the rows that still fail are dead-lettered (reasons {@code unclassified-error},
 * {@code too-large}), so no batch stalls the sink for good. Rows already inserted or dead-lettered
 * are not sent again when a batch is retried. A record that cannot be decoded or mapped is
 * dead-lettered with the reason. A record whose writer schema cannot be fetched because the
 * registry is unreachable or failing (a retryable {@link SchemaRegistryException}: the reader cache
 * is cold after a start) is not bad input: its partition is sought back to it, the rest of that
 * partition's poll is skipped (it is fetched again), and consumption pauses with the same backoff
 * until the registry answers. Nothing is dropped without a dead letter or an error log and counter.
 * Dead letters are at least once: a send whose acknowledgement was lost is repeated on the retry. A
 * dead letter the topic refuses permanently (too large, not serializable) is sent once more cut to
 * a few hundred bytes; if that is refused too it is logged, counted ({@code
 * infermeter_sink_dead_letters_total{reason="unsendable-dead-letter"}}) and skipped. A dead letter
 * is never dead-lettered itself.
 *
 * <p>{@link #run()} runs on one thread (the consumer is used only there); {@link #stop()} may be
 * called from any thread and makes the loop flush what it holds (retrying up to {@code
 * shutdownTimeout}) and exit.
 */
public final class SinkLoop implements Runnable {

  private static final Logger LOG = LoggerFactory.getLogger(SinkLoop.class);
  private static final Duration IN_FLIGHT_POLL = Duration.ofMillis(1);

  /** Default {@code retry.unknown.max.attempts}. */
  public static final int DEFAULT_MAX_UNKNOWN_ATTEMPTS = 10;

  private final Consumer<byte[], byte[]> consumer;
  private final Producer<byte[], DeadLetter> deadLetterProducer;
  private final String deadLetterTopic;
  private final RowWriter writer;
  private final Map<String, TopicHandler<?>> handlers;
  private final SinkMetrics metrics;
  private final Clock clock;
  private final int maxRows;
  private final Duration maxWait;
  private final Duration pollTimeout;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration shutdownTimeout;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private DeadLetters deadLetters;
  private BatchPipeline pipeline;

  /** Registry unreachable: no consumption while it waits; reset by a record decoded. */
  private final Backoff registryBackoff;

  /**
   * Partitions sought back in the current poll's records: their remaining records are fetched
   * again.
   */
  private final Set<TopicPartition> rewound = new HashSet<>();

  private boolean paused;
  private long lastLagUpdate;

  /**
   * Called after every table of a batch is inserted and before the commit; tests simulate a crash
   * there.
   */
  private volatile Runnable afterInsertHook = () -> {};

  /** Every argument is required. */
  public SinkLoop(
      Consumer<byte[], byte[]> consumer,
      Producer<byte[], DeadLetter> deadLetterProducer,
      String deadLetterTopic,
      RowWriter writer,
      Map<String, TopicHandler<?>> handlers,
      SinkMetrics metrics,
      Clock clock,
      int maxRows,
      Duration maxWait,
      Duration pollTimeout,
      Duration initialBackoff,
      Duration maxBackoff,
      Duration shutdownTimeout) {
    this.consumer = consumer;
    this.deadLetterProducer = deadLetterProducer;
    this.deadLetterTopic = deadLetterTopic;
    this.writer = writer;
    this.handlers = Map.copyOf(handlers);
    this.metrics = metrics;
    this.clock = clock;
    this.maxRows = maxRows;
    this.maxWait = maxWait;
    this.pollTimeout = pollTimeout;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
    this.shutdownTimeout = shutdownTimeout;
    this.registryBackoff = new Backoff(initialBackoff, maxBackoff);
    wire(new DeadLetters(clock), DEFAULT_MAX_UNKNOWN_ATTEMPTS);
  }

  /**
   * Sets the bounds of the failure handling; call before {@link #run()}.
   *
   * @param maxUnknownAttempts attempts of a batch failing without a ClickHouse error code (or with
   *     a single row over the memory limit) before its failing rows are dead-lettered; at least 1
   * @param maxDeadLetterPayloadBytes bytes of a source record kept in its dead letter; at least 0
   * @return this
   */
  public SinkLoop limits(int maxUnknownAttempts, int maxDeadLetterPayloadBytes) {
    if (maxUnknownAttempts < 1) {
      throw new IllegalArgumentException("maxUnknownAttempts must be >= 1: " + maxUnknownAttempts);
    }
    wire(new DeadLetters(clock, maxDeadLetterPayloadBytes), maxUnknownAttempts);
    return this;
  }

  /** Builds the parts that depend on the limits; nothing runs until {@link #run()}. */
  private void wire(DeadLetters letters, int maxUnknownAttempts) {
    this.deadLetters = letters;
    BatchWriter batchWriter =
        new BatchWriter(
            writer,
            handlers,
            metrics,
            letters,
            deadLetterTopic,
            new DeadLetterSender(deadLetterProducer, metrics));
    this.pipeline =
        new BatchPipeline(
            consumer,
            batchWriter,
            metrics,
            clock,
            new Backoff(initialBackoff, maxBackoff),
            maxRows,
            maxWait,
            shutdownTimeout,
            maxUnknownAttempts,
            () -> afterInsertHook.run());
  }

  void afterInsertHook(Runnable hook) {
    this.afterInsertHook = hook;
  }

  /** Asks the loop to flush and exit; returns at once. */
  public void stop() {
    stopping.set(true);
    consumer.wakeup();
  }

  @Override
  public void run() {
    RebalanceListener rebalance =
        new RebalanceListener(consumer, pipeline, this::updatePause, () -> paused);
    consumer.subscribe(handlers.keySet(), rebalance);
    try {
      while (!stopping.get()) {
        ConsumerRecords<byte[], byte[]> records;
        try {
          // While a batch is being inserted, poll briefly so its end is noticed at once and the
          // next batch
          // follows without an idle gap on the inserter (a paused consumer would otherwise wait
          // pollTimeout).
          records = consumer.poll(pipeline.inserting() ? IN_FLIGHT_POLL : pollTimeout);
        } catch (WakeupException e) {
          continue; // stop() was called; the loop condition decides
        }
        for (ConsumerRecord<byte[], byte[]> record : records) {
          add(record);
        }
        rewound.clear();
        for (TopicPartition tp : records.partitions()) {
          metrics.recordsConsumed.labelValues(tp.topic()).inc(records.records(tp).size());
        }
        long now = clock.millis();
        try {
          pipeline.advance(now);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          stopping.set(true);
        }
        updatePause();
        updateLag(now);
      }
      pipeline.finalFlush();
    } finally {
      // Whatever is still held stays uncommitted (re-delivered on the next start).
      rebalance.closing();
      pipeline.close();
      consumer.close(); // enable.auto.commit=false: closing commits nothing
      deadLetterProducer.close(Duration.ofSeconds(5));
      writer.close();
    }
  }

  /**
   * Pauses consumption during an outage, or while the open batch is full behind a batch in flight.
   */
  private void updatePause() {
    boolean registryDown = registryBackoff.waiting(clock.millis());
    boolean want = pipeline.outage() || registryDown || pipeline.backedUp();
    if (want) {
      // Always re-apply: partitions assigned since the last pause must not be fetched either.
      consumer.pause(consumer.assignment());
      paused = true;
    } else if (paused) {
      consumer.resume(consumer.paused());
      paused = false;
    }
    metrics.paused.set(pipeline.outage() || registryDown ? 1 : 0);
  }

  private void add(ConsumerRecord<byte[], byte[]> record) {
    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
    if (rewound.contains(tp)) {
      return; // sought back to an earlier record of this poll: fetched again after the registry
      // answers
    }
    TopicHandler<?> handler = handlers.get(record.topic());
    long now = clock.millis();
    Batch batch = pipeline.open();
    if (record.value() == null) {
      batch.noteOffset(record, now);
      deadLetter(
          record,
          DeadLetters.TOMBSTONE,
          "null value (tombstone) on a topic of Avro records",
          null,
          handler);
      return;
    }
    try {
      handler.mapBytes(
          record.topic(),
          record.value(),
          record.partition(),
          record.offset(),
          (t, row) -> batch.pendingRow(t, new Batch.Pending(row, record)));
    } catch (SerializationException e) {
      batch.dropPending();
      if (SchemaRegistryException.isRetryableCause(e)) {
        rewind(tp, record, e, now);
        return;
      }
      batch.noteOffset(record, now);
      deadLetter(record, DeadLetters.DESERIALIZATION, DeadLetters.describe(e), e, handler);
      return;
    } catch (RuntimeException e) {
      batch.dropPending();
      batch.noteOffset(record, now);
      deadLetter(record, DeadLetters.MAPPING, DeadLetters.describe(e), e, handler);
      return;
    }
    batch.noteOffset(record, now);
    batch.keepPending();
    registryBackoff.reset();
  }

  /**
   * The registry could not be asked for {@code record}'s writer schema: not the record's fault.
   * Seeks its partition back to it (its offset was not noted, so no commit passes it) and pauses
   * consumption for a backoff.
   */
  private void rewind(
      TopicPartition tp, ConsumerRecord<byte[], byte[]> record, RuntimeException e, long now) {
    consumer.seek(tp, record.offset());
    rewound.add(tp);
    metrics.retries.inc();
    long delay = registryBackoff.failed(now);
    int failures = registryBackoff.failures();
    if (failures == 1 || failures % 20 == 0) {
      LOG.warn(
          "schema registry unavailable while decoding {}-{} offset {} (attempt {}): consumption paused, "
              + "retrying in {} ms; the record is read again, not dead-lettered. Check that the registry at "
              + "schema.registry.url is up and reachable from this host",
          record.topic(),
          record.partition(),
          record.offset(),
          failures,
          delay,
          e);
    }
  }

  /**
   * Dead-letters {@code record}. Records of the dead-letter topic itself are stored straight into
   * dead_letters (publishing them again would loop).
   */
  private void deadLetter(
      ConsumerRecord<byte[], byte[]> record,
      String reason,
      String message,
      Throwable error,
      TopicHandler<?> handler) {
    DeadLetter letter = deadLetters.of(record, reason, message, error);
    metrics.deadLetters.labelValues(reason).inc();
    LOG.warn(
        "dead-lettering {}-{}@{}: {}: {}",
        record.topic(),
        record.partition(),
        record.offset(),
        reason,
        message);
    Batch open = pipeline.open();
    if (handler != null && handler.deadLetterTopic()) {
      RowMappers.deadLetter(
          letter,
          record.partition(),
          record.offset(),
          (t, row) -> open.pendingRow(t, new Batch.Pending(row, record)));
      open.keepPending();
    } else {
      open.deadLetters.add(new ProducerRecord<>(deadLetterTopic, record.key(), letter));
    }
  }

  private void updateLag(long now) {
    if (now - lastLagUpdate < 1000) {
      return;
    }
    lastLagUpdate = now;
    try {
      for (TopicPartition tp : consumer.assignment()) {
        consumer
            .currentLag(tp)
            .ifPresent(
                lag ->
                    metrics
                        .consumerLag
                        .labelValues(tp.topic(), Integer.toString(tp.partition()))
                        .set(lag));
      }
    } catch (RuntimeException e) {
      LOG.debug("consumer lag not available", e); // a metric only: never stop the loop for it
    }
  }
}
