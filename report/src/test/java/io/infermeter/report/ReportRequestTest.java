package io.infermeter.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ReportRequestTest {

  private static final Instant T = Instant.parse("2026-11-23T13:00:00Z");

  private static ReportRequest request(
      String db, Instant from, Instant to, long windowMs, List<String> metrics, int maxPoints) {
    return new ReportRequest(db, from, to, windowMs, 500_000, 50_000, metrics, maxPoints, T);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "1abc", "a-b", "a.b", "x; DROP DATABASE y", "a b"})
  void rejectsDatabaseNamesThatAreNotIdentifiers(String db) {
    assertThatThrownBy(() -> request(db, T, T.plusSeconds(1), 10_000, List.of(), 10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("database must be an identifier");
  }

  @Test
  void rejectsEmptyOrReversedRangesUnknownMetricsAndBadSizes() {
    assertThatThrownBy(() -> request("db", T, T, 10_000, List.of(), 10))
        .hasMessageContaining("from < to");
    assertThatThrownBy(() -> request("db", T, T.minusSeconds(1), 10_000, List.of(), 10))
        .hasMessageContaining("from < to");
    assertThatThrownBy(() -> request("db", T, T.plusSeconds(1), 0, List.of(), 10))
        .hasMessageContaining("window size");
    assertThatThrownBy(() -> request("db", T, T.plusSeconds(1), 10_000, List.of("p99"), 10))
        .hasMessageContaining("unknown latency metric 'p99'");
    assertThatThrownBy(() -> request("db", T, T.plusSeconds(1), 10_000, List.of(), 1))
        .hasMessageContaining("maxPoints");
    assertThatThrownBy(
            () -> new ReportRequest("db", T, T.plusSeconds(1), 10_000, 0, 1, List.of(), 10, T))
        .hasMessageContaining("SLO thresholds");
  }

  @ParameterizedTest
  @CsvSource({
    // range seconds, window ms, max points, expected step seconds
    "3600, 10000, 360, 10",
    "3601, 10000, 360, 20",
    "86400, 10000, 360, 240",
    "86400, 60000, 360, 240",
    "5, 10000, 360, 10",
    "7200, 60000, 100, 120",
  })
  void stepIsAWholeNumberOfWindowsKeepingAtMostMaxPoints(
      long rangeS, long windowMs, int maxPoints, long stepS) {
    ReportRequest r = request("db", T, T.plusSeconds(rangeS), windowMs, List.of("e2e"), maxPoints);
    assertThat(r.stepMicros()).isEqualTo(stepS * 1_000_000);
    assertThat(r.stepMicros() % (windowMs * 1000)).isZero();
    assertThat((rangeS * 1_000_000 + r.stepMicros() - 1) / r.stepMicros())
        .isLessThanOrEqualTo(maxPoints);
  }
}
