package io.infermeter.sink.internal;

import io.infermeter.sink.internal.Batch.Pending;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one {@link Batch}: inserts every table not yet inserted, then sends the batch's dead
 * letters. Failures are classified by {@link ErrorClassifier}: an outage throws {@link RetryLater}
 * at once; a rejection bisects the table's rows down to the rows ClickHouse refuses and
 * dead-letters their records; MEMORY_LIMIT_EXCEEDED splits the rows in halves until each part fits.
 * An exception without a ClickHouse error code, or a single row that still exceeds the memory
 * limit, throws a bounded {@link RetryLater} until the batch gives up ({@link Batch#giveUp}); then
 * the rows that still fail are dead-lettered (reasons {@code unclassified-error}, {@code
 * too-large}). What an attempt inserted or dead-lettered is recorded in the batch, so a retry of
 * the same batch does not send it again.
 *
 * <p>Stateless apart from the batch it is given: one thread writes one batch at a time (the
 * inserter, or the loop thread during a rebalance).
 */
final class BatchWriter {

  /** The loop's category: operators filter the sink's batch handling on it. */
  private static final Logger LOG = LoggerFactory.getLogger(SinkLoop.class);

  private final RowWriter writer;
  private final Map<String, TopicHandler<?>> handlers;
  private final SinkMetrics metrics;
  private final DeadLetters deadLetters;
  private final String deadLetterTopic;
  private final DeadLetterSender sender;
  private final ErrorClassifier classifier = new ErrorClassifier();

  /**
   * @param handlers the loop's handlers by topic: a refused row of the dead-letter topic is logged,
   *     not re-published
   * @param deadLetterTopic where the dead letters of refused rows go
   */
  BatchWriter(
      RowWriter writer,
      Map<String, TopicHandler<?>> handlers,
      SinkMetrics metrics,
      DeadLetters deadLetters,
      String deadLetterTopic,
      DeadLetterSender sender) {
    this.writer = writer;
    this.handlers = handlers;
    this.metrics = metrics;
    this.deadLetters = deadLetters;
    this.deadLetterTopic = deadLetterTopic;
    this.sender = sender;
  }

  /** Inserts every table not yet inserted and sends the dead letters. */
  void write(Batch batch) throws RetryLater {
    for (Map.Entry<Table, List<Pending>> e : batch.tables.entrySet()) {
      if (!batch.inserted.contains(e.getKey())) {
        insertIsolating(batch, e.getKey(), e.getValue());
        batch.inserted.add(e.getKey());
      }
    }
    sender.send(batch.deadLetters);
  }

  /**
   * Inserts the rows not yet done; on a rejection or a memory-limit error splits them in halves
   * until the refused rows are found and dead-lettered. Recursion depth is log2 of the batch size.
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
      metrics
          .insertLatency
          .labelValues(table.tableName())
          .observe((System.nanoTime() - start) / 1e9);
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
              throw new RetryLater(
                  e, true); // a server short of memory for everyone, or a row too large: retry
            }
            rejected(batch, table, rows.get(0), e, DeadLetters.TOO_LARGE);
            return;
          }
          metrics.splits.inc();
          LOG.warn(
              "insert of {} rows into {} exceeded ClickHouse's memory limit: splitting it in halves",
              rows.size(),
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
    String message =
        (DeadLetters.REJECTED.equals(reason)
                ? "ClickHouse rejected a row of "
                : "ClickHouse could not insert a row of ")
            + table.tableName()
            + ": "
            + DeadLetters.describe(e);
    TopicHandler<?> handler = handlers.get(p.source().topic());
    if (handler != null && handler.deadLetterTopic()) {
      // A dead letter ClickHouse refuses cannot go back to the dead-letter topic (it would loop):
      // log and count.
      metrics.deadLetters.labelValues("unstorable-dead-letter").inc();
      LOG.error(
          "dead letter {}-{}@{} cannot be stored: {}",
          p.source().topic(),
          p.source().partition(),
          p.source().offset(),
          message,
          e);
    } else {
      metrics.deadLetters.labelValues(reason).inc();
      LOG.warn(
          "dead-lettering {}-{}@{}: {}",
          p.source().topic(),
          p.source().partition(),
          p.source().offset(),
          message);
      batch.deadLetters.add(
          new ProducerRecord<>(
              deadLetterTopic, p.source().key(), deadLetters.of(p.source(), reason, message, e)));
    }
  }
}
