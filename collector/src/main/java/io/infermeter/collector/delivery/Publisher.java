package io.infermeter.collector.delivery;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.support.CollectorMetrics;
import io.infermeter.schemas.serde.AvroSerializer;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers events (request events, hardware samples, dead letters) to Kafka without losing anything
 * silently, and without ever blocking ingest on an unreachable Kafka.
 *
 * <p>The registry is never asked on the caller's thread, nor on the sender's or the drainer's: a
 * resolver thread registers each topic's schema at start (and for a new topic on its first event),
 * retrying with backoff until the registry answers ({@link #resolveAsync}). Until a topic's schema
 * id is known its events are not serialized: they go to the queue as records, the sender appends
 * them to the spool as Avro binary (no registry needed), and the drainer sends them, with the wire
 * header, once the id is known; so a slow or unreachable registry costs ingest nothing but a detour
 * through the spool ({@code infermeter_collector_schema_pending_topics}, {@code _spooled_total}).
 *
 * <p>Path of an event: {@link #publish} serializes it on the caller's thread once the topic's
 * schema id is known. While Kafka is healthy, the spool and the in-memory queue are empty (and the
 * sender holds nothing), fewer than {@value #DIRECT_MAX_IN_FLIGHT} events await an acknowledgement
 * and the topic has had one already (its metadata is known, so the send cannot block on it), the
 * caller hands it to the producer itself: the direct path, with no thread hop and no wake-up of the
 * sender. Otherwise it goes into a bounded in-memory queue; when the queue is full the caller waits
 * while Kafka is healthy and the topic's schema id is known (back-pressure), at most {@value
 * #BACKPRESSURE_MS} ms in all per episode of a queue more than half full, so no ingest request
 * waits longer than that on the publisher; otherwise (or past that bound) the event goes straight
 * to the disk {@link Spool}. The sender thread hands queued events to the idempotent producer,
 * unless the spool holds undelivered events, in which case they are appended behind them so a key's
 * events stay in order. Order per publishing thread is kept on both paths: an event takes the
 * direct path only when none is queued or in the sender's hands, so it never overtakes an earlier
 * one (events of different threads have no order to keep). A send that fails with a retriable error
 * (broker unreachable past {@code delivery.timeout.ms}, registry unreachable) appends the event to
 * the spool. The drainer thread re-sends spooled events in order and commits them only once Kafka
 * acknowledged the whole batch; a failed batch stays and is retried every {@code retryPeriod},
 * except its events Kafka acknowledged, which are settled in the spool (counted as sent once, not
 * sent again). While the spool is full ingest refuses clients ({@link #spoolFull}: 503 /
 * UNAVAILABLE, so they keep their data); losses are only: spool full (oldest dropped first, for
 * what is published anyway), a record Kafka refuses for good (too large, invalid; or failing
 * {@value #MAX_ATTEMPTS} times in a row with another non-retriable error), which is kept as a dead
 * letter with the start of its bytes (unless it is one), an event that cannot be Avro-encoded; each
 * is counted in {@code infermeter_collector_dropped_total{reason}}. Every accepted event is counted
 * exactly once, as sent or as dropped, also when drop-oldest deletes the segment under the batch
 * the drainer is sending (see {@link Spool}).
 *
 * <p>Keys: request events by host, hardware samples by host/deviceId, engine samples by host, dead
 * letters by the collector's host (Topics.REQUESTS / HARDWARE / ENGINE_STATE / DEAD_LETTERS).
 * Thread-safe: {@link #publish} may be called from any thread.
 */
public final class Publisher implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Publisher.class);
  private static final int DRAIN_BATCH = 1000;

  /**
   * An event on its way: bytes are the Confluent-wire value when serialization on the caller's
   * thread worked; value is null for a request event that ingest encoded itself ({@link
   * #publishRequest(String, byte[])}).
   */
  private record Outbound(SpecificRecord value, String key, String topic, byte[] bytes) {}

  /**
   * Bytes of the Confluent wire format before the Avro binary: magic byte 0 and the 4-byte schema
   * id.
   */
  static final int WIRE_HEADER_BYTES = 5;

  private final Producer<String, byte[]> producer;
  private final Serializer<SpecificRecord> serializer;
  private final String requestsTopic;
  private final String hardwareTopic;
  private final String deadLettersTopic;
  private final String engineTopic;
  private final Spool spool;
  private final CollectorMetrics metrics;
  private final Duration retryPeriod;
  private final BlockingQueue<Outbound> queue;
  private final int queueCapacity;

  /**
   * Per topic: its sent counter, and whether an event was acknowledged (the producer then knows its
   * metadata).
   */
  private static final class TopicSlot {
    final CounterDataPoint sent;
    volatile boolean acked;

    /**
     * Whether the serializer knows the topic's schema id (with an AvroSerializer; see {@link
     * #resolved}).
     */
    volatile boolean resolved;

    /** Whether a resolver thread is resolving the topic's schema id now. */
    final java.util.concurrent.atomic.AtomicBoolean resolving =
        new java.util.concurrent.atomic.AtomicBoolean();

    TopicSlot(CounterDataPoint sent) {
      this.sent = sent;
    }
  }

  private final TopicSlot requestsSlot;
  private final TopicSlot hardwareSlot;
  private final TopicSlot deadLettersSlot;
  private final TopicSlot engineSlot;
  private final AtomicLong inFlight = new AtomicLong();

  /** Events in the queue or taken by the sender and not yet handed to the producer (or spooled). */
  private final java.util.concurrent.atomic.AtomicInteger queuedOrRouting =
      new java.util.concurrent.atomic.AtomicInteger();

  /**
   * The wire header of request events (magic byte, schema id) once the serializer wrote one; null
   * before.
   */
  private volatile byte[] requestHeader;

  private final Thread sender;
  private final Thread drainer;
  private volatile boolean running = true;
  private volatile boolean kafkaHealthy = true;
  private final Object drainSignal = new Object();

  /**
   * @param serializer Avro (Confluent wire format) serializer of any of the three record types
   */
  public Publisher(
      Producer<String, byte[]> producer,
      Serializer<SpecificRecord> serializer,
      String requestsTopic,
      String hardwareTopic,
      String deadLettersTopic,
      Spool spool,
      CollectorMetrics metrics,
      int bufferCapacity,
      Duration retryPeriod) {
    this(
        producer,
        serializer,
        requestsTopic,
        hardwareTopic,
        deadLettersTopic,
        io.infermeter.schemas.Topics.ENGINE_STATE.name(),
        spool,
        metrics,
        bufferCapacity,
        retryPeriod);
  }

  /**
   * @param engineTopic topic of engine samples ({@link #publish(EngineSample)})
   */
  public Publisher(
      Producer<String, byte[]> producer,
      Serializer<SpecificRecord> serializer,
      String requestsTopic,
      String hardwareTopic,
      String deadLettersTopic,
      String engineTopic,
      Spool spool,
      CollectorMetrics metrics,
      int bufferCapacity,
      Duration retryPeriod) {
    this.engineTopic = engineTopic;
    this.producer = producer;
    this.serializer = serializer;
    this.requestsTopic = requestsTopic;
    this.hardwareTopic = hardwareTopic;
    this.deadLettersTopic = deadLettersTopic;
    this.spool = spool;
    this.metrics = metrics;
    this.retryPeriod = retryPeriod;
    this.queue = new ArrayBlockingQueue<>(bufferCapacity);
    this.queueCapacity = bufferCapacity;
    this.requestsSlot = new TopicSlot(metrics.sent(requestsTopic));
    this.hardwareSlot = new TopicSlot(metrics.sent(hardwareTopic));
    this.deadLettersSlot = new TopicSlot(metrics.sent(deadLettersTopic));
    this.engineSlot = new TopicSlot(metrics.sent(engineTopic));
    metrics.gauge(
        "infermeter_collector_buffer_events",
        "Events in the in-memory buffer waiting for the sender",
        queue::size);
    metrics.gauge(
        "infermeter_collector_in_flight_events",
        "Events handed to the Kafka producer, not yet acknowledged",
        inFlight::get);
    metrics.gauge(
        "infermeter_collector_spool_events",
        "Undelivered events in the disk spool",
        spool::pending);
    metrics.gauge(
        "infermeter_collector_spool_bytes", "Disk used by the spool, bytes", spool::bytes);
    metrics.gauge(
        "infermeter_collector_kafka_up",
        "1 while Kafka accepts events, 0 while the collector spools",
        () -> kafkaHealthy ? 1 : 0);
    this.sender = new Thread(this::sendLoop, "infermeter-publisher");
    this.drainer = new Thread(this::drainLoop, "infermeter-spool-drainer");
    sender.setDaemon(true);
    drainer.setDaemon(true);
    sender.start();
    drainer.start();
    metrics.gauge(
        "infermeter_collector_schema_pending_topics",
        "Topics whose schema id the registry has not given yet (their events wait in the spool)",
        unresolvedTopics::get);
    // the schema ids the collector needs are registered at once, off the ingest path, with retries
    resolveAsync(requestsTopic, RequestEvent.getClassSchema());
    resolveAsync(hardwareTopic, HardwareSample.getClassSchema());
    resolveAsync(deadLettersTopic, DeadLetter.getClassSchema());
  }

  /**
   * Publishes a request event (key: host). Serializes it on the caller's thread (spreading that
   * work over the ingest threads), then hands it to the producer on this thread (direct path) or
   * queues it (see the class comment). When the buffer is full: while Kafka is healthy the caller
   * waits up to {@code BACKPRESSURE_MS} for room (back-pressure on the HTTP client instead of a
   * disk detour when Kafka is merely slower than ingest); otherwise, or after that wait, the event
   * goes to the spool.
   */
  public void publish(RequestEvent event) {
    offer(new Outbound(event, event.getHost(), requestsTopic, trySerialize(requestsTopic, event)));
  }

  /**
   * Publishes a request event that the caller already wrote in the Confluent wire format behind
   * {@link #requestHeader()} (key: its host); same path and rules as {@link
   * #publish(RequestEvent)}. In the spool it is kept as its Avro binary (the bytes after the
   * header), as every other event.
   */
  public void publishRequest(String key, byte[] wire) {
    offer(new Outbound(null, key, requestsTopic, wire));
  }

  /**
   * The first {@value #WIRE_HEADER_BYTES} bytes (magic byte, schema id) the schemas module's {@code
   * AvroSerializer} writes for request events on the requests topic, once it has written one (the
   * registry id is resolved then); null before that, and always with another serializer. The id is
   * the one of the compiled-in RequestEvent schema, which the serializer registers and keeps for
   * the topic. A copy.
   */
  public byte[] requestHeader() {
    byte[] h = requestHeader;
    return h == null ? null : h.clone();
  }

  /**
   * Queues a hardware sample (key: host/deviceId); same rules as {@link #publish(RequestEvent)}.
   */
  public void publish(HardwareSample sample) {
    offer(
        new Outbound(
            sample,
            sample.getHost() + "/" + sample.getDeviceId(),
            hardwareTopic,
            trySerialize(hardwareTopic, sample)));
  }

  /** Queues a serving-engine sample (key: host); same rules as {@link #publish(RequestEvent)}. */
  public void publish(EngineSample sample) {
    offer(new Outbound(sample, sample.getHost(), engineTopic, trySerialize(engineTopic, sample)));
  }

  /**
   * Queues a dead letter (a rejected input item with its reason; key: the host that received it).
   * Attributes and fields that may hold prompt or completion text are removed from its payload
   * first ({@link DeadLetterRedactor}).
   */
  public void publish(DeadLetter deadLetter, String host) {
    DeadLetter d = DeadLetterRedactor.redact(deadLetter);
    offer(new Outbound(d, host, deadLettersTopic, trySerialize(deadLettersTopic, d)));
  }

  /**
   * Largest payload a dead letter of a refused record keeps, bytes (the start of the record's Avro
   * binary).
   */
  static final int MAX_REFUSED_PAYLOAD = 64 * 1024;

  /**
   * Attempts on one spooled record failing with the same non-retriable error before it is treated
   * as refused.
   */
  static final int MAX_ATTEMPTS = 5;

  /**
   * Whether Kafka refuses this record for good (retrying the same bytes can never succeed): too
   * large, or invalid. Errors of the whole client (authentication, authorization, an unknown topic)
   * are not: they are retried, as an outage is.
   */
  static boolean refusedForGood(Throwable t) {
    Throwable c =
        t instanceof java.util.concurrent.ExecutionException && t.getCause() != null
            ? t.getCause()
            : t;
    if (c instanceof KafkaException
        && !(c instanceof RetriableException)
        && c.getCause() != null
        && c.getCause() instanceof KafkaException) {
      c = c.getCause();
    }
    return c instanceof RecordTooLargeException
        || c instanceof org.apache.kafka.common.errors.RecordBatchTooLargeException
        || c instanceof org.apache.kafka.common.InvalidRecordException;
  }

  /**
   * Whether retrying may help: retriable, or a whole-client error an operator fixes (credentials,
   * ACLs).
   */
  private static boolean worthRetrying(Throwable t) {
    Throwable c =
        t instanceof java.util.concurrent.ExecutionException && t.getCause() != null
            ? t.getCause()
            : t;
    return !(c instanceof KafkaException)
        || c instanceof RetriableException
        || c instanceof org.apache.kafka.common.errors.AuthenticationException
        || c instanceof org.apache.kafka.common.errors.AuthorizationException
        || c instanceof org.apache.kafka.common.errors.InterruptException;
  }

  /**
   * A record Kafka refused for good: counted as dropped ({@code kafka_rejected}) and, unless it is
   * itself a dead letter (never a dead letter of a dead letter), kept as a dead letter with the
   * start of its Avro binary, so the drainer moves on instead of retrying it forever.
   */
  private void refused(String topic, String key, byte[] avro, Throwable e) {
    Throwable c =
        e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
            ? e.getCause()
            : e;
    LOG.warn(
        "Kafka refused a record for good on {}; dropped (counted){}: {}",
        topic,
        topic.equals(deadLettersTopic) ? "" : ", kept as a dead letter",
        c.toString());
    metrics.dropped("kafka_rejected", 1);
    if (topic.equals(deadLettersTopic) || avro == null) {
      return;
    }
    DeadLetter d = new DeadLetter();
    d.setStage("collector");
    d.setReason("kafka-rejected");
    d.setErrorClass(c.getClass().getName());
    d.setSourceTopic(topic);
    d.setKey(ByteBuffer.wrap(key.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    int keep = Math.min(avro.length, MAX_REFUSED_PAYLOAD);
    d.setPayload(ByteBuffer.wrap(java.util.Arrays.copyOf(avro, keep)));
    String msg = c.getMessage() == null ? "" : c.getMessage();
    d.setMessage(
        "Kafka refused the record for good: "
            + c.getClass().getSimpleName()
            + ": "
            + (msg.length() > 500 ? msg.substring(0, 500) + "..." : msg)
            + "; the payload is the start of its Avro binary ("
            + keep
            + " of "
            + avro.length
            + " bytes)");
    d.setDetectedUs(System.currentTimeMillis() * 1000L);
    // serialized by the sender: this may run on the producer's I/O thread, which must not wait on
    // the registry
    offer(new Outbound(d, key, deadLettersTopic, null));
  }

  static final long BACKPRESSURE_MS = 1000;

  /** Topics being resolved now (gauge). */
  private final java.util.concurrent.atomic.AtomicInteger unresolvedTopics =
      new java.util.concurrent.atomic.AtomicInteger();

  /**
   * End of the back-pressure wait of the current episode of a full queue (System.nanoTime), 0 when
   * none.
   */
  private volatile long pressureDeadline;

  /**
   * Whether the serializer knows {@code topic}'s schema id, so that serializing makes no registry
   * call. Always with a serializer other than the schemas module's AvroSerializer (it is not
   * asked).
   */
  private boolean resolved(String topic) {
    return !(serializer instanceof AvroSerializer) || slot(topic).resolved;
  }

  /** Longest pause between two attempts to resolve a schema id while the registry fails. */
  static final long RESOLVE_BACKOFF_MAX_MS = 10_000;

  /**
   * Registers (or looks up) {@code schema} for {@code topic} on a resolver thread, retrying with
   * backoff (200 ms doubling up to {@value #RESOLVE_BACKOFF_MAX_MS} ms) until the registry answers:
   * ingest, the sender and the drainer never wait on the registry. Once known, the topic's events
   * are serialized where they are published, and the drainer is woken to send what waited in the
   * spool. No-op when resolved or already being resolved.
   */
  private void resolveAsync(String topic, org.apache.avro.Schema schema) {
    TopicSlot slot = slot(topic);
    if (!(serializer instanceof AvroSerializer<?> avro)
        || slot.resolved
        || !slot.resolving.compareAndSet(false, true)) {
      return;
    }
    unresolvedTopics.incrementAndGet();
    Thread t =
        new Thread(
            () -> {
              long backoff = 200;
              int failures = 0;
              while (running) {
                try {
                  int id = avro.prepare(topic, schema);
                  if (topic.equals(requestsTopic) && requestHeader == null) {
                    requestHeader =
                        new byte[] {
                          0, (byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id
                        };
                  }
                  slot.resolved = true;
                  unresolvedTopics.decrementAndGet();
                  if (failures > 0) {
                    LOG.info(
                        "schema id of {} resolved after {} failed attempts; spooled events are sent now",
                        topic,
                        failures);
                  }
                  synchronized (drainSignal) {
                    drainSignal.notifyAll();
                  }
                  return;
                } catch (RuntimeException e) {
                  failures++;
                  if (failures == 1) {
                    LOG.warn(
                        "cannot resolve the schema id of {} yet ({}); its events are spooled and retried",
                        topic,
                        e.toString());
                  }
                  try {
                    Thread.sleep(backoff);
                  } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                  }
                  backoff = Math.min(backoff * 2, RESOLVE_BACKOFF_MAX_MS);
                }
              }
              slot.resolving.set(false);
            },
            "infermeter-schema-resolver");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Pause of the sender after its first event when fewer than {@link #GATHER_BELOW} are queued (2
   * ms).
   */
  static final long GATHER_NANOS = 2_000_000L;

  static final int GATHER_BELOW = 256;

  private byte[] trySerialize(String topic, SpecificRecord r) {
    if (!resolved(topic)) {
      resolveAsync(topic, r.getSchema());
      return null; // queued or spooled as the record; serialized once the id is known
    }
    try {
      return serialize(topic, r);
    } catch (RuntimeException e) {
      return null; // e.g. registry unreachable: retried by the sender, spooled if it still fails
    }
  }

  /**
   * Most events awaiting an acknowledgement for the direct path; above it (Kafka slow or
   * unreachable and not failed yet) events queue for the sender as before, so the producer's buffer
   * never fills from an ingest thread (where {@code send} would block up to {@code max.block.ms}).
   */
  static final int DIRECT_MAX_IN_FLIGHT = 16_384;

  private void offer(Outbound o) {
    if (o.bytes() != null
        && running
        && kafkaHealthy
        && queuedOrRouting.get() == 0
        && spool.isEmpty()
        && inFlight.get() < DIRECT_MAX_IN_FLIGHT
        && acknowledgedBefore(o.topic())) {
      route(o); // the direct path: what the sender would do, on this thread
      return;
    }
    queuedOrRouting.incrementAndGet();
    if (queue.offer(o)) {
      return;
    }
    // Back-pressure only while Kafka is healthy and the sender is not waiting on the registry, and
    // at most
    // BACKPRESSURE_MS in all per episode of a queue more than half full (pressureDeadline): a
    // request is answered
    // within that bound whatever Kafka does; past it the rest goes to the spool.
    long now = System.nanoTime();
    long deadline = pressureDeadline;
    if (deadline == 0) {
      deadline = pressureDeadline = now + TimeUnit.MILLISECONDS.toNanos(BACKPRESSURE_MS);
    }
    if (kafkaHealthy && spool.isEmpty() && resolved(o.topic()) && deadline - now > 0) {
      try {
        if (queue.offer(o, deadline - now, TimeUnit.NANOSECONDS)) {
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    queuedOrRouting.decrementAndGet();
    toSpool(o);
  }

  private boolean acknowledgedBefore(String topic) {
    return slot(topic).acked;
  }

  private TopicSlot slot(String topic) {
    return topic.equals(requestsTopic)
        ? requestsSlot
        : topic.equals(hardwareTopic)
            ? hardwareSlot
            : topic.equals(engineTopic) ? engineSlot : deadLettersSlot;
  }

  /**
   * Whether ingest should turn clients away for now (HTTP 503 with {@code Retry-After}, gRPC
   * UNAVAILABLE with RetryInfo): the spool holds undelivered events and is full, so accepting more
   * would drop older ones. Clients keep their data and retry; sources that cannot retry (samplers,
   * the Java API) still go to the spool, dropping oldest.
   */
  public boolean spoolFull() {
    return !spool.isEmpty() && spool.full();
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
          // Let the rest of the ingest batch arrive before draining: without this pause the sender
          // empties the queue
          // faster than an ingest thread fills it, blocks again and is woken (a futex call on both
          // threads) for
          // nearly every event. The producer lingers far longer (linger.ms) anyway.
          LockSupport.parkNanos(GATHER_NANOS);
        }
        queue.drainTo(batch, 1023);
        if (pressureDeadline != 0 && queue.size() <= queueCapacity / 2) {
          pressureDeadline =
              0; // the episode of a full queue is over: the next one gets its own bound
        }
        for (int i = 0; i < batch.size(); i++) {
          route(batch.get(i));
          batch.set(i, null); // handed over: not spooled again if a later one throws
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        if (!running) {
          break;
        }
      } catch (RuntimeException e) {
        LOG.error("publisher loop failed; the rest of the batch goes to the spool", e);
        batch.stream().filter(java.util.Objects::nonNull).forEach(this::toSpool);
      } finally {
        queuedOrRouting.addAndGet(-batch.size());
        batch.clear();
      }
    }
    // anything still queued at shutdown is kept on disk for the next start
    Outbound o;
    while ((o = queue.poll()) != null) {
      toSpool(o);
      queuedOrRouting.decrementAndGet();
    }
  }

  private void route(Outbound o) {
    if (!spool.isEmpty()) {
      toSpool(o); // keep order behind events already waiting on disk
      return;
    }
    byte[] value = o.bytes();
    String topic = o.topic();
    if (value == null && !resolved(topic)) {
      resolveAsync(topic, o.value().getSchema());
      toSpool(o); // the drainer sends it once the schema id is known; the sender never waits on the
      // registry
      return;
    }
    if (value == null) {
      try {
        value = serialize(topic, o.value());
      } catch (RuntimeException e) {
        onFailure(o, e);
        return;
      }
    }
    TopicSlot slot = slot(topic);
    long start = latencySampleStart();
    inFlight.incrementAndGet();
    try {
      // the callback sees the outcome; the future would only repeat it
      Future<RecordMetadata> unused =
          producer.send(
              new ProducerRecord<>(topic, o.key(), value),
              (md, ex) -> {
                inFlight.decrementAndGet();
                if (ex == null) {
                  // the event itself is not touched on success: it is long out of the caches
                  acked(slot, start);
                } else {
                  onFailure(o, ex);
                }
              });
    } catch (KafkaException e) {
      inFlight.decrementAndGet();
      onFailure(o, e);
    }
  }

  /**
   * One event in {@value #LATENCY_SAMPLE_EVERY} (drawn at random) has its send latency observed:
   * the start time, or 0 for an event that is not in the sample. The acknowledgement callback runs
   * per event on the producer's single I/O thread, so it is kept cheap (docs/BENCHMARKS.md,
   * Collector); the histogram's quantiles come out the same from a random sample, and its {@code
   * _count} is the sample's size (about sent / {@value #LATENCY_SAMPLE_EVERY}).
   */
  static long latencySampleStart() {
    return ThreadLocalRandom.current().nextInt(LATENCY_SAMPLE_EVERY) == 0
        ? System.nanoTime() | 1L
        : 0L;
  }

  static final int LATENCY_SAMPLE_EVERY = 16;

  /**
   * Counts one acknowledged event; observes its send latency when it is in the sample (startNanos
   * != 0).
   */
  private void acked(TopicSlot slot, long startNanos) {
    if (startNanos != 0) {
      metrics.sendLatency().observe((System.nanoTime() - startNanos) / 1e9);
    }
    slot.sent.inc();
    if (!slot.acked) {
      slot.acked = true;
    }
  }

  private void onFailure(Outbound o, Exception e) {
    if (refusedForGood(e)) {
      byte[] avro =
          o.bytes() != null && o.bytes().length > WIRE_HEADER_BYTES
              ? java.util.Arrays.copyOfRange(o.bytes(), WIRE_HEADER_BYTES, o.bytes().length)
              : null;
      refused(o.topic(), o.key(), avro, e);
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
    byte kind;
    try {
      kind = o.value() == null ? AvroBinary.REQUEST : AvroBinary.kindOf(o.value());
      // Wire bytes of ingest's encoder or of the schemas module's serializer are the header plus
      // the Avro binary of
      // the compiled-in schema, which is what the spool keeps: no second encoding. Anything else is
      // encoded here.
      avro =
          o.bytes() != null && (o.value() == null || serializer instanceof AvroSerializer)
              ? java.util.Arrays.copyOfRange(o.bytes(), WIRE_HEADER_BYTES, o.bytes().length)
              : AvroBinary.encode(o.value());
    } catch (IOException | RuntimeException e) {
      LOG.error("event cannot be Avro-encoded; dropped (counted)", e);
      metrics.dropped("serialization", 1);
      return;
    }
    try {
      spool.append(kind, o.key(), avro);
      metrics.spooled(1);
    } catch (RuntimeException e) {
      LOG.error("cannot write the spool; event dropped (counted)", e);
      metrics.dropped("spool_error", 1);
    }
  }

  private String topicOf(SpecificRecord r) {
    return r instanceof RequestEvent
        ? requestsTopic
        : r instanceof HardwareSample
            ? hardwareTopic
            : r instanceof EngineSample ? engineTopic : deadLettersTopic;
  }

  private byte[] serialize(String topic, SpecificRecord r) {
    byte[] bytes = serializer.serialize(topic, r);
    if (requestHeader == null
        && topic.equals(requestsTopic)
        && r instanceof RequestEvent
        && bytes != null
        && bytes.length > WIRE_HEADER_BYTES
        && bytes[0] == 0
        && serializer instanceof AvroSerializer) {
      requestHeader = java.util.Arrays.copyOf(bytes, WIRE_HEADER_BYTES);
    }
    return bytes;
  }

  private void drainLoop() {
    while (running) {
      try {
        spool.syncIfDue();
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

  /**
   * Sends one batch from the spool; true when Kafka acknowledged all of it (and it was committed).
   * Every entry is settled in the spool as soon as its acknowledgement is seen (and counted as sent
   * then, once): a batch that fails in part re-sends only the rest, and drop-oldest never counts an
   * acknowledged entry as dropped.
   */
  boolean drainOnce() throws InterruptedException {
    Spool.Batch batch = spool.read(DRAIN_BATCH);
    List<Spool.Entry> entries = batch.entries();
    List<Future<RecordMetadata>> futures = new ArrayList<>(entries.size());
    List<SpecificRecord> values = new ArrayList<>(entries.size());
    List<Spool.Entry> handed = new ArrayList<>(entries.size());
    long[] starts = new long[entries.size()];
    Exception failure = null;
    boolean unresolved = false;
    int done = 0; // entries handed to the producer or settled here
    for (Spool.Entry entry : entries) {
      SpecificRecord value;
      try {
        value = AvroBinary.decode(entry.kind(), entry.avro());
      } catch (IOException | RuntimeException e) {
        LOG.error("a spooled event could not be decoded; dropped (counted)", e);
        metrics.dropped("spool_corrupt", 1);
        spool.settle(entry.position());
        done++;
        continue;
      }
      Future<RecordMetadata> sent;
      long sampleStart = latencySampleStart();
      try {
        String topic = topicOf(value);
        if (!resolved(topic)) {
          resolveAsync(topic, value.getSchema());
          unresolved =
              true; // this entry and the rest wait for the schema id (the resolver wakes the
          // drainer)
          break;
        }
        sent = producer.send(new ProducerRecord<>(topic, entry.key(), serialize(topic, value)));
      } catch (RuntimeException e) {
        failure =
            e; // Kafka or the registry (a serializer failure) unreachable: the rest waits for the
        // next attempt
        break;
      }
      starts[futures.size()] = sampleStart;
      futures.add(sent);
      values.add(value);
      handed.add(entry);
      done++;
      Throwable early = sent.isDone() ? failure(sent) : null;
      if (early != null && !refusedForGood(early)) {
        break; // failed at once: sending the rest now could deliver later events before this one
      }
    }
    try {
      for (int i = 0; i < futures.size(); i++) {
        try {
          futures.get(i).get();
        } catch (java.util.concurrent.ExecutionException | RuntimeException e) {
          Spool.Entry entry = handed.get(i);
          if (refusedForGood(e)
              || (!worthRetrying(e) && attemptsOn(entry.position()) >= MAX_ATTEMPTS)) {
            refused(topicOf(values.get(i)), entry.key(), entry.avro(), e);
            spool.settle(entry.position());
            continue;
          }
          failure = failure == null ? e : failure;
          continue;
        }
        acked(slot(topicOf(values.get(i))), starts[i]);
        spool.settle(handed.get(i).position());
      }
    } catch (InterruptedException e) {
      spool.release(batch);
      throw e;
    }
    if (failure == null && unresolved) {
      spool.release(
          batch); // waiting for the registry, not a Kafka failure: Kafka's health is unchanged
      return false;
    }
    if (failure == null && done < entries.size()) {
      failure = new IllegalStateException("not all of the batch was handed to the producer");
    }
    if (failure != null) {
      spool.release(batch);
      if (kafkaHealthy) {
        LOG.warn(
            "Kafka still unreachable ({}); {} events stay spooled",
            failure.toString(),
            spool.pending());
      }
      kafkaHealthy = false;
      return false;
    }
    spool.commit(batch);
    if (!kafkaHealthy && spool.pending() == 0) {
      LOG.info("Kafka reachable again; spool drained");
    }
    return true;
  }

  /** The failure of a completed send, or null when it succeeded. */
  private static Throwable failure(Future<RecordMetadata> done) throws InterruptedException {
    try {
      done.get();
      return null;
    } catch (java.util.concurrent.ExecutionException | RuntimeException e) {
      return e;
    }
  }

  /**
   * The spooled record that failed last with a non-retriable error, and how many times in a row it
   * did.
   */
  private long failingPosition = -1;

  private int failingAttempts;

  /**
   * Counts one more failed attempt on {@code position} (drainer thread only); returns the attempts
   * so far.
   */
  private int attemptsOn(long position) {
    if (position != failingPosition) {
      failingPosition = position;
      failingAttempts = 0;
    }
    return ++failingAttempts;
  }

  /**
   * Stops accepting, sends what is buffered, waits up to {@code timeout} for acknowledgements;
   * whatever is not acknowledged by then is in the spool (callbacks spool it) for the next start.
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
