package io.infermeter.streams.internal;

import io.infermeter.avro.DeadLetter;
import java.nio.ByteBuffer;
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

  static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }
}
