package io.infermeter.streams;

import static io.infermeter.streams.TopologyFixture.T0_MS;
import static io.infermeter.streams.TopologyFixture.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.WindowAggregate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KeyValue;
import org.junit.jupiter.api.Test;

/**
 * Unit tests (TopologyTestDriver) of lateness: a host behind another keeps its data (allowed
 * lateness with corrections, re-emitted as new versions of the same window), only data past the
 * allowed lateness is dead-lettered, and a clock far ahead cannot move stream time past the wall
 * clock + windows.max.future.
 */
class LatenessTopologyTest {

  private static final Map<String, String> LATENESS =
      Map.of("windows.allowed.lateness", "10m", "windows.sizes", "10s,1m");

  /** The newest version of every emitted window, by record key (scope, dimensions, size, start). */
  private static Map<String, WindowAggregate> newest(TopologyFixture f) {
    Map<String, WindowAggregate> out = new LinkedHashMap<>();
    for (KeyValue<String, WindowAggregate> kv : f.aggregates.readKeyValuesToList()) {
      out.put(kv.key, kv.value);
    }
    return out;
  }

  private static long total(Map<String, WindowAggregate> windows, String scope, long sizeMs) {
    return windows.values().stream()
        .filter(a -> a.getScope().equals(scope) && a.getWindowSizeMs() == sizeMs)
        .mapToLong(WindowAggregate::getRequests)
        .sum();
  }

  private static long hostTotal(Map<String, WindowAggregate> windows, String host, long sizeMs) {
    return windows.values().stream()
        .filter(
            a ->
                a.getScope().equals("host")
                    && a.getHost().equals(host)
                    && a.getWindowSizeMs() == sizeMs)
        .mapToLong(WindowAggregate::getRequests)
        .sum();
  }

  /**
   * Moves stream time far ahead with one request and lets wall-clock punctuators run: every window
   * closes.
   */
  private static void closeEverything(TopologyFixture f, long upToMs) {
    f.send(request("closer-" + upToMs, "closer", "m1", upToMs, 0, 1000, 1000, 1).build());
    f.driver.advanceWallClockTime(Duration.ofSeconds(2));
    f.send(
        request("closer2-" + upToMs, "closer", "m1", upToMs + 120_000, 0, 1000, 1000, 1).build());
    f.driver.advanceWallClockTime(Duration.ofSeconds(2));
  }

  @Test
  void twoSourcesReplayingTheSamePeriodOneAfterTheOtherAreCountedExactly() {
    try (TopologyFixture f = new TopologyFixture(LATENESS)) {
      // Source A replays 4 minutes of hosts a1, a2; then source B replays the same 4 minutes of
      // hosts b1, b2, on
      // the same partition: B's data arrives after A pushed stream time 4 minutes ahead.
      int n = 0;
      for (String[] hosts : new String[][] {{"a1", "a2"}, {"b1", "b2"}}) {
        for (long t = 0; t < 240_000; t += 250) {
          for (String h : hosts) {
            f.send(
                request(h + "-" + t, h, "m1", T0_MS + t, 1000, 20_000, 80_000 + t % 7_000, 10)
                    .build());
            n++;
          }
        }
      }
      long sent = n;
      closeEverything(f, T0_MS + 400_000);
      Map<String, WindowAggregate> w = newest(f);
      assertThat(f.counters.lateRecords.sum()).isZero();
      assertThat(f.deadLetters.readValuesToList()).isEmpty();
      assertThat(f.counters.lateCorrected.sum())
          .isGreaterThan(sent / 2 * 9 / 10); // B behind A; and late partials
      for (String h : List.of("a1", "a2", "b1", "b2")) {
        assertThat(hostTotal(w, h, 10_000)).as(h + " 10 s").isEqualTo(960);
        assertThat(hostTotal(w, h, 60_000)).as(h + " 1 min").isEqualTo(960);
      }
      long closers = 1; // the first closer; the second one's windows stay open
      assertThat(total(w, "fleet", 10_000))
          .isEqualTo(total(w, "host", 10_000))
          .isEqualTo(sent + closers);
      assertThat(total(w, "fleet", 60_000))
          .isEqualTo(total(w, "host", 60_000))
          .isEqualTo(sent + closers);
    }
  }

