package io.infermeter.alerts.internal;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.schemas.serde.SchemaRegistryException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The forwarder's poll loop: reads the alerts topic, forwards each poll's state changes to
 * Alertmanager and commits the poll's offsets only once every Alertmanager has an outcome
 * (delivered, rejected or given up), and sends every firing alert again each resend interval.
 *
 * <p>Exactly once in effect across restarts: when partitions are assigned, the firing alerts of
 * each are rebuilt by re-reading it from the lookback (by record timestamp) up to the committed
 * offset, with a separate group-less consumer, applying FIRING and RESOLVED without sending
 * anything; then the rebuilt firing alerts are sent once (a repeat of a FIRING is harmless:
 * Alertmanager merges alerts with equal labels). Resolved history is never sent again and nothing
 * past the committed offset is skipped. A partition without a committed offset (a new group) is
 * rebuilt up to its end and consumption starts there, so a first start sends what is firing, not
 * the topic's history.
 *
 * <p>{@code stopping} is the latch {@link #stop} counts down; pass the same to the delivery's
 * {@link #sleeper(CountDownLatch)} so a retry wait ends at once on shutdown. Not thread-safe:
 * {@link #run()} runs on one thread; {@link #stop} may be called from any thread.
 */
public final class ForwarderLoop implements Runnable {

  private static final Logger LOG = LoggerFactory.getLogger(ForwarderLoop.class);
  private static final Duration REBUILD_POLL = Duration.ofMillis(200);
  private static final Duration REBUILD_STALL = Duration.ofSeconds(30);
  static final Duration REGISTRY_BACKOFF_INITIAL = Duration.ofMillis(500);
  static final Duration REGISTRY_BACKOFF_MAX = Duration.ofSeconds(30);

  /** Returned by {@link #decode} when the loop stopped during a registry outage. */
  private static final Alert STOPPED = new Alert();

  /** Whether {@code alert} is the {@link #STOPPED} marker itself (not an alert equal to it). */
  @SuppressWarnings("ReferenceEquality") // a marker instance: identity is the point
  private static boolean isStopped(Alert alert) {
    return alert == STOPPED;
  }

  private final Consumer<byte[], byte[]> consumer;
  private final Supplier<Consumer<byte[], byte[]>> rebuildConsumers;
  private final Deserializer<Alert> deserializer;
  private final String topic;
  private final AlertMapping mapping;
  private final Delivery delivery;
  private final FiringAlerts firing;
  private final ForwarderMetrics metrics;
  private final Clock clock;
  private final Duration pollTimeout;
  private final Duration lookback;
  private final CountDownLatch stopping;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean ready;
  private boolean assigned;
  private volatile RuntimeException failure;

  public ForwarderLoop(
      Consumer<byte[], byte[]> consumer,
      Supplier<Consumer<byte[], byte[]>> rebuildConsumers,
      Deserializer<Alert> deserializer,
      String topic,
      AlertMapping mapping,
      Delivery delivery,
      FiringAlerts firing,
      ForwarderMetrics metrics,
      Clock clock,
      Duration pollTimeout,
      Duration lookback,
      CountDownLatch stopping) {
    this.consumer = consumer;
    this.stopping = stopping;
    this.rebuildConsumers = rebuildConsumers;
    this.deserializer = deserializer;
    this.topic = topic;
    this.mapping = mapping;
    this.delivery = delivery;
    this.firing = firing;
    this.metrics = metrics;
    this.clock = clock;
    this.pollTimeout = pollTimeout;
    this.lookback = lookback;
  }

  /**
   * A {@link Delivery.Sleeper} that wakes up early (returning false) once {@code stopping} is
   * counted down.
   */
  public static Delivery.Sleeper sleeper(CountDownLatch stopping) {
    return d -> !stopping.await(d.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * True once the group assigned this instance its partitions and they were rebuilt, until the loop
   * ends.
   */
  public boolean isReady() {
    return ready;
  }

  @Override
  public void run() {
    try {
      firing.resent(
          clock.instant()); // the rebuilt alerts are sent on assignment; the next round is an
      // interval away
      consumer.subscribe(List.of(topic), new Rebalance());
      while (stopping.getCount() > 0) {
        ConsumerRecords<byte[], byte[]> records;
        try {
          records = consumer.poll(pollTimeout);
        } catch (WakeupException e) {
          break;
        }
        ready = assigned;
        if (!process(records)) {
          break;
        }
        Instant now = clock.instant();
        if (firing.resendDue(now)) {
          firing.resent(now);
          if (firing.size() > 0) {
            metrics.resend();
            if (!delivery.deliver(map(firing.all(), now))) {
              break;
            }
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (WakeupException e) {
      // stop() during a rebalance callback or a commit: nothing more to do
    } catch (RuntimeException e) {
      failure = e;
      LOG.error("the alert forwarder stopped on an error", e);
    } finally {
      ready = false;
      try {
        consumer.close(); // enable.auto.commit=false: closing commits nothing
      } catch (RuntimeException e) {
        LOG.warn("closing the consumer failed", e);
      }
      stopped.countDown();
    }
  }

  /** The error that ended the loop, or null (still running, or stopped by {@link #stop}). */
  public RuntimeException failure() {
    return failure;
  }

  /** Waits until the loop has ended. */
  public void awaitTermination() throws InterruptedException {
    stopped.await();
  }

  /**
   * Stops the loop (an in-flight delivery is abandoned uncommitted) and waits up to {@code timeout}
   * for it.
   */
  public boolean stop(Duration timeout) throws InterruptedException {
    stopping.countDown();
    consumer.wakeup();
    return stopped.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * Forwards one poll and commits it; false when the delivery was abandoned because the loop is
   * stopping.
   */
  boolean process(ConsumerRecords<byte[], byte[]> records) throws InterruptedException {
    if (records.isEmpty()) {
      return true;
    }
    metrics.consumed(records.count());
    Instant now = clock.instant();
    List<AlertmanagerAlert> out = new ArrayList<>();
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (TopicPartition tp : records.partitions()) {
      for (ConsumerRecord<byte[], byte[]> r : records.records(tp)) {
        offsets.put(tp, new OffsetAndMetadata(r.offset() + 1));
        Alert alert = decode(r);
        if (isStopped(alert)) {
          return false; // nothing of this poll is committed: it is read again after the restart
        }
        if (alert == null) {
          continue;
        }
        if (alert.getState() == AlertState.FIRING) {
          if (firing.apply(tp, alert) == null) {
            metrics.firingDropped();
            LOG.warn(
                "{} alerts are firing (alertmanager.firing.max): {} is forwarded but not re-sent",
                firing.size(),
                alert.getDedupKey());
          }
          out.add(mapping.firing(alert, now));
        } else {
          out.add(mapping.resolved(alert, firing.apply(tp, alert), now));
        }
      }
    }
    metrics.firing(firing.size());
    if (!delivery.deliver(out)) {
      return false;
    }
    commit(offsets);
    return true;
  }

  /**
   * The record's alert; null when it is skipped (tombstone, undecodable, unknown state: counted);
   * {@link #STOPPED} when the loop stopped while the schema registry was unreachable. A registry
   * outage is waited out (the record is not at fault, and skipping it would lose the alert): the
   * same record is decoded again with a backoff of {@link #REGISTRY_BACKOFF_INITIAL} doubling to
   * {@link #REGISTRY_BACKOFF_MAX}, for as long as it lasts.
   */
  private Alert decode(ConsumerRecord<byte[], byte[]> r) throws InterruptedException {
    if (r.value() == null) {
      metrics.invalid("tombstone");
      return null;
    }
    Alert alert = null;
    Duration backoff = REGISTRY_BACKOFF_INITIAL;
    while (alert == null) {
      try {
        alert = deserializer.deserialize(r.topic(), r.value());
      } catch (SerializationException e) {
        if (!SchemaRegistryException.isRetryableCause(e)) {
          metrics.invalid("undecodable");
          LOG.warn(
              "skipping the undecodable record {}-{}@{}: {}",
              r.topic(),
              r.partition(),
              r.offset(),
              e.getMessage());
          return null;
        }
        metrics.registryRetry();
        LOG.warn(
            "the schema registry is unavailable ({}); decoding {}-{}@{} again in {} (is schema.registry.url up "
                + "and reachable?)",
            e.getMessage(),
            r.topic(),
            r.partition(),
            r.offset(),
            backoff);
        if (!sleeper(stopping).sleep(backoff)) {
          return STOPPED;
        }
        backoff =
            backoff.multipliedBy(2).compareTo(REGISTRY_BACKOFF_MAX) > 0
                ? REGISTRY_BACKOFF_MAX
                : backoff.multipliedBy(2);
      }
    }
    if (alert.getState() != AlertState.FIRING && alert.getState() != AlertState.RESOLVED) {
      metrics.invalid("unknown_state");
      LOG.warn(
          "skipping {}-{}@{}: alert state {} is not known to this version",
          r.topic(),
          r.partition(),
          r.offset(),
          alert.getState());
      return null;
    }
    return alert;
  }

  private void commit(Map<TopicPartition, OffsetAndMetadata> offsets) {
    try {
      try {
        consumer.commitSync(offsets);
      } catch (WakeupException e) {
        consumer.commitSync(
            offsets); // stop() woke the consumer; a wakeup fires once, so the second try runs
      }
    } catch (CommitFailedException
        | org.apache.kafka.common.errors.RebalanceInProgressException e) {
      metrics.commitFailure();
      LOG.warn(
          "committing offsets failed after delivery; the alerts will be delivered again (harmless)",
          e);
    }
  }

  private List<AlertmanagerAlert> map(List<Alert> alerts, Instant now) {
    List<AlertmanagerAlert> out = new ArrayList<>(alerts.size());
    alerts.forEach(a -> out.add(mapping.firing(a, now)));
    return out;
  }

  /**
   * Rebuilds the firing alerts of each partition of {@code ends} from {@code lookback} (by record
   * timestamp) up to its end offset (exclusive), reading all of them with one group-less consumer.
   */
  Map<TopicPartition, Map<String, Alert>> rebuild(
      Consumer<byte[], byte[]> rc, Map<TopicPartition, Long> ends) throws InterruptedException {
    Map<TopicPartition, Map<String, Alert>> state = new HashMap<>();
    Map<TopicPartition, Long> starts = new HashMap<>();
    rc.assign(ends.keySet());
    Map<TopicPartition, Long> begins = rc.beginningOffsets(ends.keySet());
    long since = Math.max(0, clock.instant().minus(lookback).toEpochMilli());
    Map<TopicPartition, Long> query = new HashMap<>();
    ends.keySet().forEach(tp -> query.put(tp, since));
    Map<TopicPartition, OffsetAndTimestamp> at = rc.offsetsForTimes(query);
    List<TopicPartition> pending = new ArrayList<>();
    for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
      TopicPartition tp = e.getKey();
      OffsetAndTimestamp t = at.get(tp);
      long start = t == null ? e.getValue() : Math.max(begins.get(tp), t.offset());
      starts.put(tp, start);
      state.put(tp, new LinkedHashMap<>());
      if (start < e.getValue()) {
        rc.seek(tp, start);
        pending.add(tp);
      }
    }
    rc.pause(ends.keySet());
    rc.resume(pending);
    long read = 0;
    long lastProgress = System.nanoTime();
    while (!pending.isEmpty() && stopping.getCount() > 0) {
      ConsumerRecords<byte[], byte[]> records = rc.poll(REBUILD_POLL);
      if (records.isEmpty() && System.nanoTime() - lastProgress > REBUILD_STALL.toNanos()) {
        LOG.warn(
            "rebuilding {}: no progress for {}; continuing with what was read",
            pending,
            REBUILD_STALL);
        break;
      }
      if (!records.isEmpty()) {
        lastProgress = System.nanoTime();
      }
      for (TopicPartition tp : records.partitions()) {
        long end = ends.get(tp);
        Map<String, Alert> m = state.get(tp);
        for (ConsumerRecord<byte[], byte[]> r : records.records(tp)) {
          if (r.offset() >= end) {
            break;
          }
          read++;
          Alert alert = decode(r);
          if (isStopped(alert)) {
            return state; // stopping: the caller's delivery is abandoned too
          }
          if (alert == null) {
            continue;
          }
          if (alert.getState() == AlertState.FIRING) {
            m.put(alert.getDedupKey(), alert);
          } else {
            m.remove(alert.getDedupKey());
          }
        }
      }
      for (java.util.Iterator<TopicPartition> it = pending.iterator(); it.hasNext(); ) {
        TopicPartition tp = it.next();
        if (rc.position(tp) >= ends.get(tp)) {
          rc.pause(List.of(tp));
          it.remove();
        }
      }
    }
    int firingNow = state.values().stream().mapToInt(Map::size).sum();
    LOG.info(
        "rebuilt {} partition(s) of {}: {} record(s) from {} up to {}, {} alert(s) firing",
        ends.size(),
        topic,
        read,
        starts,
        ends,
        firingNow);
    return state;
  }

  /** The firing alerts of a revoked partition and the position they are current at. */
  private record Parked(Map<String, Alert> alerts, long position) {}

  /**
   * Rebuilds newly assigned partitions and sends their firing alerts; forgets revoked ones. A
   * partition revoked and handed back in the same rebalance, with its committed offset where this
   * instance left it, keeps its alerts without a rebuild or a re-send: an eager rebalance revokes
   * and re-assigns every partition, and would otherwise re-send every firing alert on each
   * rebalance.
   */
  private final class Rebalance implements ConsumerRebalanceListener {

    private final Map<TopicPartition, Parked> parked = new HashMap<>();

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      try {
        assign(partitions);
      } finally {
        parked.clear();
        metrics.firing(firing.size());
        assigned =
            true; // a group member without partitions (more instances than partitions) is ready too
      }
    }

    private void assign(Collection<TopicPartition> partitions) {
      if (partitions.isEmpty()) {
        return;
      }
      Map<TopicPartition, OffsetAndMetadata> committed =
          consumer.committed(new HashSet<>(partitions));
      List<TopicPartition> rebuilt = new ArrayList<>();
      Map<TopicPartition, OffsetAndMetadata> started = new HashMap<>();
      Map<TopicPartition, Long> toRebuild = new HashMap<>();
      List<TopicPartition> fresh = new ArrayList<>();
      for (TopicPartition tp : partitions) {
        OffsetAndMetadata c = committed.get(tp);
        Parked p = parked.get(tp);
        if (p != null && c != null && c.offset() == p.position()) {
          firing.replace(tp, p.alerts());
        } else if (c != null) {
          toRebuild.put(tp, c.offset());
        } else {
          fresh.add(tp);
        }
      }
      if (toRebuild.isEmpty() && fresh.isEmpty()) {
        return;
      }
      try (Consumer<byte[], byte[]> rc = rebuildConsumers.get()) {
        if (!fresh.isEmpty()) {
          Map<TopicPartition, Long> ends = rc.endOffsets(fresh);
          for (TopicPartition tp : fresh) {
            long end = ends.get(tp);
            toRebuild.put(tp, end);
            consumer.seek(
                tp, end); // a new group starts at the end: what was firing is known, history is not
            // sent
            started.put(tp, new OffsetAndMetadata(end));
          }
        }
        rebuild(rc, toRebuild).forEach(firing::replace);
        rebuilt.addAll(toRebuild.keySet());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new WakeupException();
      } catch (KafkaException e) {
        if (e instanceof WakeupException) {
          throw e;
        }
        throw new KafkaException("rebuilding the firing alerts of " + partitions + " failed", e);
      }
      if (stopping.getCount() == 0) {
        throw new WakeupException(); // the rebuild was cut short: neither commit nor send what it
        // read
      }
      if (!started.isEmpty()) {
        consumer.commitSync(
            started); // the rebuilt history counts as handled, also for the next rebalance
      }
      metrics.firing(firing.size());
      List<Alert> again = firing.of(rebuilt);
      if (!again.isEmpty()) {
        LOG.info("sending the {} firing alert(s) of {} again", again.size(), rebuilt);
        try {
          delivery.deliver(map(again, clock.instant()));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new WakeupException();
        }
      }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      for (TopicPartition tp : partitions) {
        try {
          parked.put(tp, new Parked(firing.partition(tp), consumer.position(tp)));
        } catch (KafkaException e) {
          LOG.debug("no position for {}: it will be rebuilt if assigned again", tp, e);
        }
      }
      firing.drop(partitions); // each poll was committed after delivery: nothing is pending
      metrics.firing(firing.size());
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      firing.drop(partitions); // another member may own them already: rebuild if they come back
      metrics.firing(firing.size());
    }
  }
}
