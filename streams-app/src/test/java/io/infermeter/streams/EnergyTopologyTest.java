package io.infermeter.streams;

import static io.infermeter.streams.TopologyFixture.T0_MS;
import static io.infermeter.streams.TopologyFixture.request;
import static io.infermeter.streams.TopologyFixture.sample;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.Bottleneck;
import io.infermeter.avro.BottleneckLabel;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EnergyMethod;
import io.infermeter.avro.ModelAttribution;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Energy, cost, carbon, attribution, bottlenecks and hardware alerts through the production
 * topology.
 */
class EnergyTopologyTest {

  private static final long MJ_PER_S = 300_000; // g1 draws 300 W
  private static final double G2_POWER_W = 100;

  /**
   * Samples each second from T0 to T0+seconds; g1 has a counter (and optional reset at resetAt), g2
   * only power.
   */
  private static void samples(
      TopologyFixture f, int fromS, int toS, int resetAtS, double memPct, long throttleUntilS) {
    for (int i = fromS; i <= toS; i++) {
      long counter = i >= resetAtS ? (i - resetAtS) * MJ_PER_S : 1_000_000_000L + i * MJ_PER_S;
      f.send(
          sample("h1", "g1", T0_MS + i * 1000L)
              .setEnergyMj(counter)
              .setPowerW(300.0)
              .setUtilizationPct(95.0)
              .setMemoryUsedBytes((long) (memPct * 800))
              .setMemoryTotalBytes(80_000L)
              // idle, application clocks and SW power cap bits: none is counted as throttling
              .setThrottleReasons(0x1L | 0x2L | 0x4L)
              .build());
      f.send(
          sample("h1", "g2", T0_MS + i * 1000L)
              .setPowerW(G2_POWER_W)
              .setUtilizationPct(95.0)
              .setThrottleReasons(i < throttleUntilS ? 0x40L | 0x2L : 0x2L)
              .build());
    }
  }

