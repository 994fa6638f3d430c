package io.infermeter.demo.sim;

import java.util.ArrayList;
import java.util.List;

/**
 * The demo's scripted incidents, placed at fixed fractions of the simulated run so that each alert
 * rule has time to see a baseline, fire, and resolve: a latency regression of one model, a GPU
 * memory leak, a thermal throttle and a vLLM KV cache running full (all judged in event time, so
 * they may sit in the fast backfill), and a silent host, which the streams app judges by its own
 * wall clock, so it must happen in real time: {@link #silentHost}.
 */
public final class Scenario {

  private Scenario() {}

  /**
   * Event-time incidents for a backfill of {@code durationUs} starting at {@code startUs} on {@code
   * fleet}.
   */
  public static List<Incident> incidents(FleetSpec fleet, long startUs, long durationUs) {
    List<Incident> out = new ArrayList<>();
    out.add(
        new Incident(
            Incident.Kind.LATENCY_REGRESSION,
            "llama-3.1-8b-instruct",
            at(startUs, durationUs, 0.40),
            at(startUs, durationUs, 0.60),
            1.8));
    FleetSpec.Host leaking = fleet.hosts().get(2);
    // enough to push an 80 GiB GPU from about half full past 85 % (to about 93 %) within the
    // incident
    double leakBytesPerSec = 0.38 * leaking.memoryBytes() / (0.4 * durationUs / 1e6);
    out.add(
        new Incident(
            Incident.Kind.MEMORY_LEAK,
            FleetSimulator.deviceId(leaking, 0),
            at(startUs, durationUs, 0.30),
            at(startUs, durationUs, 0.70),
            leakBytesPerSec));
    out.add(
        new Incident(
            Incident.Kind.THERMAL_THROTTLE,
            FleetSimulator.deviceId(fleet.hosts().get(3), 1),
            at(startUs, durationUs, 0.50),
            at(startUs, durationUs, 0.65),
            0));
    // the 70B model's vLLM on the second host runs out of KV cache: the memory-pressure alert must
    // fire on its KV
    // usage (while its device memory, pre-allocated, says nothing) and resolve when the queue
    // drains
    out.add(
        new Incident(
            Incident.Kind.KV_SATURATION,
            FleetSimulator.deviceId(fleet.hosts().get(1), 0),
            at(startUs, durationUs, 0.15),
            at(startUs, durationUs, 0.28),
            2.0));
    return out;
  }

  /**
   * The last host of the fleet goes silent for [fromUs, toUs) (run it in real time, see the class
   * comment).
   */
  public static Incident silentHost(FleetSpec fleet, long fromUs, long toUs) {
    return new Incident(
        Incident.Kind.SILENT_HOST,
        fleet.hosts().get(fleet.hosts().size() - 1).name(),
        fromUs,
        toUs,
        0);
  }

  private static long at(long startUs, long durationUs, double fraction) {
    return startUs + (long) (durationUs * fraction);
  }
}
