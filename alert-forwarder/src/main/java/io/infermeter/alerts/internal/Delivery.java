package io.infermeter.alerts.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends alerts to every configured Alertmanager, as Prometheus does (the Alertmanagers of a cluster
 * de-duplicate among themselves), in requests of at most {@link #MAX_BATCH} alerts. Per
 * Alertmanager and request: 2xx is delivered; 5xx, 429 and no answer (refused, reset, timeout) are
 * retried with exponential backoff (initial backoff doubling up to the maximum) until the give-up
 * time has passed, then given up (counted); any other status (4xx: a request Alertmanager will
 * never accept) is logged and counted at once, not retried. Alertmanagers are served in parallel,
 * so one that is down delays the others by nothing. Thread-safe; {@link #deliver} blocks until
 * every Alertmanager has an outcome.
 */
public final class Delivery {

  /** Alerts per request: Prometheus' notifier sends at most 64 per request too. */
  static final int MAX_BATCH = 64;

  private static final Logger LOG = LoggerFactory.getLogger(Delivery.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What became of one delivery to one Alertmanager. */
  public enum Outcome {
    DELIVERED,
    REJECTED,
    GAVE_UP,
    ABORTED
  }

  /**
   * Waits between attempts; returns false when the wait was cut short because the forwarder is
   * stopping.
   */
  @FunctionalInterface
  public interface Sleeper {
    boolean sleep(Duration d) throws InterruptedException;
  }

  private final List<URI> alertmanagers;
  private final Transport transport;
  private final Clock clock;
  private final Sleeper sleeper;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration giveUpAfter;
  private final ForwarderMetrics metrics;
  private final ExecutorService executor;

  public Delivery(
      List<URI> alertmanagers,
      Transport transport,
      Clock clock,
      Sleeper sleeper,
      Duration initialBackoff,
      Duration maxBackoff,
      Duration giveUpAfter,
      ForwarderMetrics metrics,
      ExecutorService executor) {
    this.alertmanagers = List.copyOf(alertmanagers);
    this.transport = transport;
    this.clock = clock;
    this.sleeper = sleeper;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
    this.giveUpAfter = giveUpAfter;
    this.metrics = metrics;
    this.executor = executor;
  }

  /**
   * Sends {@code alerts} to every Alertmanager. Returns true when every Alertmanager has a final
   * outcome (delivered, rejected or given up: the caller may commit), false when the forwarder is
   * stopping and a delivery was aborted.
   */
  public boolean deliver(List<AlertmanagerAlert> alerts) throws InterruptedException {
    if (alerts.isEmpty()) {
      return true;
    }
    List<byte[]> bodies = new ArrayList<>();
    List<List<AlertmanagerAlert>> chunks = new ArrayList<>();
    for (int i = 0; i < alerts.size(); i += MAX_BATCH) {
      List<AlertmanagerAlert> chunk = alerts.subList(i, Math.min(alerts.size(), i + MAX_BATCH));
      chunks.add(chunk);
      try {
        bodies.add(JSON.writeValueAsBytes(chunk));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(
            "cannot write alerts as JSON", e); // plain strings and maps: cannot happen
      }
    }
    if (alertmanagers.size() == 1) {
      return sendAll(alertmanagers.get(0), chunks, bodies);
    }
    List<Future<Boolean>> futures = new ArrayList<>();
    for (URI am : alertmanagers) {
      futures.add(executor.submit(() -> sendAll(am, chunks, bodies)));
    }
    boolean complete = true;
    for (Future<Boolean> f : futures) {
      try {
        complete &= f.get();
      } catch (ExecutionException e) {
        throw new IllegalStateException("delivery failed unexpectedly", e.getCause());
      }
    }
    return complete;
  }

  private boolean sendAll(URI am, List<List<AlertmanagerAlert>> chunks, List<byte[]> bodies)
      throws InterruptedException {
    for (int i = 0; i < chunks.size(); i++) {
      Outcome o = send(am, bodies.get(i), chunks.get(i));
      if (o == Outcome.ABORTED) {
        return false;
      }
    }
    return true;
  }

  /** One request to one Alertmanager with retries; counts the outcome per alert. */
  Outcome send(URI am, byte[] body, List<AlertmanagerAlert> alerts) throws InterruptedException {
    String target = am.toString();
    Instant giveUpAt = clock.instant().plus(giveUpAfter);
    Duration backoff = initialBackoff;
    while (true) {
      String problem;
      try {
        Transport.Response r = transport.post(am, body);
        if (r.status() >= 200 && r.status() < 300) {
          metrics.forwarded(target, alerts);
          return Outcome.DELIVERED;
        }
        if (r.status() != 429 && r.status() < 500) {
          LOG.warn(
              "Alertmanager {} rejected {} alert(s) with HTTP {}: {} (not retried)",
              target,
              alerts.size(),
              r.status(),
              r.body());
          metrics.failed(target, "rejected", alerts.size());
          return Outcome.REJECTED;
        }
        problem = "HTTP " + r.status() + " " + r.body();
      } catch (IOException e) {
        problem = e.toString();
      }
      Instant now = clock.instant();
      if (!now.plus(backoff).isBefore(giveUpAt)) {
        LOG.error(
            "giving up on {} alert(s) for Alertmanager {} after {}: {}",
            alerts.size(),
            target,
            giveUpAfter,
            problem);
        metrics.failed(target, "gave_up", alerts.size());
        return Outcome.GAVE_UP;
      }
      metrics.retry(target);
      LOG.warn("Alertmanager {} unavailable ({}); retrying in {}", target, problem, backoff);
      if (!sleeper.sleep(backoff)) {
        return Outcome.ABORTED;
      }
      backoff =
          backoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : backoff.multipliedBy(2);
    }
  }
}
