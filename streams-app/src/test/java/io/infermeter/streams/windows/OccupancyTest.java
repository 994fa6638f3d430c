package io.infermeter.streams.windows;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The in-flight occupancy bitmap: union of intervals, clipping, look-back and appending. */
class OccupancyTest {

  private static final long START_MS = 1_700_000_040_000L;
  private static final long START_US = START_MS * 1000;

  @Test
  void concurrentRequestsAreBusyOnceAndTheirRequestTimeAddsUp() {
    Occupancy o = new Occupancy();
    long grownUs = 0;
    for (int i = 0; i < 16; i++) {
      grownUs += o.add(START_US + 2_000_000, START_US + 4_000_000, START_MS, 10_000, 0);
    }
    assertThat(grownUs).isEqualTo(2_000_000);
    assertThat(o.busyUs(START_MS, 10_000)).isEqualTo(2_000_000);
    assertThat(o.parts.get(START_MS).requestUs).isEqualTo(32_000_000);
  }

  @Test
  void aSlotIsBusyWhenAnyPartOfItIsInFlight() {
    Occupancy o = new Occupancy();
    // 1 ms inside slot 5, and [15 ms, 25 ms) across slots 1 and 2 of the 10 ms grid
    o.add(START_US + 50_000, START_US + 51_000, START_MS, 10_000, 0);
    o.add(START_US + 15_000, START_US + 25_000, START_MS, 10_000, 0);
    assertThat(o.busyUs(START_MS, 10_000)).isEqualTo(30_000);
    assertThat(o.parts.get(START_MS).requestUs).isEqualTo(11_000);
    // an empty or reversed interval occupies nothing
    assertThat(o.add(START_US + 9, START_US + 9, START_MS, 10_000, 0)).isZero();
    assertThat(o.add(START_US + 9, START_US + 3, START_MS, 10_000, 0)).isZero();
  }

  @Test
  void theUnionEqualsASlotBySlotReferenceForRandomIntervals() {
    Random rnd = new Random(5);
    for (int round = 0; round < 200; round++) {
      Occupancy o = new Occupancy();
      boolean[] ref = new boolean[1000];
      long requestUs = 0;
      for (int i = 0, n = 1 + rnd.nextInt(40); i < n; i++) {
        long from = START_US - 3_000_000 + rnd.nextInt(12_000_000);
        long to = Math.min(START_US + 10_000_000, from + rnd.nextInt(4_000_000));
        o.add(from, to, START_MS, 10_000, 60_000);
        long a = Math.max(from, START_US);
        if (to > a) {
          requestUs += to - a;
          for (long s = (a - START_US) / 10_000; s * 10_000 < to - START_US; s++) {
            ref[(int) s] = true;
          }
        }
      }
      long refBusyUs = 0;
      for (boolean b : ref) {
        refBusyUs += b ? 10_000 : 0;
      }
      assertThat(o.busyUs(START_MS, 10_000)).isEqualTo(refBusyUs);
      assertThat(o.parts.containsKey(START_MS) ? o.parts.get(START_MS).requestUs : 0)
          .isEqualTo(requestUs);
    }
  }

  @Test
  void aLongRequestHasAPartInEachEarlierWindowWithinTheLookBack() {
    Occupancy o = new Occupancy();
    // in flight [-25 s, +5 s] around the window start, look-back 20 s: the windows ending after
    // -20 s keep their part, [-30 s, -20 s) does not
    long grownUs = o.add(START_US - 25_000_000, START_US + 5_000_000, START_MS, 10_000, 20_000);
    assertThat(grownUs).isEqualTo(5_000_000);
    assertThat(o.parts.keySet()).containsExactly(START_MS - 20_000, START_MS - 10_000, START_MS);
    assertThat(o.parts.get(START_MS - 20_000).requestUs).isEqualTo(10_000_000);
    assertThat(o.busyUs(START_MS - 10_000, 10_000)).isEqualTo(10_000_000);
    assertThat(o.busyUs(START_MS, 10_000)).isEqualTo(5_000_000);
    Occupancy longer = new Occupancy();
    longer.add(START_US - 25_000_000, START_US + 5_000_000, START_MS, 10_000, 21_000);
    assertThat(longer.parts.get(START_MS - 30_000).requestUs).isEqualTo(5_000_000);
  }

  @Test
  void appendingTenSecondPartsIntoAMinuteEqualsRecordingIntoTheMinute() {
    Random rnd = new Random(17);
    long minuteMs = START_MS;
    Occupancy whole = new Occupancy();
    Occupancy derived = new Occupancy();
    for (int part = 0; part < 6; part++) {
      long partMs = minuteMs + part * 10_000L;
      Occupancy tenSeconds = new Occupancy();
      for (int i = 0; i < 30; i++) {
        long to = partMs * 1000 + rnd.nextInt(10_000_000);
        long from = to - rnd.nextInt(25_000_000);
        whole.add(from, to, minuteMs, 60_000, 120_000);
        tenSeconds.add(from, to, partMs, 10_000, 120_000);
      }
      derived.append(tenSeconds, minuteMs, 60_000, 120_000);
    }
    assertThat(derived.parts.keySet()).isEqualTo(whole.parts.keySet());
    whole.parts.forEach(
        (start, p) -> {
          assertThat(derived.parts.get(start).bits).as("window %s", start).isEqualTo(p.bits);
          assertThat(derived.parts.get(start).requestUs).isEqualTo(p.requestUs);
        });
    assertThat(derived.busyUs(minuteMs, 60_000)).isPositive();
  }

  @Test
  void summedBusyTimeOfOlderStateIsOneRunFromTheWindowStartCappedAtTheWindow() {
    assertThat(Occupancy.fromSummedBusy(12_345, START_MS, 10_000).busyUs(START_MS, 10_000))
        .isEqualTo(20_000);
    assertThat(Occupancy.fromSummedBusy(32_000_000, START_MS, 10_000).busyUs(START_MS, 10_000))
        .isEqualTo(10_000_000);
    assertThat(Occupancy.fromSummedBusy(0, START_MS, 10_000).parts).isEmpty();
  }
}
