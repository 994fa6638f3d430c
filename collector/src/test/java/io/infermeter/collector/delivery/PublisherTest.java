package io.infermeter.collector.delivery;

import static io.infermeter.collector.ingest.JsonLinesParserTest.DEFAULTS;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.sampling.HardwareSamples;
import io.infermeter.collector.support.CollectorMetrics;
import io.infermeter.schemas.serde.AvroDeserializer;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.InMemorySchemaRegistryClient;
import io.infermeter.testsupport.Infra;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The publisher against an in-memory producer whose "broker" can be switched off. */
class PublisherTest {

  /**
   * A registry that answers only once {@link #open} is counted down (as one slow or down right
   * after start).
   */
  static final class GatedRegistry implements io.infermeter.schemas.serde.SchemaRegistryClient {
    final InMemorySchemaRegistryClient delegate;
    final java.util.concurrent.CountDownLatch open = new java.util.concurrent.CountDownLatch(1);
    final java.util.concurrent.atomic.AtomicInteger calls =
        new java.util.concurrent.atomic.AtomicInteger();

    GatedRegistry(InMemorySchemaRegistryClient delegate) {
      this.delegate = delegate;
    }

    private void gate() {
      calls.incrementAndGet();
      try {
        if (!open.await(30, java.util.concurrent.TimeUnit.SECONDS)) {
          throw new org.apache.kafka.common.errors.SerializationException(
              "registry timed out (test)");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new org.apache.kafka.common.errors.SerializationException("interrupted (test)");
      }
    }

    @Override
    public int register(String subject, org.apache.avro.Schema schema) {
      gate();
      return delegate.register(subject, schema);
    }

    @Override
    public int lookup(String subject, org.apache.avro.Schema schema) {
      gate();
      return delegate.lookup(subject, schema);
    }

    @Override
    public org.apache.avro.Schema byId(int id) {
      return delegate.byId(id);
    }
  }

  /**
   * MockProducer that fails every send with a (retriable) TimeoutException while {@code down};
   * {@code beforeNextSend}, when set, runs once on the sending thread just before the next
   * successful send (a deterministic interleaving).
   */
  static final class SwitchableProducer extends MockProducer<String, byte[]> {
    volatile boolean down;
    volatile Runnable beforeNextSend;

    /**
     * Values longer than this are refused with {@link #refusal} (as a broker whose
     * max.message.bytes is small).
     */
    volatile int refuseAbove = Integer.MAX_VALUE;

    volatile RuntimeException refusal =
        new org.apache.kafka.common.errors.RecordTooLargeException("too large (test)");

    SwitchableProducer() {
      super(true, null, new StringSerializer(), new ByteArraySerializer());
    }

    @Override
    public synchronized Future<RecordMetadata> send(
        ProducerRecord<String, byte[]> record, Callback callback) {
      if (down) {
        TimeoutException e = new TimeoutException("broker unreachable (test)");
        if (callback != null) {
          callback.onCompletion(null, e);
        }
        return CompletableFuture.failedFuture(e);
      }
      if (record.value() != null && record.value().length > refuseAbove) {
        RuntimeException e = refusal;
        if (callback != null) {
          callback.onCompletion(null, e);
        }
        return CompletableFuture.failedFuture(e);
      }
      Runnable hook = beforeNextSend;
      if (hook != null) {
        beforeNextSend = null;
        hook.run();
      }
      return super.send(record, callback);
    }
  }

  @TempDir Path dir;
  private final InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
  private final AvroSerdeConfig serde =
      AvroSerdeConfig.from(Map.of("schema.registry.url", "http://in-memory.invalid"));
  private final CollectorMetrics metrics = new CollectorMetrics();
  private final SwitchableProducer producer = new SwitchableProducer();
  private Publisher publisher;
  private Spool spool;

  private Publisher publisher(long spoolMax) throws Exception {
    return publisher(spoolMax, 16);
  }

