package io.infermeter.demo;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo's closing summary, read back from ClickHouse through the shipped parameterized views
 * (deploy/clickhouse/migrations/V002__query_views.sql), so the numbers are the ones any SQL user
 * gets.
 */
final class Summary {

  private final Connection ch;
  private final String database;

  Summary(Connection ch, String database) {
    this.ch = ch;
    this.database = database;
  }

  void print(String from, String to, String collectorUrl, String clickhouseUrl)
      throws SQLException {
    String range = "from_ts = '" + from + "', to_ts = '" + to + "'";
    String windowed = range + ", window_ms = 10000";
    System.out.println();
    System.out.println(
        "=== infermeter demo summary (SIMULATED fleet, " + from + " .. " + to + " UTC) ===");
    table(
        "Warm latency per model, fleet-wide, merged from per-host histograms (ms)",
        "SELECT model, metric, samples AS requests, round(p50_us / 1000, 1) AS p50_ms, round(p99_us / 1000, 1) AS p99_ms, "
            + "round(p999_us / 1000, 1) AS p99_9_ms FROM "
            + database
            + ".fleet_latency_percentiles("
            + windowed
            + ") "
            + "WHERE cohort = 'warm' AND metric IN ('e2e', 'ttft', 'tpot') ORDER BY model, metric");
    System.out.println();
    System.out.println(
        "Slowest request of each model's worst 10 s window (highest warm e2e p99; its exemplars)");
    List<Slowest> slowest = slowest(from, to);
    for (Slowest x : slowest) {
      System.out.println("  " + x.line());
    }
    if (slowest.isEmpty()) {
      System.out.println("  (no rows)");
    }
    table(
        "Cost per 1M output tokens by model and GPU type (attributed; idle cost excluded)",
        "SELECT model, gpu_type, currency, round(attributed_cost, 4) AS cost, output_tokens, "
            + "round(cost_per_1m_output_tokens, 3) AS cost_per_1m_tokens FROM "
            + database
            + ".cost_per_million_tokens("
            + windowed
            + ")");
    table(
        "Energy and carbon by region (IT energy; carbon includes PUE)",
        "SELECT region, round(measured_energy_j / 3.6e6, 4) AS energy_kwh, round(idle_energy_j / measured_energy_j * 100, 1) "
            + "AS idle_pct, round(energy_per_1k_output_tokens_j, 1) AS j_per_1k_tokens, round(total_carbon_g, 1) AS gco2e, "
            + "round(carbon_per_1k_output_tokens_g, 3) AS gco2e_per_1k_tokens FROM "
            + database
            + ".energy_carbon_by_region("
            + windowed
            + ")");
    table(
        "Alerts (incidents per rule and subject; last state)",
        "SELECT rule, host, model, device_id, incidents, firings, worst_severity, last_state FROM "
            + database
            + ".top_alerts("
            + range.replace("to_ts = '" + to + "'", "to_ts = '2100-01-01 00:00:00'")
            + ") LIMIT 20");
    System.out.println();
    System.out.println("Explore with any ClickHouse client, e.g.:");
    System.out.println(
        "  curl '" + clickhouseHttp(clickhouseUrl) + "/?query=SHOW+TABLES+FROM+" + database + "'");
    System.out.println(
        "  the shipped queries: docs/queries.sql; an HTML report: ./infermeter report --all");
    System.out.println(
        "  the collector still takes requests at "
            + collectorUrl
            + "/v1/requests while the stack runs");
  }

  /**
   * The slowest request of one model's worst window: the 10 s window with the highest warm e2e p99
   * (merged over the hosts; the earliest on a tie) and the slowest of its hosts' exemplars (the
   * smaller event id on a tie). Event id empty when the window's rows carry no exemplar.
   */
  record Slowest(
      String model,
      String windowStart,
      long windowP99Us,
      long e2eUs,
      String requestId,
      String eventId,
      String host) {

    /** The summary's line, e2e and p99 in ms. */
    String line() {
      String window = "window " + windowStart + " UTC (p99 " + ms(windowP99Us) + " ms)";
      if (eventId.isEmpty()) {
        return model + ": no exemplar stored for its worst " + window;
      }
      return model
          + ": e2e "
          + ms(e2eUs)
          + " ms, request "
          + (requestId.isEmpty() ? "(none)" : requestId)
          + " (event "
          + eventId
          + "), host "
          + host
          + ", "
          + window;
    }

    private static String ms(long us) {
      return BigDecimal.valueOf(us, 3).toPlainString();
    }
  }

