package io.infermeter.sink.internal;

import io.infermeter.avro.DeadLetter;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Instant;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Builds the sink's {@link DeadLetter}s (stage {@code sink}) from a source record and the failure. Thread-safe. */
final class DeadLetters {

  static final String DESERIALIZATION = "deserialization";
  static final String MAPPING = "mapping";
  static final String REJECTED = "clickhouse-rejected";
  static final String TOMBSTONE = "tombstone";

  private final Clock clock;

  DeadLetters(Clock clock) {
    this.clock = clock;
  }

  DeadLetter of(ConsumerRecord<byte[], byte[]> source, String reason, String message, Throwable error) {
    Instant now = clock.instant();
    return DeadLetter.newBuilder()
        .setStage("sink")
        .setReason(reason)
        .setMessage(message == null ? "" : message)
        .setErrorClass(error == null ? null : error.getClass().getName())
        .setSourceTopic(source.topic())
        .setSourcePartition(source.partition())
        .setSourceOffset(source.offset())
        .setRecordTimestampUs(source.timestamp() >= 0 ? source.timestamp() * 1000L : null)
        .setKey(source.key() == null ? null : ByteBuffer.wrap(source.key()))
        .setPayload(source.value() == null ? null : ByteBuffer.wrap(source.value()))
        .setDetectedUs(now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000L)
        .build();
  }

  /** The message of {@code error} and its causes, short enough for a dead letter. */
  static String describe(Throwable error) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = error; t != null && sb.length() < 2000; t = t.getCause() == t ? null : t.getCause()) {
      if (sb.length() > 0) {
        sb.append(" <- ");
      }
      sb.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
    }
    return sb.length() > 2000 ? sb.substring(0, 2000) : sb.toString();
  }
}