  private Publisher publisher(long spoolMax, int buffer) throws Exception {
    spool =
        new Spool(dir, spoolMax, Math.min(spoolMax, 4096), n -> metrics.dropped("spool_full", n));
    publisher =
        new Publisher(
            producer,
            new AvroSerializer<SpecificRecord>(registry, serde, false),
            "req",
            "hw",
            "dlq",
            spool,
            metrics,
            buffer,
            Duration.ofMillis(20));
    return publisher;
  }

  @AfterEach
  void close() {
    if (publisher != null) {
      publisher.close(Duration.ofSeconds(2));
    }
  }

  static RequestEvent event(int i) {
    RequestEvent e = DEFAULTS.newEvent("test");
    e.setModel("m" + i);
    e.setArrivalUs(1_000 + i);
    e.setCompletedUs(2_000 + i);
    return e;
  }

  private List<RequestEvent> delivered() {
    AvroDeserializer<RequestEvent> de = new AvroDeserializer<>(RequestEvent.class, registry);
    List<RequestEvent> out = new ArrayList<>();
    for (ProducerRecord<String, byte[]> r : producer.history()) {
      if (r.topic().equals("req")) {
        out.add(de.deserialize("req", r.value()));
      }
    }
    return out;
  }

  @Test
  void sendsKeyedAvroRecords() throws Exception {
    Publisher p = publisher(1 << 20);
    RequestEvent e = event(1);
    p.publish(e);
    HardwareSample s =
        new HardwareSamples("c", "r", "host-a").newSample("GPU-1", DeviceKind.GPU, "nvml", 5);
    p.publish(s);
    Infra.await(Duration.ofSeconds(5), "two records sent", () -> producer.history().size() == 2);
    ProducerRecord<String, byte[]> hw =
        producer.history().stream().filter(r -> r.topic().equals("hw")).findFirst().orElseThrow();
    assertThat(hw.key()).isEqualTo("host-a/GPU-1");
    assertThat(new AvroDeserializer<>(HardwareSample.class, registry).deserialize("hw", hw.value()))
        .isEqualTo(s);
    ProducerRecord<String, byte[]> req =
        producer.history().stream().filter(r -> r.topic().equals("req")).findFirst().orElseThrow();
    assertThat(req.key()).isEqualTo("host-a");
    assertThat(delivered()).containsExactly(e);
    Infra.await(Duration.ofSeconds(5), "sent counted", () -> metrics.sentCount("req") == 1);
    assertThat(metrics.sentCount("hw")).isEqualTo(1);
  }

  @Test
  void outageSpoolsThenDeliversEverythingWithTheSameIds() throws Exception {
    Publisher p = publisher(1 << 20, 1024); // no buffer overflow: order is kept
    producer.down = true;
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 300; i++) {
      RequestEvent e = event(i);
      ids.add(e.getEventId());
      p.publish(e);
    }
    Infra.await(Duration.ofSeconds(5), "all spooled", () -> p.spoolPending() == 300);
    assertThat(p.kafkaHealthy()).isFalse();
    assertThat(metrics.spooledCount()).isGreaterThanOrEqualTo(300);
    producer.down = false;
    Infra.await(
        Duration.ofSeconds(10),
        "spool drained",
        () -> p.spoolPending() == 0 && delivered().size() >= 300);
    List<RequestEvent> got = delivered();
    assertThat(got).extracting(RequestEvent::getEventId).containsExactlyInAnyOrderElementsOf(ids);
    // order of one key (host) is kept through the spool
    assertThat(got).extracting(RequestEvent::getArrivalUs).isSorted();
    Infra.await(Duration.ofSeconds(5), "healthy again", p::kafkaHealthy);
    assertThat(metrics.droppedCount("spool_full")).isZero();
  }

