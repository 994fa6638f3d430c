package io.infermeter.streams.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

/** Unit tests of the fleet's upstream watermark (plain maps for its persistence). */
class UpstreamWatermarkTest {

  private static final long GRACE = 5_000;
  private static final long IDLE = 30_000;

  @Test
  void theSlowestUpstreamTaskHoldsTheWatermark() {
    Map<String, Long> kept = new HashMap<>();
    UpstreamWatermark w = new UpstreamWatermark(HashMap::new, kept::put, GRACE, IDLE);
    assertThat(w.watermark(0)).isEqualTo(-1);
    w.report(UpstreamWatermark.headers("0_0", 200_000), 190_000, 1_000); // a task far ahead (catching up faster)
    w.report(UpstreamWatermark.headers("0_1", 70_000), 60_000, 1_000);
    assertThat(w.watermark(1_000)).isEqualTo(70_000 - GRACE);
    w.report(UpstreamWatermark.headers("0_1", 120_000), 110_000, 2_000);
    assertThat(w.watermark(2_000)).isEqualTo(120_000 - GRACE);
    w.report(UpstreamWatermark.headers("0_1", 100_000), 90_000, 2_500); // an older report never lowers it
    assertThat(w.watermark(2_500)).isEqualTo(120_000 - GRACE);
    assertThat(kept).containsEntry("0_0", 200_000L).containsEntry("0_1", 120_000L);
  }

  @Test
  void aSilentTaskStopsHoldingWindowsAfterTheIdleTime() {
    UpstreamWatermark w = new UpstreamWatermark(HashMap::new, (t, v) -> { }, GRACE, IDLE);
    w.report(UpstreamWatermark.headers("0_0", 50_000), 40_000, 0);
    w.report(UpstreamWatermark.headers("0_1", 300_000), 290_000, 25_000);
    assertThat(w.watermark(25_000)).isEqualTo(50_000 - GRACE);
    assertThat(w.watermark(30_001)).as("0_0 silent for more than 30 s").isEqualTo(300_000 - GRACE);
    assertThat(w.watermark(100_000)).as("all silent: the newest report").isEqualTo(300_000 - GRACE);
  }

  @Test
  void reportsSurviveARestartAndPartialsWithoutHeadersReportTheirWindowEnd() {
    Map<String, Long> kept = new HashMap<>();
    UpstreamWatermark before = new UpstreamWatermark(HashMap::new, kept::put, GRACE, IDLE);
    before.report(UpstreamWatermark.headers("0_0", 80_000), 70_000, 0);
    before.report(UpstreamWatermark.headers("0_1", 60_000), 50_000, 0);
    UpstreamWatermark after = new UpstreamWatermark(() -> new HashMap<>(kept), kept::put, GRACE, IDLE);
    assertThat(after.watermark(1_000)).isEqualTo(60_000 - GRACE);
    UpstreamWatermark legacy = new UpstreamWatermark(HashMap::new, (t, v) -> { }, GRACE, IDLE);
    legacy.report(new RecordHeaders(), 40_000, 0);
    assertThat(legacy.watermark(0)).as("as if its task were at window end + grace").isEqualTo(40_000);
  }
}
