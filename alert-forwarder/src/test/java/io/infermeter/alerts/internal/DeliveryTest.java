package io.infermeter.alerts.internal;

import static io.infermeter.alerts.internal.TestAlerts.alert;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.AlertState;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Retry, backoff, give-up and rejection rules of {@link Delivery}, with a manual clock and scripted
 * answers.
 */
class DeliveryTest {

  private static final URI AM1 = URI.create("http://am1:9093/api/v2/alerts");
  private static final URI AM2 = URI.create("http://am2:9093/api/v2/alerts");
  private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");

  private final ManualClock clock = new ManualClock(T0);
  private final ForwarderMetrics metrics = new ForwarderMetrics(new PrometheusRegistry());
  private final List<Duration> sleeps = Collections.synchronizedList(new ArrayList<>());
  private final Map<URI, Deque<Object>> script = new ConcurrentHashMap<>();
  private final Map<URI, List<String>> bodies = new ConcurrentHashMap<>();
  private final ExecutorService executor = Executors.newFixedThreadPool(2);
  private final AlertMapping mapping =
      new AlertMapping(Duration.ofMinutes(4), Map.of(), Optional.empty());

  @AfterEach
  void shutdown() {
    executor.shutdownNow();
  }

  /**
   * Answers from the script of the URL (an Integer status or an IOException); 200 when the script
   * is used up.
   */
  private final Transport transport =
      (url, json) -> {
        bodies
            .computeIfAbsent(url, u -> Collections.synchronizedList(new ArrayList<>()))
            .add(new String(json, java.nio.charset.StandardCharsets.UTF_8));
        Object next = script.getOrDefault(url, new ConcurrentLinkedDeque<>()).poll();
        if (next instanceof IOException e) {
          throw e;
        }
        return new Transport.Response(
            next == null ? 200 : (Integer) next, next == null ? "" : "scripted");
      };

  private Delivery delivery(List<URI> ams, Delivery.Sleeper sleeper) {
    return new Delivery(
        ams,
        transport,
        clock,
        sleeper,
        Duration.ofMillis(500),
        Duration.ofSeconds(4),
        Duration.ofSeconds(20),
        metrics,
        executor);
  }

  private Delivery.Sleeper advancing() {
    return d -> {
      sleeps.add(d);
      clock.advance(d);
      return true;
    };
  }

  private void script(URI url, Object... answers) {
    script.put(url, new ConcurrentLinkedDeque<>(List.of(answers)));
  }

