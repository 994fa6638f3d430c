package io.infermeter.report.internal;

import io.infermeter.report.ReportRequest;
import io.infermeter.report.internal.ReportData.AlertRequest;
import io.infermeter.report.internal.ReportData.AlertRow;
import io.infermeter.report.internal.ReportData.BottleneckRow;
import io.infermeter.report.internal.ReportData.CostRow;
import io.infermeter.report.internal.ReportData.DeadLetterRow;
import io.infermeter.report.internal.ReportData.EnergyMethodRow;
import io.infermeter.report.internal.ReportData.EnergyRow;
import io.infermeter.report.internal.ReportData.Exemplar;
import io.infermeter.report.internal.ReportData.LatencyPoint;
import io.infermeter.report.internal.ReportData.Percentiles;
import io.infermeter.report.internal.ReportData.SloClassRow;
import io.infermeter.report.internal.ReportData.SloRow;
import io.infermeter.report.internal.ReportData.TopAlertRow;
import io.infermeter.report.internal.ReportData.WorstWindow;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a report's data from the infermeter ClickHouse schema. The range views are the shipped
 * parameterized views of migration V002 (deploy/clickhouse/migrations/V002__query_views.sql, called
 * as docs/queries.sql shows), so the report and the documented queries can never disagree; the
 * per-step percentiles over time use the same logic (host-scope rows, FINAL, quantilesExactWeighted
 * over the ARRAY-JOINed histogram buckets) grouped by time step.
 *
 * <p>Every value put into SQL text is typed (an identifier validated by {@link ReportRequest}, an
 * instant formatted here, a number, a metric name from a fixed set), so no database or user string
 * is ever spliced in. Not thread-safe (uses the caller's connection).
 */
public final class ClickHouseSource {

  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);
  private static final int ALERT_ROWS = 500;

  /**
   * FIRING alerts (newest first) whose requests are listed, and requests listed per alert (slowest
   * first).
   */
  static final int ALERTS_WITH_REQUESTS = 20;

  static final int REQUESTS_PER_ALERT = 10;

  /** Exemplars listed per worst window: all a window_latency row keeps (LatencyStats.exemplars). */
  static final int EXEMPLARS_PER_WINDOW = 3;

  private static final Logger LOG = LoggerFactory.getLogger(ClickHouseSource.class);

  private final Connection connection;

  public ClickHouseSource(Connection connection) {
    this.connection = connection;
  }

  /**
   * The span of the data of one window size, as [first window start, last window start + 1 us),
   * over latency, energy, bottleneck windows and alert emissions; empty when there are no rows.
   */
  public Optional<Instant[]> dataRange(String database, long windowMs) throws SQLException {
    String db = ident(database);
    String sql =
        "SELECT count() AS n, min(t) AS lo, max(t) AS hi FROM ("
            + " SELECT toUnixTimestamp64Micro(window_start) AS t FROM "
            + db
            + ".window_latency WHERE window_size_ms = "
            + windowMs
            + " UNION ALL SELECT toUnixTimestamp64Micro(window_start) FROM "
            + db
            + ".energy_attribution WHERE window_size_ms = "
            + windowMs
            + " UNION ALL SELECT toUnixTimestamp64Micro(window_start) FROM "
            + db
            + ".bottlenecks"
            + " UNION ALL SELECT toUnixTimestamp64Micro(emitted) FROM "
            + db
            + ".alerts)";
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      if (rs.getLong("n") == 0) {
        return Optional.empty();
      }
      return Optional.of(new Instant[] {micros(rs.getLong("lo")), micros(rs.getLong("hi") + 1)});
    }
  }

  /** Loads every view of the report. */
  public ReportData load(ReportRequest r) throws SQLException {
    String db = ident(r.database());
    String from = "'" + TS.format(r.from()) + "'";
    String to = "'" + TS.format(r.to()) + "'";
    String range = "from_ts = " + from + ", to_ts = " + to;
    String win = ", window_ms = " + r.windowMs();

    List<LatencyPoint> overTime = new ArrayList<>();
    if (!r.latencyMetrics().isEmpty()) {
      long step = r.stepMicros();
      StringBuilder metrics = new StringBuilder();
      for (String m : r.latencyMetrics()) {
        metrics
            .append(metrics.length() == 0 ? "" : ", ")
            .append('\'')
            .append(m)
            .append('\''); // from a fixed set
      }
      String sql =
          "SELECT metric, model, intDiv(toUnixTimestamp64Micro(window_start), "
              + step
              + ") * "
              + step
              + " AS t,"
              + " sum(c) AS samples, quantilesExactWeighted(0.5, 0.99, 0.999)(v, c) AS q,"
              + " q[1] AS p50_us, q[2] AS p99_us, q[3] AS p999_us"
              + " FROM "
              + db
              + ".window_latency FINAL ARRAY JOIN bucket_values_us AS v, bucket_counts AS c"
              + " WHERE scope = 'host' AND cohort = 'warm' AND window_size_ms = "
              + r.windowMs()
              + " AND metric IN ("
              + metrics
              + ")"
              + " AND window_start >= toDateTime64("
              + from
              + ", 6, 'UTC') AND window_start < toDateTime64("
              + to
              + ", 6, 'UTC')"
              + " GROUP BY metric, model, t ORDER BY metric, model, t";
      query(
          "latency percentiles over time (window_latency)",
          sql,
          rs -> {
            overTime.add(
                new LatencyPoint(
                    rs.getString("metric"),
                    rs.getString("model"),
                    rs.getLong("t"),
                    rs.getLong("samples"),
                    rs.getLong("p50_us"),
                    rs.getLong("p99_us"),
                    rs.getLong("p999_us")));
          });
    }

    List<Percentiles> percentiles = new ArrayList<>();
    query(
        "view fleet_latency_percentiles",
        "SELECT model, metric, cohort, samples, p50_us, p99_us, p999_us FROM "
            + db
            + ".fleet_latency_percentiles("
            + range
            + win
            + ") ORDER BY model, metric, cohort",
        rs ->
            percentiles.add(
                new Percentiles(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    rs.getLong(4),
                    rs.getLong(5),
                    rs.getLong(6),
                    rs.getLong(7))));

    List<SloRow> slo = new ArrayList<>();
    query(
        "view latency_slo_attainment",
        "SELECT model, metric, threshold_us, requests, within_threshold, attainment_pct FROM "
            + db
            + ".latency_slo_attainment("
            + range
            + win
            + ", ttft_us = "
            + r.ttftThresholdUs()
            + ", tpot_us = "
            + r.tpotThresholdUs()
            + ") ORDER BY model, metric",
        rs ->
            slo.add(
                new SloRow(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getLong(3),
                    rs.getLong(4),
                    rs.getLong(5),
                    dbl(rs, 6))));

    List<SloClassRow> classes = new ArrayList<>();
    query(
        "view slo_class_attainment",
        "SELECT model, slo_class, requests, good, attainment_pct FROM "
            + db
            + ".slo_class_attainment("
            + range
            + win
            + ") ORDER BY model, slo_class",
        rs ->
            classes.add(
                new SloClassRow(
                    rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4), dbl(rs, 5))));

    List<CostRow> cost = new ArrayList<>();
    query(
        "view cost_per_million_tokens",
        "SELECT model, gpu_type, currency, attributed_cost, output_tokens, cost_per_1m_output_tokens FROM "
            + db
            + ".cost_per_million_tokens("
            + range
            + win
            + ") ORDER BY model, gpu_type, currency",
        rs ->
            cost.add(
                new CostRow(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    dbl(rs, 4),
                    rs.getLong(5),
                    dbl(rs, 6))));

    List<EnergyRow> energy = new ArrayList<>();
    query(
        "view energy_carbon_by_region",
        "SELECT region, measured_energy_j, attributed_energy_j, idle_energy_j, output_tokens,"
            + " energy_per_1k_output_tokens_j, total_carbon_g, idle_carbon_g, carbon_per_1k_output_tokens_g FROM "
            + db
            + ".energy_carbon_by_region("
            + range
            + win
            + ") ORDER BY region",
        rs ->
            energy.add(
                new EnergyRow(
                    rs.getString(1),
                    dbl(rs, 2),
                    dbl(rs, 3),
                    dbl(rs, 4),
                    rs.getLong(5),
                    dbl(rs, 6),
                    dbl(rs, 7),
                    dbl(rs, 8),
                    dbl(rs, 9))));

    List<EnergyMethodRow> methods = new ArrayList<>();
    query(
        "energy methods (device_energy)",
        "SELECT method, count() AS device_windows, sum(measured_energy_j) AS energy_j FROM "
            + db
            + ".device_energy FINAL WHERE window_size_ms = "
            + r.windowMs()
            + " AND window_start >= toDateTime64("
            + from
            + ", 6, 'UTC') AND window_start < toDateTime64("
            + to
            + ", 6, 'UTC')"
            + " GROUP BY method ORDER BY method",
        rs -> methods.add(new EnergyMethodRow(rs.getString(1), rs.getLong(2), dbl(rs, 3))));

    List<TopAlertRow> top = new ArrayList<>();
    query(
        "view top_alerts",
        "SELECT rule, host, model, device_id, incidents, firings, worst_severity, last_state FROM "
            + db
            + ".top_alerts("
            + range
            + ") LIMIT 50",
        rs ->
            top.add(
                new TopAlertRow(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getLong(5),
                    rs.getLong(6),
                    rs.getString(7),
                    rs.getString(8))));

    String alertRange =
        " WHERE emitted >= toDateTime64("
            + from
            + ", 6, 'UTC') AND emitted < toDateTime64("
            + to
            + ", 6, 'UTC')";
    List<AlertRow> alerts = new ArrayList<>();
    query(
        "alerts",
        "SELECT toUnixTimestamp64Micro(emitted), rule, severity, state, host, model, device_id, observed, threshold,"
            + " unit, summary, alert_id FROM "
            + db
            + ".alerts FINAL"
            + alertRange
            + " ORDER BY emitted DESC, rule, dedup_key LIMIT "
            + ALERT_ROWS,
        rs ->
            alerts.add(
                new AlertRow(
                    rs.getLong(1),
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getString(5),
                    rs.getString(6),
                    rs.getString(7),
                    dbl(rs, 8),
                    dbl(rs, 9),
                    rs.getString(10),
                    rs.getString(11),
                    rs.getString(12),
                    List.of())));
    int looked = 0;
    for (int i = 0; i < alerts.size() && looked < ALERTS_WITH_REQUESTS; i++) {
      if ("FIRING".equals(alerts.get(i).state())) {
        alerts.set(i, alerts.get(i).withRequests(requestsBehind(db, alerts.get(i).alertId())));
        looked++;
      }
    }
    long[] states = new long[2];
    query(
        "alert counts",
        "SELECT countIf(state = 'FIRING'), countIf(state = 'RESOLVED') FROM "
            + db
            + ".alerts FINAL"
            + alertRange,
        rs -> {
          states[0] = rs.getLong(1);
          states[1] = rs.getLong(2);
        });

    List<BottleneckRow> bottlenecks = new ArrayList<>();
    query(
        "view bottleneck_share",
        "SELECT host, label, windows, share_pct FROM "
            + db
            + ".bottleneck_share("
            + range
            + ") ORDER BY host, label",
        rs ->
            bottlenecks.add(
                new BottleneckRow(rs.getString(1), rs.getString(2), rs.getLong(3), dbl(rs, 4))));

    List<DeadLetterRow> deadLetters = new ArrayList<>();
    query(
        "dead letters",
        "SELECT stage, reason, count() AS n, max(toUnixTimestamp64Micro(detected)) FROM "
            + db
            + ".dead_letters FINAL WHERE detected >= toDateTime64("
            + from
            + ", 6, 'UTC') AND detected < toDateTime64("
            + to
            + ", 6, 'UTC') GROUP BY stage, reason ORDER BY n DESC, stage, reason LIMIT 100",
        rs ->
            deadLetters.add(
                new DeadLetterRow(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4))));

    List<WorstWindow> worst = new ArrayList<>();
    String exemplarMetric = exemplarMetric(r);
    String latencyRows =
        db
            + ".window_latency FINAL"
            + " WHERE scope = 'host' AND cohort = 'warm' AND window_size_ms = "
            + r.windowMs()
            + " AND metric = '"
            + exemplarMetric
            + "'"; // from a fixed set
    query(
        "worst windows (window_latency)",
        "SELECT model, argMax(ws, (p99, -ws)) AS worst_ws, max(p99) AS worst_p99,"
            + " argMax(n, (p99, -ws)) AS worst_n FROM ("
            + " SELECT model, toUnixTimestamp64Micro(window_start) AS ws,"
            + " quantileExactWeighted(0.99)(v, c) AS p99, sum(c) AS n FROM "
            + latencyRows.replace(
                " FINAL", " FINAL ARRAY JOIN bucket_values_us AS v, bucket_counts AS c")
            + " AND window_start >= toDateTime64("
            + from
            + ", 6, 'UTC') AND window_start < toDateTime64("
            + to
            + ", 6, 'UTC')"
            + " GROUP BY model, ws) GROUP BY model ORDER BY model",
        rs ->
            worst.add(
                new WorstWindow(
                    rs.getString(1),
                    exemplarMetric,
                    rs.getLong(2),
                    rs.getLong(3),
                    rs.getLong(4),
                    List.of())));
    for (int i = 0; i < worst.size(); i++) {
      WorstWindow w = worst.get(i);
      worst.set(
          i,
          new WorstWindow(
              w.model(),
              w.metric(),
              w.windowStartMicros(),
              w.p99Us(),
              w.samples(),
              exemplars(latencyRows, db, r.windowMs(), w)));
    }

    return new ReportData(
        overTime,
        percentiles,
        slo,
        classes,
        cost,
        energy,
        methods,
        top,
        alerts,
        states[0],
        states[1],
        bottlenecks,
        deadLetters,
        worst);
  }

  /**
   * The metric whose worst windows are listed: the first latency metric the report charts, e2e when
   * it charts only token rates.
   */
  static String exemplarMetric(ReportRequest r) {
    return r.latencyMetrics().stream()
        .filter(m -> !ReportRequest.isTokenRate(m))
        .findFirst()
        .orElse("e2e");
  }

  /**
   * The exemplars of one worst window: the slowest over its host rows (each row keeps its host's
   * slowest 3), with the raw request of each where the requests table has it (same event id, host
   * and model, completed in the window). The model comes from the database, so it is bound as a
   * parameter.
   */
  private List<Exemplar> exemplars(String latencyRows, String db, long windowMs, WorstWindow w)
      throws SQLException {
    String start = "fromUnixTimestamp64Micro(toInt64(" + w.windowStartMicros() + "), 'UTC')";
    String sql =
        "SELECT x.value_us, x.request_id, x.event_id, x.host, r.found, r.status, r.ttft_us,"
            + " r.input_tokens, r.output_tokens FROM ("
            + " SELECT value_us, event_id, request_id, host FROM "
            + latencyRows.replace(
                " FINAL",
                " FINAL ARRAY JOIN exemplar_values_us AS value_us, exemplar_event_ids AS event_id,"
                    + " exemplar_request_ids AS request_id")
            + " AND model = ? AND window_start = "
            + start
            + " ORDER BY value_us DESC, event_id LIMIT "
            + EXEMPLARS_PER_WINDOW
            + ") AS x LEFT JOIN ("
            + " SELECT event_id, host, toUInt8(1) AS found, status, ttft_us, input_tokens, output_tokens FROM "
            + db
            + ".requests FINAL WHERE model = ? AND completed_at >= "
            + start
            + " AND completed_at < "
            + start
            + " + toIntervalMillisecond("
            + windowMs
            + ")) AS r ON r.event_id = x.event_id AND r.host = x.host"
            + " ORDER BY x.value_us DESC, x.event_id";
    LOG.debug("exemplars of the worst window of one model: {}", sql);
    List<Exemplar> out = new ArrayList<>();
    try (PreparedStatement ps = connection.prepareStatement(sql)) {
      ps.setString(1, w.model());
      ps.setString(2, w.model());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          boolean stored = rs.getInt(5) == 1;
          out.add(
              new Exemplar(
                  rs.getLong(1),
                  rs.getString(2),
                  rs.getString(3),
                  rs.getString(4),
                  stored,
                  stored ? rs.getString(6) : "",
                  orMinusOne(rs, 7),
                  orMinusOne(rs, 8),
                  orMinusOne(rs, 9)));
        }
      }
    } catch (SQLException e) {
      throw new SQLException(
          "cannot read the exemplars of the worst windows (window_latency, requests) from ClickHouse: "
              + e.getMessage(),
          e.getSQLState(),
          e);
    }
    return out;
  }

  private static long orMinusOne(ResultSet rs, int col) throws SQLException {
    long v = rs.getLong(col);
    return rs.wasNull() ? -1 : v;
  }

  /**
   * The slowest requests behind one alert, through the view requests_behind_alert
   * (docs/queries.sql). The alert id comes from the database, so it is bound as a parameter of a
   * prepared statement, never spliced into the text.
   */
  private List<AlertRequest> requestsBehind(String db, String alertId) throws SQLException {
    String sql =
        "SELECT toUnixTimestamp64Micro(completed_at), host, model, event_id, request_id, status, e2e_us,"
            + " ifNull(ttft_us, -1) FROM "
            + db
            + ".requests_behind_alert(alert_id = ?) LIMIT "
            + REQUESTS_PER_ALERT;
    List<AlertRequest> out = new ArrayList<>();
    try (PreparedStatement ps = connection.prepareStatement(sql)) {
      ps.setString(1, alertId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(
              new AlertRequest(
                  rs.getLong(1),
                  rs.getString(2),
                  rs.getString(3),
                  rs.getString(4),
                  rs.getString(5),
                  rs.getString(6),
                  rs.getLong(7),
                  rs.getLong(8)));
        }
      }
    } catch (SQLException e) {
      throw new SQLException(
          "cannot read view requests_behind_alert from ClickHouse: " + e.getMessage(),
          e.getSQLState(),
          e);
    }
    return out;
  }

  private interface RowHandler {
    void row(ResultSet rs) throws SQLException;
  }

  private void query(String what, String sql, RowHandler handler) throws SQLException {
    LOG.debug("{}: {}", what, sql);
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        handler.row(rs);
      }
    } catch (SQLException e) {
      // name what was being read: "UNKNOWN_TABLE" alone does not say which view of the report
      // failed
      throw new SQLException(
          "cannot read " + what + " from ClickHouse: " + e.getMessage(), e.getSQLState(), e);
    }
  }

  private static double dbl(ResultSet rs, int col) throws SQLException {
    double v = rs.getDouble(col);
    return rs.wasNull() ? Double.NaN : v;
  }

  private static Instant micros(long us) {
    return Instant.ofEpochSecond(
        Math.floorDiv(us, 1_000_000L), Math.floorMod(us, 1_000_000L) * 1000L);
  }

  private static String ident(String database) {
    if (database == null || !database.matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new IllegalArgumentException("database must be an identifier, got '" + database + "'");
    }
    return database;
  }
}
