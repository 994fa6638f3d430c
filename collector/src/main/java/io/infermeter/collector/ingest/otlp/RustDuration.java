package io.infermeter.collector.ingest.otlp;

import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the {@code Debug} form of Rust's {@code std::time::Duration}, which
 * text-generation-inference's router records as span fields ({@code span.record("queue_time",
 * format!("{queue_time:?}"))} in {@code router/src/server.rs}): a decimal number and one unit,
 * {@code s}, {@code ms}, {@code µs} or {@code ns}, for example {@code "1.234567ms"}, {@code
 * "850µs"}, {@code "2.5s"}, {@code "0ns"}. {@code us} and the Greek {@code μs} are accepted for the
 * micro sign. Stateless and thread-safe.
 */
final class RustDuration {

  /**
   * Longer strings are not a duration: {@code u64::MAX} seconds with nine decimals is 30
   * characters.
   */
  static final int MAX_CHARS = 40;

  private static final Pattern FORM =
      Pattern.compile("(\\d{1,20}(?:\\.\\d{1,20})?)(s|ms|µs|μs|us|ns)");

  private RustDuration() {}

  /**
   * Seconds of {@code text}, checked as every span duration is: finite, not negative, at most
   * {@code maxSeconds}.
   *
   * @throws InvalidEventException INVALID_VALUE for anything that is not the Debug form,
   *     NEGATIVE_DURATION for a leading minus, ABSURD_DURATION above {@code maxSeconds}
   */
  static double seconds(String key, String text, double maxSeconds) throws InvalidEventException {
    if (text.length() > MAX_CHARS) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE,
          key + " is not a duration (" + text.length() + " characters)");
    }
    String t = text.strip();
    if (t.startsWith("-")) {
      throw new InvalidEventException(
          RejectReason.NEGATIVE_DURATION, key + " is negative: '" + t + "'");
    }
    Matcher m = FORM.matcher(t);
    if (!m.matches()) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE, key + " is not a duration such as 12.3ms: '" + t + "'");
    }
    double factor =
        switch (m.group(2)) {
          case "s" -> 1.0;
          case "ms" -> 1e-3;
          case "ns" -> 1e-9;
          default -> 1e-6;
        };
    double seconds = Double.parseDouble(m.group(1)) * factor;
    if (!Double.isFinite(seconds) || seconds > maxSeconds) {
      throw new InvalidEventException(
          RejectReason.ABSURD_DURATION, key + " is absurd: '" + t + "'");
    }
    return seconds;
  }
}
