package io.infermeter.alerts.internal;

import static io.infermeter.alerts.internal.TestAlerts.alert;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.schemas.serde.SchemaRegistryException;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.Test;

/**
 * One poll's forwarding and its commit: offsets are committed only after every Alertmanager has an
 * outcome, never for a delivery abandoned on shutdown. Kafka's own MockConsumer stands in for the
 * consumer (the rebuild and the rebalances run against the real Kafka in AlertmanagerForwardIT).
 */
class ForwarderLoopTest {

  private static final String TOPIC = "infermeter-alerts";
  private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
  private static final URI AM = URI.create("http://am:9093/api/v2/alerts");
  private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");

  private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
  private final ForwarderMetrics metrics = new ForwarderMetrics(new PrometheusRegistry());
  private final ManualClock clock = new ManualClock(T0);
  private final List<String> bodies = Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger status = new AtomicInteger(200);
  private final FiringAlerts firing = new FiringAlerts(Duration.ofSeconds(60), 100);

  /**
   * Avro binary of the record itself (the registry framing is the schemas module's, tested there).
   */
  private static final Deserializer<Alert> DECODE =
      (topic, data) -> {
        try {
          return Alert.getDecoder().decode(ByteBuffer.wrap(data));
        } catch (IOException | RuntimeException e) {
          throw new SerializationException("not an Alert: " + e.getMessage(), e);
        }
      };

