package io.infermeter.streams.energy;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.CarbonIntensityUpdate;
import org.junit.jupiter.api.Test;

/**
 * What the carbon-intensity series refuses and how it stores a point. Unit test; the series in the
 * topology: {@code EnergyTopologyTest}, on the real broker: {@code StreamsAppIT}.
 */
class CarbonHistoryTest {

  private static CarbonIntensityUpdate update(String region, double g, long fromUs) {
    return CarbonIntensityUpdate.newBuilder()
        .setRegion(region)
        .setGramsPerKwh(g)
        .setEffectiveFromUs(fromUs)
        .build();
  }

  @Test
  void absurdOrUnkeyableUpdatesAreRefusedWithTheReason() {
    assertThat(CarbonHistory.invalid(update("eu-west-1", 290, 1))).isNull();
    assertThat(CarbonHistory.invalid(update("", 290, 1))).isEqualTo("no region");
    assertThat(CarbonHistory.invalid(update("eu\u0000west", 290, 1))).contains("NUL");
    assertThat(CarbonHistory.invalid(update("r".repeat(257), 290, 1))).contains("256");
    assertThat(CarbonHistory.invalid(update("eu-west-1", Double.NaN, 1))).contains("NaN");
    assertThat(CarbonHistory.invalid(update("eu-west-1", -1, 1))).contains("-1.0");
    assertThat(CarbonHistory.invalid(update("eu-west-1", 5_001, 1))).contains("5001.0");
    assertThat(CarbonHistory.invalid(update("eu-west-1", 290, -1))).contains("negative");
  }

  @Test
  void aPointRoundTripsWithItsSourceCutAtACharacterBoundary() {
    String key = CarbonHistory.key("eu-west-1", 1_700_000_040_000_000L);
    // 40 two-byte characters (80 bytes): the first 32 fill the 64-byte limit exactly
    CarbonHistory.Point p = CarbonHistory.decode(key, CarbonHistory.encode(123.5, "é".repeat(40)));
    assertThat(p.effectiveFromUs()).isEqualTo(1_700_000_040_000_000L);
    assertThat(p.gramsPerKwh()).isEqualTo(123.5);
    assertThat(p.source()).isEqualTo("é".repeat(32));
    // 1 + 40 two-byte characters: the cut falls inside the 32nd, which is left out whole
    p = CarbonHistory.decode(key, CarbonHistory.encode(1, "a" + "é".repeat(40)));
    assertThat(p.source()).isEqualTo("a" + "é".repeat(31));
  }

  @Test
  void keysSortByRegionThenTime() {
    assertThat(CarbonHistory.key("a", 9)).isLessThan(CarbonHistory.key("a", 10));
    assertThat(CarbonHistory.key("a", Long.MAX_VALUE)).isLessThan(CarbonHistory.key("a-b", 0));
  }
}
