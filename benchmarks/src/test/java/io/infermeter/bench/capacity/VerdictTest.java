package io.infermeter.bench.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VerdictTest {

  private static final long BOUND_MS = 20_000;

  private static Verdict.Step step(
      int rate, double achieved, boolean streamsGrew, boolean sinkGrew, double p99Ms) {
    return step(rate, achieved, streamsGrew, sinkGrew, p99Ms, 1.0, 0.9);
  }

  private static Verdict.Step step(
      int rate,
      double achieved,
      boolean streamsGrew,
      boolean sinkGrew,
      double p99Ms,
      double streamsPeakSeconds,
      double sendingShare) {
    return new Verdict.Step(
        rate,
        achieved,
        Map.of(
            "collector", 60.0, "driver", 30.0, "streams", 80.0, "sink", 10.0, "clickhouse", 20.0),
        90,
        streamsGrew ? 500_000 : 100,
        streamsGrew,
        sinkGrew ? 90_000 : 10,
        sinkGrew,
        streamsPeakSeconds,
        sendingShare,
        100,
        0,
        p99Ms / 2,
        p99Ms);
  }

  @Test
  void highestSustainedSkipsFailedSteps() {
    List<Verdict.Step> steps =
        List.of(
            step(2000, 2000, false, false, 8000),
            step(5000, 4990, false, false, 12000),
            step(10000, 9000, false, false, 30000));
    assertThat(Verdict.highestSustained(steps, BOUND_MS).orElseThrow().targetRate())
        .isEqualTo(5000);
    assertThat(Verdict.firstSaturated(steps, BOUND_MS, false).orElseThrow())
        .startsWith("collector (HTTP ingest) at 10,000 requests/s: accepted 9000 of 10000");
  }

  @Test
  void streamsBeforeSinkBeforeFreshness() {
    assertThat(
            Verdict.firstSaturated(List.of(step(5000, 5000, true, true, 60000)), BOUND_MS, false)
                .orElseThrow())
        .startsWith("streams app and ClickHouse (behind the sink) at 5,000 requests/s");
    assertThat(
            Verdict.firstSaturated(List.of(step(5000, 5000, false, true, 60000)), BOUND_MS, false)
                .orElseThrow())
        .startsWith("ClickHouse (behind the sink) at 5,000");
    assertThat(
            Verdict.firstSaturated(List.of(step(5000, 5000, false, false, 60000)), BOUND_MS, false)
                .orElseThrow())
        .startsWith("sink / ClickHouse (freshness) at 5,000");
    assertThat(
            Verdict.firstSaturated(
                    List.of(step(5000, 5000, false, false, 60000, 8.0, 0.2)), BOUND_MS, false)
                .orElseThrow())
        .startsWith("streams app at 5,000")
        .contains("stood at 100 records (peak 8.0 s of input)");
  }

  @Test
  void everyStageThatGaveOutIsNamed() {
    assertThat(
            Verdict.firstSaturated(
                    List.of(step(20000, 16000, true, false, 36000, 14.0, 0.7)), BOUND_MS, false)
                .orElseThrow())
        .startsWith("collector (HTTP ingest) and streams app at 20,000 requests/s")
        .contains("freshness p99 36.0 s against the bound of 20.0 s");
  }

  @Test
  void aDriverWithTimeLeftIsNotTheCollectorsFault() {
    assertThat(
            Verdict.firstSaturated(
                    List.of(step(40000, 20000, false, false, 9000, 1.0, 0.2)), BOUND_MS, false)
                .orElseThrow())
        .startsWith("load driver at 40,000 requests/s");
  }

  @Test
  void missingWindowsFailFreshness() {
    Verdict.Step s =
        new Verdict.Step(
            1000, 1000, Map.of(), 10, 0, false, 0, false, 0.5, 0.1, 90, 10, 5000, 9000);
    assertThat(s.sustained(BOUND_MS)).isFalse();
    assertThat(Verdict.highestSustained(List.of(s), BOUND_MS)).isEmpty();
  }

  @Test
  void allSustainedNamesNoStage() {
    assertThat(
            Verdict.firstSaturated(List.of(step(1000, 1000, false, false, 9000)), BOUND_MS, true))
        .isEmpty();
  }
}
