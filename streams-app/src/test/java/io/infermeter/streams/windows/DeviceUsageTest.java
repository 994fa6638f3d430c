package io.infermeter.streams.windows;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Unit tests of {@link DeviceUsage}: the cap on device keys, clipping and appending parts. */
class DeviceUsageTest {

  private static final long START_MS = 1_700_000_000_000L;
  private static final long SIZE_MS = 10_000;
  private static final long LOOKBACK_MS = RequestAccumulator.DEFAULT_LOOKBACK_MS;

  private static long add(DeviceUsage u, String key, long fromOffsetMs, long toOffsetMs) {
    return u.add(
        key,
        (START_MS + fromOffsetMs) * 1000,
        (START_MS + toOffsetMs) * 1000,
        10,
        START_MS,
        SIZE_MS,
        LOOKBACK_MS);
  }

  @Test
  void aNewKeyFitsUntilTheCapAndAKnownKeyAlways() {
    DeviceUsage u = new DeviceUsage();
    add(u, "gpu0", 0, 1_000);
    add(u, "gpu1", 0, 1_000);
    assertThat(u.fits("gpu2", 2)).isFalse();
    assertThat(u.fits("gpu1", 2)).isTrue();
    add(u, RequestAccumulator.OTHER, 0, 1_000);
    // the other key does not take a named key's place
    assertThat(u.fits("gpu2", 2)).isFalse();
    assertThat(u.fits("gpu2", 3)).isTrue();
  }

  @Test
  void requestTimeIsClippedToTheWindowAndBusyTimeIsTheUnion() {
    DeviceUsage u = new DeviceUsage();
    // 2 s before the window to 1 s into it, and a concurrent request over the same second
    long first = add(u, "gpu0", -2_000, 1_000);
    long second = add(u, "gpu0", 0, 1_000);
    assertThat(u.device("gpu0").requestUs).isEqualTo(2_000_000);
    assertThat(u.device("gpu0").requests).isEqualTo(2);
    assertThat(u.device("gpu0").outputTokens).isEqualTo(20);
    assertThat(first).isEqualTo(1_000_000);
    assertThat(second).isZero();
    assertThat(u.busyUs(START_MS, SIZE_MS)).isEqualTo(1_000_000);
  }

  @Test
  void appendingBeyondTheCapFoldsTheKeysWithFewestRequestsIntoOtherKeepingTheTotals() {
    DeviceUsage minute = new DeviceUsage();
    add(minute, "gpu0", 0, 1_000);
    add(minute, "gpu0", 2_000, 3_000);
    DeviceUsage later = new DeviceUsage();
    add(later, "gpu1", 4_000, 5_000);
    add(later, "gpu1", 6_000, 7_000);
    add(later, "gpu1", 8_000, 9_000);
    add(later, "gpu2", 5_000, 6_000);

    minute.append(later, START_MS, SIZE_MS, LOOKBACK_MS, 2);

    assertThat(minute.devices().keySet())
        .containsExactlyInAnyOrder("gpu0", "gpu1", RequestAccumulator.OTHER);
    assertThat(minute.device(RequestAccumulator.OTHER).requests).isEqualTo(1);
    assertThat(minute.occupancy().keySet()).isEqualTo(minute.devices().keySet());
    long requests = 0;
    long requestUs = 0;
    for (DeviceUsage.Device d : minute.devices().values()) {
      requests += d.requests;
      requestUs += d.requestUs;
    }
    assertThat(requests).isEqualTo(6);
    assertThat(requestUs).isEqualTo(6_000_000);
    assertThat(minute.busyUs(START_MS, SIZE_MS)).isEqualTo(6_000_000);
  }
}