  private List<AlertmanagerAlert> alerts(int n) {
    List<AlertmanagerAlert> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(mapping.firing(alert("gpu_memory_high", "h" + i, AlertState.FIRING, T0, T0), T0));
    }
    return out;
  }

  @Test
  void serverErrorsAreRetriedWithDoublingBackoffUntilDelivered() throws Exception {
    script(AM1, 503, 500, new ConnectException("refused"), 429, 200);

    assertThat(delivery(List.of(AM1), advancing()).deliver(alerts(2))).isTrue();

    assertThat(sleeps)
        .containsExactly(
            Duration.ofMillis(500),
            Duration.ofSeconds(1),
            Duration.ofSeconds(2),
            Duration.ofSeconds(4));
    assertThat(bodies.get(AM1)).hasSize(5).allMatch(b -> b.equals(bodies.get(AM1).get(0)));
    assertThat(metrics.retries(AM1.toString())).isEqualTo(4);
    assertThat(metrics.forwarded(AM1.toString(), "firing")).isEqualTo(2);
    assertThat(metrics.failed(AM1.toString(), "gave_up")).isZero();
  }

  @Test
  void backoffIsCappedAndTheDeliveryGivenUpAfterTheGiveUpTime() throws Exception {
    Object[] down = new Object[50];
    java.util.Arrays.fill(down, new ConnectException("refused"));
    script(AM1, down);

    assertThat(delivery(List.of(AM1), advancing()).deliver(alerts(3)))
        .isTrue(); // given up: the caller may commit

    // waits 0.5 + 1 + 2 + 4 + 4 + 4 + 4 = 19.5 s; the next (4 s) would end past the 20 s give-up
    // time
    assertThat(sleeps)
        .containsExactly(
            Duration.ofMillis(500),
            Duration.ofSeconds(1),
            Duration.ofSeconds(2),
            Duration.ofSeconds(4),
            Duration.ofSeconds(4),
            Duration.ofSeconds(4),
            Duration.ofSeconds(4));
    assertThat(bodies.get(AM1)).hasSize(8);
    assertThat(metrics.failed(AM1.toString(), "gave_up")).isEqualTo(3);
    assertThat(metrics.forwarded(AM1.toString(), "firing")).isZero();
  }

  @Test
  void clientErrorsAreCountedAndNotRetried() throws Exception {
    script(AM1, 400);

    assertThat(delivery(List.of(AM1), advancing()).deliver(alerts(2))).isTrue();

    assertThat(sleeps).isEmpty();
    assertThat(bodies.get(AM1)).hasSize(1);
    assertThat(metrics.failed(AM1.toString(), "rejected")).isEqualTo(2);
    assertThat(metrics.retries(AM1.toString())).isZero();
  }

  @Test
  void redirectsAreNotFollowedButCountedAsRejected() throws Exception {
    script(AM1, 301);
    assertThat(delivery(List.of(AM1), advancing()).deliver(alerts(1))).isTrue();
    assertThat(metrics.failed(AM1.toString(), "rejected")).isEqualTo(1);
  }

  @Test
  void everyAlertmanagerGetsEveryAlertAndOneThatIsDownDoesNotStopTheOther() throws Exception {
    Object[] down = new Object[50];
    java.util.Arrays.fill(down, 502);
    script(AM2, down);

    assertThat(delivery(List.of(AM1, AM2), advancing()).deliver(alerts(2))).isTrue();

    assertThat(bodies.get(AM1)).hasSize(1);
    assertThat(bodies.get(AM2).size()).isGreaterThan(1);
    assertThat(bodies.get(AM2).get(0)).isEqualTo(bodies.get(AM1).get(0));
    assertThat(metrics.forwarded(AM1.toString(), "firing")).isEqualTo(2);
    assertThat(metrics.failed(AM2.toString(), "gave_up")).isEqualTo(2);
  }

  @Test
  void largeDeliveriesAreSplitIntoRequestsOfAtMost64Alerts() throws Exception {
    assertThat(delivery(List.of(AM1), advancing()).deliver(alerts(130))).isTrue();
    assertThat(bodies.get(AM1)).hasSize(3);
    assertThat(metrics.forwarded(AM1.toString(), "firing")).isEqualTo(130);
  }

  @Test
  void resolvedAlertsAreCountedApart() throws Exception {
    List<AlertmanagerAlert> batch = new ArrayList<>(alerts(1));
    batch.add(
        mapping.resolved(alert("gpu_memory_high", "h9", AlertState.RESOLVED, T0, T0), null, T0));
    assertThat(delivery(List.of(AM1), advancing()).deliver(batch)).isTrue();
    assertThat(metrics.forwarded(AM1.toString(), "firing")).isEqualTo(1);
    assertThat(metrics.forwarded(AM1.toString(), "resolved")).isEqualTo(1);
  }

  @Test
  void aStopDuringABackoffAbortsTheDeliveryWithoutAnOutcome() throws Exception {
    script(AM1, 503, 503);

    assertThat(delivery(List.of(AM1), d -> false).deliver(alerts(1)))
        .isFalse(); // the caller must not commit

    assertThat(bodies.get(AM1)).hasSize(1);
    assertThat(metrics.failed(AM1.toString(), "gave_up")).isZero();
    assertThat(metrics.forwarded(AM1.toString(), "firing")).isZero();
  }

  @Test
  void nothingToSendSendsNothing() throws Exception {
    assertThat(delivery(List.of(AM1, AM2), advancing()).deliver(List.of())).isTrue();
    assertThat(bodies).isEmpty();
  }
}
