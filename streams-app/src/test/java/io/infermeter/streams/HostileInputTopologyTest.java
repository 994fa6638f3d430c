package io.infermeter.streams;

import static io.infermeter.streams.TopologyFixture.T0_MS;
import static io.infermeter.streams.TopologyFixture.request;
import static io.infermeter.streams.TopologyFixture.sample;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.avro.WindowAggregate;
import io.infermeter.streams.support.DeadLetters;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Hostile and broken input through the production topology (TopologyTestDriver): oversized
 * dimensions, oversized records, unbounded per-window maps, state that would grow without bound.
 * Each case checks the record's fate (dead letter with its reason, truncated) and that the app
 * keeps producing windows after it.
 */
class HostileInputTopologyTest {

  private static long hostAggregateRequests(List<WindowAggregate> aggs, String host) {
    return aggs.stream()
        .filter(a -> a.getScope().equals("host") && a.getHost().equals(host))
        .mapToLong(WindowAggregate::getRequests)
        .sum();
  }

  private static void healthyWindow(TopologyFixture f, int window, int n) {
    for (int i = 0; i < n; i++) {
      f.send(
          request(
                  "w" + window + "-" + i,
                  "h1",
                  "m1",
                  T0_MS + window * 10_000L + i * 10L,
                  100,
                  1000,
                  2000,
                  5)
              .build());
    }
  }