  /**
   * Requests of window 0: on g1 three m1 (1 s busy each) and one m2 (1 s); one m1 without device (2
   * s busy).
   */
  private static void requests(TopologyFixture f) {
    for (int i = 0; i < 3; i++) {
      f.send(
          request("m1-" + i, "h1", "m1", T0_MS + 2000 + i, 50_000, 100_000, 900_000, 101)
              .setDeviceId("g1")
              .build());
    }
    f.send(
        request("m2", "h1", "m2", T0_MS + 3000, 0, 200_000, 800_000, 51).setDeviceId("g1").build());
    f.send(request("m1-host", "h1", "m1", T0_MS + 4000, 0, 500_000, 1_500_000, 41).build());
    f.send(
        request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).setDeviceId("g1").build());
  }

  private static Map<String, DeviceWindowEnergy> window0(TopologyFixture f) {
    return f.energy.readValuesToList().stream()
        .filter(e -> e.getWindowStartUs() == T0_MS * 1000)
        .collect(Collectors.toMap(DeviceWindowEnergy::getDeviceId, Function.identity()));
  }

  /**
   * A llama request on g1 completing {@code completedMs} after T0 (TTFT 100 ms, then {@code
   * decodeUs}), and one in window 1 that closes window 0 on the request side.
   */
  private static void oneLlamaRequestOnG1(TopologyFixture f, long completedMs, long decodeUs) {
    f.send(
        request("r1", "h1", "llama", T0_MS + completedMs, 0, 100_000, decodeUs, 100)
            .setDeviceId("g1")
            .build());
    closeWindow0(f, "g1");
  }

  /**
   * An H100 in MIG mode with a 3g.40gb and a 1g.10gb instance (NVML reads energy on the GPU only):
   * the instances take 3/7 and 1/7 of its energy and price, the GPU keeps its 3 free slices' part,
   * and the three rows together cost one H100 (2.50 per hour), where each was priced as a whole
   * H100 and the instances got 0 J.
   */
  @Test
  void migInstancesShareTheirParentsEnergyAndPriceBySlices() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // one llama request in flight on mig-a for the whole of window 0
      f.send(
          request("r1", "h1", "llama", T0_MS + 9_999, 0, 100_000, 9_899_000, 100)
              .setDeviceId("mig-a")
              .build());
      closeWindow0(f, "mig-a");
      migSamples(f);
      Map<String, DeviceWindowEnergy> w0 = window0(f);
      double gpuJ = 6_300; // 700 W over the 9 sample intervals that end in window 0
      assertThat(w0.get("mig-a").getMeasuredEnergyJ()).isCloseTo(gpuJ * 3 / 7, within(1e-9));
      assertThat(w0.get("mig-b").getMeasuredEnergyJ()).isCloseTo(gpuJ / 7, within(1e-9));
      assertThat(w0.get("gpu").getMeasuredEnergyJ()).isCloseTo(gpuJ * 3 / 7, within(1e-9));
      assertThat(
              w0.values().stream()
                  .filter(e -> e.getWindowSizeMs() == 10_000)
                  .mapToDouble(DeviceWindowEnergy::getMeasuredEnergyJ)
                  .sum())
          .isCloseTo(gpuJ, within(1e-9));
      assertThat(w0.get("mig-a").getMethod()).isEqualTo(EnergyMethod.COUNTER);
      assertThat(w0.get("mig-a").getPricePerHour()).isCloseTo(2.50 * 3 / 7, within(1e-12));
      assertThat(w0.get("mig-b").getPricePerHour()).isCloseTo(2.50 / 7, within(1e-12));
      assertThat(w0.get("gpu").getPricePerHour()).isCloseTo(2.50 * 3 / 7, within(1e-12));
      // the request kept mig-a busy 9.999 s of 10: its energy is (nearly) all attributed
      DeviceWindowEnergy a = w0.get("mig-a");
      assertThat(a.getIdleEnergyJ()).isLessThan(a.getMeasuredEnergyJ() * 0.001);
      assertThat(w0.get("mig-b").getIdleEnergyJ()).isEqualTo(w0.get("mig-b").getMeasuredEnergyJ());
      assertThat(w0.get("gpu").getIdleEnergyJ()).isEqualTo(w0.get("gpu").getMeasuredEnergyJ());
    }
  }

  /** An H100 at 700 W in MIG mode with a 3g and a 1g instance, sampled each second for 35 s. */
  private static void migSamples(TopologyFixture f) {
    for (int i = 0; i <= 35; i++) {
      long t = T0_MS + i * 1000L;
      f.send(sample("h1", "gpu", t).setEnergyMj(1_000_000_000L + i * 700_000L).build());
      for (String[] mig : new String[][] {{"mig-a", "3"}, {"mig-b", "1"}}) {
        f.send(
            sample("h1", mig[0], t)
                .setDeviceKind(io.infermeter.avro.DeviceKind.MIG)
                .setGpuType("NVIDIA H100 80GB HBM3 MIG " + mig[1] + "g.10gb")
                .setParentDeviceId("gpu")
                .setMigSlices(Integer.parseInt(mig[1]))
                .setMigSlicesTotal(7)
                .build());
      }
    }
  }

  /**
   * A MIG profile the collector could not read right (slices over the parent's, more than 8) gives
   * the instance no share: it gets no energy and no price, and the parent keeps them all.
   */
  @Test
  void aMigInstanceWithAbsurdSlicesTakesNoShare() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      closeWindow0(f, "gpu");
      for (int i = 0; i <= 35; i++) {
        long t = T0_MS + i * 1000L;
        f.send(sample("h1", "gpu", t).setEnergyMj(1_000_000_000L + i * 700_000L).build());
        f.send(
            sample("h1", "mig-x", t)
                .setDeviceKind(io.infermeter.avro.DeviceKind.MIG)
                .setParentDeviceId("gpu")
                .setMigSlices(9)
                .setMigSlicesTotal(7)
                .build());
      }
      Map<String, DeviceWindowEnergy> w0 = window0(f);
      assertThat(w0.get("mig-x").getMeasuredEnergyJ()).isZero();
      assertThat(w0.get("mig-x").getPricePerHour()).isZero();
      assertThat(w0.get("gpu").getMeasuredEnergyJ()).isEqualTo(6_300.0);
      assertThat(w0.get("gpu").getPricePerHour()).isEqualTo(2.50);
    }
  }

  /** A request on {@code device} in window 1, which closes window 0 on the request side. */
  private static void closeWindow0(TopologyFixture f, String device) {
    f.send(
        request("close", "h1", "llama", T0_MS + 11_500, 0, 1000, 1000, 2)
            .setDeviceId(device)
            .build());
  }

  /**
   * A request without a device id on a host in MIG mode is split over the MIG instances, which run
   * requests, and never over the parent GPU, whose row holds only its free slices' energy.
   */
  @Test
  void aHostLevelRequestOnAMigHostOccupiesTheInstancesNotTheParent() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      f.send(request("r1", "h1", "llama", T0_MS + 9_999, 0, 100_000, 9_899_000, 100).build());
      closeWindow0(f, "mig-a");
      migSamples(f);
      Map<String, DeviceWindowEnergy> w0 = window0(f);
      assertThat(w0.get("gpu").getBusyTimeUs()).isZero();
      assertThat(w0.get("gpu").getIdleEnergyJ()).isEqualTo(w0.get("gpu").getMeasuredEnergyJ());
      for (String mig : List.of("mig-a", "mig-b")) {
        DeviceWindowEnergy e = w0.get(mig);
        assertThat(e.getBusyTimeUs()).as(mig).isGreaterThan(9_000_000L);
        assertThat(e.getIdleEnergyJ()).as(mig).isLessThan(e.getMeasuredEnergyJ() * 0.02);
      }
    }
  }

  @Test
  void aWindowSampledOnlyInPartJudgesItsBusyShareAgainstTheSampledTime() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // the collector starts at 5 s; a request is in flight on g1 from 5.0 s to 9.9 s
      oneLlamaRequestOnG1(f, 9900, 4_800_000);
      for (int i = 5; i <= 25; i++) {
        f.send(sample("h1", "g1", T0_MS + i * 1000L).setPowerW(300.0).build());
      }
      DeviceWindowEnergy g1 = window0(f).get("g1");
      // 4 intervals (5-9 s) measured, 1,200 J, all of it with the request in flight: no idle,
      // where the busy share against the whole window (4.9 of 10 s) called 51 % of it idle
      assertThat(g1.getMeasuredEnergyJ()).isEqualTo(1200.0);
      assertThat(g1.getIdleEnergyJ()).isZero();
      assertThat(g1.getAttributions().get(0).getEnergyJ()).isEqualTo(1200.0);
      assertConserved(g1);
    }
  }

  @Test
  void cpuAndDramEnergyIsAttributedToTheHostsRequestsByHostBusyTime() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // one llama request on g1, in flight 2 s ([3 s, 5 s]) of window 0
      oneLlamaRequestOnG1(f, 5000, 1_900_000);
      for (int i = 0; i <= 25; i++) {
        long t = T0_MS + i * 1000L;
        f.send(sample("h1", "g1", t).setPowerW(400.0).build());
        f.send(
            sample("h1", "cpu-package-0", t)
                .setDeviceKind(io.infermeter.avro.DeviceKind.CPU_PACKAGE)
                .setGpuType(null)
                .setSource("rapl")
                .setPowerW(100.0)
                .build());
      }
      Map<String, DeviceWindowEnergy> w0 = window0(f);
      DeviceWindowEnergy cpu = w0.get("cpu-package-0");
      assertThat(cpu.getMeasuredEnergyJ()).isEqualTo(900.0); // 9 intervals of 1 s at 100 W
      assertThat(cpu.getBusyTimeUs()).isEqualTo(2_000_000L);
      assertThat(cpu.getAttributions()).hasSize(1);
      ModelAttribution a = cpu.getAttributions().get(0);
      assertThat(a.getModel()).isEqualTo("llama");
      // busy 2 s of the 9 s its samples cover (they start at T0): 2/9 of 900 J
      assertThat(a.getEnergyJ()).isCloseTo(200.0, within(1e-9));
      // requests and tokens are counted on the GPU only, so per-model sums count them once
      assertThat(a.getRequests()).isZero();
      assertThat(a.getOutputTokens()).isZero();
      assertThat(cpu.getCost()).isZero(); // only accelerators are priced
      assertConserved(cpu);
      assertThat(w0.get("g1").getAttributions().get(0).getRequests()).isEqualTo(1);
    }
  }

  @Test
  void energyIsAttributedByBusyTimeAndConservedExactly() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      requests(f);
      samples(f, 0, 25, Integer.MAX_VALUE, 10, 0);
      Map<String, DeviceWindowEnergy> w = window0(f);
      DeviceWindowEnergy g1 = w.get("g1");
      // deltas whose later sample lies in [T0, T0+10 s): samples 1..9
      double measured = 9 * MJ_PER_S / 1000.0;
      assertThat(g1.getMethod()).isEqualTo(EnergyMethod.COUNTER);
      assertThat(g1.getMeasuredEnergyJ()).isEqualTo(measured);
      assertThat(g1.getSamples()).isEqualTo(10);
      // request time on g1: m1 = 3 x 1 s + half of the 2 s host-level request; m2 = 1 s. Device
      // busy time, the union of the in-flight intervals: m1's three requests [1.000 s, 2.002 s],
      // m2's [2 s, 3 s] and the host-level request [2 s, 4 s], which occupies every GPU: 3 s of
      // the 10 s window. The samples start at T0, so the measured energy covers 9 s of it (the
      // intervals of samples 1..9): the busy share is 3 s of those 9 s
      double m1Busy = 4.0;
      double m2Busy = 1.0;
      double fraction = 3.0 / 9;
      assertThat(g1.getBusyTimeUs()).isEqualTo(3_000_000L);
      Map<String, ModelAttribution> by =
          g1.getAttributions().stream()
              .collect(Collectors.toMap(ModelAttribution::getModel, Function.identity()));
      assertThat(by.get("m1").getBusyTimeUs()).isEqualTo(4_000_000L);
      assertThat(by.get("m1").getEnergyJ())
          .isCloseTo(measured * fraction * m1Busy / (m1Busy + m2Busy), within(1e-9));
      assertThat(by.get("m2").getEnergyJ())
          .isCloseTo(measured * fraction * m2Busy / (m1Busy + m2Busy), within(1e-9));
      assertConserved(g1);
      // cost: H100 2.50 per device-hour x 10 s; carbon: J x PUE 1.2 / 3.6e6 x 290 g/kWh (eu-west-1
      // table)
      assertThat(g1.getPricePerHour()).isEqualTo(2.50);
      assertThat(g1.getCost()).isCloseTo(2.50 * 10 / 3600, within(1e-12));
      assertThat(by.get("m1").getCost()).isCloseTo(g1.getCost() * fraction * 0.8, within(1e-12));
      assertThat(g1.getCarbonIntensityGPerKwh()).isEqualTo(290.0);
      assertThat(g1.getCarbonIntensitySource()).isEqualTo("table");
      assertThat(g1.getCarbonG()).isCloseTo(measured * 1.2 / 3.6e6 * 290, within(1e-12));
      assertThat(g1.getFacilityEnergyKwh()).isCloseTo(measured * 1.2 / 3.6e6, within(1e-15));
      // per request / per 1k tokens: m1 had 3 device requests + 1 of the 2 host-level halves'
      // counts (even split)
      ModelAttribution m1 = by.get("m1");
      assertThat(m1.getEnergyPerRequestJ())
          .isCloseTo(m1.getEnergyJ() / m1.getRequests(), within(1e-12));
      assertThat(m1.getEnergyPer1kOutputTokensJ())
          .isCloseTo(m1.getEnergyJ() / m1.getOutputTokens() * 1000, within(1e-9));
      assertThat(m1.getCostPer1MOutputTokens())
          .isCloseTo(m1.getCost() / m1.getOutputTokens() * 1e6, within(1e-9));

      DeviceWindowEnergy g2 = w.get("g2");
      assertThat(g2.getMethod()).isEqualTo(EnergyMethod.POWER_INTEGRATION);
      assertThat(g2.getMeasuredEnergyJ()).isCloseTo(9 * G2_POWER_W, within(1e-9));
      assertThat(g2.getAttributions()).hasSize(1);
      // g2 runs only the host-level request, [2 s, 4 s]: busy 2 s of the 9 s sampled
      assertThat(g2.getBusyTimeUs()).isEqualTo(2_000_000L);
      assertThat(g2.getAttributions().get(0).getEnergyJ())
          .isCloseTo(9 * G2_POWER_W * 2 / 9, within(1e-9));
      assertConserved(g2);
      // host-level request counts split over the two GPUs add back up to the host total
      long m1Requests =
          w.values().stream()
              .flatMap(e -> e.getAttributions().stream())
              .filter(a -> a.getModel().equals("m1"))
              .mapToLong(ModelAttribution::getRequests)
              .sum();
      assertThat(m1Requests).isEqualTo(4);
    }
  }

  @Test
  void aLateRequestWithinTheAllowedLatenessReAttributesItsClosedDeviceWindow() {
    try (TopologyFixture f = new TopologyFixture(Map.of("windows.allowed.lateness", "10m"))) {
      requests(f);
      samples(f, 0, 40, Integer.MAX_VALUE, 10, 0);
      DeviceWindowEnergy before = window0(f).get("g1");
      assertThat(before).isNotNull();
      long m2Before =
          before.getAttributions().stream()
              .filter(a -> a.getModel().equals("m2"))
              .mapToLong(ModelAttribution::getRequests)
              .sum();
      // a second m2 request on g1 in window 0, from a host 30 s behind: the window closed long ago
      f.send(
          request("m2-late", "h1", "m2", T0_MS + 5000, 0, 200_000, 800_000, 51)
              .setDeviceId("g1")
              .build());
      // windows.corrections.interval: the request side re-emits, then the energy side
      f.driver.advanceWallClockTime(Duration.ofSeconds(2));
      f.driver.advanceWallClockTime(Duration.ofSeconds(2));
      List<DeviceWindowEnergy> again =
          f.energy.readValuesToList().stream()
              .filter(e -> e.getWindowStartUs() == T0_MS * 1000 && e.getDeviceId().equals("g1"))
              .toList();
      assertThat(again).isNotEmpty();
      DeviceWindowEnergy after = again.get(again.size() - 1);
      assertThat(after.getMeasuredEnergyJ()).isEqualTo(before.getMeasuredEnergyJ());
      Map<String, ModelAttribution> by =
          after.getAttributions().stream()
              .collect(Collectors.toMap(ModelAttribution::getModel, Function.identity()));
      assertThat(by.get("m2").getRequests()).isEqualTo(m2Before + 1);
      assertThat(by.get("m2").getBusyTimeUs()).isEqualTo(2_000_000L);
      assertThat(after.getIdleEnergyJ()).isLessThan(before.getIdleEnergyJ());
      assertConserved(after);
      assertThat(f.deadLetters.isEmpty()).isTrue();
      assertThat(f.counters.lateRecords.sum()).isZero();
    }
  }

  private static void assertConserved(DeviceWindowEnergy e) {
    double energy = 0;
    double cost = 0;
    double carbon = 0;
    for (ModelAttribution a : e.getAttributions()) {
      energy += a.getEnergyJ();
      cost += a.getCost();
      carbon += a.getCarbonG();
    }
    assertThat(energy + e.getIdleEnergyJ()).isEqualTo(e.getMeasuredEnergyJ());
    assertThat(e.getIdleEnergyJ()).isGreaterThanOrEqualTo(0.0);
    assertThat(e.getAttributions()).allMatch(a -> a.getEnergyJ() >= 0 && a.getCost() >= 0);
    assertThat(cost + e.getIdleCost()).isEqualTo(e.getCost());
    assertThat(carbon + e.getIdleCarbonG()).isEqualTo(e.getCarbonG());
  }

  @Test
  void priceAndCarbonIntensityTopicsOverrideTheTablesOnceEffective() {
    try (TopologyFixture f =
        new TopologyFixture(
            Map.of(
                "topics.price.updates.enabled",
                "true",
                "topics.carbon.intensity.enabled",
                "true"))) {
      var prices =
          f.driver.createInputTopic(
              io.infermeter.schemas.Topics.PRICE_UPDATES.name(),
              org.apache.kafka.common.serialization.Serdes.String().serializer(),
              f.serdes.prices().serializer());
      var carbon = carbonTopic(f);
      prices.pipeInput("H100", price("H100", 4.0, "USD"), T0_MS);
      carbon.pipeInput(
          "eu-west-1",
          io.infermeter.avro.CarbonIntensityUpdate.newBuilder()
              .setRegion("eu-west-1")
              .setGramsPerKwh(100.0)
              .setEffectiveFromUs(T0_MS * 1000 + 5_000_000)
              .setSource("manual")
              .build(),
          T0_MS);
      samples(f, 0, 35, Integer.MAX_VALUE, 10, 0);
      List<DeviceWindowEnergy> g1 =
          f.energy.readValuesToList().stream().filter(e -> e.getDeviceId().equals("g1")).toList();
      DeviceWindowEnergy w0 =
          g1.stream().filter(e -> e.getWindowStartUs() == T0_MS * 1000).findFirst().orElseThrow();
      DeviceWindowEnergy w1 =
          g1.stream()
              .filter(e -> e.getWindowStartUs() == (T0_MS + 10_000) * 1000)
              .findFirst()
              .orElseThrow();
      assertThat(w0.getPricePerHour()).isEqualTo(4.0);
      assertThat(w0.getCost()).isCloseTo(4.0 * 10 / 3600, within(1e-12));
      // the intensity update takes effect at T0 + 5 s: window 0 has the table's 290 for its
      // first half and the topic's 100 for its second, window 1 the topic's throughout
      assertThat(w0.getCarbonIntensitySource()).isEqualTo("topic+table");
      assertThat(w0.getCarbonIntensityGPerKwh())
          .isCloseTo((290 * 5 + 100 * 5) / 10.0, within(1e-9));
      assertThat(w1.getCarbonIntensitySource()).isEqualTo("topic");
      assertThat(w1.getCarbonIntensityGPerKwh()).isEqualTo(100.0);
      assertThat(w1.getCarbonG())
          .isCloseTo(w1.getMeasuredEnergyJ() * 1.2 / 3.6e6 * 100, within(1e-12));
    }
  }

  /**
   * A backfill: the feed's updates for the whole period arrive, out of time order, before the data
   * they price. Each window takes the values in force during it, weighted by time; a re-delivered
   * update changes nothing and an absurd one is refused and counted.
   */
  @Test
  void carbonIntensityIsTheTimeWeightedSeriesInForceDuringEachWindow() {
    try (TopologyFixture f =
        new TopologyFixture(Map.of("topics.carbon.intensity.enabled", "true"))) {
      var carbon = carbonTopic(f);
      long t0Us = T0_MS * 1000;
      // out of time order, and one re-delivered
      carbon.pipeInput("eu-west-1", intensity(500, t0Us + 25_000_000), T0_MS);
      carbon.pipeInput("eu-west-1", intensity(300, t0Us + 20_000_000), T0_MS);
      carbon.pipeInput("eu-west-1", intensity(200, t0Us - 3_600_000_000L), T0_MS);
      carbon.pipeInput("eu-west-1", intensity(300, t0Us + 20_000_000), T0_MS);
      carbon.pipeInput("eu-west-1", intensity(-1, t0Us + 21_000_000), T0_MS);
      carbon.pipeInput("eu-west-1", intensity(Double.NaN, t0Us + 22_000_000), T0_MS);
      carbon.pipeInput("eu-west-1", intensity(1e9, t0Us + 23_000_000), T0_MS);
      samples(f, 0, 55, Integer.MAX_VALUE, 10, 0);
      Map<Long, DeviceWindowEnergy> g1 = new java.util.TreeMap<>();
      for (DeviceWindowEnergy e : f.energy.readValuesToList()) {
        if (e.getDeviceId().equals("g1") && e.getWindowSizeMs() == 10_000) {
          g1.put((e.getWindowStartUs() - t0Us) / 1_000_000, e);
        }
      }
      assertThat(g1.get(0L).getCarbonIntensityGPerKwh()).isEqualTo(200.0);
      assertThat(g1.get(0L).getCarbonIntensitySource()).isEqualTo("topic");
      assertThat(g1.get(10L).getCarbonIntensityGPerKwh()).isEqualTo(200.0);
      // 20..25 s at 300, 25..30 s at 500
      assertThat(g1.get(20L).getCarbonIntensityGPerKwh()).isCloseTo(400.0, within(1e-9));
      assertThat(g1.get(30L).getCarbonIntensityGPerKwh()).isEqualTo(500.0);
      assertThat(g1.get(20L).getCarbonG())
          .isCloseTo(g1.get(20L).getMeasuredEnergyJ() * 1.2 / 3.6e6 * 400, within(1e-9));
      assertThat(f.counters.carbonUpdatesRefused.sum()).isEqualTo(3);
    }
  }

  /**
   * Points older than carbon.history.retention behind the region's newest are dropped, except the
   * last one before the cut, which is still in force there.
   */
  @Test
  void carbonHistoryKeepsTheRetentionAndTheValueInForceAtItsCut() {
    try (TopologyFixture f =
        new TopologyFixture(
            Map.of("topics.carbon.intensity.enabled", "true", "carbon.history.retention", "1h"))) {
      var carbon = carbonTopic(f);
      long hourUs = 3_600_000_000L;
      long t0Us = T0_MS * 1000;
      for (int h = 0; h <= 5; h++) {
        carbon.pipeInput("eu-west-1", intensity(100 + h, t0Us + h * hourUs), T0_MS);
      }
      carbon.pipeInput("us-east-1", intensity("us-east-1", 50, t0Us), T0_MS);
      org.apache.kafka.streams.state.KeyValueStore<String, byte[]> store =
          f.driver.getKeyValueStore(io.infermeter.streams.energy.CarbonHistory.STORE);
      List<Long> kept = new java.util.ArrayList<>();
      try (var it = store.all()) {
        it.forEachRemaining(
            kv -> {
              if (kv.key.startsWith("eu-west-1")) {
                kept.add((Long.parseLong(kv.key.substring(10)) - t0Us) / hourUs);
              }
            });
      }
      // newest at 5 h, cut at 4 h: the point at 4 h is the one in force at the cut
      assertThat(kept).containsExactly(4L, 5L);
      assertThat(store.approximateNumEntries()).isEqualTo(3);
    }
  }

  private static org.apache.kafka.streams.TestInputTopic<
          String, io.infermeter.avro.CarbonIntensityUpdate>
      carbonTopic(TopologyFixture f) {
    return f.driver.createInputTopic(
        io.infermeter.schemas.Topics.CARBON_INTENSITY.name(),
        org.apache.kafka.common.serialization.Serdes.String().serializer(),
        f.serdes.intensities().serializer());
  }

  private static io.infermeter.avro.CarbonIntensityUpdate intensity(double g, long fromUs) {
    return intensity("eu-west-1", g, fromUs);
  }

  private static io.infermeter.avro.CarbonIntensityUpdate intensity(
      String region, double g, long fromUs) {
    return io.infermeter.avro.CarbonIntensityUpdate.newBuilder()
        .setRegion(region)
        .setGramsPerKwh(g)
        .setEffectiveFromUs(fromUs)
        .setSource("electricitymaps")
        .build();
  }

  private static io.infermeter.avro.PriceUpdate price(
      String gpuType, double perHour, String currency) {
    return io.infermeter.avro.PriceUpdate.newBuilder()
        .setGpuType(gpuType)
        .setPricePerHour(perHour)
        .setCurrency(currency)
        .setEffectiveFromUs(T0_MS * 1000)
        .build();
  }

  @Test
  void aPriceUpdateUnderTheTableKeyPricesNvmlNamesAndAnotherCurrencyIsIgnored() {
    try (TopologyFixture f = new TopologyFixture(Map.of("topics.price.updates.enabled", "true"))) {
      var prices =
          f.driver.createInputTopic(
              io.infermeter.schemas.Topics.PRICE_UPDATES.name(),
              org.apache.kafka.common.serialization.Serdes.String().serializer(),
              f.serdes.prices().serializer());
      // keyed by the table's type name, while NVML reports the full product name
      prices.pipeInput("H100", price("H100", 4.0, "USD"), T0_MS);
      prices.pipeInput("NVIDIA L40S", price("NVIDIA L40S", 1.9, "EUR"), T0_MS);
      for (int i = 0; i <= 25; i++) {
        long t = T0_MS + i * 1000L;
        f.send(sample("h1", "g1", t).setGpuType("NVIDIA H100 80GB HBM3").setPowerW(300.0).build());
        f.send(sample("h1", "g2", t).setGpuType("NVIDIA L40S").setPowerW(300.0).build());
      }
      Map<String, DeviceWindowEnergy> w0 = new java.util.HashMap<>();
      f.energy.readValuesToList().stream()
          .filter(e -> e.getWindowStartUs() == T0_MS * 1000)
          .forEach(e -> w0.put(e.getDeviceId(), e));
      assertThat(w0.get("g1").getPricePerHour()).isEqualTo(4.0);
      // EUR is not cost.currency (USD): not mixed in; no table key names an L40S (L4 is not one)
      assertThat(w0.get("g2").getPricePerHour()).isEqualTo(1.0);
      assertThat(w0.get("g2").getCurrency()).isEqualTo("USD");
    }
  }

  @Test
  void anUnknownRegionFallsBackToTheWorldAverage() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      for (int i = 0; i <= 25; i++) {
        f.send(sample("h9", "g1", T0_MS + i * 1000L).setRegion("mars-1").setPowerW(200.0).build());
      }
      DeviceWindowEnergy e =
          f.energy.readValuesToList().stream()
              .filter(x -> x.getWindowStartUs() == T0_MS * 1000)
              .findFirst()
              .orElseThrow();
      assertThat(e.getCarbonIntensitySource()).isEqualTo("default");
      assertThat(e.getCarbonIntensityGPerKwh()).isEqualTo(475.0);
      assertThat(e.getMeasuredEnergyJ()).isCloseTo(9 * 200.0, within(1e-9));
      assertThat(e.getCarbonG()).isCloseTo(9 * 200.0 * 1.2 / 3.6e6 * 475, within(1e-12));
    }
  }

  @Test
  void requestTimeAboveTheWindowLengthStillLeavesTheIdleTimeIdle() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // 15 requests of 1 s each, batched concurrently: 15 s of request time in a 10 s window, but
      // the device was busy only while they ran, [1.000 s, 3.005 s]
      for (int i = 0; i < 10; i++) {
        f.send(
            request("a" + i, "h1", "m1", T0_MS + 2000 + i, 0, 100_000, 900_000, 10)
                .setDeviceId("g1")
                .build());
      }
      for (int i = 0; i < 5; i++) {
        f.send(
            request("b" + i, "h1", "m2", T0_MS + 3000 + i, 0, 100_000, 900_000, 10)
                .setDeviceId("g1")
                .build());
      }
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1, 1, 2).setDeviceId("g9").build());
      samples(f, 0, 25, Integer.MAX_VALUE, 10, 0);
      DeviceWindowEnergy g1 = window0(f).get("g1");
      Map<String, Double> shares =
          g1.getAttributions().stream()
              .collect(Collectors.toMap(ModelAttribution::getModel, ModelAttribution::getShare));
      assertThat(g1.getBusyTimeUs()).isEqualTo(2_010_000L);
      double busy = 2.01 / 9; // 2.01 s busy of the 9 s the samples cover (they start at T0)
      assertThat(shares.get("m1")).isCloseTo(busy * 10.0 / 15, within(1e-12));
      assertThat(shares.get("m2")).isCloseTo(busy * 5.0 / 15, within(1e-12));
      assertThat(g1.getIdleEnergyJ()).isCloseTo(g1.getMeasuredEnergyJ() * (1 - busy), within(1e-9));
      assertConserved(g1);
    }
  }

  @Test
  void aCounterResetCountsTheNewValueAsTheEnergySinceTheReset() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // 300 W; the counter restarts at 4.5 s, so the 5 s sample reads 0.5 s x 300 W = 150 J
      for (int i = 0; i <= 25; i++) {
        long counter = i < 5 ? 1_000_000_000L + i * MJ_PER_S : (2 * i - 9) * MJ_PER_S / 2;
        f.send(sample("h1", "g1", T0_MS + i * 1000L).setEnergyMj(counter).build());
      }
      DeviceWindowEnergy g1 = window0(f).get("g1");
      assertThat(g1.getCounterResets()).isEqualTo(1);
      // 8 whole deltas plus the 150 J since the restart: -5 % instead of the -11 % of dropping it
      assertThat(g1.getMeasuredEnergyJ()).isEqualTo((8 * MJ_PER_S + MJ_PER_S / 2) / 1000.0);
    }
  }

  @Test
  void aSamplingGapIsSpreadOverItsWindowsNotBookedAsASpike() {
    try (TopologyFixture f = new TopologyFixture(Map.of("windows.sizes", "10s,1m"))) {
      // 700 W, 1 Hz until 10 s, then nothing until 70 s: the 60 s delta (42 kJ) spans six windows
      long mjPerS = 700_000;
      for (int i = 0; i <= 10; i++) {
        f.send(sample("h1", "g1", T0_MS + i * 1000L).setEnergyMj(i * mjPerS).build());
      }
      for (int i = 70; i <= 120; i++) {
        f.send(sample("h1", "g1", T0_MS + i * 1000L).setEnergyMj(i * mjPerS).build());
      }
      Map<Long, DeviceWindowEnergy> tenS = new java.util.TreeMap<>();
      double minuteJ = 0;
      for (DeviceWindowEnergy e : f.energy.readValuesToList()) {
        if (!e.getDeviceId().equals("g1")) {
          continue;
        }
        long startS = (e.getWindowStartUs() / 1000 - T0_MS) / 1000;
        if (e.getWindowEndUs() - e.getWindowStartUs() == 10_000_000L) {
          tenS.put(startS, e); // the newest version of each window wins
        } else if (startS == 0) {
          minuteJ = e.getMeasuredEnergyJ();
        }
      }
      // an interval belongs to the window of its later sample (window 0 has 9 deltas, the 9-10 s
      // one is window 10's); the gap (10 s, 70 s] gives each of its windows 10 s x 700 W, where
      // booking it at 70 s read 42 kJ, a "mean power" of 4.2 kW, in one window
      Map<Long, Double> expectedJ =
          Map.of(
              0L, 6300.0, 10L, 7700.0, 20L, 7000.0, 30L, 7000.0, 40L, 7000.0, 50L, 7000.0, 60L,
              7000.0, 70L, 6300.0);
      assertThat(tenS).containsKeys(expectedJ.keySet().toArray(Long[]::new));
      expectedJ.forEach(
          (start, joules) ->
              assertThat(tenS.get(start).getMeasuredEnergyJ())
                  .as("window at %d s", start)
                  .isEqualTo(joules));
      // the minute and its six 10 s windows agree
      assertThat(minuteJ).isEqualTo(60 * 700.0);
      assertThat(f.counters.energyGapsSpread.sum()).isEqualTo(1);
    }
  }

  @Test
  void aNegativeCounterDeltaAtTheSampleIsCounted() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      samples(f, 0, 25, 5, 10, 0);
      DeviceWindowEnergy g1 = window0(f).get("g1");
      assertThat(g1.getCounterResets()).isEqualTo(1);
      // the counter reads 0 at 5 s: it restarted at the sample, the 4-5 s interval is unknown
      assertThat(g1.getMeasuredEnergyJ()).isEqualTo(8 * MJ_PER_S / 1000.0);
      assertThat(f.counters.counterResets.sum()).isEqualTo(1);
      assertThat(g1.getAttributions()).isEmpty();
      assertThat(g1.getIdleEnergyJ()).isEqualTo(g1.getMeasuredEnergyJ());
    }
  }

  @Test
  void bottleneckCarriesTheInputsThatDecidedIt() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      requests(f);
      samples(f, 0, 25, Integer.MAX_VALUE, 10, 0);
      Bottleneck b =
          f.bottlenecks.readValuesToList().stream()
              .filter(x -> x.getWindowStartUs() == T0_MS * 1000)
              .findFirst()
              .orElseThrow();
      assertThat(b.getLabel()).isEqualTo(BottleneckLabel.COMPUTE_BOUND);
      assertThat(b.getInputs()).containsEntry("gpuUtilPct", 95.0).containsKey("queueShareOfE2ePct");
      assertThat(b.getReason()).contains("GPU utilization");
    }
  }

  @Test
  void gpuMemoryAndThrottlingAlertsFireOnceAndResolveOnce() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      samples(f, 0, 9, Integer.MAX_VALUE, 90, 8); // window 0: memory 90 %, g2 throttled 0..7 s
      samples(f, 10, 19, Integer.MAX_VALUE, 90, 0); // window 1: still high, throttling over
      // later windows: memory fine; both resolve after 3 clear windows
      samples(f, 20, 65, Integer.MAX_VALUE, 50, 0);
      List<Alert> alerts = f.alerts.readValuesToList();
      List<Alert> mem = alerts.stream().filter(a -> a.getRule().equals("gpu_memory_high")).toList();
      assertThat(mem)
          .extracting(Alert::getState)
          .containsExactly(AlertState.FIRING, AlertState.RESOLVED);
      assertThat(mem.get(0).getDedupKey()).isEqualTo(mem.get(1).getDedupKey());
      assertThat(mem.get(0).getDeviceId()).isEqualTo("g1");
      assertThat(mem.get(0).getObserved()).isCloseTo(90.0, within(1e-9));
      assertThat(mem.get(0).getEvidence()).containsKey("memoryUsedBytes");
      List<Alert> thr = alerts.stream().filter(a -> a.getRule().equals("throttling")).toList();
      assertThat(thr)
          .extracting(Alert::getState)
          .containsExactly(AlertState.FIRING, AlertState.RESOLVED);
      assertThat(thr.get(0).getDeviceId()).isEqualTo("g2");
      assertThat(thr.get(0).getObserved()).isCloseTo(7.0, within(1e-9));
      assertThat(thr.get(0).getSummary()).contains("HW thermal slowdown");
      assertThat(thr.get(0).getEvidence())
          .containsEntry("throttleReasons", "HW thermal slowdown")
          .containsEntry("throttleReasonsMask", "0x40");
    }
  }

  @Test
  void theCountedThrottleReasonsAreASetting() {
    // counting SW power cap (0x4) too: g1, at its power limit with 0x1|0x2|0x4 set, now throttles
    try (TopologyFixture f = new TopologyFixture(Map.of("alerts.throttle.reasons.mask", "0xec"))) {
      samples(f, 0, 9, Integer.MAX_VALUE, 50, 0);
      samples(f, 10, 25, Integer.MAX_VALUE, 50, 0);
      List<Alert> thr =
          f.alerts.readValuesToList().stream()
              .filter(a -> a.getRule().equals("throttling"))
              .toList();
      assertThat(thr).extracting(Alert::getDeviceId).containsExactly("g1");
      assertThat(thr.get(0).getEvidence()).containsEntry("throttleReasons", "SW power cap");
    }
  }

  @Test
  void aSilentHostFiresOnceAndResolvesWhenHeardFromAgain() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      samples(f, 0, 2, Integer.MAX_VALUE, 10, 0);
      f.driver.advanceWallClockTime(Duration.ofSeconds(30));
      assertThat(f.alerts.isEmpty()).isTrue();
      f.driver.advanceWallClockTime(Duration.ofSeconds(40));
      f.driver.advanceWallClockTime(Duration.ofSeconds(20));
      samples(f, 3, 3, Integer.MAX_VALUE, 10, 0);
      List<Alert> silent =
          f.alerts.readValuesToList().stream()
              .filter(a -> a.getRule().equals("host_silent"))
              .toList();
      assertThat(silent)
          .extracting(Alert::getState)
          .containsExactly(AlertState.FIRING, AlertState.RESOLVED);
      assertThat(silent.get(0).getHost()).isEqualTo("h1");
      assertThat(silent.get(0).getDedupKey()).isEqualTo(silent.get(1).getDedupKey());
    }
  }

  @Test
  void requestAlertsFireOnceAndResolveOnceThroughTheTopology() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      for (int w = 0; w < 6; w++) {
        for (int i = 0; i < 30; i++) {
          var r =
              request(
                  "w" + w + "-" + i, "h1", "m1", T0_MS + w * 10_000L + i * 10L, 0, 1000, 2000, 5);
          if (w < 2 && i % 2 == 0) {
            r.setStatus(io.infermeter.avro.RequestStatus.ERROR);
          }
          f.send(r.build());
        }
      }
      f.send(request("close", "h1", "m1", T0_MS + 61_500, 0, 1000, 1000, 2).build());
      List<Alert> spikes =
          f.alerts.readValuesToList().stream()
              .filter(a -> a.getRule().equals("error_spike") && a.getHost().equals("h1"))
              .toList();
      assertThat(spikes)
          .extracting(Alert::getState)
          .containsExactly(AlertState.FIRING, AlertState.RESOLVED);
      assertThat(spikes.get(0).getWindowStartUs()).isEqualTo(T0_MS * 1000);
      // resolved after 3 clear windows: 2, 3, 4
      assertThat(spikes.get(1).getWindowStartUs()).isEqualTo((T0_MS + 40_000) * 1000);
      assertThat(spikes.get(0).getObserved()).isCloseTo(50.0, within(1e-9));
    }
  }
}
