package io.infermeter.collector.ingest;

import io.infermeter.collector.support.CollectorMetrics.RejectReason;

/**
 * One rejected input item (a JSON line, a span) with the reason counted in the metrics and a
 * message for the client. Stackless: rejects are expected input, thrown on the ingest path, and
 * must stay cheap. The message is cut to {@value #MAX_MESSAGE_CHARS} characters, since it may quote
 * the client's value.
 */
public final class InvalidEventException extends Exception {

  private final RejectReason reason;

  /**
   * Longest message kept, characters: a message may quote the client's value, which may be long.
   */
  static final int MAX_MESSAGE_CHARS = 512;

  public InvalidEventException(RejectReason reason, String message) {
    super(
        message.length() <= MAX_MESSAGE_CHARS
            ? message
            : message.substring(0, MAX_MESSAGE_CHARS) + "... (" + message.length() + " characters)",
        null,
        false,
        false);
    this.reason = reason;
  }

  public RejectReason reason() {
    return reason;
  }
}
