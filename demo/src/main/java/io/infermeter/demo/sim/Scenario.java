package io.infermeter.demo.sim;

import java.util.ArrayList;
import java.util.List;

/**
 * The demo's scripted incidents, placed at fixed fractions of the simulated run so that each alert rule has time to
 * see a baseline, fire, and resolve: a latency regression of one model, a GPU memory leak, a thermal throttle and a
 * silent host.
 */
public final class Scenario {

  private Scenario() {}

  /** Incidents for a run of {@code durationUs} starting at {@code startUs} on {@code fleet}. */
  public static List<Incident> incidents(FleetSpec fleet, long startUs, long durationUs) {
    List<Incident> out = new ArrayList<>();
    out.add(new Incident(Incident.Kind.LATENCY_REGRESSION, "llama-3.1-8b-instruct",
        at(startUs, durationUs, 0.40), at(startUs, durationUs, 0.60), 1.8));
    FleetSpec.Host leaking = fleet.hosts().get(2);
    // enough to push an 80 GiB GPU from about half full past 85 % within the incident
    double leakBytesPerSec = 0.45 * leaking.memoryBytes() / (0.3 * durationUs / 1e6);
    out.add(new Incident(Incident.Kind.MEMORY_LEAK, FleetSimulator.deviceId(leaking, 0),
        at(startUs, durationUs, 0.30), at(startUs, durationUs, 0.70), leakBytesPerSec));
    out.add(new Incident(Incident.Kind.THERMAL_THROTTLE, FleetSimulator.deviceId(fleet.hosts().get(3), 1),
        at(startUs, durationUs, 0.50), at(startUs, durationUs, 0.65), 0));
    out.add(new Incident(Incident.Kind.SILENT_HOST, fleet.hosts().get(5).name(),
        at(startUs, durationUs, 0.70), at(startUs, durationUs, 0.85), 0));
    return out;
  }

  private static long at(long startUs, long durationUs, double fraction) {
    return startUs + (long) (durationUs * fraction);
  }
}
