package io.infermeter.sink.internal;

import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Before partitions move, the batches held are written and committed once, synchronously; if that
 * fails they are dropped uncommitted and the partitions this consumer keeps are rewound, so their
 * records are read again. Either way nothing is held afterwards, so an outage ends here:
 * consumption resumes and the next batch finds out whether ClickHouse is back (without a batch in
 * flight nothing else would end it, and the sink would stay paused for good). Partitions assigned
 * while consumption is paused are paused too.
 *
 * <p>Called by the consumer on the loop thread (inside {@code poll} and {@code close}).
 */
final class RebalanceListener implements ConsumerRebalanceListener {

  /** The loop's category: operators filter the sink's batch handling on it. */
  private static final Logger LOG = LoggerFactory.getLogger(SinkLoop.class);

  private final Consumer<byte[], byte[]> consumer;
  private final BatchPipeline pipeline;
  private final Runnable updatePause;
  private final BooleanSupplier paused;
  private boolean closing;

  /**
   * @param updatePause re-applies the loop's pause decision after the held batches were written or
   *     dropped
   * @param paused whether the loop has paused consumption
   */
  RebalanceListener(
      Consumer<byte[], byte[]> consumer,
      BatchPipeline pipeline,
      Runnable updatePause,
      BooleanSupplier paused) {
    this.consumer = consumer;
    this.pipeline = pipeline;
    this.updatePause = updatePause;
    this.paused = paused;
  }

  /**
   * The loop is ending: whatever is still held stays uncommitted (re-delivered on the next start).
   * The revocation that {@code consumer.close()} triggers must not write or commit it after a
   * failure that ended the loop.
   */
  void closing() {
    closing = true;
  }

  @Override
  public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
    if (closing || pipeline.holdsNothing()) {
      return;
    }
    boolean ok = true;
    try {
      pipeline.writeHeld();
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
      Map<TopicPartition, Long> rewind = pipeline.dropHeld();
      Set<TopicPartition> kept = new HashSet<>(consumer.assignment());
      kept.removeAll(partitions);
      for (TopicPartition tp : kept) {
        Long first = rewind.get(tp);
        if (first != null) {
          consumer.seek(tp, first);
        }
      }
      LOG.warn(
          "rebalance while ClickHouse is unavailable: the unwritten batches were dropped uncommitted and "
              + "will be re-read");
    }
    pipeline.endOutage();
    updatePause.run();
  }

  @Override
  public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
    if (paused.getAsBoolean()) {
      consumer.pause(partitions);
    }
  }
}
