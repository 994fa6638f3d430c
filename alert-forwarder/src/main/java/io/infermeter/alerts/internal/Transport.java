package io.infermeter.alerts.internal;

import java.io.IOException;
import java.net.URI;

/** Sends one JSON body to one Alertmanager. Implementations are thread-safe. */
@FunctionalInterface
public interface Transport {

  /** The status and (possibly truncated) body of an answer. */
  record Response(int status, String body) {}

  /**
   * POSTs {@code json} to {@code url}.
   *
   * @throws IOException when no answer came (refused, reset, timed out): retried
   * @throws InterruptedException when the thread was interrupted
   */
  Response post(URI url, byte[] json) throws IOException, InterruptedException;
}
