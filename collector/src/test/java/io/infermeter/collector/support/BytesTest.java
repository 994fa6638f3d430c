package io.infermeter.collector.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BytesTest {

  private static int naiveNewline(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] == '\n') {
        return i;
      }
    }
    return to;
  }

  private static int naiveSpecial(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      int c = b[i] & 0xff;
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) {
        return i;
      }
    }
    return to;
  }

  /**
   * {@code ~} stands for a newline; expected: index of the first newline, of the first
   * string-special byte.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "none|abcdefghijklmnopqrstuvwxyz0123456789|36|36",
        "first byte|~abcdefghij|0|0",
        "quote in the second word|abcdefghij\"k~m|12|10",
        "backslash in the tail|abcdefghijklmnopq\\|18|17",
        "control character|abcdefgh\tij~|11|8",
      })
  void findsTheFirstMatch(String name, String text, int newline, int special) {
    byte[] b = text.replace('~', '\n').getBytes(StandardCharsets.ISO_8859_1);
    assertThat(Bytes.indexOfNewline(b, 0, b.length)).isEqualTo(newline);
    assertThat(Bytes.indexOfStringSpecial(b, 0, b.length)).isEqualTo(special);
  }

  @Test
  void agreesWithAByteByByteSearchOnRandomInput() {
    Random random = new Random(7);
    for (int n = 0; n < 20_000; n++) {
      byte[] b = new byte[random.nextInt(40)];
      for (int i = 0; i < b.length; i++) {
        // mostly plain ASCII, sometimes every kind of byte (the borrow cases of the bit trick
        // included)
        b[i] =
            (byte)
                (random.nextInt(8) == 0 ? random.nextInt(256) : 0x23 + random.nextInt(0x5b - 0x23));
      }
      int from = b.length == 0 ? 0 : random.nextInt(b.length);
      int to = from + random.nextInt(b.length - from + 1);
      assertThat(Bytes.indexOfNewline(b, from, to)).isEqualTo(naiveNewline(b, from, to));
      assertThat(Bytes.indexOfStringSpecial(b, from, to)).isEqualTo(naiveSpecial(b, from, to));
    }
  }
}
