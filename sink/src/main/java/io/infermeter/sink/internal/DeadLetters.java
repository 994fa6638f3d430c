package io.infermeter.sink.internal;

import io.infermeter.avro.DeadLetter;
import io.infermeter.schemas.config.Redaction;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Builds the sink's {@link DeadLetter}s (stage {@code sink}) from a source record and the failure.
 * Thread-safe.
 *
 * <p>Bounds: the payload kept is at most {@code maxPayloadBytes} (the first bytes of the record;
 * the message says how long the original was), the message at most {@link #MAX_MESSAGE_CHARS}
 * characters with secrets redacted ({@link Redaction}), so a dead letter is never larger than the
 * producer's request limit because of its source.
 */
final class DeadLetters {

  static final String DESERIALIZATION = "deserialization";
  static final String MAPPING = "mapping";
  static final String REJECTED = "clickhouse-rejected";
  static final String TOMBSTONE = "tombstone";

  /**
   * A single row ClickHouse could not insert within its memory limit (MEMORY_LIMIT_EXCEEDED), after
   * retries.
   */
  static final String TOO_LARGE = "too-large";

  /**
   * Rows whose insert kept failing with an exception that has no ClickHouse error code, after
   * retries.
   */
  static final String UNCLASSIFIED = "unclassified-error";

  /**
   * Counter label: a dead letter the dead-letter topic refused even truncated; logged and skipped.
   */
  static final String UNSENDABLE = "unsendable-dead-letter";

  /** Default {@code dead.letter.max.payload.bytes}: 64 KiB of the source record are kept. */
  static final int DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;

  static final int MAX_MESSAGE_CHARS = 2000;

  /** Sizes of the last-resort copy sent when the topic refuses a dead letter as too large. */
  static final int LAST_RESORT_PAYLOAD_BYTES = 1024;

  static final int LAST_RESORT_KEY_BYTES = 256;
  static final int LAST_RESORT_MESSAGE_CHARS = 500;

  private final Clock clock;
  private final int maxPayloadBytes;

  DeadLetters(Clock clock) {
    this(clock, DEFAULT_MAX_PAYLOAD_BYTES);
  }

  /**
   * @param maxPayloadBytes bytes of the source record's value kept in the dead letter (0 keeps
   *     none)
   */
  DeadLetters(Clock clock, int maxPayloadBytes) {
    if (maxPayloadBytes < 0) {
      throw new IllegalArgumentException("maxPayloadBytes must be >= 0: " + maxPayloadBytes);
    }
    this.clock = clock;
    this.maxPayloadBytes = maxPayloadBytes;
  }

  DeadLetter of(
      ConsumerRecord<byte[], byte[]> source, String reason, String message, Throwable error) {
    Instant now = clock.instant();
    String text = message == null ? "" : Redaction.redactText(message);
    byte[] value = source.value();
    if (value != null && value.length > maxPayloadBytes) {
      text =
          cut(text, MAX_MESSAGE_CHARS - 80)
              + " [payload truncated to "
              + maxPayloadBytes
              + " of "
              + value.length
              + " bytes]";
    }
    return DeadLetter.newBuilder()
        .setStage("sink")
        .setReason(reason)
        .setMessage(cut(text, MAX_MESSAGE_CHARS))
        .setErrorClass(error == null ? null : error.getClass().getName())
        .setSourceTopic(source.topic())
        .setSourcePartition(source.partition())
        .setSourceOffset(source.offset())
        .setRecordTimestampUs(source.timestamp() >= 0 ? source.timestamp() * 1000L : null)
        .setKey(source.key() == null ? null : ByteBuffer.wrap(source.key()))
        .setPayload(
            value == null
                ? null
                : ByteBuffer.wrap(value, 0, Math.min(value.length, maxPayloadBytes)).slice())
        .setDetectedUs(now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000L)
        .build();
  }

  /**
   * A small copy of {@code letter} for the one retry after the dead-letter topic refused it
   * permanently (too large, not serializable): payload, key and message cut to a few hundred bytes.
   * Never fails.
   */
  static DeadLetter lastResort(DeadLetter letter) {
    return DeadLetter.newBuilder(letter)
        .setMessage(
            cut(
                    Redaction.redactText(String.valueOf(letter.getMessage())),
                    LAST_RESORT_MESSAGE_CHARS)
                + " [dead letter truncated: refused by the dead-letter topic]")
        .setKey(head(letter.getKey(), LAST_RESORT_KEY_BYTES))
        .setPayload(head(letter.getPayload(), LAST_RESORT_PAYLOAD_BYTES))
        .build();
  }

  private static ByteBuffer head(ByteBuffer buffer, int max) {
    if (buffer == null) {
      return null;
    }
    ByteBuffer dup = buffer.duplicate();
    byte[] bytes = new byte[Math.min(dup.remaining(), max)];
    dup.get(bytes);
    return ByteBuffer.wrap(Arrays.copyOf(bytes, bytes.length));
  }

  private static String cut(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max);
  }

  /**
   * The message of {@code error} and its causes, short enough for a dead letter, secrets redacted.
   */
  static String describe(Throwable error) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = error;
        t != null && sb.length() < MAX_MESSAGE_CHARS;
        t = t.getCause() == t ? null : t.getCause()) {
      if (sb.length() > 0) {
        sb.append(" <- ");
      }
      sb.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
    }
    return cut(Redaction.redactText(sb.toString()), MAX_MESSAGE_CHARS);
  }
}
