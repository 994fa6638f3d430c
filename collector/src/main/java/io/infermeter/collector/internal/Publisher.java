package io.infermeter.collector.internal;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.avro.specific.SpecificRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers events (request events, hardware samples, dead letters) to Kafka without losing anything silently, and
 * without ever blocking ingest on an unreachable Kafka.
 *
 * <p>Path of an event: {@link #publish} serializes it on the caller's thread and puts it in a bounded in-memory queue;
 * when the queue is full the caller waits up to {@value #BACKPRESSURE_MS} ms while Kafka is healthy (back-pressure),
 * otherwise (or after that wait) the event goes straight to the disk {@link Spool}. The sender thread hands it to the
 * idempotent producer, unless the spool holds undelivered events, in which case it is appended behind them so a key's
 * events stay in order. A send that fails
 * with a retriable error (broker unreachable past {@code delivery.timeout.ms}, registry unreachable) appends the event
 * to the spool. The drainer thread re-sends spooled events in order and commits them only once Kafka acknowledged the
 * whole batch; a failed batch stays and is retried every {@code retryPeriod}. Losses are only: spool full (oldest
 * dropped first), a record Kafka rejects as invalid (e.g. too large), an event that cannot be Avro-encoded; each is
 * counted in {@code infermeter_collector_dropped_total{reason}}.
 *
 * <p>Keys: request events by host, hardware samples by host/deviceId, dead letters by the collector's host
 * (Topics.REQUESTS / HARDWARE / DEAD_LETTERS). Thread-safe: {@link #publish} may be called from any thread.
 */
public final class Publisher implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Publisher.class);
  private static final int DRAIN_BATCH = 1000;

  /** An event on its way: bytes are the Confluent-wire value when serialization on the caller's thread worked. */
  private record Outbound(SpecificRecord value, String key, String topic, byte[] bytes) {}

  private final Producer<String, byte[]> producer;
  private final Serializer<SpecificRecord> serializer;
  private final String requestsTopic;
  private final String hardwareTopic;
  private final String deadLettersTopic;
  private final Spool spool;
  private final CollectorMetrics metrics;
  private final Duration retryPeriod;
  private final BlockingQueue<Outbound> queue;
  private final CounterDataPoint sentRequests;
  private final CounterDataPoint sentHardware;
  private final CounterDataPoint sentDeadLetters;
  private final AtomicLong inFlight = new AtomicLong();
  private final Thread sender;
  private final Thread drainer;
  private volatile boolean running = true;
  private volatile boolean kafkaHealthy = true;
  private final Object drainSignal = new Object();

  /**
   * @param serializer Avro (Confluent wire format) serializer of any of the three record types
   */
  public Publisher(Producer<String, byte[]> producer, Serializer<SpecificRecord> serializer, String requestsTopic,
      String hardwareTopic, String deadLettersTopic, Spool spool, CollectorMetrics metrics, int bufferCapacity,
      Duration retryPeriod) {
    this.producer = producer;
    this.serializer = serializer;
    this.requestsTopic = requestsTopic;
    this.hardwareTopic = hardwareTopic;
    this.deadLettersTopic = deadLettersTopic;
    this.spool = spool;
    this.metrics = metrics;
    this.retryPeriod = retryPeriod;
    this.queue = new ArrayBlockingQueue<>(bufferCapacity);
    this.sentRequests = metrics.sent(requestsTopic);
    this.sentHardware = metrics.sent(hardwareTopic);
    this.sentDeadLetters = metrics.sent(deadLettersTopic);
    metrics.gauge("infermeter_collector_buffer_events", "Events in the in-memory buffer waiting for the sender",
        queue::size);
    metrics.gauge("infermeter_collector_in_flight_events", "Events handed to the Kafka producer, not yet acknowledged",
        inFlight::get);
    metrics.gauge("infermeter_collector_spool_events", "Undelivered events in the disk spool", spool::pending);
    metrics.gauge("infermeter_collector_spool_bytes", "Disk used by the spool, bytes", spool::bytes);
    metrics.gauge("infermeter_collector_kafka_up", "1 while Kafka accepts events, 0 while the collector spools",
        () -> kafkaHealthy ? 1 : 0);
    this.sender = new Thread(this::sendLoop, "infermeter-publisher");
    this.drainer = new Thread(this::drainLoop, "infermeter-spool-drainer");
    sender.setDaemon(true);
    drainer.setDaemon(true);
    sender.start();
    drainer.start();
  }

  /**
   * Queues a request event (key: host). Serializes it on the caller's thread (spreading that work over the ingest
   * threads). When the buffer is full: while Kafka is healthy the caller waits up to {@code BACKPRESSURE_MS} for room
   * (back-pressure on the HTTP client instead of a disk detour when Kafka is merely slower than ingest); otherwise, or
   * after that wait, the event goes to the spool.
   */
  public void publish(RequestEvent event) {
    offer(new Outbound(event, event.getHost(), requestsTopic, trySerialize(requestsTopic, event)));
  }

  /** Queues a hardware sample (key: host/deviceId); same rules as {@link #publish(RequestEvent)}. */
  public void publish(HardwareSample sample) {
    offer(new Outbound(sample, sample.getHost() + "/" + sample.getDeviceId(), hardwareTopic,
        trySerialize(hardwareTopic, sample)));
  }

  /** Queues a dead letter (a rejected input item with its reason; key: the host that received it). */
  public void publish(DeadLetter deadLetter, String host) {
    offer(new Outbound(deadLetter, host, deadLettersTopic, trySerialize(deadLettersTopic, deadLetter)));
  }

  static final long BACKPRESSURE_MS = 1000;

  /** Pause of the sender after its first event when fewer than {@link #GATHER_BELOW} are queued (2 ms). */
  static final long GATHER_NANOS = 2_000_000L;
  static final int GATHER_BELOW = 256;

  private byte[] trySerialize(String topic, SpecificRecord r) {
    try {
      return serialize(topic, r);
    } catch (RuntimeException e) {
      return null; // e.g. registry unreachable: retried by the sender, spooled if it still fails
    }
  }

  private void offer(Outbound o) {
    if (queue.offer(o)) {
      return;
    }
    if (kafkaHealthy && spool.isEmpty()) {
      try {
        if (queue.offer(o, BACKPRESSURE_MS, TimeUnit.MILLISECONDS)) {
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    toSpool(o);
  }

  public int bufferSize() {
    return queue.size();
  }

  public boolean kafkaHealthy() {
    return kafkaHealthy;
  }

  public long spoolPending() {
    return spool.pending();
  }

  private void sendLoop() {
    List<Outbound> batch = new ArrayList<>(1024);
    while (running || !queue.isEmpty()) {
      try {
        Outbound first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        if (queue.size() < GATHER_BELOW) {
          // Let the rest of the ingest batch arrive before draining: without this pause the sender empties the queue
          // faster than an ingest thread fills it, blocks again and is woken (a futex call on both threads) for
          // nearly every event. The producer lingers far longer (linger.ms) anyway.
          LockSupport.parkNanos(GATHER_NANOS);
        }
        queue.drainTo(batch, 1023);
        for (Outbound o : batch) {
          route(o);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        if (!running) {
          break;
        }
      } catch (RuntimeException e) {
        LOG.error("publisher loop failed; {} events of the batch go to the spool", batch.size(), e);
        batch.forEach(this::toSpool);
      } finally {
        batch.clear();
      }
    }
    // anything still queued at shutdown is kept on disk for the next start
    Outbound o;
    while ((o = queue.poll()) != null) {
      toSpool(o);
    }
  }

  private void route(Outbound o) {
    if (!spool.isEmpty()) {
      toSpool(o); // keep order behind events already waiting on disk
      return;
    }
    byte[] value = o.bytes();
    String topic = o.topic();
    if (value == null) {
      try {
        value = serialize(topic, o.value());
      } catch (RuntimeException e) {
        onFailure(o, e);
        return;
      }
    }
    long start = System.nanoTime();
    inFlight.incrementAndGet();
    try {
      producer.send(new ProducerRecord<>(topic, o.key(), value), (md, ex) -> {
        inFlight.decrementAndGet();
        if (ex == null) {
          acked(o.value(), start);
        } else {
          onFailure(o, ex);
        }
      });
    } catch (KafkaException e) {
      inFlight.decrementAndGet();
      onFailure(o, e);
    }
  }

  private void acked(SpecificRecord value, long startNanos) {
    metrics.sendLatency().observe((System.nanoTime() - startNanos) / 1e9);
    (value instanceof RequestEvent ? sentRequests : value instanceof HardwareSample ? sentHardware : sentDeadLetters)
        .inc();
  }

  private void onFailure(Outbound o, Exception e) {
    if (e instanceof RecordTooLargeException || e instanceof KafkaException && !(e instanceof RetriableException)
        && e.getCause() instanceof RecordTooLargeException) {
      LOG.warn("Kafka rejected an event as too large; dropped (counted): {}", e.toString());
      metrics.dropped("kafka_rejected", 1);
      return;
    }
    if (kafkaHealthy) {
      LOG.warn("cannot deliver to Kafka ({}); spooling to disk until it is back", e.toString());
    }
    kafkaHealthy = false;
    toSpool(o);
    synchronized (drainSignal) {
      drainSignal.notifyAll();
    }
  }

  private void toSpool(Outbound o) {
    byte[] avro;
    try {
      avro = AvroBinary.encode(o.value());
    } catch (IOException | RuntimeException e) {
      LOG.error("event cannot be Avro-encoded; dropped (counted)", e);
      metrics.dropped("serialization", 1);
      return;
    }
    try {
      spool.append(AvroBinary.kindOf(o.value()), o.key(), avro);
      metrics.spooled(1);
    } catch (RuntimeException e) {
      LOG.error("cannot write the spool; event dropped (counted)", e);
      metrics.dropped("spool_error", 1);
    }
  }

  private String topicOf(SpecificRecord r) {
    return r instanceof RequestEvent ? requestsTopic : r instanceof HardwareSample ? hardwareTopic : deadLettersTopic;
  }

  private byte[] serialize(String topic, SpecificRecord r) {
    return serializer.serialize(topic, r);
  }

  private void drainLoop() {
    while (running) {
      try {
        if (spool.isEmpty()) {
          kafkaHealthy = true;
          synchronized (drainSignal) {
            drainSignal.wait(retryPeriod.toMillis());
          }
          continue;
        }
        if (!drainOnce()) {
          synchronized (drainSignal) {
            drainSignal.wait(retryPeriod.toMillis());
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        LOG.error("spool drainer failed; retrying in {}", retryPeriod, e);
        try {
          Thread.sleep(retryPeriod.toMillis());
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** Sends one batch from the spool; true when Kafka acknowledged all of it (and it was committed). */
  boolean drainOnce() throws InterruptedException {
    Spool.Batch batch = spool.read(DRAIN_BATCH);
    if (batch.entries().isEmpty()) {
      return true;
    }
    List<Future<RecordMetadata>> futures = new ArrayList<>(batch.entries().size());
    List<SpecificRecord> values = new ArrayList<>(batch.entries().size());
    long start = System.nanoTime();
    int undecodable = 0;
    try {
      for (Spool.Entry entry : batch.entries()) {
        SpecificRecord value;
        try {
          value = AvroBinary.decode(entry.kind(), entry.avro());
        } catch (IOException | RuntimeException e) {
          undecodable++;
          continue;
        }
        String topic = topicOf(value);
        futures.add(producer.send(new ProducerRecord<>(topic, entry.key(), serialize(topic, value))));
        values.add(value);
      }
      for (int i = 0; i < futures.size(); i++) {
        futures.get(i).get();
        acked(values.get(i), start);
      }
    } catch (java.util.concurrent.ExecutionException | RuntimeException e) {
      // Kafka or the registry still unreachable (a serializer failure is a RuntimeException too): retry later
      if (kafkaHealthy) {
        LOG.warn("Kafka still unreachable ({}); {} events stay spooled", e.toString(), spool.pending());
      }
      kafkaHealthy = false;
      return false;
    }
    if (undecodable > 0) {
      LOG.error("{} spooled events could not be decoded; dropped (counted)", undecodable);
      metrics.dropped("spool_corrupt", undecodable);
    }
    spool.commit(batch);
    if (!kafkaHealthy && spool.pending() == 0) {
      LOG.info("Kafka reachable again; spool drained");
    }
    return true;
  }

  /**
   * Stops accepting, sends what is buffered, waits up to {@code timeout} for acknowledgements; whatever is not
   * acknowledged by then is in the spool (callbacks spool it) for the next start.
   */
  public void close(Duration timeout) {
    running = false;
    try {
      sender.join(timeout.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    drainer.interrupt();
    try {
      drainer.join(timeout.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(timeout);
    try {
      spool.close();
    } catch (IOException e) {
      LOG.warn("cannot close the spool cleanly", e);
    }
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }
}
