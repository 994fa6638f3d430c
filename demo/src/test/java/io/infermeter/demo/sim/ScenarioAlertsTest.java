package io.infermeter.demo.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.AlertState;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.schemas.RequestTimings;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.StreamsSettings.AlertSettings;
import io.infermeter.streams.alerts.AlertRules;
import io.infermeter.streams.alerts.RuleState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/**
 * The demo's scripted latency regression, judged by the production latency-regression rule (default
 * settings) on the fleet's 10 s windows of the model, as the end-to-end test expects it: the alert
 * fires during the incident and is resolved by the end of the run, whatever the alignment of the
 * run's start against the windows (the end-to-end test starts at the wall clock, so every run has
 * another one). Unit test: the simulator's requests go straight to the rule, no Kafka. Percentiles
 * as the app reports them: HdrHistogram's, 3 significant digits, capped at the maximum.
 */
class ScenarioAlertsTest {

  private static final long DURATION_US = 240_000_000L; // the end-to-end test's backfill
  private static final long RUN_US = 330_000_000L; // backfill, catch-up and live phase
  private static final long WINDOW_US = 10_000_000L;

  @Test
  void theScriptedRegressionFiresAndResolvesAtEveryWindowAlignment() {
    AlertSettings cfg = StreamsSettings.fromMap(Map.of()).alerts();
    for (int k = 0; k < 12; k++) {
      long startUs =
          1_795_000_000_000_000L + k * 837_000L; // 12 different offsets against the 10 s windows
      FleetSpec fleet = FleetSpec.defaultFleet();
      List<Incident> incidents = new ArrayList<>(Scenario.incidents(fleet, startUs, DURATION_US));
      Incident regression =
          incidents.stream()
              .filter(i -> i.kind() == Incident.Kind.LATENCY_REGRESSION)
              .findFirst()
              .orElseThrow();
      FleetSimulator sim = new FleetSimulator(fleet, incidents, 42, startUs);
      TreeMap<Long, Histogram> windows = new TreeMap<>();
      for (long t = startUs + 1_000_000; t <= startUs + RUN_US; t += 1_000_000) {
        for (RequestEvent e : sim.requestsCompletedBefore(t)) {
          long e2e = RequestTimings.e2eUs(e).orElse(-1);
          // as the app's histograms: warm, successful requests only
          if (e.getModel().equals(regression.target())
              && !e.getColdStart()
              && e.getStatus() == RequestStatus.OK
              && e2e >= 0) {
            windows
                .computeIfAbsent(
                    Math.floorDiv(e.getCompletedUs(), WINDOW_US), w -> new Histogram(3))
                .recordValue(e2e);
          }
        }
      }
      RuleState state = new RuleState();
      List<String> transitions = new ArrayList<>();
      for (Map.Entry<Long, Histogram> w : windows.entrySet()) {
        Histogram h = w.getValue();
        long p99 = Math.min(h.getValueAtPercentile(99), h.getMaxValue());
        long endUs = (w.getKey() + 1) * WINDOW_US;
        AlertRules.Decision d = AlertRules.latencyRegression(state, p99, h.getTotalCount(), cfg);
        AlertState change = AlertRules.transition(state, d.condition(), endUs);
        if (change != null) {
          transitions.add(change + "@" + (endUs - startUs) / 1_000_000 + "s");
        }
      }
      long incidentFromS = (regression.fromUs() - startUs) / 1_000_000;
      long incidentToS = (regression.toUs() - startUs) / 1_000_000;
      assertThat(transitions)
          .as(
              "alignment %d: transitions (window end, seconds from the start); incident %d-%d s",
              k, incidentFromS, incidentToS)
          .anyMatch(
              t ->
                  t.startsWith("FIRING@")
                      && seconds(t) > incidentFromS
                      && seconds(t) <= incidentToS + 30)
          .last()
          .satisfies(t -> assertThat(t).startsWith("RESOLVED@"));
    }
  }

  private static long seconds(String transition) {
    return Long.parseLong(
        transition.substring(transition.indexOf('@') + 1, transition.length() - 1));
  }
}
