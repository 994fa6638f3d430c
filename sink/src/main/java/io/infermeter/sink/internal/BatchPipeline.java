package io.infermeter.sink.internal;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The batches the loop holds and their way to a commit. The open batch is filled by the loop; a
 * full batch ({@code maxRows} rows) or an old one ({@code maxWait} since its first record) becomes
 * the batch in flight, written by {@link BatchWriter} on a single inserter thread; when that
 * succeeds its offsets are committed ({@code commitSync}) on the loop thread. At most one batch is
 * in flight. A failed write ({@link RetryLater}) marks an outage and is retried with the same batch
 * after a {@link Backoff}; a bounded failure is retried at most {@code maxUnknownAttempts} times,
 * then the batch gives up and the last attempt dead-letters the rows that still fail. A failed
 * commit after a successful write is logged and counted: the re-delivered records replace their own
 * rows (ReplacingMergeTree on each record's natural key).
 *
 * <p>Loop thread only, except the batch in flight, which the inserter owns until its result is
 * collected (the Future hands it over safely).
 */
final class BatchPipeline implements AutoCloseable {

  /** The loop's category: operators filter the sink's batch handling on it. */
  private static final Logger LOG = LoggerFactory.getLogger(SinkLoop.class);

  private final Consumer<byte[], byte[]> consumer;
  private final BatchWriter batchWriter;
  private final SinkMetrics metrics;
  private final Clock clock;
  private final Backoff backoff;
  private final int maxRows;
  private final Duration maxWait;
  private final Duration shutdownTimeout;
  private final int maxUnknownAttempts;

  /** Runs after every table of a batch is inserted and before the commit. */
  private final Runnable afterInsert;

  private final ExecutorService inserter =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "infermeter-sink-inserter");
            t.setDaemon(true);
            return t;
          });

  /** The batch being filled by the loop thread. */
  private Batch open = new Batch();

  /**
   * The batch handed to the inserter (running, or failed and waiting for its retry); null when
   * none.
   */
  private Batch inFlight;

  /**
   * The inserter's result for {@link #inFlight}; null while the batch waits for a retry or when
   * none.
   */
  private Future<?> inFlightResult;

  private boolean outage;

  /**
   * @param consumer used for {@code commitSync} only
   * @param maxUnknownAttempts bounded failures of a batch before its failing rows are
   *     dead-lettered; at least 1
   * @param afterInsert runs after a batch is written and before its commit, on the thread that
   *     wrote it
   */
  BatchPipeline(
      Consumer<byte[], byte[]> consumer,
      BatchWriter batchWriter,
      SinkMetrics metrics,
      Clock clock,
      Backoff backoff,
      int maxRows,
      Duration maxWait,
      Duration shutdownTimeout,
      int maxUnknownAttempts,
      Runnable afterInsert) {
    this.consumer = consumer;
    this.batchWriter = batchWriter;
    this.metrics = metrics;
    this.clock = clock;
    this.backoff = backoff;
    this.maxRows = maxRows;
    this.maxWait = maxWait;
    this.shutdownTimeout = shutdownTimeout;
    this.maxUnknownAttempts = maxUnknownAttempts;
    this.afterInsert = afterInsert;
  }

  /** The batch records are added to now; a different one after {@link #advance} handed it over. */
  Batch open() {
    return open;
  }

  /** True while the inserter is writing a batch. */
  boolean inserting() {
    return inFlightResult != null;
  }

  /** True from a failed write until a batch is written, or until {@link #endOutage()}. */
  boolean outage() {
    return outage;
  }

  /**
   * True when the open batch is full while another batch is in flight: nothing more can be taken
   * now.
   */
  boolean backedUp() {
    return inFlight != null && open.rows >= maxRows;
  }

  /** True when no batch is in flight and the open one is empty. */
  boolean holdsNothing() {
    return inFlight == null && open.isEmpty();
  }

  /**
   * Collects a finished insert, starts a due retry, or hands the open batch over.
   *
   * @throws InterruptedException if interrupted while reading the inserter's result (the flag is
   *     cleared)
   */
  void advance(long now) throws InterruptedException {
    if (inFlightResult != null && inFlightResult.isDone()) {
      collect(now);
    }
    if (inFlight != null && inFlightResult == null && !backoff.waiting(now)) {
      submit();
    }
    if (inFlight == null
        && !open.isEmpty()
        && (open.rows >= maxRows || now - open.firstAddedMillis >= maxWait.toMillis())) {
      inFlight = open;
      open = new Batch();
      submit();
    }
  }

  private void submit() {
    Batch batch = inFlight;
    inFlightResult =
        inserter.submit(
            () -> {
              write(batch);
              return null;
            });
  }

  private void write(Batch batch) throws RetryLater {
    batchWriter.write(batch);
    afterInsert.run();
  }

  /** Reads the inserter's result: commit on success, schedule a retry on a retryable failure. */
  private void collect(long now) throws InterruptedException {
    try {
      inFlightResult.get();
      inFlightResult = null;
      commit(inFlight);
      metrics.batches.inc();
      inFlight = null;
      backoff.reset();
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
      metrics.retries.inc();
      long delay = backoff.failed(now);
      outage = true;
      boolean bounded = !(cause instanceof RetryLater rl) || rl.bounded;
      if (bounded && ++inFlight.boundedFailures >= maxUnknownAttempts && !inFlight.giveUp) {
        inFlight.giveUp = true;
        backoff.retryAt(now); // the last attempt isolates and dead-letters the failing rows at once
        LOG.error(
            "batch of {} rows failed {} times with an error that is neither an outage nor a rejection; the "
                + "rows that still fail are dead-lettered (retry.unknown.max.attempts={})",
            inFlight.rows,
            inFlight.boundedFailures,
            maxUnknownAttempts,
            cause.getCause() != null ? cause.getCause() : cause);
      } else if (backoff.failures() == 1 || backoff.failures() % 20 == 0) {
        LOG.warn(
            "batch of {} rows not written (attempt {}), retrying in {} ms with consumption paused",
            inFlight.rows,
            backoff.failures(),
            delay,
            cause.getCause() != null ? cause.getCause() : cause);
      }
    }
  }

  /**
   * On stop: finish the batch in flight, then write the open one, retrying until {@code
   * shutdownTimeout}.
   */
  void finalFlush() {
    long deadline = clock.millis() + shutdownTimeout.toMillis();
    while (inFlight != null || !open.isEmpty()) {
      long now = clock.millis();
      if (now > deadline) {
        LOG.error(
            "shutdown: could not write the last {} rows within {}; their records were not committed and "
                + "will be re-delivered on the next start",
            open.rows + (inFlight == null ? 0 : inFlight.rows),
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
        try {
          collect(before);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (inFlight != null && inFlightResult == null && backoff.waiting(before)) {
        sleepQuietly(Math.min(backoff.retryAt() - before, 200));
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

  /**
   * Writes and commits every batch held, synchronously: waits up to {@code shutdownTimeout} for the
   * one the inserter is writing, then writes the rest on this thread. A batch written and committed
   * here is not counted in {@code infermeter_sink_batches_total}.
   */
  void writeHeld() throws InterruptedException, ExecutionException, TimeoutException, RetryLater {
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
  }

  /**
   * Drops every batch held, uncommitted, and returns, per partition, the first offset they held:
   * where to seek so their records are read again.
   */
  Map<TopicPartition, Long> dropHeld() {
    Map<TopicPartition, Long> rewind = new HashMap<>(open.firstOffsets);
    if (inFlight != null) {
      inFlight.firstOffsets.forEach((tp, first) -> rewind.merge(tp, first, Math::min));
    }
    inFlight = null;
    inFlightResult = null;
    open = new Batch();
    backoff.reset();
    return rewind;
  }

  /** Nothing is held any more: the next batch finds out whether ClickHouse is back. */
  void endOutage() {
    outage = false;
    backoff.reset();
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
        consumer.commitSync(
            offsets); // stop() woke the consumer; a wakeup fires once, so the second try runs
      }
    } catch (RuntimeException e) {
      // The rows are in ClickHouse; uncommitted records come back and replace themselves (same
      // natural key).
      metrics.commitFailures.inc();
      LOG.warn(
          "offset commit failed after a successful insert; the batch will be re-delivered (harmless)",
          e);
    }
  }

  /**
   * Stops the inserter thread (interrupting a write in progress); what it held stays uncommitted.
   */
  @Override
  public void close() {
    inserter.shutdownNow();
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
