package io.infermeter.collector.ingest.otlp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Rust's {@code Duration} Debug output ({@code format!("{d:?}")}) as TGI's router records it, and
 * abuse.
 */
class RustDurationTest {

  private static double s(String text) throws InvalidEventException {
    return RustDuration.seconds("queue_time", text, OtlpSpanMapper.MAX_SECONDS);
  }

  @Test
  void parsesEveryUnitRustPrints() throws Exception {
    assertThat(s("12.3ms")).isCloseTo(0.0123, within(1e-12));
    assertThat(s("850µs")).isCloseTo(0.00085, within(1e-12));
    assertThat(s("850μs")).isCloseTo(0.00085, within(1e-12));
    assertThat(s("850us")).isCloseTo(0.00085, within(1e-12));
    assertThat(s("1.2s")).isCloseTo(1.2, within(1e-12));
    assertThat(s("100.000000001s")).isCloseTo(100.000000001, within(1e-9));
    assertThat(s("7ns")).isCloseTo(7e-9, within(1e-15));
    assertThat(s("0ns")).isZero();
    assertThat(s(" 3ms ")).isCloseTo(0.003, within(1e-12));
  }

  @Test
  void rejectsWhatIsNotADuration() {
    for (String bad :
        List.of(
            "",
            "ms",
            "12.3",
            "12.3 ms",
            "1e3ms",
            "NaNms",
            "Infinitys",
            "0x10ms",
            "1.2.3s",
            "12.3h",
            "1,5ms",
            "+3ms",
            "3ms3ms",
            "Some(3ms)",
            "9".repeat(41) + "s")) {
      assertThatThrownBy(() -> s(bad))
          .as(bad)
          .isInstanceOfSatisfying(
              InvalidEventException.class,
              e -> assertThat(e.reason()).isEqualTo(RejectReason.INVALID_VALUE));
    }
  }

  @Test
  void negativeAndAbsurdDurations() {
    assertThatThrownBy(() -> s("-1ms"))
        .isInstanceOfSatisfying(
            InvalidEventException.class,
            e -> assertThat(e.reason()).isEqualTo(RejectReason.NEGATIVE_DURATION));
    assertThatThrownBy(() -> s("10000001s"))
        .isInstanceOfSatisfying(
            InvalidEventException.class,
            e -> assertThat(e.reason()).isEqualTo(RejectReason.ABSURD_DURATION));
    assertThatThrownBy(() -> s("18446744073709551615s"))
        .isInstanceOfSatisfying(
            InvalidEventException.class,
            e -> assertThat(e.reason()).isEqualTo(RejectReason.ABSURD_DURATION));
  }
}
