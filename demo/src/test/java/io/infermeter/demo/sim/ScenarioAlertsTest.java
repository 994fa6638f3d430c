package io.infermeter.demo.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The demo's alerts across 10 seeds, judged by the PRODUCTION streams topology: the simulated
 * fleet's requests, hardware samples and vLLM engine samples go through {@link SimulatedTopology}
 * (InfermeterTopology under Kafka Streams' TopologyTestDriver, the settings {@code ./infermeter
 * demo} starts the streams app with). Unit test: TopologyTestDriver and an in-memory schema
 * registry, no Kafka or other servers.
 *
 * <p>Per seed (each with another alignment of the run against the 10 s windows): the scripted
 * event-time incidents of a 240 s backfill (the end-to-end test's) plus a silent host for 60 s (the
 * demo's live-phase incident, here in the same clock), run for 260 s so that every alert of an
 * incident has time to resolve. Every alert that fires must lie in a scripted incident's scope: the
 * rule that incident targets, its subject (model, device or host) and its time, from its start to
 * {@link #LAG_US} after its end (a rule judges closed windows, pooled ones for latency); every
 * scripted incident fires at least one alert, every alert that fires resolves by the end, and
 * nothing is dead-lettered. Prints the alerts per seed, in and outside the incidents.
 */
class ScenarioAlertsTest {

  private static final long[] SEEDS = {42, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  private static final long SECOND_US = 1_000_000L;
  private static final long DURATION_US = 240 * SECOND_US; // the end-to-end test's backfill
  private static final long RUN_US = 260 * SECOND_US;
  private static final long SILENT_FROM_US = 150 * SECOND_US;
  private static final long SILENT_US = 60 * SECOND_US; // ./infermeter demo's --silent-host

  /** How long after its incident ends an alert may still fire. */
  private static final long LAG_US = 60 * SECOND_US;

  @Test
  void alertsFireOnlyInScriptedIncidentsAndEveryIncidentFiresAndResolves() {
    List<String> perSeed = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    for (long seed : SEEDS) {
      long startUs = 1_795_000_000_000_000L + seed * 837_000L;
      FleetSpec fleet = FleetSpec.defaultFleet();
      List<Incident> incidents = new ArrayList<>(Scenario.incidents(fleet, startUs, DURATION_US));
      incidents.add(
          Scenario.silentHost(
              fleet, startUs + SILENT_FROM_US, startUs + SILENT_FROM_US + SILENT_US));
      long t0 = System.nanoTime();
      List<Alert> alerts;
      int deadLetters;
      try (SimulatedTopology topology =
          new SimulatedTopology(new FleetSimulator(fleet, incidents, seed, startUs), startUs)) {
        topology.runUntil(startUs + RUN_US);
        alerts = topology.alerts();
        deadLetters = topology.deadLetters().size();
      }
      Map<String, Alert> firing = new HashMap<>();
      List<String> falseAlerts = new ArrayList<>();
      int trueAlerts = 0;
      Map<Incident, Integer> fired = new HashMap<>();
      for (Alert a : alerts) {
        if (a.getState() == AlertState.FIRING) {
          firing.put(a.getDedupKey(), a);
          Incident scope = incidents.stream().filter(i -> inScope(a, i)).findFirst().orElse(null);
          if (scope == null) {
            falseAlerts.add(describe(a, startUs));
          } else {
            trueAlerts++;
            fired.merge(scope, 1, Integer::sum);
          }
        } else if (a.getState() == AlertState.RESOLVED) {
          firing.remove(a.getDedupKey());
        }
      }
      perSeed.add(
          String.format(
              "seed %d: %d alerts fired in incidents, %d outside (%.1f s)",
              seed, trueAlerts, falseAlerts.size(), (System.nanoTime() - t0) / 1e9));
      if (!falseAlerts.isEmpty()) {
        failures.add("seed " + seed + " fired outside the scripted incidents: " + falseAlerts);
      }
      for (Incident i : incidents) {
        if (!fired.containsKey(i)) {
          failures.add(
              String.format(
                  "seed %d: no alert for %s on %s (+%d..+%d s)",
                  seed,
                  i.kind(),
                  i.target(),
                  (i.fromUs() - startUs) / SECOND_US,
                  (i.toUs() - startUs) / SECOND_US));
        }
      }
      if (!firing.isEmpty()) {
        failures.add(
            "seed "
                + seed
                + " left alerts firing: "
                + firing.values().stream().map(a -> describe(a, startUs)).toList());
      }
      if (deadLetters > 0) {
        failures.add("seed " + seed + ": " + deadLetters + " dead letters");
      }
    }
    System.out.println("ScenarioAlertsTest\n  " + String.join("\n  ", perSeed));
    assertThat(failures).as("per seed: %s", perSeed).isEmpty();
  }

  /** Whether FIRING alert {@code a} is one that incident {@code i} scripts: rule, subject, time. */
  static boolean inScope(Alert a, Incident i) {
    boolean subject =
        switch (i.kind()) {
          case LATENCY_REGRESSION ->
              a.getRule().equals("latency_regression") && a.getModel().equals(i.target());
          case MEMORY_LEAK ->
              Set.of("memory_leak", "gpu_memory_high").contains(a.getRule())
                  && a.getDeviceId().equals(i.target());
          case THERMAL_THROTTLE ->
              a.getRule().equals("throttling") && a.getDeviceId().equals(i.target());
          case KV_SATURATION ->
              a.getRule().equals("gpu_memory_high") && a.getDeviceId().equals(i.target());
          case SILENT_HOST -> a.getRule().equals("host_silent") && a.getHost().equals(i.target());
        };
    return subject && a.getWindowEndUs() > i.fromUs() && a.getWindowEndUs() <= i.toUs() + LAG_US;
  }

  private static String describe(Alert a, long startUs) {
    return String.format(
        "%s %s host=%s model=%s device=%s window +%d..+%d s: %s",
        a.getState(),
        a.getRule(),
        a.getHost(),
        a.getModel(),
        a.getDeviceId(),
        (a.getWindowStartUs() - startUs) / SECOND_US,
        (a.getWindowEndUs() - startUs) / SECOND_US,
        a.getSummary());
  }
}
