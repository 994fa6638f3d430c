package io.infermeter.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeadLetter;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.InMemorySchemaRegistryClient;
import io.infermeter.streams.support.StreamsCounters;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

/**
 * The exception handlers under hostile records: dead letters cut to the limits, never a dead letter
 * of a dead letter, and a failure repeating on the same source record given up after
 * limits.failure.max.attempts.
 */
class DeadLetterLimitsTest {

  private static final String DLQ = "infermeter-dead-letters";
  private final TopologySerdes serdes =
      TopologySerdes.of(
          new InMemorySchemaRegistryClient(),
          AvroSerdeConfig.from(
              Map.of("schema.registry.url", "http://unit-test-registry.invalid:8081")));
  private final StreamsCounters counters = new StreamsCounters();
  private final StreamsLimits limits =
      StreamsLimits.from(
          io.infermeter.schemas.config.Settings.fromMap(
              Map.of("limits.failure.max.attempts", "3")));

  private Map<String, Object> configs(Serializer<DeadLetter> serializer) {
    return Map.of(
        DeadLetterHandlers.CONTEXT_KEY,
        new DeadLetterHandlers.Context(
            DLQ,
            serializer,
            counters,
            Clock.fixed(Instant.ofEpochMilli(5000), ZoneOffset.UTC),
            limits,
            new DeadLetterHandlers.FailureTracker()));
  }

  private Map<String, Object> configs() {
    return configs(serdes.deadLetters().serializer());
  }

  private static ErrorHandlerContext ctx(long offset, byte[] key, byte[] value) {
    return new ErrorHandlerContext() {
      @Override
      public String topic() {
        return "infermeter-requests";
      }

      @Override
      public int partition() {
        return 1;
      }

      @Override
      public long offset() {
        return offset;
      }

      @Override
      public Headers headers() {
        return new RecordHeaders();
      }

      @Override
      public String processorNodeId() {
        return "request-windows";
      }

      @Override
      public TaskId taskId() {
        return new TaskId(0, 1);
      }

      @Override
      public long timestamp() {
        return 1234;
      }

      @Override
      public byte[] sourceRawKey() {
        return key;
      }

      @Override
      public byte[] sourceRawValue() {
        return value;
      }
    };
  }

  private DeadLetter decode(ProducerRecord<byte[], byte[]> r) {
    return serdes.deadLetters().deserializer().deserialize(DLQ, r.value());
  }

  @Test
  void aTwoMiBRecordTooLargeToProduceBecomesATruncatedDeadLetter() {
    DeadLetterHandlers.Production h = new DeadLetterHandlers.Production();
    h.configure(configs());
    byte[] value = new byte[2 << 20];
    byte[] key = new byte[200_000];
    var response =
        h.handleError(
            ctx(7, null, null),
            new ProducerRecord<>("infermeter-window-aggregates", key, value),
            new RecordTooLargeException(
                "The message is 2097250 bytes when serialized which is larger than 1048576"));
    assertThat(response.result()).isEqualTo(ProductionExceptionHandler.Result.RESUME);
    ProducerRecord<byte[], byte[]> r = response.deadLetterQueueRecords().get(0);
    assertThat(r.topic()).isEqualTo(DLQ);
    assertThat(r.key()).hasSize(limits.deadLetterPayloadMaxBytes());
    assertThat(r.value().length).isLessThan(3 * limits.deadLetterPayloadMaxBytes());
    DeadLetter dl = decode(r);
    assertThat(dl.getPayload().remaining()).isEqualTo(limits.deadLetterPayloadMaxBytes());
    assertThat(dl.getMessage())
        .contains("[payload truncated from 2097152 to 65536 bytes]")
        .contains("[key truncated from 200000 to 65536 bytes]");
    assertThat(counters.deadLettersTruncated.sum()).isEqualTo(1);
  }

  @Test
  void aHugeExceptionMessageIsCutToTheMessageLimit() {
    DeadLetterHandlers.Processing h = new DeadLetterHandlers.Processing();
    h.configure(configs());
    var response =
        h.handleError(
            ctx(8, null, new byte[] {1}),
            new Record<>("k", "v", 1L),
            new IllegalStateException("model " + "m".repeat(1 << 20) + " is not allowed"));
    DeadLetter dl = decode(response.deadLetterQueueRecords().get(0));
    assertThat(dl.getMessage().length()).isLessThanOrEqualTo(limits.deadLetterMessageMaxBytes());
    assertThat(response.result()).isEqualTo(ProcessingExceptionHandler.Result.RESUME);
  }

  @Test
  void aDeadLetterThatCannotBeSentIsCountedAndDroppedNeverDeadLetteredAgain() {
    DeadLetterHandlers.Production h = new DeadLetterHandlers.Production();
    h.configure(configs());
    var tooLarge =
        h.handleError(
            ctx(9, null, null),
            new ProducerRecord<>(DLQ, null, new byte[2 << 20]),
            new RecordTooLargeException("too large"));
    assertThat(tooLarge.result()).isEqualTo(ProductionExceptionHandler.Result.RESUME);
    assertThat(tooLarge.deadLetterQueueRecords()).isEmpty();
    var unserializable =
        h.handleSerializationError(
            ctx(9, null, null),
            new ProducerRecord<>(DLQ, "k", "v"),
            new SerializationException("cannot encode"),
            ProductionExceptionHandler.SerializationExceptionOrigin.VALUE);
    assertThat(unserializable.result()).isEqualTo(ProductionExceptionHandler.Result.RESUME);
    assertThat(unserializable.deadLetterQueueRecords()).isEmpty();
    assertThat(counters.deadLetterSendFailures.sum()).isEqualTo(2);
    assertThat(counters.deadLetterTotal()).isZero();
  }

  @Test
  void aDeadLetterThatCannotBeBuiltIsCountedAndTheRecordSkipped() {
    DeadLetterHandlers.Deserialization h = new DeadLetterHandlers.Deserialization();
    h.configure(
        configs(
            (topic, dl) -> {
              throw new SerializationException("dead-letter serializer broken");
            }));
    byte[] raw = {0, 0, 0, 0, 1};
    var response =
        h.handleError(
            ctx(10, null, raw),
            new ConsumerRecord<>("infermeter-requests", 1, 10, null, raw),
            new SerializationException("bad"));
    assertThat(response.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
    assertThat(response.deadLetterQueueRecords()).isEmpty();
    assertThat(counters.deadLetterSendFailures.sum()).isEqualTo(1);
  }

  @Test
  void aFailureRepeatingOnTheSameRecordIsGivenUpAfterMaxAttempts() {
    DeadLetterHandlers.Production h = new DeadLetterHandlers.Production();
    h.configure(configs());
    ProducerRecord<byte[], byte[]> out =
        new ProducerRecord<>("infermeter-window-aggregates", null, new byte[] {1});
    KafkaException e = new KafkaException("broker says no, again");
    List<ProductionExceptionHandler.Result> results = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      results.add(h.handleError(ctx(11, null, null), out, e).result());
    }
    assertThat(results)
        .containsExactly(
            ProductionExceptionHandler.Result.FAIL,
            ProductionExceptionHandler.Result.FAIL,
            ProductionExceptionHandler.Result.RESUME);
    assertThat(counters.recordsSkippedAfterRetries.sum()).isEqualTo(1);
    assertThat(counters.deadLetters().get("production-retries-exhausted").sum()).isEqualTo(1);
    // another record starts with its own count
    assertThat(h.handleError(ctx(12, null, null), out, e).result())
        .isEqualTo(ProductionExceptionHandler.Result.FAIL);
  }
}
