package io.infermeter.streams.windows;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

/** Unit tests of the fleet's upstream watermark (plain maps for its persistence). */
class UpstreamWatermarkTest {

  private static final long GRACE = 5_000;
  private static final long IDLE = 30_000;

  /** The headers {@link UpstreamWatermark#stamped} puts on a partial. */
  private static Headers headers(String taskId, long streamTimeMs) {
    return UpstreamWatermark.stamped(new Record<>("fleet", "partial", 0L), taskId, streamTimeMs)
        .headers();
  }

  @Test
  void theSlowestUpstreamTaskHoldsTheWatermark() {
    Map<String, Long> kept = new HashMap<>();
    UpstreamWatermark w = new UpstreamWatermark(HashMap::new, kept::put, GRACE, IDLE, 2, 0);
    assertThat(w.watermark(0)).isEqualTo(-1);
    w.report(headers("0_0", 200_000), 190_000, 1_000); // a task far ahead (catching up faster)
    w.report(headers("0_1", 70_000), 60_000, 1_000);
    assertThat(w.watermark(1_000)).isEqualTo(70_000 - GRACE);
    w.report(headers("0_1", 120_000), 110_000, 2_000);
    assertThat(w.watermark(2_000)).isEqualTo(120_000 - GRACE);
    w.report(headers("0_1", 100_000), 90_000, 2_500); // an older report never lowers it
    assertThat(w.watermark(2_500)).isEqualTo(120_000 - GRACE);
    assertThat(kept).containsEntry("0_0", 200_000L).containsEntry("0_1", 120_000L);
  }

  @Test
  void aSilentTaskStopsHoldingWindowsAfterTheIdleTime() {
    UpstreamWatermark w = new UpstreamWatermark(HashMap::new, (t, v) -> {}, GRACE, IDLE, 0, -IDLE);
    w.report(headers("0_0", 50_000), 40_000, 0);
    w.report(headers("0_1", 300_000), 290_000, 25_000);
    assertThat(w.watermark(25_000)).isEqualTo(50_000 - GRACE);
    assertThat(w.watermark(30_001)).as("0_0 silent for more than 30 s").isEqualTo(300_000 - GRACE);
    assertThat(w.watermark(100_000)).as("all silent: the newest report").isEqualTo(300_000 - GRACE);
  }

  @Test
  void aFirstStartWaitsForEveryExpectedTaskOrTheIdleTime() {
    UpstreamWatermark w = new UpstreamWatermark(HashMap::new, (t, v) -> {}, GRACE, IDLE, 2, 0);
    w.report(headers("0_0", 200_000), 190_000, 1_000);
    assertThat(w.watermark(1_000)).as("0_1 has not reported yet").isEqualTo(-1);
    assertThat(w.watermark(IDLE)).as("after the idle time, without it").isEqualTo(200_000 - GRACE);
    UpstreamWatermark both = new UpstreamWatermark(HashMap::new, (t, v) -> {}, GRACE, IDLE, 2, 0);
    both.report(headers("0_0", 200_000), 190_000, 1_000);
    both.report(headers("0_1", 90_000), 80_000, 2_000);
    assertThat(both.watermark(2_000)).isEqualTo(90_000 - GRACE);
    UpstreamWatermark unknownCount =
        new UpstreamWatermark(HashMap::new, (t, v) -> {}, GRACE, IDLE, 0, 0);
    unknownCount.report(headers("0_0", 200_000), 190_000, 1_000);
    assertThat(unknownCount.watermark(1_000)).as("count unknown: the idle time").isEqualTo(-1);
    assertThat(unknownCount.watermark(IDLE + 1)).isEqualTo(200_000 - GRACE);
  }

  @Test
  void reportsSurviveARestartAndPartialsWithoutHeadersReportTheirWindowEnd() {
    Map<String, Long> kept = new HashMap<>();
    UpstreamWatermark before = new UpstreamWatermark(HashMap::new, kept::put, GRACE, IDLE, 2, 0);
    before.report(headers("0_0", 80_000), 70_000, 0);
    before.report(headers("0_1", 60_000), 50_000, 0);
    UpstreamWatermark after =
        new UpstreamWatermark(() -> new HashMap<>(kept), kept::put, GRACE, IDLE, 2, 1_000);
    assertThat(after.watermark(1_000)).isEqualTo(60_000 - GRACE);
    UpstreamWatermark legacy =
        new UpstreamWatermark(HashMap::new, (t, v) -> {}, GRACE, IDLE, 0, -IDLE);
    legacy.report(new Record<>("k", "v", 0L).headers(), 40_000, 0);
    assertThat(legacy.watermark(0))
        .as("as if its task were at window end + grace")
        .isEqualTo(40_000);
  }
}
