package io.infermeter.demo.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.RequestTimings;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Unit tests of the simulator: determinism, ordering, labelling, and that incidents really distort
 * the data.
 */
class FleetSimulatorTest {

  private static final long START = 1_700_000_000_000_000L;
  private static final long SECOND = 1_000_000L;

  private static List<RequestEvent> run(
      List<Incident> incidents, long seconds, List<HardwareSample> samplesOut) {
    FleetSimulator sim = new FleetSimulator(FleetSpec.defaultFleet(), incidents, 7, START);
    List<RequestEvent> out = new ArrayList<>();
    for (long t = START + SECOND; t <= START + seconds * SECOND; t += SECOND) {
      out.addAll(sim.requestsCompletedBefore(t));
      samplesOut.addAll(sim.samplesAt(t, SECOND));
    }
    return out;
  }

  @Test
  void sameSeedGivesSameFleet() {
    List<RequestEvent> a = run(List.of(), 30, new ArrayList<>());
    List<RequestEvent> b = run(List.of(), 30, new ArrayList<>());
    assertThat(a).isNotEmpty().isEqualTo(b);
  }

  @Test
  void requestsAreLabelledOrderedByCompletionAndConsistent() {
    List<RequestEvent> events = run(List.of(), 60, new ArrayList<>());
    assertThat(events)
        .allSatisfy(
            e -> {
              assertThat(e.getSource()).isEqualTo(FleetSimulator.SOURCE);
              assertThat(e.getCompletedUs()).isGreaterThanOrEqualTo(e.getArrivalUs());
              assertThat(RequestTimings.e2eUs(e)).isPresent();
            });
    for (int i = 1; i < events.size(); i++) {
      assertThat(events.get(i).getCompletedUs())
          .isGreaterThanOrEqualTo(events.get(i - 1).getCompletedUs());
    }
    assertThat(events.stream().filter(RequestEvent::getColdStart).count()).isPositive();
    assertThat(events.stream().map(RequestEvent::getEventId).distinct().count())
        .isEqualTo(events.size());
  }

  @Test
  void gpuEnergyCountersAreMonotonic() {
    List<HardwareSample> samples = new ArrayList<>();
    run(List.of(), 30, samples);
    samples.stream()
        .collect(Collectors.groupingBy(HardwareSample::getDeviceId))
        .values()
        .forEach(
            series -> {
              for (int i = 1; i < series.size(); i++) {
                assertThat(series.get(i).getEnergyMj())
                    .isGreaterThan(series.get(i - 1).getEnergyMj());
              }
            });
  }

  @Test
  void burstyHostsGpusIdleAtIdlePowerBetweenBurstsAndSteadyHostsNever() {
    List<HardwareSample> samples = new ArrayList<>();
    List<RequestEvent> events = run(List.of(), 300, samples);
    for (FleetSpec.Host host : FleetSpec.defaultFleet().hosts()) {
      // after the first requests are in flight
      List<HardwareSample> mine =
          samples.stream()
              .filter(s -> s.getHost().equals(host.name()))
              .filter(s -> s.getTimestampUs() > START + 10 * SECOND)
              .toList();
      List<HardwareSample> idle = mine.stream().filter(s -> s.getUtilizationPct() == 0).toList();
      if (host.bursts().bursty()) {
        // OFF periods (mean 20 s) of 5 min: idle for a good part of it, at about 12 % of TDP
        assertThat(idle).as(host.name()).hasSizeGreaterThan(mine.size() / 10);
        assertThat(idle)
            .allSatisfy(
                s ->
                    assertThat(s.getPowerW())
                        .isBetween(host.tdpWatts() * 0.08, host.tdpWatts() * 0.16));
        // 0.0 % (rounded) is at most 24 ms of request time in flight on the GPU in that second
        // (0.05 % of 48 concurrent sequences)
        List<RequestEvent> onHost =
            events.stream().filter(e -> e.getHost().equals(host.name())).toList();
        assertThat(idle)
            .allSatisfy(
                s ->
                    assertThat(
                            onHost.stream()
                                .filter(e -> e.getDeviceId().equals(s.getDeviceId()))
                                .mapToLong(
                                    e ->
                                        Math.max(
                                            0,
                                            Math.min(e.getCompletedUs(), s.getTimestampUs())
                                                - Math.max(
                                                    e.getScheduledUs(),
                                                    s.getTimestampUs() - SECOND)))
                                .sum())
                        .isLessThanOrEqualTo(24_000L));
      } else {
        assertThat(idle).as(host.name()).isEmpty();
      }
    }
  }

  @Test
  void latencyRegressionSlowsTheTargetModel() {
    String model = "llama-3.1-8b-instruct";
    List<Incident> incident =
        List.of(
            new Incident(
                Incident.Kind.LATENCY_REGRESSION, model, START, START + 120 * SECOND, 2.0));
    double normal = meanTpot(run(List.of(), 60, new ArrayList<>()), model);
    double slowed = meanTpot(run(incident, 60, new ArrayList<>()), model);
    assertThat(slowed / normal).isBetween(1.6, 2.4);
  }

  @Test
  void silentHostSendsNothingWhileSilent() {
    FleetSpec fleet = FleetSpec.defaultFleet();
    String host = fleet.hosts().get(0).name();
    List<HardwareSample> samples = new ArrayList<>();
    List<RequestEvent> events =
        run(
            List.of(new Incident(Incident.Kind.SILENT_HOST, host, START, START + 600 * SECOND, 0)),
            30,
            samples);
    assertThat(events).noneMatch(e -> e.getHost().equals(host));
    assertThat(samples).noneMatch(s -> s.getHost().equals(host));
  }

  @Test
  void requestsInFlightWhenAHostGoesSilentAreNeverReported() {
    FleetSpec fleet = FleetSpec.defaultFleet();
    String host = fleet.hosts().get(0).name();
    long from = START + 20 * SECOND;
    long to = START + 40 * SECOND;
    List<RequestEvent> events =
        run(
            List.of(new Incident(Incident.Kind.SILENT_HOST, host, from, to, 0)),
            60,
            new ArrayList<>());
    assertThat(events)
        .filteredOn(e -> e.getHost().equals(host))
        .isNotEmpty()
        .noneMatch(e -> e.getCompletedUs() >= from && e.getCompletedUs() < to);
  }

  @Test
  void thermalThrottleSetsThrottleBits() {
    FleetSpec fleet = FleetSpec.defaultFleet();
    String device = FleetSimulator.deviceId(fleet.hosts().get(1), 0);
    List<HardwareSample> samples = new ArrayList<>();
    run(
        List.of(
            new Incident(Incident.Kind.THERMAL_THROTTLE, device, START, START + 600 * SECOND, 0)),
        10,
        samples);
    assertThat(samples)
        .filteredOn(s -> s.getDeviceId().equals(device))
        .isNotEmpty()
        .allSatisfy(s -> assertThat(s.getThrottleReasons()).isNotZero());
    assertThat(samples)
        .filteredOn(s -> !s.getDeviceId().equals(device))
        .allSatisfy(s -> assertThat(s.getThrottleReasons()).isZero());
  }

  private static double meanTpot(List<RequestEvent> events, String model) {
    return events.stream()
        .filter(e -> e.getModel().equals(model) && !e.getColdStart())
        .map(RequestTimings::tpotUs)
        .filter(java.util.OptionalLong::isPresent)
        .mapToLong(java.util.OptionalLong::getAsLong)
        .average()
        .orElseThrow();
  }
}
