package io.infermeter.collector.sampling.prometheus;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format 0.0.4 (the format dcgm-exporter serves
 * on {@code /metrics}). No well-kept Java parser of the format is on Maven Central ({@code
 * prometheus-metrics-exposition-textformats} only writes it), so this one implements the grammar of
 * the format's specification, line by line:
 *
 * <ul>
 *   <li>blank lines are skipped; {@code # HELP name text} and {@code # TYPE name type} are read
 *       (the type is kept per metric family), every other line starting with {@code #} is a
 *       comment;
 *   <li>a sample is {@code name [ "{" label="value" { "," label="value" } [ "," ] "}" ] value [
 *       timestamp ]}, with spaces or tabs between tokens; names match {@code
 *       [a-zA-Z_:][a-zA-Z0-9_:]*}, label names {@code [a-zA-Z_][a-zA-Z0-9_]*}; label values are
 *       UTF-8 with exactly three escapes ({@code \\}, {@code \"}, {@code \n});
 *   <li>a value is a decimal float (optional sign, fraction, exponent) or {@code NaN}, {@code
 *       +Inf}, {@code -Inf}, {@code Inf}; a timestamp is an integer (milliseconds).
 * </ul>
 *
 * <p>A line that breaks the grammar (unknown escape, repeated label name, bad value, trailing
 * garbage, unterminated quote) is skipped and counted, never guessed at; the rest of the body is
 * still read. A series (name and label set) that occurs again keeps its first value and is counted
 * as a duplicate. Stateless and thread-safe.
 */
public final class PrometheusText {

  private static final Pattern VALUE =
      Pattern.compile("[+-]?(?:Inf|NaN|(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)");
  private static final Pattern TIMESTAMP = Pattern.compile("-?\\d{1,19}");

  private PrometheusText() {}

  /**
   * One sample line: metric name, labels in their order on the line, value (may be NaN or
   * infinite).
   */
  public record Sample(String name, Map<String, String> labels, double value) {}

  /**
   * What a body held.
   *
   * @param samples the well-formed samples, in body order, first occurrence of each series only
   * @param types metric family name to its {@code # TYPE} (counter, gauge, ...)
   * @param malformedLines lines skipped because they break the grammar
   * @param duplicateSeries samples skipped because their series occurred before
   * @param firstError the first malformed line's problem and line number (null when none)
   */
  public record Parsed(
      List<Sample> samples,
      Map<String, String> types,
      int malformedLines,
      int duplicateSeries,
      String firstError) {}

  /** Thrown for one malformed line; caught by {@link #parse}. */
  static final class LineException extends Exception {
    private static final long serialVersionUID = 1L;

    LineException(String message) {
      super(message, null, false, false);
    }
  }

  /** Parses a whole body. Never throws for malformed content; {@code body} must not be null. */
  public static Parsed parse(String body) {
    List<Sample> samples = new ArrayList<>();
    Map<String, String> types = new LinkedHashMap<>();
    Set<String> seen = new HashSet<>();
    int malformed = 0;
    int duplicates = 0;
    String firstError = null;
    int lineNo = 0;
    int start = 0;
    int n = body.length();
    while (start < n) {
      int end = body.indexOf('\n', start);
      if (end < 0) {
        end = n;
      }
      lineNo++;
      String line = body.substring(start, end);
      start = end + 1;
      try {
        Sample s = parseLine(line, types);
        if (s != null) {
          if (seen.add(seriesKey(s))) {
            samples.add(s);
          } else {
            duplicates++;
          }
        }
      } catch (LineException e) {
        malformed++;
        if (firstError == null) {
          firstError = "line " + lineNo + ": " + e.getMessage();
        }
      }
    }
    return new Parsed(
        Collections.unmodifiableList(samples),
        Collections.unmodifiableMap(types),
        malformed,
        duplicates,
        firstError);
  }

  private static String seriesKey(Sample s) {
    StringBuilder b = new StringBuilder(s.name()).append('{');
    s.labels().entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(
            e ->
                b.append(e.getKey())
                    .append('=')
                    .append(e.getValue().length())
                    .append(':')
                    .append(e.getValue()));
    return b.append('}').toString();
  }

  /** One line: a sample, or null for a blank/comment/HELP/TYPE line. */
  static Sample parseLine(String raw, Map<String, String> types) throws LineException {
    String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
    int i = skipBlanks(line, 0);
    if (i == line.length()) {
      return null;
    }
    if (line.charAt(i) == '#') {
      readComment(line, i + 1, types);
      return null;
    }
    int nameEnd = name(line, i, true);
    if (nameEnd == i) {
      throw new LineException("expected a metric name");
    }
    String name = line.substring(i, nameEnd);
    i = skipBlanks(line, nameEnd);
    Map<String, String> labels = new LinkedHashMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i = labels(line, i + 1, labels);
      i = skipBlanks(line, i);
    }
    int valueStart = i;
    i = token(line, i);
    String valueText = line.substring(valueStart, i);
    if (valueText.isEmpty()) {
      throw new LineException("missing value");
    }
    if (!VALUE.matcher(valueText).matches()) {
      throw new LineException("invalid value '" + abbreviate(valueText) + "'");
    }
    double value = parseValue(valueText);
    i = skipBlanks(line, i);
    if (i < line.length()) {
      int tsStart = i;
      i = token(line, i);
      if (!TIMESTAMP.matcher(line.substring(tsStart, i)).matches()) {
        throw new LineException(
            "invalid timestamp '" + abbreviate(line.substring(tsStart, i)) + "'");
      }
      i = skipBlanks(line, i);
      if (i < line.length()) {
        throw new LineException("unexpected text after the timestamp");
      }
    }
    return new Sample(name, Collections.unmodifiableMap(labels), value);
  }

  private static double parseValue(String v) {
    String s = v.startsWith("+") ? v.substring(1) : v;
    return switch (s) {
      case "Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN", "-NaN" -> Double.NaN;
      default -> Double.parseDouble(s);
    };
  }

  private static void readComment(String line, int from, Map<String, String> types)
      throws LineException {
    int i = skipBlanks(line, from);
    int kwEnd = token(line, i);
    String keyword = line.substring(i, kwEnd);
    if (!keyword.equals("HELP") && !keyword.equals("TYPE")) {
      return; // a plain comment
    }
    i = skipBlanks(line, kwEnd);
    int nameEnd = name(line, i, true);
    if (nameEnd == i) {
      throw new LineException("# " + keyword + " without a metric name");
    }
    String name = line.substring(i, nameEnd);
    if (keyword.equals("TYPE")) {
      String type = line.substring(skipBlanks(line, nameEnd)).trim();
      switch (type) {
        case "counter", "gauge", "histogram", "summary", "untyped" -> {
          if (types.putIfAbsent(name, type) != null) {
            throw new LineException("second # TYPE for " + name);
          }
        }
        default -> throw new LineException("unknown type '" + abbreviate(type) + "' for " + name);
      }
    }
  }

  /** Parses labels after '{' up to and including '}'; returns the index after '}'. */
  private static int labels(String line, int from, Map<String, String> out) throws LineException {
    int i = skipBlanks(line, from);
    while (true) {
      if (i >= line.length()) {
        throw new LineException("unterminated label set");
      }
      if (line.charAt(i) == '}') {
        return i + 1;
      }
      int nameEnd = name(line, i, false);
      if (nameEnd == i) {
        throw new LineException("expected a label name at column " + (i + 1));
      }
      String label = line.substring(i, nameEnd);
      i = skipBlanks(line, nameEnd);
      if (i >= line.length() || line.charAt(i) != '=') {
        throw new LineException("expected '=' after label " + label);
      }
      i = skipBlanks(line, i + 1);
      if (i >= line.length() || line.charAt(i) != '"') {
        throw new LineException("expected '\"' to open the value of label " + label);
      }
      StringBuilder value = new StringBuilder();
      i++;
      boolean closed = false;
      while (i < line.length()) {
        char c = line.charAt(i++);
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i >= line.length()) {
            break;
          }
          char e = line.charAt(i++);
          switch (e) {
            case '\\' -> value.append('\\');
            case '"' -> value.append('"');
            case 'n' -> value.append('\n');
            default -> throw new LineException("invalid escape '\\" + e + "' in label " + label);
          }
        } else {
          value.append(c);
        }
      }
      if (!closed) {
        throw new LineException("unterminated value of label " + label);
      }
      if (out.putIfAbsent(label, value.toString()) != null) {
        throw new LineException("label " + label + " given twice");
      }
      i = skipBlanks(line, i);
      if (i < line.length() && line.charAt(i) == ',') {
        i = skipBlanks(line, i + 1);
      } else if (i >= line.length() || line.charAt(i) != '}') {
        throw new LineException("expected ',' or '}' after the value of label " + label);
      }
    }
  }

  /**
   * End of a metric name (colons allowed) or label name starting at {@code from}; {@code from} when
   * none.
   */
  private static int name(String s, int from, boolean metric) {
    int i = from;
    while (i < s.length()) {
      char c = s.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || c == '_'
              || (metric && c == ':')
              || (i > from && c >= '0' && c <= '9');
      if (!ok) {
        break;
      }
      i++;
    }
    return i;
  }

  private static int token(String s, int from) {
    int i = from;
    while (i < s.length() && s.charAt(i) != ' ' && s.charAt(i) != '\t') {
      i++;
    }
    return i;
  }

  private static int skipBlanks(String s, int from) {
    int i = from;
    while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
      i++;
    }
    return i;
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }
}
