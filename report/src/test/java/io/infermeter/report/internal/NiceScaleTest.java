package io.infermeter.report.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NiceScaleTest {

  @ParameterizedTest
  @CsvSource({
    "0, 1",
    "0, 7.3",
    "3, 97",
    "0, 0.0042",
    "12, 4321",
    "-30, 80",
    "-5, -1",
    "250000, 8123456",
    "0.1, 0.3"
  })
  void coversDataAndZeroWithNiceSteps(double min, double max) {
    NiceScale s = NiceScale.of(min, max, 6);
    assertThat(s.lo()).isLessThanOrEqualTo(Math.min(min, 0));
    assertThat(s.hi()).isGreaterThanOrEqualTo(max);
    double mantissa = s.step() / Math.pow(10, Math.floor(Math.log10(s.step())));
    assertThat(mantissa)
        .satisfiesAnyOf(
            m -> assertThat(m).isCloseTo(1, within(1e-9)),
            m -> assertThat(m).isCloseTo(2, within(1e-9)),
            m -> assertThat(m).isCloseTo(5, within(1e-9)));
    List<Double> ticks = s.ticks();
    assertThat(ticks.size()).isBetween(3, 13);
    assertThat(ticks.get(0)).isEqualTo(s.lo());
    assertThat(ticks.get(ticks.size() - 1)).isCloseTo(s.hi(), within(s.step() * 1e-9));
    // the axis must not waste more than one step beyond the data on either side
    assertThat(s.hi() - Math.max(max, 0)).isLessThan(s.step());
  }

  @Test
  void zeroWidthAndNonFiniteRangesBecomeZeroToOne() {
    assertThat(NiceScale.of(0, 0, 5))
        .extracting(NiceScale::lo, NiceScale::hi)
        .containsExactly(0.0, 1.0);
    assertThat(NiceScale.of(Double.NaN, Double.POSITIVE_INFINITY, 5))
        .extracting(NiceScale::lo, NiceScale::hi)
        .containsExactly(0.0, 1.0);
  }

  @Test
  void fixedScaleTicksAreExact() {
    assertThat(NiceScale.fixed(0, 100, 20).ticks())
        .containsExactly(0.0, 20.0, 40.0, 60.0, 80.0, 100.0);
  }

  @Test
  void mapsLinearlyInEitherPixelDirection() {
    NiceScale s = NiceScale.fixed(0, 100, 20);
    assertThat(s.map(0, 300, 40)).isEqualTo(300);
    assertThat(s.map(100, 300, 40)).isEqualTo(40);
    assertThat(s.map(25, 0, 400)).isEqualTo(100);
  }

  @Test
  void rejectsInvalidArguments() {
    assertThatThrownBy(() -> NiceScale.of(0, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("targetTicks");
    assertThatThrownBy(() -> NiceScale.fixed(5, 5, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> NiceScale.fixed(0, 5, 0)).isInstanceOf(IllegalArgumentException.class);
  }
}
