package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.DeadLetter;
import io.infermeter.schemas.serde.SchemaRegistryException;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.ConnectException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The dead-letter send path with a MockProducer that refuses payloads over a size, as a broker
 * does.
 */
class DeadLetterSenderTest {

  private static final String DLQ = "dlq";

  /** Payloads larger than this fail with RecordTooLargeException. */
  private volatile int maxPayload = Integer.MAX_VALUE;

  /** Sends fail with this (a retryable failure) while set. */
  private volatile RuntimeException failWith;

  private final MockProducer<byte[], DeadLetter> producer =
      new MockProducer<>(true, null, new ByteArraySerializer(), (topic, letter) -> new byte[0]) {
        @Override
        public synchronized Future<RecordMetadata> send(
            ProducerRecord<byte[], DeadLetter> record, Callback callback) {
          if (failWith != null) {
            return failed(failWith);
          }
          if (record.value().getPayload() != null
              && record.value().getPayload().remaining() > maxPayload) {
            return failed(new RecordTooLargeException("too large"));
          }
          return super.send(record, callback);
        }
      };
  private final SinkMetrics metrics = new SinkMetrics(new PrometheusRegistry());
  private final DeadLetterSender sender = new DeadLetterSender(producer, metrics);

  private static Future<RecordMetadata> failed(Exception e) {
    CompletableFuture<RecordMetadata> f = new CompletableFuture<>();
    f.completeExceptionally(e);
    return f;
  }

  private static ProducerRecord<byte[], DeadLetter> letter(long offset, int payloadBytes) {
    ConsumerRecord<byte[], byte[]> source =
        new ConsumerRecord<>("wa", 0, offset, new byte[] {7}, new byte[payloadBytes]);
    return new ProducerRecord<>(
        DLQ,
        source.key(),
        new DeadLetters(Clock.systemUTC(), Integer.MAX_VALUE)
            .of(source, DeadLetters.MAPPING, "bad", null));
  }

  @Test
  void acknowledgedDeadLettersLeaveTheBatch() throws Exception {
    List<ProducerRecord<byte[], DeadLetter>> pending =
        new ArrayList<>(List.of(letter(0, 10), letter(1, 10)));
    sender.send(pending);
    assertThat(pending).isEmpty();
    assertThat(producer.history())
        .extracting(r -> r.value().getSourceOffset())
        .containsExactly(0L, 1L);
  }

  @Test
  void aRetryableFailureKeepsTheUnacknowledgedForTheRetry() {
    failWith = new TimeoutException("topic unreachable");
    List<ProducerRecord<byte[], DeadLetter>> pending = new ArrayList<>(List.of(letter(0, 10)));
    assertThatThrownBy(() -> sender.send(pending))
        .isInstanceOfSatisfying(RetryLater.class, e -> assertThat(e.bounded).isFalse());
    assertThat(pending).hasSize(1);
    assertThat(producer.history()).isEmpty();
  }

  @Test
  void aDeadLetterRefusedAsTooLargeIsSentTruncated() throws Exception {
    maxPayload = 4096;
    List<ProducerRecord<byte[], DeadLetter>> pending =
        new ArrayList<>(List.of(letter(0, 100_000), letter(1, 10)));
    sender.send(pending);
    assertThat(pending).isEmpty();
    assertThat(producer.history()).hasSize(2);
    ProducerRecord<byte[], DeadLetter> truncated =
        producer.history().stream()
            .filter(r -> r.value().getSourceOffset() == 0)
            .findFirst()
            .orElseThrow();
    assertThat(truncated.value().getPayload().remaining())
        .isLessThanOrEqualTo(DeadLetters.LAST_RESORT_PAYLOAD_BYTES);
    assertThat(truncated.value().getMessage()).contains("dead letter truncated");
    assertThat(metrics.deadLetters(DeadLetters.UNSENDABLE)).isZero();
  }

  @Test
  void aDeadLetterRefusedEvenTruncatedIsCountedAndSkipped() throws Exception {
    maxPayload = 0;
    List<ProducerRecord<byte[], DeadLetter>> pending = new ArrayList<>(List.of(letter(0, 100_000)));
    sender.send(pending);
    assertThat(pending).isEmpty();
    assertThat(producer.history()).isEmpty();
    assertThat(metrics.deadLetters(DeadLetters.UNSENDABLE)).isEqualTo(1);
  }

  @Test
  void permanentFailuresAreTooLargeInvalidOrUnserializable() {
    assertThat(DeadLetterSender.permanentSendFailure(new RecordTooLargeException("x"))).isTrue();
    assertThat(DeadLetterSender.permanentSendFailure(new RecordBatchTooLargeException("x")))
        .isTrue();
    assertThat(DeadLetterSender.permanentSendFailure(new InvalidRecordException("x"))).isTrue();
    assertThat(
            DeadLetterSender.permanentSendFailure(
                new KafkaException(new SerializationException("x"))))
        .isTrue();
  }

  @Test
  void outagesAndAnUnreachableRegistryAreNotPermanent() {
    assertThat(DeadLetterSender.permanentSendFailure(new TimeoutException("x"))).isFalse();
    assertThat(DeadLetterSender.permanentSendFailure(new KafkaException("x"))).isFalse();
    SchemaRegistryException down =
        new SchemaRegistryException(
            "GET: Connection refused", -1, -1, true, new ConnectException("Connection refused"));
    assertThat(
            DeadLetterSender.permanentSendFailure(
                new SerializationException("cannot register", down)))
        .isFalse();
  }
}
