package io.infermeter.schemas;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * UTF-8 sizes and truncation of client strings and byte arrays, without encoding short strings;
 * sizes are those of the UTF-8 Avro writes (an unpaired surrogate becomes one byte, '?'). The
 * collector's limits at the door and the streams app's own limits measure with it, so both agree on
 * what is too long. Stateless.
 */
public final class Utf8 {

  private Utf8() {}

  /** True when {@code s} (null counts as empty) is longer than {@code maxBytes} in UTF-8. */
  public static boolean longerThan(String s, int maxBytes) {
    if (s == null || s.length() * 3L <= maxBytes) {
      return false; // a UTF-16 char is at most 3 UTF-8 bytes (a surrogate pair: 4 for 2 chars)
    }
    return s.length() > maxBytes || length(s) > maxBytes;
  }

  /**
   * The UTF-8 size of {@code s} (unpaired surrogates count as the 1 byte '?' they are encoded as).
   */
  public static int length(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else if (Character.isSurrogate(c)) {
        n++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  /**
   * {@code s} cut to at most {@code maxBytes} UTF-8 bytes on a character boundary (null stays
   * null).
   */
  public static String truncate(String s, int maxBytes) {
    if (!longerThan(s, maxBytes)) {
      return s;
    }
    int n = 0;
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      int w;
      int chars = 1;
      if (c < 0x80) {
        w = 1;
      } else if (c < 0x800) {
        w = 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        w = 4;
        chars = 2;
      } else if (Character.isSurrogate(c)) {
        w = 1;
      } else {
        w = 3;
      }
      if (n + w > maxBytes) {
        break;
      }
      n += w;
      i += chars;
    }
    return s.substring(0, i);
  }

  /**
   * The first {@code maxBytes} of {@code b} (null stays null; a shorter array is returned as is).
   */
  public static byte[] truncate(byte[] b, int maxBytes) {
    return b == null || b.length <= maxBytes ? b : Arrays.copyOf(b, maxBytes);
  }

  public static byte[] bytes(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }
}
