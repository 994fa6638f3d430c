package io.infermeter.streams;

import static io.infermeter.streams.TopologyFixture.T0_MS;
import static io.infermeter.streams.TopologyFixture.request;
import static io.infermeter.streams.TopologyFixture.sample;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.ModelAttribution;
import io.infermeter.avro.WindowAggregate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Energy attributed by device time through the production topology: a device is busy while at least
 * one request is in flight on it (the union of the requests' intervals, not their sum), so
 * continuous batching leaves the idle time idle; a request spanning several windows is busy time in
 * each of them.
 */
class EnergyDeviceTimeTest {

  /** g1 draws a constant 400 W: 400,000 mJ per second on its counter. */
  private static final long MJ_PER_S = 400_000;

  /**
   * Samples of g1 each second from {@code fromS} to {@code toS} (s after T0): a sample at -1 s
   * makes window [0 s, 10 s) hold 10 counter deltas, 4,000 J.
   */
  private static void samples(TopologyFixture f, int fromS, int toS) {
    for (int i = fromS; i <= toS; i++) {
      f.send(
          sample("h1", "g1", T0_MS + i * 1000L)
              .setEnergyMj(1_000_000_000L + i * MJ_PER_S)
              .setPowerW(400.0)
              .setUtilizationPct(50.0)
              .build());
    }
  }

  /**
   * A request on g1 in flight from {@code fromMs} to {@code toMs} after T0 (prefill 100 ms, the
   * rest decode).
   */
  private static void inFlight(TopologyFixture f, String id, String model, long fromMs, long toMs) {
    f.send(
        request(id, "h1", model, T0_MS + toMs, 0, 100_000, (toMs - fromMs) * 1000 - 100_000, 100)
            .setDeviceId("g1")
            .build());
  }

  /** The newest version of each 10 s g1 window, by window start (ms after T0). */
  private static Map<Long, DeviceWindowEnergy> g1Windows(TopologyFixture f) {
    return g1Windows(f.energy.readValuesToList(), 10_000);
  }

  /** The newest version of each g1 window of {@code sizeMs}, by window start (ms after T0). */
  private static Map<Long, DeviceWindowEnergy> g1Windows(
      List<DeviceWindowEnergy> all, long sizeMs) {
    return all.stream()
        .filter(e -> e.getDeviceId().equals("g1") && e.getWindowSizeMs() == sizeMs)
        .collect(
            Collectors.toMap(
                e -> e.getWindowStartUs() / 1000 - T0_MS,
                Function.identity(),
                (older, newer) -> newer,
                TreeMap::new));
  }

  private static Map<String, ModelAttribution> byModel(DeviceWindowEnergy e) {
    return e.getAttributions().stream()
        .collect(Collectors.toMap(ModelAttribution::getModel, Function.identity()));
  }

  private static void assertConservedAndNonNegative(DeviceWindowEnergy e) {
    double energyJ = 0;
    double cost = 0;
    for (ModelAttribution a : e.getAttributions()) {
      assertThat(a.getEnergyJ()).isGreaterThanOrEqualTo(0.0);
      assertThat(a.getCost()).isGreaterThanOrEqualTo(0.0);
      energyJ += a.getEnergyJ();
      cost += a.getCost();
    }
    assertThat(e.getIdleEnergyJ()).isGreaterThanOrEqualTo(0.0);
    assertThat(energyJ + e.getIdleEnergyJ()).isEqualTo(e.getMeasuredEnergyJ());
    assertThat(cost + e.getIdleCost()).isEqualTo(e.getCost());
  }

  @Test
  void sixteenConcurrentTwoSecondRequestsLeaveTheDeviceIdleEightyPercentOfTheWindow() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      for (int i = 0; i < 16; i++) {
        inFlight(f, "r" + i, "m1", 2_000, 4_000);
      }
      inFlight(f, "close", "m1", 11_400, 11_500);
      samples(f, -1, 25);
      DeviceWindowEnergy g1 = g1Windows(f).get(0L);
      assertThat(g1.getMeasuredEnergyJ()).isEqualTo(4_000.0);
      // 32 s of request time, but the device was busy 2 s of the 10 s window
      assertThat(g1.getBusyTimeUs()).isEqualTo(2_000_000L);
      assertThat(g1.getIdleEnergyJ()).isCloseTo(3_200.0, within(1e-9));
      ModelAttribution m1 = byModel(g1).get("m1");
      assertThat(m1.getBusyTimeUs()).isEqualTo(32_000_000L);
      assertThat(m1.getEnergyJ()).isCloseTo(800.0, within(1e-9));
      assertThat(m1.getEnergyPerRequestJ()).isCloseTo(50.0, within(1e-9));
      assertConservedAndNonNegative(g1);
      // tokens per GPU busy second: 1,600 tokens in 2 busy seconds, not 1,600 / 32 s
      WindowAggregate a =
          f.aggregates().stream()
              .filter(x -> x.getWindowStartUs() == T0_MS * 1000 && x.getHost().equals("h1"))
              .findFirst()
              .orElseThrow();
      assertThat(a.getBusyTimeUs()).isEqualTo(2_000_000L);
      assertThat(a.getOutputTokensPerBusySec()).isCloseTo(800.0, within(1e-9));
    }
  }

  @Test
  void staggeredConcurrentRequestsMakeTheUnionOfTheirIntervalsBusy() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // 16 requests of 2 s, one starting every 250 ms from 1 s: in flight [1 s, 6.75 s]
      for (int i = 0; i < 16; i++) {
        inFlight(f, "r" + i, "m1", 1_000 + 250L * i, 3_000 + 250L * i);
      }
      inFlight(f, "close", "m1", 11_400, 11_500);
      samples(f, -1, 25);
      DeviceWindowEnergy g1 = g1Windows(f).get(0L);
      assertThat(g1.getBusyTimeUs()).isEqualTo(5_750_000L);
      assertThat(g1.getIdleEnergyJ()).isCloseTo(4_000.0 * (1 - 0.575), within(1e-9));
      assertThat(byModel(g1).get("m1").getEnergyJ()).isCloseTo(2_300.0, within(1e-9));
      assertConservedAndNonNegative(g1);
    }
  }

  @Test
  void twoModelsSharingADeviceSplitItsBusyEnergyByInFlightRequestTime() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // a: three concurrent requests [1 s, 3 s] (6 s of request time); b: one [2 s, 6 s] (4 s).
      // Busy: [1 s, 6 s], 5 s of 10 s: 2,000 J busy, split 6:4
      for (int i = 0; i < 3; i++) {
        inFlight(f, "a" + i, "a", 1_000, 3_000);
      }
      inFlight(f, "b", "b", 2_000, 6_000);
      inFlight(f, "close", "a", 11_400, 11_500);
      samples(f, -1, 25);
      DeviceWindowEnergy g1 = g1Windows(f).get(0L);
      assertThat(g1.getBusyTimeUs()).isEqualTo(5_000_000L);
      Map<String, ModelAttribution> by = byModel(g1);
      assertThat(by.get("a").getBusyTimeUs()).isEqualTo(6_000_000L);
      assertThat(by.get("b").getBusyTimeUs()).isEqualTo(4_000_000L);
      assertThat(by.get("a").getEnergyJ()).isCloseTo(1_200.0, within(1e-9));
      assertThat(by.get("b").getEnergyJ()).isCloseTo(800.0, within(1e-9));
      assertThat(by.get("a").getShare()).isCloseTo(0.3, within(1e-12));
      assertThat(g1.getIdleEnergyJ()).isCloseTo(2_000.0, within(1e-9));
      assertConservedAndNonNegative(g1);
    }
  }

  @Test
  void aTwentyFiveSecondRequestGetsItsEnergyInEveryWindowItSpans() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // the usage arrives while the energy windows it spans are open (it moves the energy stream
      // time to its window's end, 30 s, which closes [0 s, 10 s) right after taking its part)
      samples(f, -1, 9);
      inFlight(f, "long", "m1", 0, 25_000);
      inFlight(f, "close", "m1", 39_900, 40_000);
      samples(f, 10, 60);
      assertThat(f.counters.inFlightDropped.sum()).isZero();
      assertSpanned(g1Windows(f));
    }
  }

  @Test
  void aLongRequestCompletingAfterItsEarlierWindowsClosedCorrectsThem() {
    try (TopologyFixture f = new TopologyFixture(Map.of("windows.allowed.lateness", "10m"))) {
      // every energy window the request spans has closed when its usage arrives
      samples(f, -1, 45);
      assertThat(g1Windows(f).get(0L).getIdleEnergyJ()).isEqualTo(4_000.0);
      inFlight(f, "long", "m1", 0, 25_000);
      inFlight(f, "close", "m1", 39_900, 40_000);
      // windows.corrections.interval: the energy side re-emits the corrected windows
      f.driver.advanceWallClockTime(Duration.ofSeconds(2));
      assertSpanned(g1Windows(f));
      assertThat(f.counters.inFlightDropped.sum()).isZero();
      assertThat(f.deadLetters.isEmpty()).isTrue();
    }
  }

  @Test
  void aRequestAcrossAMinuteBoundaryIsBusyTimeInBothMinutesBuiltFromTenSecondWindows() {
    try (TopologyFixture f =
        new TopologyFixture(Map.of("windows.sizes", "10s,1m", "windows.allowed.lateness", "10m"))) {
      samples(f, -1, 49);
      // in flight [50 s, 75 s]: recorded in 10 s window [70 s, 80 s), appended into minute
      // [60 s, 120 s), with its first 10 s in minute [0 s, 60 s)
      inFlight(f, "long", "m1", 50_000, 75_000);
      inFlight(f, "close", "m1", 139_900, 140_000);
      samples(f, 50, 200);
      f.driver.advanceWallClockTime(Duration.ofSeconds(2));
      List<DeviceWindowEnergy> all = f.energy.readValuesToList();
      Map<Long, DeviceWindowEnergy> minutes = g1Windows(all, 60_000);
      DeviceWindowEnergy m0 = minutes.get(0L);
      DeviceWindowEnergy m1 = minutes.get(60_000L);
      assertThat(m0.getMeasuredEnergyJ()).isEqualTo(24_000.0);
      assertThat(m0.getBusyTimeUs()).isEqualTo(10_000_000L);
      assertThat(byModel(m0).get("m1").getEnergyJ()).isCloseTo(4_000.0, within(1e-9));
      assertThat(m1.getBusyTimeUs()).isEqualTo(15_000_000L);
      assertThat(byModel(m1).get("m1").getEnergyJ()).isCloseTo(6_000.0, within(1e-9));
      assertThat(byModel(m1).get("m1").getRequests()).isEqualTo(1);
      assertConservedAndNonNegative(m0);
      assertConservedAndNonNegative(m1);
      Map<Long, DeviceWindowEnergy> tens = g1Windows(all, 10_000);
      assertThat(tens.get(50_000L).getBusyTimeUs()).isEqualTo(10_000_000L);
      assertThat(tens.get(60_000L).getBusyTimeUs()).isEqualTo(10_000_000L);
      assertThat(tens.get(70_000L).getBusyTimeUs()).isEqualTo(5_000_000L);
      assertThat(f.counters.inFlightDropped.sum()).isZero();
    }
  }

  /** The 25 s request at 400 W: 4,000 + 4,000 + 2,000 J, conserved in each window. */
  private static void assertSpanned(Map<Long, DeviceWindowEnergy> w) {
    List<Long> spanned = List.of(0L, 10_000L, 20_000L);
    double sumJ = 0;
    for (long start : spanned) {
      DeviceWindowEnergy e = w.get(start);
      assertThat(e.getMeasuredEnergyJ()).isEqualTo(4_000.0);
      assertConservedAndNonNegative(e);
      sumJ += byModel(e).get("m1").getEnergyJ();
    }
    assertThat(w.get(0L).getBusyTimeUs()).isEqualTo(10_000_000L);
    assertThat(w.get(10_000L).getBusyTimeUs()).isEqualTo(10_000_000L);
    assertThat(w.get(20_000L).getBusyTimeUs()).isEqualTo(5_000_000L);
    assertThat(w.get(0L).getIdleEnergyJ()).isZero();
    assertThat(w.get(20_000L).getIdleEnergyJ()).isCloseTo(2_000.0, within(1e-9));
    assertThat(sumJ).isCloseTo(10_000.0, within(1e-9));
    // the request and its tokens count once, in its completion window
    assertThat(byModel(w.get(0L)).get("m1").getRequests()).isZero();
    assertThat(byModel(w.get(20_000L)).get("m1").getRequests()).isEqualTo(1);
  }

  @Test
  void fleetBusyTimeAddsItsHostsAndALateOverlappingRequestLeavesItUnchanged() {
    try (TopologyFixture f = new TopologyFixture(Map.of("windows.allowed.lateness", "10m"))) {
      for (String host : List.of("h1", "h2")) {
        for (int i = 0; i < 16; i++) {
          f.send(
              request(host + "-" + i, host, "m1", T0_MS + 4_000, 0, 100_000, 1_900_000, 100)
                  .setDeviceId("g1")
                  .build());
        }
      }
      for (String host : List.of("h1", "h2")) {
        f.send(request(host + "-close", host, "m1", T0_MS + 40_000, 0, 100_000, 0, 1).build());
      }
      // late for its closed window, in flight [2.5 s, 3.5 s] while the device was busy anyway
      f.send(
          request("h1-late", "h1", "m1", T0_MS + 3_500, 0, 100_000, 900_000, 100)
              .setDeviceId("g1")
              .build());
      // windows.corrections.interval: the request side re-emits, then the fleet side
      f.driver.advanceWallClockTime(Duration.ofSeconds(2));
      f.driver.advanceWallClockTime(Duration.ofSeconds(2));
      Map<String, WindowAggregate> newest =
          f.aggregates().stream()
              .filter(a -> a.getWindowStartUs() == T0_MS * 1000)
              .collect(
                  Collectors.toMap(
                      a -> a.getScope() + "/" + a.getHost(),
                      Function.identity(),
                      (older, newer) -> newer));
      assertThat(newest.get("host/h1").getRequests()).isEqualTo(17);
      assertThat(newest.get("host/h1").getBusyTimeUs()).isEqualTo(2_000_000L);
      assertThat(newest.get("host/h2").getBusyTimeUs()).isEqualTo(2_000_000L);
      WindowAggregate fleet = newest.get("fleet/*");
      assertThat(fleet.getRequests()).isEqualTo(33);
      assertThat(fleet.getBusyTimeUs()).isEqualTo(4_000_000L);
      assertThat(fleet.getOutputTokensPerBusySec()).isCloseTo(3_300 / 4.0, within(1e-9));
    }
  }

  @Test
  void inFlightTimeOfWindowsPastTheAllowedLatenessIsDroppedAndCounted() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // no allowed lateness: energy windows [0 s, 10 s) and [10 s, 20 s) have closed, [20 s, 30 s)
      // is open when the 25 s request's usage arrives
      samples(f, -1, 32);
      inFlight(f, "long", "m1", 0, 25_000);
      inFlight(f, "close", "m1", 39_900, 40_000);
      samples(f, 33, 45);
      Map<Long, DeviceWindowEnergy> w = g1Windows(f);
      assertThat(f.counters.inFlightDropped.sum()).isEqualTo(2);
      assertThat(w.get(0L).getAttributions()).isEmpty();
      assertThat(w.get(20_000L).getBusyTimeUs()).isEqualTo(5_000_000L);
      assertThat(byModel(w.get(20_000L)).get("m1").getEnergyJ()).isCloseTo(2_000.0, within(1e-9));
      assertConservedAndNonNegative(w.get(20_000L));
    }
  }
}
