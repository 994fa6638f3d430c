package io.infermeter.sink.internal;

import io.infermeter.avro.DeadLetter;
import io.infermeter.schemas.serde.SchemaRegistryException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a batch's dead letters to the dead-letter topic and waits until Kafka acknowledged them, at
 * least once: a send whose acknowledgement was lost is repeated when the batch is retried. A dead
 * letter the topic refuses for good (too large, not serializable) is sent once more cut to a few
 * hundred bytes; if that is refused too it is logged, counted ({@code
 * infermeter_sink_dead_letters_total{reason="unsendable-dead-letter"}}) and skipped. A dead letter
 * is never dead-lettered itself.
 *
 * <p>Called by one thread at a time (the inserter, or the loop thread during a rebalance); the
 * producer is thread-safe.
 */
final class DeadLetterSender {

  /** The loop's category: operators filter the sink's batch handling on it. */
  private static final Logger LOG = LoggerFactory.getLogger(SinkLoop.class);

  private final Producer<byte[], DeadLetter> producer;
  private final SinkMetrics metrics;

  DeadLetterSender(Producer<byte[], DeadLetter> producer, SinkMetrics metrics) {
    this.producer = producer;
    this.metrics = metrics;
  }

  /**
   * Sends {@code pending} and removes every record that was acknowledged or given up for good, so a
   * retry never sends it again.
   *
   * @throws RetryLater (not bounded) when a send failed in a way that may succeed later (the topic
   *     unreachable, the registry down); the records not yet acknowledged stay in {@code pending}
   */
  void send(List<ProducerRecord<byte[], DeadLetter>> pending) throws RetryLater {
    if (pending.isEmpty()) {
      return;
    }
    List<Future<?>> sent = new ArrayList<>();
    try {
      for (ProducerRecord<byte[], DeadLetter> r : pending) {
        sent.add(sendOrFailedFuture(r));
      }
      producer.flush();
      Iterator<ProducerRecord<byte[], DeadLetter>> it = pending.iterator();
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

  /**
   * {@code send}, with a synchronous failure (serialization, size check) turned into a failed
   * future.
   */
  private Future<?> sendOrFailedFuture(ProducerRecord<byte[], DeadLetter> r) {
    try {
      return producer.send(r);
    } catch (RuntimeException e) {
      CompletableFuture<Object> failed = new CompletableFuture<>();
      failed.completeExceptionally(e);
      return failed;
    }
  }

  /**
   * The topic refused {@code r} for good: sends it once more cut to a few hundred bytes; if that is
   * refused for good too, logs and counts it and gives up (never a dead letter of a dead letter). A
   * retryable failure of the small copy propagates, so the batch is retried.
   */
  private void sendLastResort(ProducerRecord<byte[], DeadLetter> r, Throwable refusal)
      throws Exception {
    DeadLetter letter = r.value();
    LOG.warn(
        "the dead-letter topic refused the dead letter of {}-{}@{} ({}); sending it truncated",
        letter.getSourceTopic(),
        letter.getSourcePartition(),
        letter.getSourceOffset(),
        refusal.toString());
    ProducerRecord<byte[], DeadLetter> small =
        new ProducerRecord<>(
            r.topic(),
            r.partition(),
            r.timestamp(),
            r.key() == null || r.key().length <= DeadLetters.LAST_RESORT_KEY_BYTES
                ? r.key()
                : Arrays.copyOf(r.key(), DeadLetters.LAST_RESORT_KEY_BYTES),
            DeadLetters.lastResort(letter));
    try {
      Future<?> f = sendOrFailedFuture(small);
      producer.flush();
      f.get();
    } catch (ExecutionException e) {
      if (!permanentSendFailure(e.getCause())) {
        throw e;
      }
      metrics.deadLetters.labelValues(DeadLetters.UNSENDABLE).inc();
      LOG.error(
          "dead letter of {}-{}@{} (reason {}) cannot be sent even truncated; skipped: {}",
          letter.getSourceTopic(),
          letter.getSourcePartition(),
          letter.getSourceOffset(),
          letter.getReason(),
          letter.getMessage(),
          e.getCause());
    }
  }

  /**
   * True when sending the same dead letter again cannot succeed: the record is too large for the
   * broker or the producer, or cannot be serialized for a reason other than an unreachable
   * registry.
   */
  static boolean permanentSendFailure(Throwable error) {
    if (SchemaRegistryException.isRetryableCause(error)) {
      return false;
    }
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof RecordTooLargeException
          || t instanceof RecordBatchTooLargeException
          || t instanceof InvalidRecordException
          || t instanceof SerializationException) {
        return true;
      }
    }
    return false;
  }
}