  private static byte[] encode(Alert a) {
    try {
      ByteBuffer b = Alert.getEncoder().encode(a);
      byte[] out = new byte[b.remaining()];
      b.get(out);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private ForwarderLoop loop(Delivery.Sleeper sleeper) {
    return loop(sleeper, DECODE, new CountDownLatch(1));
  }

  private ForwarderLoop loop(
      Delivery.Sleeper sleeper, Deserializer<Alert> decode, CountDownLatch stopping) {
    Transport transport =
        (url, json) -> {
          bodies.add(new String(json, java.nio.charset.StandardCharsets.UTF_8));
          return new Transport.Response(status.get(), "");
        };
    Delivery delivery =
        new Delivery(
            List.of(AM),
            transport,
            clock,
            sleeper,
            Duration.ofMillis(100),
            Duration.ofSeconds(1),
            Duration.ofSeconds(10),
            metrics,
            null);
    return new ForwarderLoop(
        consumer,
        () -> {
          throw new AssertionError("no rebuild in this test");
        },
        decode,
        TOPIC,
        new AlertMapping(Duration.ofMinutes(4), Map.of(), Optional.empty()),
        delivery,
        firing,
        metrics,
        clock,
        Duration.ofMillis(10),
        Duration.ofDays(7),
        stopping);
  }

  private static ConsumerRecords<byte[], byte[]> records(byte[]... values) {
    List<ConsumerRecord<byte[], byte[]>> list = new ArrayList<>();
    for (int i = 0; i < values.length; i++) {
      list.add(
          new ConsumerRecord<>(
              TOPIC, 0, 10 + i, ("k" + i).getBytes(StandardCharsets.UTF_8), values[i]));
    }
    return new ConsumerRecords<>(Map.of(P0, list), Map.of());
  }

  @Test
  void aPollIsDeliveredInOneRequestAndThenCommitted() throws Exception {
    consumer.assign(List.of(P0));
    ForwarderLoop loop = loop((d) -> true);

    boolean done =
        loop.process(
            records(
                encode(alert("throttling", "h1", AlertState.FIRING, T0, T0)),
                encode(alert("throttling", "h2", AlertState.FIRING, T0, T0)),
                encode(alert("throttling", "h1", AlertState.RESOLVED, T0, T0.plusSeconds(30)))));

    assertThat(done).isTrue();
    assertThat(bodies).hasSize(1);
    JsonNode body = new ObjectMapper().readTree(bodies.get(0));
    assertThat(body).hasSize(3);
    assertThat(consumer.committed(Set.of(P0)).get(P0).offset()).isEqualTo(13);
    assertThat(firing.size()).isEqualTo(1);
    assertThat(metrics.firing()).isEqualTo(1);
    assertThat(metrics.forwarded(AM.toString(), "resolved")).isEqualTo(1);
  }

  @Test
  void aDeliveryAbandonedOnShutdownIsNotCommitted() throws Exception {
    consumer.assign(List.of(P0));
    status.set(503);
    ForwarderLoop loop = loop(d -> false); // the stop latch fired during the first backoff

    assertThat(loop.process(records(encode(alert("throttling", "h1", AlertState.FIRING, T0, T0)))))
        .isFalse();

    assertThat(consumer.committed(Set.of(P0))).doesNotContainKey(P0);
  }

  @Test
  void rejectedAlertsAreCommittedSoOnePoisonAlertDoesNotStopTheStream() throws Exception {
    consumer.assign(List.of(P0));
    status.set(400);

    assertThat(
            loop(d -> true)
                .process(records(encode(alert("throttling", "h1", AlertState.FIRING, T0, T0)))))
        .isTrue();

    assertThat(consumer.committed(Set.of(P0)).get(P0).offset()).isEqualTo(11);
    assertThat(metrics.failed(AM.toString(), "rejected")).isEqualTo(1);
  }

  @Test
  void undecodableTombstoneAndUnknownStateRecordsAreSkippedCountedAndCommitted() throws Exception {
    consumer.assign(List.of(P0));
    Alert unknown =
        Alert.newBuilder(alert("throttling", "h9", AlertState.FIRING, T0, T0))
            .setState(AlertState.UNKNOWN)
            .build();

    assertThat(loop(d -> true).process(records(new byte[] {1, 2, 3}, null, encode(unknown))))
        .isTrue();

    assertThat(bodies).isEmpty(); // nothing to send: no request
    assertThat(consumer.committed(Set.of(P0)).get(P0).offset()).isEqualTo(13);
    assertThat(metrics.invalidRecords("undecodable")).isEqualTo(1);
    assertThat(metrics.invalidRecords("tombstone")).isEqualTo(1);
    assertThat(metrics.invalidRecords("unknown_state")).isEqualTo(1);
  }

  @Test
  void aResolvedWhoseFiringIsKnownResolvesWithTheFiringLabels() throws Exception {
    consumer.assign(List.of(P0));
    ForwarderLoop loop = loop(d -> true);
    loop.process(records(encode(alert("throttling", "h1", AlertState.FIRING, T0, T0))));
    Alert resolved =
        Alert.newBuilder(alert("throttling", "h1", AlertState.RESOLVED, T0, T0.plusSeconds(5)))
            .setSeverity(io.infermeter.avro.Severity.INFO)
            .build();

    loop.process(records(encode(resolved)));

    ObjectMapper json = new ObjectMapper();
    assertThat(json.readTree(bodies.get(1)).get(0).get("labels"))
        .isEqualTo(json.readTree(bodies.get(0)).get(0).get("labels"));
  }

  /**
   * Fails like the registry client when the registry does not answer: retryable, the record is not
   * at fault.
   */
  private static Deserializer<Alert> registryDownFor(int failures) {
    AtomicInteger calls = new AtomicInteger();
    return (topic, data) -> {
      if (calls.incrementAndGet() <= failures) {
        throw new SchemaRegistryException(
            "GET /schemas/ids/1 failed: connection refused",
            0,
            0,
            true,
            new java.net.ConnectException("refused"));
      }
      return DECODE.deserialize(topic, data);
    };
  }

  @Test
  void aRegistryOutageIsWaitedOutInsteadOfSkippingTheAlert() throws Exception {
    consumer.assign(List.of(P0));
    ForwarderLoop loop = loop(d -> true, registryDownFor(2), new CountDownLatch(1));

    assertThat(loop.process(records(encode(alert("throttling", "h1", AlertState.FIRING, T0, T0)))))
        .isTrue();

    assertThat(metrics.registryRetries()).isEqualTo(2);
    assertThat(metrics.invalidRecords("undecodable")).isZero();
    assertThat(bodies).hasSize(1);
    assertThat(consumer.committed(Set.of(P0)).get(P0).offset()).isEqualTo(11);
  }

  @Test
  void aStopDuringARegistryOutageCommitsNothing() throws Exception {
    consumer.assign(List.of(P0));
    CountDownLatch stopping = new CountDownLatch(1);
    stopping.countDown();
    ForwarderLoop loop = loop(d -> true, registryDownFor(Integer.MAX_VALUE), stopping);

    assertThat(loop.process(records(encode(alert("throttling", "h1", AlertState.FIRING, T0, T0)))))
        .isFalse();

    assertThat(bodies).isEmpty();
    assertThat(consumer.committed(Set.of(P0))).doesNotContainKey(P0);
  }

  @Test
  void aRegistryAnswerThatWillNotChangeSkipsTheRecord() throws Exception {
    consumer.assign(List.of(P0));
    Deserializer<Alert> unknownId =
        (topic, data) -> {
          throw new SchemaRegistryException("schema id 99 not found", 404, 40403, false, null);
        };
    ForwarderLoop loop = loop(d -> true, unknownId, new CountDownLatch(1));

    assertThat(loop.process(records(encode(alert("throttling", "h1", AlertState.FIRING, T0, T0)))))
        .isTrue();

    assertThat(metrics.invalidRecords("undecodable")).isEqualTo(1);
    assertThat(metrics.registryRetries()).isZero();
    assertThat(consumer.committed(Set.of(P0)).get(P0).offset()).isEqualTo(11);
  }
}
