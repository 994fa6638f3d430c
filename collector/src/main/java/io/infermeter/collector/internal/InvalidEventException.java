package io.infermeter.collector.internal;

import io.infermeter.collector.internal.CollectorMetrics.RejectReason;

/**
 * One rejected input item (a JSON line, a span) with the reason counted in the metrics and a message for the client.
 * Stackless: rejects are expected input, thrown on the ingest path, and must stay cheap.
 */
public final class InvalidEventException extends Exception {

  private final RejectReason reason;

  public InvalidEventException(RejectReason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public RejectReason reason() {
    return reason;
  }
}