  /**
   * Request events that ingest encoded itself: the header is known only after the serializer wrote
   * a request event; then encoded events go the same way as events, through an outage into the
   * spool and out again byte for byte.
   */
  @Test
  void encodedRequestsAreDeliveredAndSpooledLikeEvents() throws Exception {
    Publisher p = publisher(1 << 20, 1024);
    // the schema id is resolved at start, off the caller's thread
    Infra.await(Duration.ofSeconds(5), "schema id resolved", () -> p.requestHeader() != null);
    RequestEvent first = event(0);
    p.publish(first);
    Infra.await(Duration.ofSeconds(5), "first sent", () -> metrics.sentCount("req") == 1);
    byte[] firstWire = producer.history().get(0).value();
    assertThat(p.requestHeader())
        .isEqualTo(java.util.Arrays.copyOf(firstWire, Publisher.WIRE_HEADER_BYTES));
    // the wire bytes ingest writes are the serializer's (RequestAvroEncoderTest); here the
    // serializer stands in
    AvroSerializer<SpecificRecord> same = new AvroSerializer<>(registry, serde, false);
    List<String> ids = new ArrayList<>(List.of(first.getEventId()));
    List<byte[]> wires = new ArrayList<>();
    for (int i = 1; i <= 50; i++) {
      RequestEvent e = event(i);
      ids.add(e.getEventId());
      byte[] wire = same.serialize("req", e);
      assertThat(java.util.Arrays.copyOf(wire, 5)).isEqualTo(p.requestHeader());
      wires.add(wire);
      p.publishRequest(e.getHost(), wire);
    }
    Infra.await(Duration.ofSeconds(5), "direct ones sent", () -> metrics.sentCount("req") == 51);
    producer.down = true;
    for (int i = 51; i <= 250; i++) {
      RequestEvent e = event(i);
      ids.add(e.getEventId());
      byte[] wire = same.serialize("req", e);
      wires.add(wire);
      p.publishRequest(e.getHost(), wire);
    }
    Infra.await(Duration.ofSeconds(5), "all spooled", () -> p.spoolPending() == 200);
    producer.down = false;
    Infra.await(
        Duration.ofSeconds(10),
        "spool drained",
        () -> p.spoolPending() == 0 && delivered().size() == 251);
    List<RequestEvent> got = delivered();
    assertThat(got).extracting(RequestEvent::getEventId).containsExactlyElementsOf(ids);
    assertThat(got).extracting(RequestEvent::getArrivalUs).isSorted();
    List<byte[]> sentWires =
        producer.history().stream()
            .filter(r -> r.topic().equals("req"))
            .skip(1)
            .map(ProducerRecord::value)
            .toList();
    assertThat(sentWires).containsExactlyElementsOf(wires); // byte for byte, also after the spool
    assertThat(producer.history())
        .filteredOn(r -> r.topic().equals("req"))
        .extracting(ProducerRecord::key)
        .containsOnly("host-a");
    assertThat(metrics.droppedCount("spool_full")).isZero();
    assertThat(metrics.droppedCount("serialization")).isZero();
  }