  /**
   * The host-scope warm e2e rows of the 10 s windows starting in [from, to), with {@code arrays}
   * array-joined: the FROM and WHERE of both halves of {@link #slowest}.
   */
  private String warmE2eRows(String from, String to, String arrays) {
    return database
        + ".window_latency FINAL ARRAY JOIN "
        + arrays
        + " WHERE scope = 'host' AND cohort = 'warm' AND metric = 'e2e'"
        + " AND window_size_ms = 10000 AND window_start >= toDateTime64('"
        + from
        + "', 6, 'UTC') AND window_start < toDateTime64('"
        + to
        + "', 6, 'UTC')";
  }

  /** Per model, the slowest request of its worst 10 s window in [from, to), by model. */
  List<Slowest> slowest(String from, String to) throws SQLException {
    String sql =
        "SELECT w.model, formatDateTime(w.ws, '%Y-%m-%d %H:%i:%S', 'UTC'), w.p99_us, x.value_us,"
            + " x.request_id, x.event_id, x.host FROM ("
            + " SELECT model, argMax(window_start, (p99, -toUnixTimestamp64Micro(window_start))) AS ws,"
            + " max(p99) AS p99_us FROM ("
            + " SELECT model, window_start, quantileExactWeighted(0.99)(v, c) AS p99 FROM "
            + warmE2eRows(from, to, "bucket_values_us AS v, bucket_counts AS c")
            + " GROUP BY model, window_start) GROUP BY model) AS w"
            + " LEFT JOIN ("
            + " SELECT model, window_start, host, value_us, event_id, request_id FROM "
            + warmE2eRows(
                from,
                to,
                "exemplar_values_us AS value_us, exemplar_event_ids AS event_id,"
                    + " exemplar_request_ids AS request_id")
            + ") AS x ON x.model = w.model AND x.window_start = w.ws"
            + " ORDER BY w.model, x.value_us DESC, x.event_id LIMIT 1 BY w.model";
    List<Slowest> out = new ArrayList<>();
    try (Statement st = ch.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(
            new Slowest(
                rs.getString(1),
                rs.getString(2),
                rs.getLong(3),
                rs.getLong(4),
                rs.getString(5),
                rs.getString(6),
                rs.getString(7)));
      }
    }
    return out;
  }

  private void table(String title, String sql) throws SQLException {
    System.out.println();
    System.out.println(title);
    try (Statement st = ch.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      ResultSetMetaData md = rs.getMetaData();
      int n = md.getColumnCount();
      List<String[]> rows = new ArrayList<>();
      String[] header = new String[n];
      for (int i = 0; i < n; i++) {
        header[i] = md.getColumnLabel(i + 1);
      }
      rows.add(header);
      while (rs.next()) {
        String[] row = new String[n];
        for (int i = 0; i < n; i++) {
          String v = rs.getString(i + 1);
          row[i] = v == null ? "" : v;
        }
        rows.add(row);
      }
      int[] widths = new int[n];
      for (String[] row : rows) {
        for (int i = 0; i < n; i++) {
          widths[i] = Math.max(widths[i], row[i].length());
        }
      }
      for (String[] row : rows) {
        StringBuilder sb = new StringBuilder("  ");
        for (int i = 0; i < n; i++) {
          sb.append(String.format("%-" + (widths[i] + 2) + "s", row[i]));
        }
        System.out.println(sb.toString().stripTrailing());
      }
      if (rows.size() == 1) {
        System.out.println("  (no rows)");
      }
    }
  }

  private static String clickhouseHttp(String jdbcUrl) {
    String rest = jdbcUrl.replaceFirst("^jdbc:clickhouse:", "").replaceFirst("^//", "http://");
    int slash = rest.indexOf('/', "http://".length());
    return slash > 0 ? rest.substring(0, slash) : rest;
  }
}
