package io.infermeter.streams.internal;

import io.infermeter.avro.DeadLetter;
import java.nio.ByteBuffer;
import java.util.Optional;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import java.nio.charset.StandardCharsets;
import java.time.Clock;

/** Builds DeadLetter records (stage "streams"). Stateless. */
public final class DeadLetters {

  public static final String STAGE = "streams";

  private DeadLetters() {}

  public static DeadLetter of(String reason, String message, Throwable error, String topic, Integer partition,
      Long offset, Long recordTimestampMs, byte[] key, byte[] payload, Clock clock) {
    return DeadLetter.newBuilder()
        .setStage(STAGE)
        .setReason(reason)
        .setMessage(message == null ? "" : message)
        .setErrorClass(error == null ? null : error.getClass().getName())
        .setSourceTopic(topic)
        .setSourcePartition(partition)
        .setSourceOffset(offset)
        .setRecordTimestampUs(recordTimestampMs == null ? null : recordTimestampMs * 1000)
        .setKey(key == null ? null : ByteBuffer.wrap(key))
        .setPayload(payload == null ? null : ByteBuffer.wrap(payload))
        .setDetectedUs(clock.millis() * 1000)
        .build();
  }

  /**
   * Counts and forwards a dead letter of the record being processed, from inside a processor: the source coordinates
   * come from the context's record metadata ({@code fallbackTopic} when there is none), {@code payload} is the
   * record's value as bytes (null when it had none).
   */
  static void forward(ProcessorContext<String, Object> context, StreamsCounters counters, Clock clock,
      Record<String, ?> record, String fallbackTopic, String reason, String message, byte[] payload) {
    counters.deadLetter(reason);
    Optional<RecordMetadata> md = context.recordMetadata();
    context.forward(new Record<>(record.key(), of(reason, message, null,
        md.map(RecordMetadata::topic).orElse(fallbackTopic), md.map(RecordMetadata::partition).orElse(null),
        md.map(RecordMetadata::offset).orElse(null), record.timestamp(), utf8(record.key()), payload, clock),
        record.timestamp()));
  }

  static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }
}
