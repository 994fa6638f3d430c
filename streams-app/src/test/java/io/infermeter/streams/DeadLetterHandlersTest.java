package io.infermeter.streams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.DeadLetter;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.InMemorySchemaRegistryClient;
import io.infermeter.streams.support.StreamsCounters;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

class DeadLetterHandlersTest {

  private final TopologySerdes serdes =
      TopologySerdes.of(
          new InMemorySchemaRegistryClient(),
          AvroSerdeConfig.from(
              Map.of("schema.registry.url", "http://unit-test-registry.invalid:8081")));
  private final StreamsCounters counters = new StreamsCounters();
  private final Map<String, Object> configs =
      Map.of(
          DeadLetterHandlers.CONTEXT_KEY,
          new DeadLetterHandlers.Context(
              "dlq",
              serdes.deadLetters().serializer(),
              counters,
              Clock.fixed(Instant.ofEpochMilli(5000), ZoneOffset.UTC)));

  private static ErrorHandlerContext ctx(byte[] key, byte[] value) {
    return new ErrorHandlerContext() {
      @Override
      public String topic() {
        return "infermeter-requests";
      }

      @Override
      public int partition() {
        return 3;
      }

      @Override
      public long offset() {
        return 42;
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
        return new TaskId(0, 3);
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

  @Test
  void deserializationFailureBecomesADeadLetterWithRawBytesAndContinues() {
    DeadLetterHandlers.Deserialization h = new DeadLetterHandlers.Deserialization();
    h.configure(configs);
    byte[] raw = "garbage".getBytes(StandardCharsets.UTF_8);
    var response =
        h.handleError(
            ctx(null, raw),
            new ConsumerRecord<>(
                "infermeter-requests", 3, 42, "k".getBytes(StandardCharsets.UTF_8), raw),
            new SerializationException("bad magic"));
    assertThat(response.result()).isEqualTo(DeserializationExceptionHandler.Result.RESUME);
    List<ProducerRecord<byte[], byte[]>> recs = response.deadLetterQueueRecords();
    assertThat(recs).hasSize(1);
    assertThat(recs.get(0).topic()).isEqualTo("dlq");
    DeadLetter dl = serdes.deadLetters().deserializer().deserialize("dlq", recs.get(0).value());
    assertThat(dl.getReason()).isEqualTo("deserialization");
    assertThat(dl.getMessage()).isEqualTo("bad magic");
    assertThat(dl.getSourcePartition()).isEqualTo(3);
    assertThat(dl.getSourceOffset()).isEqualTo(42L);
    assertThat(dl.getPayload().array()).isEqualTo(raw);
    assertThat(dl.getErrorClass()).isEqualTo(SerializationException.class.getName());
    assertThat(dl.getDetectedUs()).isEqualTo(5_000_000L);
    assertThat(counters.deadLetters().get("deserialization").sum()).isEqualTo(1);
  }

  @Test
  void processingFailureBecomesADeadLetterOfTheSourceRecord() {
    DeadLetterHandlers.Processing h = new DeadLetterHandlers.Processing();
    h.configure(configs);
    byte[] raw = {1, 2, 3};
    var response =
        h.handleError(
            ctx("k".getBytes(StandardCharsets.UTF_8), raw),
            new Record<>("k", "v", 1L),
            new IllegalStateException("boom"));
    assertThat(response.result()).isEqualTo(ProcessingExceptionHandler.Result.RESUME);
    DeadLetter dl =
        serdes
            .deadLetters()
            .deserializer()
            .deserialize("dlq", response.deadLetterQueueRecords().get(0).value());
    assertThat(dl.getReason()).isEqualTo("processing");
    assertThat(dl.getPayload().array()).isEqualTo(raw);
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.MethodSource("productionErrors")
  void productionErrorsAreDeadLetteredOnlyWhenTheRecordItselfIsTheProblem(
      Exception e, org.apache.kafka.streams.errors.ProductionExceptionHandler.Result expected) {
    DeadLetterHandlers.Production h = new DeadLetterHandlers.Production();
    h.configure(configs);
    var response =
        h.handleError(
            ctx(null, null), new ProducerRecord<>("out", new byte[] {1}, new byte[] {2}), e);
    assertThat(response.result()).isEqualTo(expected);
    assertThat(response.deadLetterQueueRecords())
        .hasSize(
            expected == org.apache.kafka.streams.errors.ProductionExceptionHandler.Result.RESUME
                ? 1
                : 0);
  }

  static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> productionErrors() {
    return java.util.stream.Stream.of(
        org.junit.jupiter.params.provider.Arguments.of(
            new org.apache.kafka.common.errors.RecordTooLargeException("big"),
            org.apache.kafka.streams.errors.ProductionExceptionHandler.Result.RESUME),
        org.junit.jupiter.params.provider.Arguments.of(
            new org.apache.kafka.common.errors.TimeoutException("slow"),
            org.apache.kafka.streams.errors.ProductionExceptionHandler.Result.RETRY),
        org.junit.jupiter.params.provider.Arguments.of(
            new IllegalStateException("commitTransaction timed out"),
            org.apache.kafka.streams.errors.ProductionExceptionHandler.Result.FAIL));
  }

  @Test
  void anUnavailableRegistryFailsTheThreadInsteadOfDeadLetteringGoodRecords() {
    var down =
        new io.infermeter.schemas.serde.SchemaRegistryException(
            "GET /schemas/ids/7: Connection refused",
            -1,
            -1,
            true,
            new java.net.ConnectException("Connection refused"));
    DeadLetterHandlers.Deserialization d = new DeadLetterHandlers.Deserialization();
    d.configure(configs);
    byte[] raw = {0, 0, 0, 0, 7, 2};
    assertThat(
            d.handleError(
                    ctx(null, raw),
                    new ConsumerRecord<>("infermeter-requests", 3, 42, null, raw),
                    down)
                .result())
        .isEqualTo(DeserializationExceptionHandler.Result.FAIL);
    DeadLetterHandlers.Production p = new DeadLetterHandlers.Production();
    p.configure(configs);
    assertThat(
            p.handleSerializationError(
                    ctx(null, null),
                    new ProducerRecord<>("out", "k", "v"),
                    new SerializationException("cannot register", down),
                    org.apache.kafka.streams.errors.ProductionExceptionHandler
                        .SerializationExceptionOrigin.VALUE)
                .result())
        .isEqualTo(org.apache.kafka.streams.errors.ProductionExceptionHandler.Result.FAIL);
    assertThat(counters.deadLetterTotal()).isZero();
    // a registry that answers "no such schema id" is the record's problem: dead letter as before
    var unknown =
        new io.infermeter.schemas.serde.SchemaRegistryException(
            "GET /schemas/ids/7: 404", 404, 40403, false, null);
    assertThat(
            d.handleError(
                    ctx(null, raw),
                    new ConsumerRecord<>("infermeter-requests", 3, 42, null, raw),
                    unknown)
                .result())
        .isEqualTo(DeserializationExceptionHandler.Result.RESUME);
    assertThat(counters.deadLetterTotal()).isEqualTo(1);
  }

  @Test
  void handlersRefuseAConfigWithoutTheirContext() {
    assertThatThrownBy(() -> new DeadLetterHandlers.Production().configure(Map.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(DeadLetterHandlers.CONTEXT_KEY);
  }
}