  /**
   * A registry that does not answer right after start (issue 11: the first registration blocked
   * ingest until the exporters timed out): publishing never waits on it, events and hardware
   * samples wait in the spool as Avro, and once the registry answers every one is delivered once,
   * with its id.
   */
  @Test
  void aRegistryThatDoesNotAnswerNeverBlocksPublishingAndNothingIsLostOrDoubled() throws Exception {
    GatedRegistry slow = new GatedRegistry(registry);
    spool = new Spool(dir, 1 << 22, 4096, n -> metrics.dropped("spool_full", n));
    publisher =
        new Publisher(
            producer,
            new AvroSerializer<SpecificRecord>(slow, serde, false),
            "req",
            "hw",
            "dlq",
            spool,
            metrics,
            64,
            Duration.ofMillis(20));
    Infra.await(Duration.ofSeconds(5), "registration attempted", () -> slow.calls.get() >= 1);
    List<String> ids = new ArrayList<>();
    long slowest = 0;
    for (int i = 0; i < 500; i++) {
      RequestEvent e = event(i);
      ids.add(e.getEventId());
      long t0 = System.nanoTime();
      publisher.publish(e);
      slowest = Math.max(slowest, System.nanoTime() - t0);
    }
    publisher.publish(
        new HardwareSamples("c", "r", "host-a").newSample("GPU-1", DeviceKind.GPU, "nvml", 5));
    // nothing waited for the registry (the queue of 64 overflowed into the spool without a
    // back-pressure wait)
    assertThat(Duration.ofNanos(slowest)).isLessThan(Duration.ofMillis(200));
    assertThat(publisher.requestHeader()).isNull();
    Infra.await(Duration.ofSeconds(5), "all spooled", () -> publisher.spoolPending() == 501);
    assertThat(producer.history()).isEmpty();
    assertThat(publisher.kafkaHealthy()).isTrue(); // the registry is slow, Kafka is not down

    slow.open.countDown();
    Infra.await(
        Duration.ofSeconds(15),
        "delivered",
        () -> publisher.spoolPending() == 0 && delivered().size() == 500);
    List<RequestEvent> got = delivered();
    // events the queue held and events that overflowed it reach the spool from two threads: the set
    // is exact, the
    // order across the overflow is not kept
    assertThat(got).extracting(RequestEvent::getEventId).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(producer.history()).filteredOn(r -> r.topic().equals("hw")).hasSize(1);
    assertThat(publisher.requestHeader()).isNotNull();
    assertThat(metrics.droppedCount("serialization")).isZero();
    assertThat(metrics.droppedCount("spool_full")).isZero();
  }

  /**
   * spoolFull (ingest's 503 signal) holds from when one more segment would drop events until the
   * spool drains.
   */
  @Test
  void spoolFullHoldsWhileTheSpoolCannotTakeAnotherSegment() throws Exception {
    Publisher p = publisher(16384);
    Infra.await(Duration.ofSeconds(5), "schema id resolved", () -> p.requestHeader() != null);
    assertThat(p.spoolFull()).isFalse();
    producer.down = true;
    int i = 0;
    while (!p.spoolFull() && i < 10_000) {
      p.publish(event(i++));
      if (i % 16 == 0) {
        Infra.await(Duration.ofSeconds(5), "routed", () -> p.bufferSize() == 0);
      }
    }
    assertThat(p.spoolFull()).isTrue();
    assertThat(metrics.droppedCount("spool_full"))
        .isZero(); // refused before anything had to be dropped
    producer.down = false;
    Infra.await(Duration.ofSeconds(15), "drained", () -> p.spoolPending() == 0);
    assertThat(p.spoolFull()).isFalse();
  }

