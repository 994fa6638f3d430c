package io.infermeter.demo.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeviceWindowEnergy;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The simulated fleet's idle time shows as idle energy where the demo's summary reads it: the
 * default fleet (seed 42, no incident) through {@link SimulatedTopology} (the PRODUCTION streams
 * topology under TopologyTestDriver, no servers), idle energy / measured energy of the device
 * windows from minute 1 to minute 3, per region as the summary's {@code energy_carbon_by_region}
 * sums it, and per host. Every region has a host with bursts of traffic ({@link FleetSpec#BURSTS}),
 * so every region books idle energy; a host with steady traffic has a request in flight on its GPUs
 * nearly all the time and books almost none.
 */
class IdleEnergyTest {

  private static final long SECOND_US = 1_000_000L;

  @Test
  void idleGpusShowAsIdleEnergyInEveryRegion() {
    long startUs = 1_795_000_000_000_000L;
    FleetSpec fleet = FleetSpec.defaultFleet();
    List<DeviceWindowEnergy> energy;
    try (SimulatedTopology topology =
        new SimulatedTopology(new FleetSimulator(fleet, List.of(), 42, startUs), startUs)) {
      topology.runUntil(startUs + 240 * SECOND_US);
      energy = topology.energy();
    }
    // the newest version of each device window (a correction re-emits one)
    Map<String, DeviceWindowEnergy> windows = new TreeMap<>();
    for (DeviceWindowEnergy e : energy) {
      if (e.getWindowStartUs() >= startUs + 60 * SECOND_US
          && e.getWindowEndUs() <= startUs + 180 * SECOND_US) {
        windows.put(e.getDeviceId() + "@" + e.getWindowStartUs(), e);
      }
    }
    Map<String, double[]> byRegion = new TreeMap<>();
    Map<String, double[]> byHost = new TreeMap<>();
    for (DeviceWindowEnergy e : windows.values()) {
      for (double[] sum :
          List.of(
              byRegion.computeIfAbsent(e.getRegion(), r -> new double[2]),
              byHost.computeIfAbsent(e.getHost(), h -> new double[2]))) {
        sum[0] += e.getIdleEnergyJ();
        sum[1] += e.getMeasuredEnergyJ();
      }
    }
    Map<String, Double> regionIdle = shares(byRegion);
    Map<String, Double> hostIdle = shares(byHost);
    System.out.println("IdleEnergyTest: idle share of energy by region " + regionIdle);
    System.out.println("IdleEnergyTest: idle share of energy by host " + hostIdle);
    assertThat(windows).as("device windows of minutes 1-3").hasSize(12 * 12);
    assertThat(regionIdle)
        .containsOnlyKeys("us-east-1", "eu-west-1", "ap-south-1")
        .allSatisfy((region, idle) -> assertThat(idle).as(region).isGreaterThan(0.01));
    for (FleetSpec.Host host : fleet.hosts()) {
      assertThat(hostIdle.get(host.name()))
          .as(host.name())
          .satisfies(
              idle -> {
                if (host.bursts().bursty()) {
                  assertThat(idle).isGreaterThan(0.02);
                } else {
                  assertThat(idle).isLessThan(0.005);
                }
              });
    }
  }

  private static Map<String, Double> shares(Map<String, double[]> sums) {
    Map<String, Double> out = new TreeMap<>();
    sums.forEach((k, v) -> out.put(k, Math.round(v[0] / v[1] * 1000) / 1000.0));
    return out;
  }
}
