package io.infermeter.demo.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.AlertState;
import io.infermeter.avro.HardwareSample;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.StreamsSettings.AlertSettings;
import io.infermeter.streams.alerts.AlertRules;
import io.infermeter.streams.alerts.RuleState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The demo's scripted memory leak, judged by the production memory-leak rule on each GPU's 10 s
 * windows (memory at window end, mean utilization) with the settings the demo and its end-to-end
 * test give the streams app (1 min horizon, 8 GiB/min): the leaking GPU fires during the incident
 * and is resolved by the end of the run; no other GPU fires, whatever the alignment of the run
 * against the windows. Unit test: no Kafka.
 */
class ScenarioLeakTest {

  private static final long DURATION_US = 240_000_000L; // the end-to-end test's backfill
  private static final long RUN_US = 330_000_000L;
  private static final long WINDOW_US = 10_000_000L;

  /** One GPU's 10 s window. */
  private static final class Window {
    long memLast = -1;
    double utilSum;
    int utilN;
  }

  @Test
  void theLeakingGpuFiresAndResolvesAndNoOtherGpuFires() {
    AlertSettings cfg =
        StreamsSettings.fromMap(
                Map.of("alerts.memory.leak.horizon", "1m", "alerts.memory.leak.rate", "8192"))
            .alerts();
    for (int k = 0; k < 4; k++) {
      long startUs = 1_795_000_000_000_000L + k * 2_513_000L;
      FleetSpec fleet = FleetSpec.defaultFleet();
      List<Incident> incidents = Scenario.incidents(fleet, startUs, DURATION_US);
      Incident leak =
          incidents.stream()
              .filter(i -> i.kind() == Incident.Kind.MEMORY_LEAK)
              .findFirst()
              .orElseThrow();
      FleetSimulator sim = new FleetSimulator(fleet, incidents, 42, startUs);
      Map<String, TreeMap<Long, Window>> windows = new TreeMap<>();
      for (long t = startUs + 1_000_000; t <= startUs + RUN_US; t += 1_000_000) {
        sim.requestsCompletedBefore(t);
        for (HardwareSample s : sim.samplesAt(t, 1_000_000L)) {
          Window w =
              windows
                  .computeIfAbsent(s.getDeviceId(), d -> new TreeMap<>())
                  .computeIfAbsent(Math.floorDiv(t, WINDOW_US), i -> new Window());
          w.memLast = s.getMemoryUsedBytes();
          if (s.getUtilizationPct() != null) {
            w.utilSum += s.getUtilizationPct();
            w.utilN++;
          }
        }
      }
      Map<String, List<String>> transitions = new TreeMap<>();
      windows.forEach(
          (device, ws) -> {
            RuleState state = new RuleState();
            ws.forEach(
                (index, w) -> {
                  long endUs = (index + 1) * WINDOW_US;
                  AlertRules.Decision d =
                      AlertRules.memoryLeak(
                          state,
                          endUs / 1000,
                          w.memLast,
                          w.utilN == 0 ? Double.NaN : w.utilSum / w.utilN,
                          cfg);
                  AlertState change = AlertRules.transition(state, d.condition(), endUs);
                  if (change != null) {
                    transitions
                        .computeIfAbsent(device, x -> new ArrayList<>())
                        .add(change + "@" + (endUs - startUs) / 1_000_000);
                  }
                });
          });
      long fromS = (leak.fromUs() - startUs) / 1_000_000;
      long toS = (leak.toUs() - startUs) / 1_000_000;
      assertThat(transitions)
          .as(
              "alignment %d: memory_leak transitions per GPU; leak %d-%d s on %s",
              k, fromS, toS, leak.target())
          .containsOnlyKeys(leak.target());
      List<String> t = transitions.get(leak.target());
      assertThat(t).as("alignment %d", k).hasSize(2);
      assertThat(t.get(0)).startsWith("FIRING@");
      assertThat(Long.parseLong(t.get(0).substring(7))).isBetween(fromS, toS);
      assertThat(t.get(1)).startsWith("RESOLVED@");
      assertThat(Long.parseLong(t.get(1).substring(9))).isBetween(toS, toS + 60);
    }
  }
}
