package io.infermeter.report.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HtmlTest {

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "plain-model_1.2      | plain-model_1.2",
        "<script>x</script>   | &lt;script&gt;x&lt;/script&gt;",
        "a&b                  | a&amp;b",
        "`say \"hi\"`         | say &quot;hi&quot;",
        "it's                 | it&#39;s",
        "&amp;                | &amp;amp;",
        "`\u0001bell`         | \uFFFDbell",
      })
  void escapesMarkupAndControlCharacters(String in, String expected) {
    assertThat(Html.escape(in)).isEqualTo(expected);
  }

  @Test
  void escapesNullAsEmptyAndKeepsUnicode() {
    assertThat(Html.escape(null)).isEmpty();
    assertThat(Html.escape("modèle-日本 ≤")).isEqualTo("modèle-日本 ≤");
  }

  @ParameterizedTest
  @CsvSource({
    "0, 4, 0",
    "1234567, 4, 1234567",
    "1234.5678, 4, 1235",
    "0.000123456, 4, 0.0001235",
    "-2.5, 4, -2.5",
    "99.99999, 4, 100",
    "NaN, 4, -",
    "Infinity, 4, -",
  })
  void formatsNumbersWithoutExponentOrTrailingZeros(
      double value, int significant, String expected) {
    assertThat(Html.number(value, significant)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"0, 0", "1, 0.001", "1000, 1", "1234567, 1234.567", "500000, 500"})
  void showsMicrosecondsAsExactMilliseconds(long micros, String expected) {
    assertThat(Html.microsAsMillis(micros)).isEqualTo(expected);
  }

  @Test
  void formatsInstantsInUtc() {
    assertThat(Html.utc(Instant.parse("2026-11-23T14:05:06.789Z")))
        .isEqualTo("2026-11-23 14:05:06 UTC");
  }
}
