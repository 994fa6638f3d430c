package io.infermeter.streams.support;

import io.infermeter.avro.DeadLetter;
import io.infermeter.schemas.Utf8;
import io.infermeter.streams.StreamsLimits;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Optional;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/** Builds DeadLetter records (stage "streams"), cut to the dead-letter limits. Stateless. */
public final class DeadLetters {

  public static final String STAGE = "streams";

  /** Dead-letter reason of a record with a dimension over {@code limits.dimension.max.bytes}. */
  public static final String DIMENSION_TOO_LONG = "dimension-too-long";

  private DeadLetters() {}

  public static DeadLetter of(
      String reason,
      String message,
      Throwable error,
      String topic,
      Integer partition,
      Long offset,
      Long recordTimestampMs,
      byte[] key,
      byte[] payload,
      Clock clock) {
    return of(
        reason,
        message,
        error,
        topic,
        partition,
        offset,
        recordTimestampMs,
        key,
        payload,
        clock,
        StreamsLimits.DEFAULT,
        null);
  }

  /**
   * A DeadLetter whose payload and key are cut to {@code limits.deadLetterPayloadMaxBytes()} and
   * message to {@code limits.deadLetterMessageMaxBytes()} (so the dead letter itself stays far
   * below max.request.size); a cut is said at the end of the message ("[payload truncated from N to
   * M bytes]") and counted in {@code counters} (may be null).
   */
  public static DeadLetter of(
      String reason,
      String message,
      Throwable error,
      String topic,
      Integer partition,
      Long offset,
      Long recordTimestampMs,
      byte[] key,
      byte[] payload,
      Clock clock,
      StreamsLimits limits,
      StreamsCounters counters) {
    String msg = message == null ? "" : Utf8.truncate(message, limits.deadLetterMessageMaxBytes());
    boolean cut = !msg.equals(message == null ? "" : message);
    int max = limits.deadLetterPayloadMaxBytes();
    if (payload != null && payload.length > max) {
      msg += " [payload truncated from " + payload.length + " to " + max + " bytes]";
      payload = Utf8.truncate(payload, max);
      cut = true;
    }
    if (key != null && key.length > max) {
      msg += " [key truncated from " + key.length + " to " + max + " bytes]";
      key = Utf8.truncate(key, max);
      cut = true;
    }
    if (cut && counters != null) {
      counters.deadLettersTruncated.increment();
    }
    return DeadLetter.newBuilder()
        .setStage(STAGE)
        .setReason(reason)
        .setMessage(msg)
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
   * Counts and forwards a dead letter of the record being processed, from inside a processor: the
   * source coordinates come from the context's record metadata ({@code fallbackTopic} when there is
   * none), {@code payload} is the record's value as bytes (null when it had none).
   */
  public static void forward(
      ProcessorContext<String, Object> context,
      StreamsCounters counters,
      StreamsLimits limits,
      Clock clock,
      Record<String, ?> record,
      String fallbackTopic,
      String reason,
      String message,
      byte[] payload) {
    counters.deadLetter(reason);
    Optional<RecordMetadata> md = context.recordMetadata();
    String key = Utf8.truncate(record.key(), limits.deadLetterPayloadMaxBytes());
    context.forward(
        new Record<>(
            key,
            of(
                reason,
                message,
                null,
                md.map(RecordMetadata::topic).orElse(fallbackTopic),
                md.map(RecordMetadata::partition).orElse(null),
                md.map(RecordMetadata::offset).orElse(null),
                record.timestamp(),
                utf8(record.key()),
                payload,
                clock,
                limits,
                counters),
            record.timestamp()));
  }

  static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }
}
