package io.infermeter.streams;

import static io.infermeter.streams.TopologyFixture.T0_MS;
import static io.infermeter.streams.TopologyFixture.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Request alert rules through the production topology: latency regression on TTFT at 5 requests/s
 * (windows pooled), one alert per metric with its own label and dedup key.
 */
class AlertRulesTopologyTest {

  /** 50 requests per 10 s window (5 req/s) on h1; prefill x {@code slow} in the given windows. */
  private static void traffic(TopologyFixture f, int windows, int slowFrom, int slowTo) {
    for (int w = 0; w < windows; w++) {
      double slow = w >= slowFrom && w < slowTo ? 2.0 : 1.0;
      for (int i = 0; i < 50; i++) {
        long prefillUs = (long) (200_000 * (0.8 + 0.4 * ((i * 37) % 100) / 100.0) * slow);
        f.send(
            request(
                    "w" + w + "-" + i,
                    "h1",
                    "m1",
                    T0_MS + w * 10_000L + i * 200L,
                    0,
                    prefillUs,
                    3_000_000,
                    100)
                .build());
      }
    }
  }

  @Test
  void twiceTheTtftAtFiveRequestsPerSecondFiresOnlyTheTtftAlert() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // warm-up 8 judgments of 8 windows (64), TTFT doubled for windows 64-103
      traffic(f, 140, 64, 104);
      List<Alert> lat =
          f.alerts.readValuesToList().stream()
              .filter(a -> a.getRule().equals("latency_regression") && a.getHost().equals("h1"))
              .toList();
      assertThat(lat)
          .extracting(Alert::getState)
          .containsExactly(AlertState.FIRING, AlertState.RESOLVED);
      Alert firing = lat.get(0);
      assertThat(firing.getKey()).containsEntry("metric", "ttft");
      assertThat(firing.getEvidence())
          .containsEntry("metric", "ttft")
          .containsEntry("pooledWindows", "8");
      assertThat(firing.getDedupKey()).contains("|ttft|");
      assertThat(lat.get(1).getDedupKey()).isEqualTo(firing.getDedupKey());
      // fires in the incident (3 pools over: windows 64-87), after its start
      assertThat(firing.getWindowStartUs())
          .isBetween((T0_MS + 64 * 10_000L) * 1000, (T0_MS + 104 * 10_000L) * 1000);
    }
  }

  @Test
  void steadyLatencyAtFiveRequestsPerSecondRaisesNoLatencyOrJitterAlert() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      traffic(f, 120, 0, 0);
      assertThat(f.alerts.readValuesToList())
          .noneMatch(
              a -> a.getRule().equals("latency_regression") || a.getRule().equals("p99_jitter"));
    }
  }
}
