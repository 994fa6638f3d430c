package io.infermeter.deploytests;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Expands the macros of the grafana-clickhouse-datasource plugin (4.x) and Grafana's template
 * variables in a panel's SQL the way Grafana does before the query reaches ClickHouse, so that the
 * SQL can be run as it will be run. Time macros: {@code $__timeFilter(col)}, {@code
 * $__timeFilter_ms(col)}, {@code $__fromTime}, {@code $__toTime}, {@code $__timeInterval(col)},
 * {@code $__interval_s}. Variables: {@code $name}, {@code ${name}}, {@code ${name:singlequote}},
 * {@code ${name:csv}}, {@code ${name:raw}}, {@code ${name:percentencode}}. Anything else starting
 * with '$' is rejected. Immutable, thread-safe.
 *
 * <p>{@code percentencode} is Grafana's {@code encodeURIComponentStrict} (grafana/scenes
 * formatRegistry): a multi-value variable becomes {@code encode("{" + values joined by "," + "}")},
 * a single value {@code encode(value)}; every byte of the UTF-8 form except {@code A-Z a-z 0-9 - _
 * . ~} becomes {@code %XX}. Its output cannot end a ClickHouse string literal (no quote, no
 * backslash), which is why the dashboards use it for every variable in SQL.
 */
final class GrafanaMacros {

  private static final Pattern TIME_FILTER =
      Pattern.compile("\\$__timeFilter\\(\\s*([^()]+?)\\s*\\)");
  private static final Pattern TIME_FILTER_MS =
      Pattern.compile("\\$__timeFilter_ms\\(\\s*([^()]+?)\\s*\\)");
  private static final Pattern TIME_INTERVAL =
      Pattern.compile("\\$__timeInterval\\(\\s*([^()]+?)\\s*\\)");
  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\{([A-Za-z0-9_]+)(?::([A-Za-z]+))?}|\\$([A-Za-z][A-Za-z0-9_]*)");
  private static final Pattern LEFT = Pattern.compile("\\$\\S*");

  private final Instant from;
  private final Instant to;
  private final Duration interval;
  private final Map<String, List<String>> variables;
  private final java.util.Set<String> multi;

  /**
   * As {@link #GrafanaMacros(Instant, Instant, Duration, Map, java.util.Set)} with no multi-value
   * variable.
   */
  GrafanaMacros(Instant from, Instant to, Duration interval, Map<String, List<String>> variables) {
    this(from, to, interval, variables, java.util.Set.of());
  }

  /**
   * @param from start of the dashboard's time range
   * @param to end of the dashboard's time range
   * @param interval Grafana's $__interval (bucket width of time series), whole seconds
   * @param variables value(s) of every template variable
   * @param multi names of the multi-value variables (Grafana holds their value as an array, even of
   *     one)
   */
  GrafanaMacros(
      Instant from,
      Instant to,
      Duration interval,
      Map<String, List<String>> variables,
      java.util.Set<String> multi) {
    if (!to.isAfter(from) || interval.toSeconds() < 1) {
      throw new IllegalArgumentException(
          "empty time range or interval below 1 s: " + from + ".." + to + ", " + interval);
    }
    this.from = from;
    this.to = to;
    this.interval = interval;
    this.variables = Map.copyOf(variables);
    this.multi = java.util.Set.copyOf(multi);
  }

  /**
   * {@code sql} with every macro and variable expanded; throws IllegalArgumentException naming an
   * unknown one.
   */
  String expand(String sql) {
    String f = Long.toString(from.getEpochSecond());
    String t = Long.toString(to.getEpochSecond());
    String out =
        TIME_FILTER_MS
            .matcher(sql)
            .replaceAll(
                m ->
                    Matcher.quoteReplacement(
                        m.group(1)
                            + " >= fromUnixTimestamp64Milli("
                            + from.toEpochMilli()
                            + ") AND "
                            + m.group(1)
                            + " <= fromUnixTimestamp64Milli("
                            + to.toEpochMilli()
                            + ")"));
    out =
        TIME_FILTER
            .matcher(out)
            .replaceAll(
                m ->
                    Matcher.quoteReplacement(
                        m.group(1)
                            + " >= toDateTime("
                            + f
                            + ") AND "
                            + m.group(1)
                            + " <= toDateTime("
                            + t
                            + ")"));
    out =
        TIME_INTERVAL
            .matcher(out)
            .replaceAll(
                m ->
                    Matcher.quoteReplacement(
                        "toStartOfInterval(toDateTime("
                            + m.group(1)
                            + "), INTERVAL "
                            + interval.toSeconds()
                            + " second)"));
    out =
        out.replace("$__fromTime", "toDateTime(" + f + ")")
            .replace("$__toTime", "toDateTime(" + t + ")")
            .replace("$__interval_s", Long.toString(interval.toSeconds()));
    Matcher macro = Pattern.compile("\\$__\\w+").matcher(out);
    if (macro.find()) {
      throw new IllegalArgumentException("unknown macro " + macro.group());
    }
    out =
        VARIABLE
            .matcher(out)
            .replaceAll(
                m ->
                    Matcher.quoteReplacement(
                        variable(m.group(1) != null ? m.group(1) : m.group(3), m.group(2))));
    Matcher left = LEFT.matcher(out);
    if (left.find()) {
      throw new IllegalArgumentException("unexpanded '" + left.group() + "'");
    }
    return out;
  }

  private String variable(String name, String format) {
    List<String> values = variables.get(name);
    if (values == null) {
      throw new IllegalArgumentException("unknown template variable $" + name);
    }
    if (format == null || format.equals("raw") || format.equals("csv")) {
      return String.join(",", values);
    }
    if (format.equals("percentencode")) {
      return percentEncode(
          multi.contains(name) || values.size() != 1
              ? "{" + String.join(",", values) + "}"
              : values.get(0));
    }
    if (format.equals("singlequote")) {
      return values.stream()
          .map(v -> "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'")
          .collect(Collectors.joining(","));
    }
    throw new IllegalArgumentException(
        "unsupported variable format ${" + name + ":" + format + "}");
  }

  /**
   * Grafana's encodeURIComponentStrict: UTF-8 bytes, all but A-Z a-z 0-9 - _ . ~ as upper-case %XX.
   */
  static String percentEncode(String value) {
    StringBuilder sb = new StringBuilder();
    for (byte b : value.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if ((c >= 'A' && c <= 'Z')
          || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '_'
          || c == '.'
          || c == '~') {
        sb.append((char) c);
      } else {
        sb.append('%')
            .append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return sb.toString();
  }
}
