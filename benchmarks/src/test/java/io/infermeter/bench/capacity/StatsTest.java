package io.infermeter.bench.capacity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class StatsTest {

  @Test
  void percentileIsTheNearestRank() {
    long[] values = {50, 10, 40, 20, 30};
    assertThat(Stats.percentile(values, 0.5)).isEqualTo(30);
    assertThat(Stats.percentile(values, 0.99)).isEqualTo(50);
    assertThat(Stats.percentile(values, 0.2)).isEqualTo(10);
    assertThat(Stats.percentile(values, 0.0)).isEqualTo(10);
    assertThat(values).containsExactly(50, 10, 40, 20, 30);
  }

  @Test
  void percentileOfNothingIsNaN() {
    assertThat(Stats.percentile(new long[0], 0.5)).isNaN();
    assertThatThrownBy(() -> Stats.percentile(new long[] {1}, 1.5))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void lagCountsFromTheCommittedOffsetOrTheFirstOne() {
    TopicPartition p0 = new TopicPartition("t", 0);
    TopicPartition p1 = new TopicPartition("t", 1);
    TopicPartition p2 = new TopicPartition("t", 2);
    Map<TopicPartition, Long> end = Map.of(p0, 100L, p1, 50L, p2, 10L);
    // p0 committed 90 -> 10 behind; p1 nothing committed, first offset 20 -> 30; p2 past the end
    // (a transaction marker) -> 0
    long lag = Stats.lag(end, Map.of(p0, 90L, p2, 11L), Map.of(p1, 20L));
    assertThat(lag).isEqualTo(40);
  }

  @Test
  void lagGrowsOnlyBeyondTheTolerance() {
    // 10,000 records/s for 40 s; 5 s of tolerance = 50,000 records
    assertThat(Stats.lagGrew(1_000, 40_000, 400_000, 40, 5, 1000)).isFalse();
    assertThat(Stats.lagGrew(1_000, 60_000, 400_000, 40, 5, 1000)).isTrue();
    // a trickle: the floor of 1000 records applies
    assertThat(Stats.lagGrew(0, 900, 100, 40, 5, 1000)).isFalse();
    // shrinking lag never grew
    assertThat(Stats.lagGrew(90_000, 0, 400_000, 40, 5, 1000)).isFalse();
  }

  @Test
  void windowEndsInARange() {
    java.time.Instant from = java.time.Instant.ofEpochMilli(1_000_005_000L);
    // ends at ...010 000, ...020 000 and ...030 000 lie in [..005 000, ..030 001)
    assertThat(
            CapacityBenchmark.windowEnds(
                new java.time.Instant[] {from, java.time.Instant.ofEpochMilli(1_000_030_001L)},
                10_000))
        .isEqualTo(3);
    // the range's end is not in it
    assertThat(
            CapacityBenchmark.windowEnds(
                new java.time.Instant[] {from, java.time.Instant.ofEpochMilli(1_000_030_000L)},
                10_000))
        .isEqualTo(2);
    assertThat(
            CapacityBenchmark.windowEnds(
                new java.time.Instant[] {from, java.time.Instant.ofEpochMilli(1_000_006_000L)},
                10_000))
        .isZero();
  }

  @Test
  void lagSeconds() {
    assertThat(Stats.lagSeconds(0, 0)).isZero();
    assertThat(Stats.lagSeconds(5_000, 1_000)).isEqualTo(5.0);
    assertThat(Stats.lagSeconds(5, 0)).isInfinite();
  }
}
