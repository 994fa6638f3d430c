package io.infermeter.sink.internal;

import io.infermeter.avro.DeadLetter;
import io.infermeter.schemas.serde.SchemaRegistryException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consume-insert-commit loop. Records are decoded and mapped into an open batch bounded by {@code maxRows} rows
 * and {@code maxWait} age. A full or old batch is handed to a single inserter thread, which inserts it table by
 * table and sends its dead letters (acknowledged by Kafka); only then does the loop thread commit the batch's
 * offsets ({@code commitSync}). While one batch is being inserted the loop keeps polling and fills the next one
 * (at most one batch in flight; when the next one is full too, consumption is paused until the insert ends), so
 * decoding overlaps the insert. A crash anywhere before the commit re-delivers the batch; the ReplacingMergeTree
 * tables keyed on each record's natural key make the second copy harmless (queries read FINAL).
 *
 * <p>Failures ({@link ErrorClassifier}): a retryable one pauses every assigned partition and retries the same batch
 * with exponential backoff and full jitter while {@code poll} keeps the group membership alive; a rejection bisects
 * the batch down to the rows ClickHouse refuses and dead-letters their records. MEMORY_LIMIT_EXCEEDED splits the
 * rows in halves until each part fits. An exception without a ClickHouse error code, or a single row that still
 * exceeds the memory limit, is retried with the same backoff at most {@code maxUnknownAttempts} times; then the
 * batch is bisected and the rows that still fail are dead-lettered (reasons {@code unclassified-error},
 * {@code too-large}), so no batch stalls the sink for good. Rows already inserted or dead-lettered are not sent
 * again when a batch is retried. A record that cannot be decoded or
 * mapped is dead-lettered with the reason. A record whose writer schema cannot be fetched because the registry is
 * unreachable or failing (a retryable {@link SchemaRegistryException}: the reader cache is cold after a start) is not
 * bad input: its partition is sought back to it, the rest of that partition's poll is skipped (it is fetched again),
 * and consumption pauses with the same backoff until the registry answers. Nothing is dropped without a dead letter
 * or an error log and counter.
 * Dead letters are at least once: a send whose acknowledgement was lost is repeated on the retry. A dead letter the
 * topic refuses permanently (too large, not serializable) is sent once more cut to a few hundred bytes; if that is
 * refused too it is logged, counted ({@code infermeter_sink_dead_letters_total{reason="unsendable-dead-letter"}})
 * and skipped. A dead letter is never dead-lettered itself.
 *
 * <p>{@link #run()} runs on one thread (the consumer is used only there); {@link #stop()} may be called from any
 * thread and makes the loop flush what it holds (retrying up to {@code shutdownTimeout}) and exit.
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
  private final ErrorClassifier classifier = new ErrorClassifier();
  private DeadLetters deadLetters;
  private int maxUnknownAttempts = DEFAULT_MAX_UNKNOWN_ATTEMPTS;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final ExecutorService inserter = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "infermeter-sink-inserter");
    t.setDaemon(true);
    return t;
  });

  /** The batch being filled by the loop thread. */
  private Batch open = new Batch();
  /** The batch handed to the inserter (running, or failed and waiting for its retry); null when none. */
  private Batch inFlight;
  /** The inserter's result for {@link #inFlight}; null while the batch waits for a retry or when none. */
  private Future<?> inFlightResult;
  private int failedAttempts;
  private long nextAttemptMillis;
  private boolean outage;
  /** Registry unreachable: no consumption before this time (epoch ms); 0 when the registry is fine. */
  private long registryRetryAt;
  private int registryFailures;
  /** Partitions sought back in the current poll's records: their remaining records are fetched again. */
  private final java.util.Set<TopicPartition> rewound = new java.util.HashSet<>();
  private boolean paused;
  private boolean closing;
  private long lastLagUpdate;
  /** Called after every table of a batch is inserted and before the commit; tests simulate a crash there. */
  private volatile Runnable afterInsertHook = () -> { };

  /** Every argument is required. */
  public SinkLoop(Consumer<byte[], byte[]> consumer, Producer<byte[], DeadLetter> deadLetterProducer,
      String deadLetterTopic, RowWriter writer, Map<String, TopicHandler<?>> handlers, SinkMetrics metrics,
      Clock clock, int maxRows, Duration maxWait, Duration pollTimeout, Duration initialBackoff, Duration maxBackoff,
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
    this.deadLetters = new DeadLetters(clock);
  }

  /**
   * Sets the bounds of the failure handling; call before {@link #run()}.
   *
   * @param maxUnknownAttempts attempts of a batch failing without a ClickHouse error code (or with a single row over
   *     the memory limit) before its failing rows are dead-lettered; at least 1
   * @param maxDeadLetterPayloadBytes bytes of a source record kept in its dead letter; at least 0
   * @return this
   */
  public SinkLoop limits(int maxUnknownAttempts, int maxDeadLetterPayloadBytes) {
    if (maxUnknownAttempts < 1) {
      throw new IllegalArgumentException("maxUnknownAttempts must be >= 1: " + maxUnknownAttempts);
    }
    this.maxUnknownAttempts = maxUnknownAttempts;
    this.deadLetters = new DeadLetters(clock, maxDeadLetterPayloadBytes);
    return this;
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
    consumer.subscribe(handlers.keySet(), new Rebalance());
    try {
      while (!stopping.get()) {
        ConsumerRecords<byte[], byte[]> records;
        try {
          // While a batch is being inserted, poll briefly so its end is noticed at once and the next batch
          // follows without an idle gap on the inserter (a paused consumer would otherwise wait pollTimeout).
          records = consumer.poll(inFlightResult != null ? IN_FLIGHT_POLL : pollTimeout);
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
        advance(now);
        updatePause();
        updateLag(now);
      }
      finalFlush();
    } finally {
      // Whatever is still held stays uncommitted (re-delivered on the next start): the rebalance listener, which
      // close() calls, must not write or commit it after a failure that ended the loop.
      closing = true;
      inserter.shutdownNow();
      consumer.close(); // enable.auto.commit=false: closing commits nothing
      deadLetterProducer.close(Duration.ofSeconds(5));
      writer.close();
    }
  }

  /** Collects a finished insert, starts a due retry, or hands the open batch over. Loop thread only. */
  private void advance(long now) {
    if (inFlightResult != null && inFlightResult.isDone()) {
      collect(now);
    }
    if (inFlight != null && inFlightResult == null && now >= nextAttemptMillis) {
      submit();
    }
    if (inFlight == null && !open.isEmpty()
        && (open.rows >= maxRows || now - open.firstAddedMillis >= maxWait.toMillis())) {
      inFlight = open;
      open = new Batch();
      submit();
    }
  }

  private void submit() {
    Batch batch = inFlight;
    inFlightResult = inserter.submit(() -> {
      write(batch);
      return null;
    });
  }

  /** Reads the inserter's result: commit on success, schedule a retry on a retryable failure. */
  private void collect(long now) {
    try {
      inFlightResult.get();
      inFlightResult = null;
      commit(inFlight);
      metrics.batches.inc();
      inFlight = null;
      failedAttempts = 0;
      if (outage) {
        outage = false;
        LOG.info("ClickHouse reachable again: consumption resumes");
      }
    } catch (ExecutionException e) {
      inFlightResult = null;
      Throwable cause = e.getCause();
      if (cause instanceof Error error) {
        throw error; // the inserter died (or a test simulated a crash): end without committing
      }
      failedAttempts++;
      metrics.retries.inc();
      long delay = backoffMillis(failedAttempts);
      nextAttemptMillis = now + delay;
      outage = true;
      boolean bounded = !(cause instanceof RetryLater rl) || rl.bounded;
      if (bounded && ++inFlight.boundedFailures >= maxUnknownAttempts && !inFlight.giveUp) {
        inFlight.giveUp = true;
        nextAttemptMillis = now; // the last attempt isolates and dead-letters the failing rows at once
        LOG.error("batch of {} rows failed {} times with an error that is neither an outage nor a rejection; the "
            + "rows that still fail are dead-lettered (retry.unknown.max.attempts={})", inFlight.rows,
            inFlight.boundedFailures, maxUnknownAttempts, cause.getCause() != null ? cause.getCause() : cause);
      } else if (failedAttempts == 1 || failedAttempts % 20 == 0) {
        LOG.warn("batch of {} rows not written (attempt {}), retrying in {} ms with consumption paused",
            inFlight.rows, failedAttempts, delay, cause.getCause() != null ? cause.getCause() : cause);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopping.set(true);
    }
  }

  /** Pauses consumption during an outage, or while the open batch is full behind a batch in flight. */
  private void updatePause() {
    boolean registryDown = registryRetryAt != 0 && clock.millis() < registryRetryAt;
    boolean want = outage || registryDown || (inFlight != null && open.rows >= maxRows);
    if (want) {
      // Always re-apply: partitions assigned since the last pause must not be fetched either.
      consumer.pause(consumer.assignment());
      paused = true;
    } else if (paused) {
      consumer.resume(consumer.paused());
      paused = false;
    }
    metrics.paused.set(outage || registryDown ? 1 : 0);
  }

  /** On stop: finish the batch in flight, then write the open one, retrying until {@code shutdownTimeout}. */
  private void finalFlush() {
    long deadline = clock.millis() + shutdownTimeout.toMillis();
    while (inFlight != null || !open.isEmpty()) {
      long now = clock.millis();
      if (now > deadline) {
        LOG.error("shutdown: could not write the last {} rows within {}; their records were not committed and "
            + "will be re-delivered on the next start", open.rows + (inFlight == null ? 0 : inFlight.rows),
            shutdownTimeout);
        return;
      }
      if (inFlightResult != null) {
        try {
          inFlightResult.get(Math.max(1, Math.min(200, deadline - now)), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
          continue;
        } catch (ExecutionException | InterruptedException e) {
          // collect() below classifies it
        }
      }
      long before = clock.millis();
      if (inFlightResult != null && inFlightResult.isDone()) {
        collect(before);
      }
      if (inFlight != null && inFlightResult == null && before < nextAttemptMillis) {
        sleepQuietly(Math.min(nextAttemptMillis - before, 200));
        continue;
      }
      if (inFlight == null && !open.isEmpty()) {
        inFlight = open;
        open = new Batch();
        submit();
      } else if (inFlight != null && inFlightResult == null) {
        submit();
      }
    }
  }

  private void add(ConsumerRecord<byte[], byte[]> record) {
    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
    if (rewound.contains(tp)) {
      return; // sought back to an earlier record of this poll: fetched again after the registry answers
    }
    TopicHandler<?> handler = handlers.get(record.topic());
    long now = clock.millis();
    if (record.value() == null) {
      open.noteOffset(record, now);
      deadLetter(record, DeadLetters.TOMBSTONE, "null value (tombstone) on a topic of Avro records", null, handler);
      return;
    }
    Batch batch = open;
    try {
      handler.mapBytes(record.topic(), record.value(), record.partition(), record.offset(),
          (t, row) -> batch.pendingRow(t, new Pending(row, record)));
    } catch (org.apache.kafka.common.errors.SerializationException e) {
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
    registryFailures = 0;
    registryRetryAt = 0;
  }

  /**
   * The registry could not be asked for {@code record}'s writer schema: not the record's fault. Seeks its partition
   * back to it (its offset was not noted, so no commit passes it) and pauses consumption for a backoff.
   */
  private void rewind(TopicPartition tp, ConsumerRecord<byte[], byte[]> record, RuntimeException e, long now) {
    consumer.seek(tp, record.offset());
    rewound.add(tp);
    registryFailures++;
    metrics.retries.inc();
    long delay = backoffMillis(registryFailures);
    registryRetryAt = now + delay;
    if (registryFailures == 1 || registryFailures % 20 == 0) {
      LOG.warn("schema registry unavailable while decoding {}-{} offset {} (attempt {}): consumption paused, "
          + "retrying in {} ms; the record is read again, not dead-lettered. Check that the registry at "
          + "schema.registry.url is up and reachable from this host", record.topic(), record.partition(),
          record.offset(), registryFailures, delay, e);
    }
  }

  /**
   * Dead-letters {@code record}. Records of the dead-letter topic itself are stored straight into dead_letters
   * (publishing them again would loop).
   */
  private void deadLetter(ConsumerRecord<byte[], byte[]> record, String reason, String message, Throwable error,
      TopicHandler<?> handler) {
    DeadLetter letter = deadLetters.of(record, reason, message, error);
    metrics.deadLetters.labelValues(reason).inc();
    LOG.warn("dead-lettering {}-{}@{}: {}: {}", record.topic(), record.partition(), record.offset(), reason, message);
    if (handler != null && handler.deadLetterTopic()) {
      RowMappers.deadLetter(letter, record.partition(), record.offset(),
          (t, row) -> open.pendingRow(t, new Pending(row, record)));
      open.keepPending();
    } else {
      open.deadLetters.add(new ProducerRecord<>(deadLetterTopic, record.key(), letter));
    }
  }

  /** Inserts every table not yet inserted and sends the dead letters. Inserter thread (or loop thread when idle). */
  private void write(Batch batch) throws RetryLater {
    for (Map.Entry<Table, List<Pending>> e : batch.tables.entrySet()) {
      if (!batch.inserted.contains(e.getKey())) {
        insertIsolating(batch, e.getKey(), e.getValue());
        batch.inserted.add(e.getKey());
      }
    }
    sendDeadLetters(batch);
    afterInsertHook.run();
  }

  /**
   * Inserts the rows not yet done; on a rejection or a memory-limit error splits them in halves until the refused
   * rows are found and dead-lettered. Recursion depth is log2 of the batch size.
   */
  private void insertIsolating(Batch batch, Table table, List<Pending> all) throws RetryLater {
    List<Pending> rows = new ArrayList<>(all.size());
    for (Pending p : all) {
      if (!batch.done.contains(p)) {
        rows.add(p);
      }
    }
    if (rows.isEmpty()) {
      return;
    }
    List<Object[]> values = new ArrayList<>(rows.size());
    for (Pending p : rows) {
      values.add(p.row());
    }
    long start = System.nanoTime();
    try {
      writer.insert(table, values);
      metrics.insertLatency.labelValues(table.tableName()).observe((System.nanoTime() - start) / 1e9);
      metrics.rowsWritten.labelValues(table.tableName()).inc(rows.size());
      batch.done.addAll(rows);
      return;
    } catch (Exception e) {
      ErrorClassifier.Kind kind = classifier.classify(e);
      switch (kind) {
        case RETRYABLE -> throw new RetryLater(e, false);
        case REJECTED -> {
          if (rows.size() == 1) {
            rejected(batch, table, rows.get(0), e, DeadLetters.REJECTED);
            return;
          }
        }
        case TOO_LARGE -> {
          if (rows.size() == 1) {
            if (!batch.giveUp) {
              throw new RetryLater(e, true); // a server short of memory for everyone, or a row too large: retry
            }
            rejected(batch, table, rows.get(0), e, DeadLetters.TOO_LARGE);
            return;
          }
          metrics.splits.inc();
          LOG.warn("insert of {} rows into {} exceeded ClickHouse's memory limit: splitting it in halves", rows.size(),
              table.tableName());
        }
        case UNKNOWN -> {
          if (!batch.giveUp) {
            throw new RetryLater(e, true);
          }
          if (rows.size() == 1) {
            rejected(batch, table, rows.get(0), e, DeadLetters.UNCLASSIFIED);
            return;
          }
        }
        default -> throw new IllegalStateException("unhandled kind " + kind, e);
      }
    }
    int mid = rows.size() / 2;
    insertIsolating(batch, table, rows.subList(0, mid));
    insertIsolating(batch, table, rows.subList(mid, rows.size()));
  }

  private void rejected(Batch batch, Table table, Pending p, Exception e, String reason) {
    batch.done.add(p);
    String message = (DeadLetters.REJECTED.equals(reason) ? "ClickHouse rejected a row of "
        : "ClickHouse could not insert a row of ") + table.tableName() + ": " + DeadLetters.describe(e);
    TopicHandler<?> handler = handlers.get(p.source().topic());
    if (handler != null && handler.deadLetterTopic()) {
      // A dead letter ClickHouse refuses cannot go back to the dead-letter topic (it would loop): log and count.
      metrics.deadLetters.labelValues("unstorable-dead-letter").inc();
      LOG.error("dead letter {}-{}@{} cannot be stored: {}", p.source().topic(), p.source().partition(),
          p.source().offset(), message, e);
    } else {
      metrics.deadLetters.labelValues(reason).inc();
      LOG.warn("dead-lettering {}-{}@{}: {}", p.source().topic(), p.source().partition(), p.source().offset(),
          message);
      batch.deadLetters.add(new ProducerRecord<>(deadLetterTopic, p.source().key(),
          deadLetters.of(p.source(), reason, message, e)));
    }
  }

  private void sendDeadLetters(Batch batch) throws RetryLater {
    if (batch.deadLetters.isEmpty()) {
      return;
    }
    List<Future<?>> sent = new ArrayList<>();
    try {
      for (ProducerRecord<byte[], DeadLetter> r : batch.deadLetters) {
        sent.add(sendOrFailedFuture(r));
      }
      deadLetterProducer.flush();
      Iterator<ProducerRecord<byte[], DeadLetter>> it = batch.deadLetters.iterator();
      for (Future<?> f : sent) {
        ProducerRecord<byte[], DeadLetter> r = it.next();
        try {
          f.get();
        } catch (ExecutionException e) {
          if (!permanentSendFailure(e.getCause())) {
            throw e;
          }
          sendLastResort(r, e.getCause());
        }
        it.remove(); // acknowledged (or given up for good): never sent again on a retry
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RetryLater(e, false);
    } catch (Exception e) {
      throw new RetryLater(e, false);
    }
  }

  /** {@code send}, with a synchronous failure (serialization, size check) turned into a failed future. */
  private Future<?> sendOrFailedFuture(ProducerRecord<byte[], DeadLetter> r) {
    try {
      return deadLetterProducer.send(r);
    } catch (RuntimeException e) {
      java.util.concurrent.CompletableFuture<Object> failed = new java.util.concurrent.CompletableFuture<>();
      failed.completeExceptionally(e);
      return failed;
    }
  }

  /**
   * The topic refused {@code r} for good: sends it once more cut to a few hundred bytes; if that is refused for good
   * too, logs and counts it and gives up (never a dead letter of a dead letter). A retryable failure of the small
   * copy propagates, so the batch is retried.
   */
  private void sendLastResort(ProducerRecord<byte[], DeadLetter> r, Throwable refusal) throws Exception {
    DeadLetter letter = r.value();
    LOG.warn("the dead-letter topic refused the dead letter of {}-{}@{} ({}); sending it truncated",
        letter.getSourceTopic(), letter.getSourcePartition(), letter.getSourceOffset(), refusal.toString());
    ProducerRecord<byte[], DeadLetter> small = new ProducerRecord<>(r.topic(), r.partition(), r.timestamp(),
        r.key() == null || r.key().length <= DeadLetters.LAST_RESORT_KEY_BYTES ? r.key()
            : java.util.Arrays.copyOf(r.key(), DeadLetters.LAST_RESORT_KEY_BYTES),
        DeadLetters.lastResort(letter));
    try {
      Future<?> f = sendOrFailedFuture(small);
      deadLetterProducer.flush();
      f.get();
    } catch (ExecutionException e) {
      if (!permanentSendFailure(e.getCause())) {
        throw e;
      }
      metrics.deadLetters.labelValues(DeadLetters.UNSENDABLE).inc();
      LOG.error("dead letter of {}-{}@{} (reason {}) cannot be sent even truncated; skipped: {}",
          letter.getSourceTopic(), letter.getSourcePartition(), letter.getSourceOffset(), letter.getReason(),
          letter.getMessage(), e.getCause());
    }
  }

  /**
   * True when sending the same dead letter again cannot succeed: the record is too large for the broker or the
   * producer, or cannot be serialized for a reason other than an unreachable registry.
   */
  static boolean permanentSendFailure(Throwable error) {
    if (SchemaRegistryException.isRetryableCause(error)) {
      return false;
    }
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof org.apache.kafka.common.errors.RecordTooLargeException
          || t instanceof org.apache.kafka.common.errors.RecordBatchTooLargeException
          || t instanceof org.apache.kafka.common.InvalidRecordException
          || t instanceof org.apache.kafka.common.errors.SerializationException) {
        return true;
      }
    }
    return false;
  }

  private void commit(Batch batch) {
    if (batch.nextOffsets.isEmpty()) {
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    batch.nextOffsets.forEach((tp, next) -> offsets.put(tp, new OffsetAndMetadata(next)));
    try {
      try {
        consumer.commitSync(offsets);
      } catch (WakeupException e) {
        consumer.commitSync(offsets); // stop() woke the consumer; a wakeup fires once, so the second try runs
      }
    } catch (RuntimeException e) {
      // The rows are in ClickHouse; uncommitted records come back and replace themselves (same natural key).
      metrics.commitFailures.inc();
      LOG.warn("offset commit failed after a successful insert; the batch will be re-delivered (harmless)", e);
    }
  }

  private long backoffMillis(int attempt) {
    double base = initialBackoff.toMillis() * Math.pow(2, Math.min(attempt - 1, 30));
    double capped = Math.min(base, maxBackoff.toMillis());
    // Full jitter between half and the whole delay: spreads restarts of many sinks after an outage.
    return Math.max(1, (long) (capped * (0.5 + 0.5 * ThreadLocalRandom.current().nextDouble())));
  }

  private void updateLag(long now) {
    if (now - lastLagUpdate < 1000) {
      return;
    }
    lastLagUpdate = now;
    try {
      for (TopicPartition tp : consumer.assignment()) {
        consumer.currentLag(tp).ifPresent(lag ->
            metrics.consumerLag.labelValues(tp.topic(), Integer.toString(tp.partition())).set(lag));
      }
    } catch (RuntimeException e) {
      LOG.debug("consumer lag not available", e); // a metric only: never stop the loop for it
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A row waiting for its insert, with the record it came from (for dead-lettering). */
  private record Pending(Object[] row, ConsumerRecord<byte[], byte[]> source) { }

  /**
   * A failure the loop retries later; {@code bounded} when it is neither an outage nor a rejection, so it is retried
   * at most {@code maxUnknownAttempts} times.
   */
  private static final class RetryLater extends Exception {
    final boolean bounded;

    RetryLater(Throwable cause, boolean bounded) {
      super(cause);
      this.bounded = bounded;
    }
  }

  /**
   * The records of one batch: rows per table, dead letters, and the offsets to commit. Filled by the loop thread,
   * then owned by the inserter until its result is collected (the Future hands it over safely).
   */
  private static final class Batch {
    final Map<Table, List<Pending>> tables = new EnumMap<>(Table.class);
    final Set<Table> inserted = java.util.EnumSet.noneOf(Table.class);
    final List<ProducerRecord<byte[], DeadLetter>> deadLetters = new ArrayList<>();
    final Map<TopicPartition, Long> nextOffsets = new HashMap<>();
    final Map<TopicPartition, Long> firstOffsets = new HashMap<>();
    /** Rows inserted or dead-lettered by an earlier attempt: a retry skips them (identity: rows are not values). */
    final Set<Pending> done = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    /** Attempts that failed with a bounded (unknown or single-row memory) failure. */
    int boundedFailures;
    /** Set after {@code maxUnknownAttempts}: bounded failures isolate and dead-letter rows instead of retrying. */
    boolean giveUp;
    /** Rows of the record being mapped: kept only when the whole record mapped (no half records). */
    private final List<Table> pendingTables = new ArrayList<>(4);
    private final List<Pending> pendingRows = new ArrayList<>(4);
    int rows;
    long firstAddedMillis;
    boolean started;

    void noteOffset(ConsumerRecord<byte[], byte[]> r, long now) {
      if (!started) {
        started = true;
        firstAddedMillis = now; // the age of a batch counts from its first record
      }
      TopicPartition tp = new TopicPartition(r.topic(), r.partition());
      nextOffsets.merge(tp, r.offset() + 1, Math::max);
      firstOffsets.merge(tp, r.offset(), Math::min);
    }

    void pendingRow(Table t, Pending p) {
      pendingTables.add(t);
      pendingRows.add(p);
    }

    void keepPending() {
      for (int i = 0; i < pendingRows.size(); i++) {
        tables.computeIfAbsent(pendingTables.get(i), k -> new ArrayList<>()).add(pendingRows.get(i));
        rows++;
      }
      dropPending();
    }

    void dropPending() {
      pendingTables.clear();
      pendingRows.clear();
    }

    boolean isEmpty() {
      return rows == 0 && deadLetters.isEmpty() && nextOffsets.isEmpty();
    }
  }

  /**
   * Before partitions move, the batches held are written and committed once, synchronously; if that fails they are
   * dropped uncommitted and the partitions this consumer keeps are rewound, so their records are read again.
   */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      if (closing || (inFlight == null && open.isEmpty())) {
        return;
      }
      boolean ok = true;
      try {
        if (inFlightResult != null) {
          inFlightResult.get(shutdownTimeout.toMillis(), TimeUnit.MILLISECONDS);
          inFlightResult = null;
          commit(inFlight);
          inFlight = null;
        }
        if (inFlight != null) {
          write(inFlight);
          commit(inFlight);
          inFlight = null;
        }
        if (!open.isEmpty()) {
          write(open);
          commit(open);
          open = new Batch();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        ok = false;
      } catch (ExecutionException | TimeoutException | RetryLater e) {
        if (e instanceof ExecutionException ee && ee.getCause() instanceof Error error) {
          throw error;
        }
        ok = false;
      }
      if (!ok) {
        Map<TopicPartition, Long> rewind = new HashMap<>(open.firstOffsets);
        if (inFlight != null) {
          inFlight.firstOffsets.forEach((tp, first) -> rewind.merge(tp, first, Math::min));
        }
        inFlight = null;
        inFlightResult = null;
        open = new Batch();
        failedAttempts = 0;
        Set<TopicPartition> kept = new HashSet<>(consumer.assignment());
        kept.removeAll(partitions);
        for (TopicPartition tp : kept) {
          Long first = rewind.get(tp);
          if (first != null) {
            consumer.seek(tp, first);
          }
        }
        LOG.warn("rebalance while ClickHouse is unavailable: the unwritten batches were dropped uncommitted and "
            + "will be re-read");
      }
      // Nothing is held any more: either it was written, or it was dropped to be re-read. Consumption resumes, and the
      // next batch finds out whether ClickHouse is back (collect() would otherwise be the only place that ends an
      // outage, and without a batch it never runs again: the sink stayed paused for good).
      outage = false;
      failedAttempts = 0;
      updatePause();
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (paused) {
        consumer.pause(partitions);
      }
    }
  }
}
