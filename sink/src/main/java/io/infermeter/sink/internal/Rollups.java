package io.infermeter.sink.internal;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Brings the hourly rollup tables of migration V006 up to date: for each source table, every
 * settled hour (its end at least {@code settle} before {@code now}) that has rows and is not yet
 * rolled, or that received rows after it was rolled (newer {@code ingested_at}: a correction, a
 * late record, a re-delivery), is rolled with one {@code INSERT ... SELECT ... FINAL} of that hour,
 * then recorded in {@code rollup_hours} with the newest {@code ingested_at} seen. Re-rolled rows
 * replace the earlier ones (ReplacingMergeTree, version {@code rolled_up_at}); the views read the
 * rollup for the hours {@code rollup_hours} lists and the source otherwise.
 *
 * <p>Hours are checked for late rows back to {@code lookback} before the newest rolled hour (the
 * whole table on the first run). Idempotent: running it twice rolls nothing the second time. Not a
 * materialized view, because one would count a re-delivered block, or a later version of a window,
 * a second time (docs/SINK.md, "Hourly rollups"). Stateless; safe to call from one thread at a time
 * per database.
 */
public final class Rollups {

  /**
   * Runs one SQL statement and returns the first column of each result row (none for a statement).
   */
  @FunctionalInterface
  public interface Sql {
    List<String> run(String sql) throws Exception;
  }

  /** Hours rolled per source table. */
  public record Result(Map<String, Integer> hoursRolled) {
    public int total() {
      return hoursRolled.values().stream().mapToInt(Integer::intValue).sum();
    }

    @Override
    public String toString() {
      return total() + " hours " + hoursRolled;
    }
  }

  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", Locale.ROOT);

  /**
   * Source table -> the INSERT ... SELECT of one hour ({@code ${from}}, {@code ${to}}: its bounds).
   */
  static final Map<String, String> SOURCES = sources();

  private Rollups() {}

  private static Map<String, String> sources() {
    String range =
        " WHERE window_start >= toDateTime64('${from}', 6, 'UTC') AND window_start < toDateTime64('${to}', 6,"
            + " 'UTC')";
    Map<String, String> m = new LinkedHashMap<>();
    m.put(
        "window_latency",
        "INSERT INTO ${database}.window_latency_hourly (hour, window_size_ms, metric, cohort,"
            + " model, windows, count, bucket_values_us, bucket_counts, rolled_up_at)"
            + " SELECT toDateTime(toStartOfHour(window_start), 'UTC') AS h, window_size_ms, metric, cohort, model, count(),"
            + " sum(`count`), (sumMap(bucket_values_us, bucket_counts) AS m).1, m.2, now64(3)"
            + " FROM ${database}.window_latency FINAL"
            + range
            + " AND scope = 'host'"
            + " GROUP BY h, window_size_ms, metric, cohort, model");
    m.put(
        "window_aggregates",
        "INSERT INTO ${database}.slo_class_hourly (hour, window_size_ms, model, slo_class,"
            + " requests, good, rolled_up_at)"
            + " SELECT toDateTime(toStartOfHour(window_start), 'UTC') AS h, window_size_ms, model, cls, sum(req), sum(ok),"
            + " now64(3) FROM ${database}.window_aggregates FINAL"
            + " ARRAY JOIN slo_class AS cls, slo_requests AS req, slo_good AS ok"
            + range
            + " AND scope = 'host'"
            + " GROUP BY h, window_size_ms, model, cls");
    m.put(
        "energy_attribution",
        "INSERT INTO ${database}.energy_attribution_hourly (hour, window_size_ms, region,"
            + " model, gpu_type, currency, is_idle, output_tokens, energy_j, carbon_g, cost, rolled_up_at)"
            + " SELECT toDateTime(toStartOfHour(window_start), 'UTC') AS h, window_size_ms, region, model, gpu_type,"
            + " currency, is_idle, sum(output_tokens), sum(energy_j), sum(carbon_g), sum(cost), now64(3)"
            + " FROM ${database}.energy_attribution FINAL"
            + range
            + " GROUP BY h, window_size_ms, region, model, gpu_type, currency, is_idle");
    m.put(
        "bottlenecks",
        "INSERT INTO ${database}.bottlenecks_hourly (hour, host, label, windows, rolled_up_at)"
            + " SELECT toDateTime(toStartOfHour(window_start), 'UTC') AS h, host, label, count(), now64(3)"
            + " FROM ${database}.bottlenecks FINAL"
            + range
            + " GROUP BY h, host, label");
    return Map.copyOf(m);
  }

  /**
   * Rolls every hour that needs it.
   *
   * @param sql runs statements against the database's server
   * @param database the infermeter database (an identifier, as {@code clickhouse.database})
   * @param now the current time
   * @param settle how long after its end an hour is left to the source alone (window + grace +
   *     allowed lateness and the sink's delay, with margin): a younger hour is read from the source
   *     by the views
   * @param lookback how far before the newest rolled hour late rows are looked for
   */
  public static Result rollUp(
      Sql sql, String database, Instant now, Duration settle, Duration lookback) throws Exception {
    Instant target = now.minus(settle).truncatedTo(ChronoUnit.HOURS);
    Map<String, Integer> rolled = new LinkedHashMap<>();
    for (String source :
        List.of("window_latency", "window_aggregates", "energy_attribution", "bottlenecks")) {
      List<String> newest =
          sql.run(
              "SELECT toString(max(hour)) FROM "
                  + database
                  + ".rollup_hours FINAL"
                  + " WHERE source = '"
                  + source
                  + "'");
      String lower = "1970-01-01 00:00:00";
      if (!newest.isEmpty() && !newest.get(0).startsWith("1970-")) {
        lower =
            ts(LocalDateTime.parse(newest.get(0), TS).toInstant(ZoneOffset.UTC).minus(lookback));
      }
      List<String> due =
          sql.run(
              "SELECT concat(toString(s.h), '|', toString(s.ing)) FROM"
                  + " (SELECT toDateTime(toStartOfHour(window_start), 'UTC') AS h, max(ingested_at) AS ing"
                  + " FROM "
                  + database
                  + "."
                  + source
                  + " WHERE window_start >= toDateTime64('"
                  + lower
                  + "', 6, 'UTC')"
                  + " AND window_start < toDateTime64('"
                  + ts(target)
                  + "', 6, 'UTC') GROUP BY h) AS s"
                  + " LEFT JOIN (SELECT hour, source_ingested_max FROM "
                  + database
                  + ".rollup_hours FINAL"
                  + " WHERE source = '"
                  + source
                  + "') AS r ON s.h = r.hour"
                  + " WHERE s.ing > r.source_ingested_max ORDER BY s.h SETTINGS join_use_nulls = 0");
      for (String row : due) {
        String hour = row.substring(0, row.indexOf('|'));
        String ingested = row.substring(row.indexOf('|') + 1);
        Instant from = LocalDateTime.parse(hour, TS).toInstant(ZoneOffset.UTC);
        sql.run(
            SOURCES
                .get(source)
                .replace("${database}", database)
                .replace("${from}", hour)
                .replace("${to}", ts(from.plus(Duration.ofHours(1)))));
        sql.run(
            "INSERT INTO "
                + database
                + ".rollup_hours (source, hour, source_ingested_max, rolled_up_at)"
                + " VALUES ('"
                + source
                + "', '"
                + hour
                + "', '"
                + ingested
                + "', now64(3))");
      }
      rolled.put(source, due.size());
    }
    return new Result(rolled);
  }

  private static String ts(Instant t) {
    return LocalDateTime.ofInstant(t, ZoneOffset.UTC).format(TS);
  }
}
