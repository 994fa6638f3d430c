package io.infermeter.report.internal;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * HTML/SVG text helpers. Every string that reaches the page from the database or the command line
 * goes through {@link #escape(String)}: model, host and rule names are free text on the wire and
 * must never become markup. Stateless and thread-safe.
 */
public final class Html {

  private static final DateTimeFormatter UTC_SECONDS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

  private Html() {}

  /**
   * Escapes text for HTML/XML element content and double- or single-quoted attribute values; null
   * becomes "".
   */
  public static String escape(String text) {
    if (text == null) {
      return "";
    }
    StringBuilder sb = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      String rep =
          switch (c) {
            case '&' -> "&amp;";
            case '<' -> "&lt;";
            case '>' -> "&gt;";
            case '"' -> "&quot;";
            case '\'' -> "&#39;";
            default -> c < 0x20 && c != '\n' && c != '\t' && c != '\r' ? "\uFFFD" : null;
          };
      if (rep != null && sb == null) {
        sb = new StringBuilder(text.length() + 16).append(text, 0, i);
      }
      if (sb != null) {
        if (rep != null) {
          sb.append(rep);
        } else {
          sb.append(c);
        }
      }
    }
    return sb == null ? text : sb.toString();
  }

  /**
   * A number for people: at most {@code significant} significant digits, no exponent, no trailing
   * zeros, "-" for NaN/null/infinite (a missing value is shown as missing, never as 0).
   */
  public static String number(double value, int significant) {
    if (Double.isNaN(value) || Double.isInfinite(value)) {
      return "-";
    }
    if (value == 0) {
      return "0";
    }
    BigDecimal bd =
        new BigDecimal(value).round(new MathContext(significant, RoundingMode.HALF_EVEN));
    // Whole numbers keep all their digits: rounding 1234567 tokens to 1230000 would misstate a
    // count.
    if (Math.abs(value) >= Math.pow(10, significant) && value == Math.rint(value)) {
      bd = new BigDecimal(value);
    }
    return bd.stripTrailingZeros().toPlainString();
  }

  /** A number with 4 significant digits. */
  public static String number(double value) {
    return number(value, 4);
  }

  /** Microseconds shown as milliseconds, exact (3 decimals at most, trailing zeros dropped). */
  public static String microsAsMillis(long micros) {
    return BigDecimal.valueOf(micros, 3).stripTrailingZeros().toPlainString();
  }

  /** An instant as {@code yyyy-MM-dd HH:mm:ss UTC}. */
  public static String utc(Instant instant) {
    return UTC_SECONDS.format(instant);
  }
}