  @Test
  void aCorrectedWindowIsReEmittedWithTheSameKeyAndTheFleetTakesTheDelta() {
    try (TopologyFixture f = new TopologyFixture(LATENESS)) {
      for (int i = 0; i < 3; i++) {
        f.send(request("a" + i, "h1", "m1", T0_MS + 100 + i, 0, 1000, 2000, 5).build());
      }
      f.send(
          request("ahead", "h1", "m1", T0_MS + 90_000, 0, 1000, 2000, 5)
              .build()); // closes [T0, T0 + 10 s)
      List<KeyValue<String, WindowAggregate>> first = f.aggregates.readKeyValuesToList();
      KeyValue<String, WindowAggregate> h1 =
          first.stream()
              .filter(
                  kv ->
                      kv.value.getScope().equals("host")
                          && kv.value.getWindowSizeMs() == 10_000
                          && kv.value.getWindowStartUs() == T0_MS * 1000)
              .findFirst()
              .orElseThrow();
      assertThat(h1.value.getRequests()).isEqualTo(3);

      f.send(
          request("late", "h1", "m1", T0_MS + 500, 0, 1000, 2000, 5)
              .build()); // 90 s behind: a correction
      assertThat(f.deadLetters.isEmpty()).isTrue();
      f.driver.advanceWallClockTime(Duration.ofSeconds(2)); // windows.corrections.interval
      List<KeyValue<String, WindowAggregate>> again = f.aggregates.readKeyValuesToList();
      assertThat(again)
          .anySatisfy(
              kv -> {
                assertThat(kv.key).isEqualTo(h1.key);
                assertThat(kv.value.getRequests()).isEqualTo(4);
              });
      assertThat(f.counters.windowsCorrected.sum()).isGreaterThanOrEqualTo(1);
      assertThat(f.counters.correctionsEmitted.sum()).isGreaterThanOrEqualTo(1);

      closeEverything(f, T0_MS + 200_000);
      Map<String, WindowAggregate> w = newest(f);
      WindowAggregate fleet =
          w.values().stream()
              .filter(
                  a ->
                      a.getScope().equals("fleet")
                          && a.getWindowSizeMs() == 10_000
                          && a.getWindowStartUs() == T0_MS * 1000)
              .findFirst()
              .orElseThrow();
      assertThat(fleet.getRequests()).isEqualTo(4);
      assertThat(f.alerts.readValuesToList()).isEmpty();
    }
  }

  @Test
  void onlyDataOlderThanTheAllowedLatenessIsDeadLettered() {
    try (TopologyFixture f = new TopologyFixture(Map.of("windows.allowed.lateness", "30s"))) {
      f.send(request("a", "h1", "m1", T0_MS + 100, 0, 1000, 2000, 5).build());
      f.send(request("ahead", "h2", "m1", T0_MS + 100_000, 0, 1000, 2000, 5).build());
      f.send(request("too-late", "h3", "m1", T0_MS + 200, 0, 1000, 2000, 5).build());
      List<DeadLetter> dl = f.deadLetters.readValuesToList();
      assertThat(dl).hasSize(1);
      assertThat(dl.get(0).getReason()).isEqualTo("late");
      assertThat(dl.get(0).getMessage()).contains("allowed lateness (30000 ms)");
      assertThat(f.counters.lateRecords.sum()).isEqualTo(1);
      assertThat(f.counters.lateCorrected.sum()).isZero();
      // within the 30 s: corrected, not dead-lettered
      f.send(request("late-ok", "h3", "m1", T0_MS + 85_000, 0, 1000, 2000, 5).build());
      assertThat(f.deadLetters.isEmpty()).isTrue();
      assertThat(f.counters.lateCorrected.sum()).isEqualTo(1);
    }
  }