  @Test
  void aModelOf64KiBIsDeadLetteredAndTheNextWindowsAppear() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      healthyWindow(f, 0, 10);
      f.send(request("evil", "h1", "m".repeat(65_536), T0_MS + 5_000, 100, 1000, 2000, 5).build());
      healthyWindow(f, 1, 10);
      healthyWindow(f, 2, 10);
      f.send(
          request("closer", "h2", "m1", T0_MS + 31_500, 100, 1000, 2000, 5)
              .build()); // closes window 2
      List<DeadLetter> dead = f.deadLetters.readValuesToList();
      assertThat(dead)
          .singleElement()
          .satisfies(
              d -> {
                assertThat(d.getReason()).isEqualTo(DeadLetters.DIMENSION_TOO_LONG);
                assertThat(d.getMessage())
                    .contains("model is 65536 bytes")
                    .contains("limits.dimension.max.bytes (256)");
                // the record itself is a little over 64 KiB: its dead letter holds its first
                // limits.dead.letter.payload.max.bytes
                assertThat(d.getPayload().remaining())
                    .isEqualTo(StreamsLimits.DEFAULT.deadLetterPayloadMaxBytes());
                assertThat(d.getMessage()).contains("[payload truncated from");
              });
      List<WindowAggregate> aggs = f.aggregates();
      assertThat(hostAggregateRequests(aggs, "h1")).isEqualTo(30);
      assertThat(aggs).allMatch(a -> a.getModel().length() < 256);
      assertThat(f.counters.deadLetters().get(DeadLetters.DIMENSION_TOO_LONG).sum()).isEqualTo(1);
    }
  }

  @Test
  void aModelOf64KiBUnderARaisedLimitIsStoredFlushedAndEmitted() {
    // the state codec has no 64 KiB string limit: with the dimension limit raised the record flows
    // through every
    // store flush (the test driver commits after each record) and comes out in its window
    try (TopologyFixture f = new TopologyFixture(Map.of("limits.dimension.max.bytes", "1048576"))) {
      String model = "m".repeat(65_536);
      f.send(request("big", "h1", model, T0_MS + 5_000, 100, 1000, 2000, 5).build());
      healthyWindow(f, 1, 10);
      healthyWindow(f, 2, 1);
      assertThat(f.deadLetters.isEmpty()).isTrue();
      assertThat(f.aggregates())
          .anyMatch(a -> a.getModel().equals(model) && a.getScope().equals("host"));
      assertThat(f.counters.stateEncodeFailures.sum()).isZero();
    }
  }

  @Test
  void aTwoMiBRecordBecomesATruncatedDeadLetter() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      String big = "x".repeat(2 << 20);
      f.send(request("huge", big, "m1", T0_MS + 5_000, 100, 1000, 2000, 5).build());
      healthyWindow(f, 1, 5);
      f.send(request("closer", "h2", "m1", T0_MS + 21_500, 100, 1000, 2000, 5).build());
      DeadLetter d = f.deadLetters.readValuesToList().get(0);
      StreamsLimits l = StreamsLimits.DEFAULT;
      assertThat(d.getReason()).isEqualTo(DeadLetters.DIMENSION_TOO_LONG);
      assertThat(d.getPayload().remaining()).isEqualTo(l.deadLetterPayloadMaxBytes());
      assertThat(d.getKey().remaining()).isEqualTo(l.deadLetterPayloadMaxBytes());
      assertThat(d.getMessage())
          .contains("host is 2097152 bytes")
          .contains("[payload truncated from")
          .contains("to 65536 bytes]");
      assertThat(f.counters.deadLettersTruncated.sum()).isEqualTo(1);
      assertThat(hostAggregateRequests(f.aggregates(), "h1")).isEqualTo(5);
    }
  }

  @Test
  void aRawUndecodableTwoMiBValueIsDeadLetteredTruncated() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      byte[] junk = new byte[2 << 20];
      junk[0] = 0; // Confluent magic byte, then an unknown schema id and garbage
      junk[4] = 99;
      f.rawRequests.pipeInput("k", junk, T0_MS);
      healthyWindow(f, 0, 3);
      f.send(request("closer", "h2", "m1", T0_MS + 11_500, 100, 1000, 2000, 5).build());
      // TopologyTestDriver does not capture the records a handler returns: the counters show the
      // dead letter was built
      // truncated (DeadLetterLimitsTest checks the record itself) and the windows show the stream
      // went on
      assertThat(f.counters.deadLetters().get("deserialization").sum()).isEqualTo(1);
      assertThat(f.counters.deadLettersTruncated.sum()).isEqualTo(1);
      assertThat(hostAggregateRequests(f.aggregates(), "h1")).isEqualTo(3);
    }
  }

  @Test
  void distinctErrorTypesPerRequestKeepTopNPlusOtherAndConserveCounts() {
    try (TopologyFixture f =
        new TopologyFixture(
            Map.of("limits.error.types.per.window", "8", "limits.devices.per.window", "4"))) {
      int n = 200;
      for (int i = 0; i < n; i++) {
        f.send(
            request("e" + i, "h1", "m1", T0_MS + i * 10L, 100, 1000, 2000, 5)
                .setStatus(RequestStatus.ERROR)
                .setErrorType(
                    "CUDA error at request " + i + ": " + "y".repeat(i % 2 == 0 ? 10 : 1000))
                .setDeviceId("gpu-" + i)
                .build());
      }
      healthyWindow(f, 2, 1);
      WindowAggregate a =
          f.aggregates().stream()
              .filter(x -> x.getScope().equals("host"))
              .findFirst()
              .orElseThrow();
      assertThat(a.getErrorsByType()).hasSize(9).containsKey("other");
      assertThat(a.getErrorsByType().values().stream().mapToLong(Long::longValue).sum())
          .isEqualTo(n);
      assertThat(a.getErrorsByType().keySet())
          .allMatch(k -> k.getBytes(StandardCharsets.UTF_8).length <= 256);
      assertThat(f.counters.errorTypesTruncated.sum()).isEqualTo(n / 2);
      // every request from the 5th on folds its device (cap 4), from the 9th on its error type too
      // (cap 8)
      assertThat(f.counters.mapEntriesFolded.sum()).isEqualTo(n - 4);
    }
  }

  @Test
  void aFiringRequestAlertOfAKeyThatWentQuietResolvesAsStaleAndIsForgotten() {
    try (TopologyFixture f =
        new TopologyFixture(
            Map.of("state.inactive.expiry", "10m", "state.eviction.interval", "1m"))) {
      for (int w = 0; w < 2; w++) {
        for (int i = 0; i < 30; i++) {
          RequestEvent.Builder r =
              request(
                  "w" + w + "-" + i,
                  "quiet",
                  "m1",
                  T0_MS + w * 10_000L + i * 10L,
                  0,
                  1000,
                  2000,
                  5);
          if (i % 2 == 0) {
            r.setStatus(RequestStatus.ERROR);
          }
          f.send(r.build());
        }
      }
      f.send(request("other-host", "h2", "m1", T0_MS + 21_500, 0, 1000, 1000, 2).build());
      assertThat(f.alerts.readValuesToList())
          .filteredOn(HostileInputTopologyTest::quietSpike)
          .extracting(Alert::getState)
          .containsExactly(AlertState.FIRING);
      f.driver.advanceWallClockTime(Duration.ofMinutes(5));
      assertThat(f.alerts.readValuesToList()).noneMatch(HostileInputTopologyTest::quietSpike);
      f.driver.advanceWallClockTime(Duration.ofMinutes(7));
      List<Alert> stale =
          f.alerts.readValuesToList().stream()
              .filter(HostileInputTopologyTest::quietSpike)
              .toList();
      assertThat(stale)
          .singleElement()
          .satisfies(
              a -> {
                assertThat(a.getState()).isEqualTo(AlertState.RESOLVED);
                assertThat(a.getHost()).isEqualTo("quiet");
                assertThat(a.getEvidence()).containsEntry("resolution", "stale");
                assertThat(a.getSummary()).contains("resolved as stale");
              });
      assertThat(f.counters.stateEvicted.sum()).isPositive();
      f.driver.advanceWallClockTime(Duration.ofMinutes(20));
      assertThat(f.alerts.readValuesToList())
          .noneMatch(HostileInputTopologyTest::quietSpike); // forgotten
    }
  }

  private static boolean quietSpike(Alert a) {
    return a.getRule().equals("error_spike") && a.getHost().equals("quiet");
  }

  @Test
  void aDecommissionedHostResolvesItsHostSilentAlertAsStaleAndIsForgotten() {
    try (TopologyFixture f = new TopologyFixture(Map.of("state.inactive.expiry", "30m"))) {
      f.driver.advanceWallClockTime(
          Duration.ofSeconds(61)); // past the start-up grace of the silence check
      f.send(sample("gone", "g1", T0_MS).setPowerW(300.0).build());
      f.driver.advanceWallClockTime(Duration.ofSeconds(90));
      assertThat(f.alerts.readValuesToList())
          .filteredOn(a -> a.getRule().equals("host_silent"))
          .extracting(Alert::getState)
          .containsExactly(AlertState.FIRING);
      f.driver.advanceWallClockTime(Duration.ofMinutes(31));
      List<Alert> after =
          f.alerts.readValuesToList().stream()
              .filter(a -> a.getRule().equals("host_silent"))
              .toList();
      assertThat(after)
          .singleElement()
          .satisfies(
              a -> {
                assertThat(a.getState()).isEqualTo(AlertState.RESOLVED);
                assertThat(a.getHost()).isEqualTo("gone");
                assertThat(a.getEvidence()).containsEntry("resolution", "stale");
              });
      long evicted = f.counters.stateEvicted.sum();
      assertThat(evicted)
          .isGreaterThanOrEqualTo(2); // the host-last-seen entry and the device's last sample
      f.driver.advanceWallClockTime(Duration.ofHours(2));
      assertThat(f.alerts.readValuesToList()).noneMatch(a -> a.getRule().equals("host_silent"));
    }
  }

  @Test
  void theKeyCapRefusesNewHostsAndDevicesPastItAndCountsThem() {
    try (TopologyFixture f = new TopologyFixture(Map.of("state.max.keys.per.task", "3"))) {
      for (int h = 0; h < 10; h++) {
        f.send(sample("host-" + h, "g1", T0_MS + h).setPowerW(300.0).build());
      }
      // one energy task (the test driver has one partition): 3 hosts watched, 3 device entries
      // kept, the rest refused
      assertThat(f.counters.stateKeysRefused.sum()).isEqualTo(2 * 7);
      f.driver.advanceWallClockTime(Duration.ofSeconds(200));
      assertThat(f.alerts.readValuesToList())
          .filteredOn(a -> a.getRule().equals("host_silent"))
          .hasSize(3);
    }
  }
}