  @Test
  void fullSpoolDropsOldestAndCountsEveryDrop() throws Exception {
    Publisher p = publisher(8192);
    producer.down = true;
    int n = 2000;
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      RequestEvent e = event(i);
      ids.add(e.getEventId());
      p.publish(e);
    }
    // every event reaches the spool exactly once while Kafka is down (the spooled counter, read
    // alone: pending +
    // dropped read one after the other can pass early while a drop happens between the two reads)
    Infra.await(Duration.ofSeconds(5), "everything spooled", () -> metrics.spooledCount() == n);
    assertThat(metrics.droppedCount("spool_full")).isPositive();
    producer.down = false;
    Infra.await(Duration.ofSeconds(10), "spool drained", () -> p.spoolPending() == 0);
    assertExactAccounting(ids, 0);
    // oldest-first dropping: the first event is gone, the newest survived
    assertThat(delivered())
        .extracting(RequestEvent::getArrivalUs)
        .contains(1_000L + n - 1)
        .doesNotContain(1_000L);
  }

  /**
   * The race behind the once-seen "delivered + dropped = 2042 of 2000": drop-oldest deleted (and
   * counted) the segment the drainer was sending, then the acknowledgements counted the same events
   * as delivered. Here the interleaving is forced: the drainer reads the whole spool, and before
   * its first send more events are appended, dropping the oldest segments under the batch in
   * flight.
   */
  @Test
  void dropOfSegmentsUnderTheBatchInFlightCountsEveryEventOnce() throws Exception {
    Publisher p = publisher(8192);
    producer.down = true;
    int n = 150; // a little more than the 8 KiB spool holds: some are dropped before Kafka is back
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      RequestEvent e = event(i);
      ids.add(e.getEventId());
      p.publish(e);
    }
    Infra.await(Duration.ofSeconds(5), "everything spooled", () -> metrics.spooledCount() == n);
    double droppedBefore = metrics.droppedCount("spool_full");
    assertThat(droppedBefore).isPositive();
    int late =
        100; // more than a segment: deletes the oldest segments, all of whose records are in flight
    producer.beforeNextSend =
        () -> {
          for (int i = 0; i < late; i++) {
            RequestEvent e = event(n + i);
            ids.add(e.getEventId());
            try {
              spool.append(AvroBinary.kindOf(e), e.getHost(), AvroBinary.encode(e));
            } catch (java.io.IOException ex) {
              throw new java.io.UncheckedIOException(ex);
            }
          }
        };
    producer.down = false;
    Infra.await(
        Duration.ofSeconds(10),
        "spool drained",
        () -> producer.beforeNextSend == null && p.spoolPending() == 0);
    assertExactAccounting(ids, 0);
    // the late events also overflowed the spool, beyond the batch in flight: those drops are
    // counted
    assertThat(metrics.droppedCount("spool_full")).isGreaterThan(droppedBefore);
  }

  /**
   * Every id delivered (distinct, sent counter equal) or counted dropped, never both, nothing else.
   */
  private void assertExactAccounting(List<String> ids, int otherDrops) {
    List<RequestEvent> got = delivered();
    Set<String> distinct = new HashSet<>();
    got.forEach(e -> distinct.add(e.getEventId()));
    assertThat(ids).containsAll(distinct);
    long dropped = (long) metrics.droppedCount("spool_full");
    assertThat(distinct.size() + dropped).isEqualTo(ids.size() - otherDrops);
    assertThat((long) metrics.sentCount("req")).isEqualTo(distinct.size());
    assertThat(got).hasSize(distinct.size()); // nothing re-sent after a complete batch either
  }

  private List<io.infermeter.avro.DeadLetter> deadLetters() {
    AvroDeserializer<io.infermeter.avro.DeadLetter> de =
        new AvroDeserializer<>(io.infermeter.avro.DeadLetter.class, registry);
    List<io.infermeter.avro.DeadLetter> out = new ArrayList<>();
    for (ProducerRecord<String, byte[]> r : producer.history()) {
      if (r.topic().equals("dlq")) {
        out.add(de.deserialize("dlq", r.value()));
      }
    }
    return out;
  }

  private static RequestEvent huge(int i) {
    RequestEvent e = event(i);
    e.getAttributes().put("blob", "x".repeat(200_000));
    return e;
  }

  /**
   * A record the broker refuses for good (a producer fake refusing values over 100 kB with
   * RecordTooLargeException, as a topic with a small max.message.bytes does) in the middle of a
   * spooled backlog: it becomes a dead letter with a cut payload and the drainer goes on with the
   * records behind it instead of retrying it forever.
   */
  @Test
  void aSpooledRecordKafkaRefusesForGoodIsDeadLetteredAndTheDrainerMovesOn() throws Exception {
    Publisher p = publisher(1 << 22, 1024);
    producer.down = true;
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      RequestEvent e = i == 7 ? huge(i) : event(i);
      ids.add(e.getEventId());
      p.publish(e);
    }
    Infra.await(Duration.ofSeconds(5), "all spooled", () -> p.spoolPending() == 20);
    producer.refuseAbove = 100_000;
    producer.down = false;
    Infra.await(
        Duration.ofSeconds(10),
        "spool drained",
        () -> p.spoolPending() == 0 && delivered().size() >= 19 && deadLetters().size() == 1);
    assertThat(delivered())
        .extracting(RequestEvent::getEventId)
        .containsExactlyElementsOf(ids.stream().filter(id -> !id.equals(ids.get(7))).toList());
    io.infermeter.avro.DeadLetter d = deadLetters().get(0);
    assertThat(d.getReason()).isEqualTo("kafka-rejected");
    assertThat(d.getSourceTopic()).isEqualTo("req");
    assertThat(d.getErrorClass()).endsWith("RecordTooLargeException");
    assertThat(d.getPayload().remaining()).isEqualTo(Publisher.MAX_REFUSED_PAYLOAD);
    assertThat(metrics.droppedCount("kafka_rejected")).isEqualTo(1);
    assertThat(metrics.sentCount("req")).isEqualTo(19);
  }

  /**
   * Another non-retriable error that repeats on the same record: retried, then dead-lettered after
   * MAX_ATTEMPTS.
   */
  @Test
  void aRecordFailingOverAndOverWithANonRetriableErrorIsDeadLetteredAfterMaxAttempts()
      throws Exception {
    Publisher p = publisher(1 << 22, 1024);
    producer.down = true;
    p.publish(event(0));
    p.publish(huge(1));
    p.publish(event(2));
    Infra.await(Duration.ofSeconds(5), "all spooled", () -> p.spoolPending() == 3);
    producer.refusal =
        new org.apache.kafka.common.errors.UnknownServerException("broker bug (test)");
    producer.refuseAbove = 100_000;
    producer.down = false;
    Infra.await(
        Duration.ofSeconds(10),
        "spool drained",
        () -> p.spoolPending() == 0 && deadLetters().size() == 1);
    assertThat(delivered()).extracting(RequestEvent::getModel).containsExactly("m0", "m2");
    assertThat(deadLetters().get(0).getErrorClass()).endsWith("UnknownServerException");
    assertThat(metrics.droppedCount("kafka_rejected")).isEqualTo(1);
  }

  /** A dead letter Kafka refuses for good is dropped and counted, never dead-lettered itself. */
  @Test
  void aRefusedDeadLetterIsNotDeadLetteredAgain() throws Exception {
    Publisher p = publisher(1 << 22, 1024);
    producer.refuseAbove = 10;
    p.publish(event(0)); // refused too: its dead letter is refused in turn
    Infra.await(
        Duration.ofSeconds(10), "both counted", () -> metrics.droppedCount("kafka_rejected") == 2);
    Thread.sleep(200); // a loop would keep counting
    assertThat(metrics.droppedCount("kafka_rejected")).isEqualTo(2);
    assertThat(deadLetters()).isEmpty();
  }

  /**
   * A dead letter of a rejected span keeps the span but not its prompt and completion attributes.
   */
  @Test
  void deadLettersLoseAttributesThatMayHoldPromptsBeforeTheyAreSent() throws Exception {
    Publisher p = publisher(1 << 22, 1024);
    io.infermeter.avro.DeadLetter d = new io.infermeter.avro.DeadLetter();
    d.setStage("collector");
    d.setReason("validation");
    d.setMessage("/v1/requests line 1: missing_field: model is required");
    d.setDetectedUs(1);
    d.setPayload(
        java.nio.ByteBuffer.wrap(
            ("{\"arrivalUs\":1,\"attributes\":{\"gen_ai.prompt\":\"SECRET\","
                    + "\"team\":\"a\"},\"messages\":[{\"content\":\"SECRET\"}]}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    p.publish(d, "h");
    Infra.await(Duration.ofSeconds(5), "sent", () -> deadLetters().size() == 1);
    String payload =
        java.nio.charset.StandardCharsets.UTF_8
            .decode(deadLetters().get(0).getPayload())
            .toString();
    assertThat(payload).doesNotContain("SECRET").contains("\"team\":\"a\"");
    assertThat(deadLetters().get(0).getMessage()).contains("2 attribute(s)");
  }
}