  @Test
  void aRecordFarInTheFutureCannotCloseOtherHostsWindows() {
    // The driver's wall clock stands at T0: a host whose clock runs an hour ahead moves stream time
    // to T0 + 5 s only.
    try (TopologyFixture f = new TopologyFixture(Map.of("windows.max.future", "5s"))) {
      f.send(request("skewed", "fast-clock", "m1", T0_MS + 3_600_000, 0, 1000, 2000, 5).build());
      assertThat(f.counters.futureClamped.sum()).isEqualTo(1);
      f.send(request("on-time", "h1", "m1", T0_MS + 100, 0, 1000, 2000, 5).build());
      assertThat(f.deadLetters.isEmpty()).isTrue();
      assertThat(f.counters.lateRecords.sum()).isZero();
      assertThat(f.counters.lateCorrected.sum()).isZero();
      assertThat(f.aggregates()).isEmpty(); // nothing closed: stream time is T0 + 5 s
    }
  }

  @Test
  void aRetryOfALateRecordIsCountedOnce() {
    try (TopologyFixture f = new TopologyFixture(LATENESS)) {
      f.send(request("ahead", "h1", "m1", T0_MS + 120_000, 0, 1000, 2000, 5).build());
      f.send(request("late", "h2", "m1", T0_MS + 100, 0, 1000, 2000, 5).build());
      f.send(
          request("late", "h2", "m1", T0_MS + 100, 0, 1000, 2000, 5).build()); // the client's retry
      closeEverything(f, T0_MS + 300_000);
      Map<String, WindowAggregate> w = newest(f);
      assertThat(hostTotal(w, "h2", 10_000)).isEqualTo(1);
      assertThat(hostTotal(w, "h2", 60_000)).isEqualTo(1);
      assertThat(f.counters.duplicates.sum()).isEqualTo(1);
    }
  }

  @Test
  void theLastWindowsBeforeAPauseCloseAfterTheIdleTimeout() {
    try (TopologyFixture f =
        new TopologyFixture(
            Map.of("windows.idle.timeout", "30s", "windows.allowed.lateness", "10m"))) {
      for (int i = 0; i < 5; i++) {
        f.send(request("r" + i, "h1", "m1", T0_MS + 1_000L * i, 0, 1000, 2000, 5).build());
      }
      // the driver runs each wall-clock punctuator once per advance: advance in steps, as time
      // passes for real
      for (int s = 0; s < 4; s++) {
        f.driver.advanceWallClockTime(Duration.ofSeconds(5));
      }
      assertThat(f.aggregates()).isEmpty(); // not idle long enough
      for (int s = 0; s < 4; s++) {
        f.driver.advanceWallClockTime(Duration.ofSeconds(5));
      }
      List<WindowAggregate> out = f.aggregates();
      assertThat(out)
          .filteredOn(a -> a.getScope().equals("host"))
          .singleElement()
          .satisfies(a -> assertThat(a.getRequests()).isEqualTo(5));
      assertThat(f.counters.idleAdvances.sum()).isGreaterThanOrEqualTo(1);
      // a request for that window after the idle close: a correction, nothing lost
      f.send(request("after", "h1", "m1", T0_MS + 6_000, 0, 1000, 2000, 5).build());
      f.driver.advanceWallClockTime(Duration.ofSeconds(2));
      assertThat(f.aggregates())
          .filteredOn(a -> a.getScope().equals("host") && a.getWindowSizeMs() == 10_000)
          .last()
          .satisfies(a -> assertThat(a.getRequests()).isEqualTo(6));
      assertThat(f.counters.lateRecords.sum()).isZero();
    }
  }
}
