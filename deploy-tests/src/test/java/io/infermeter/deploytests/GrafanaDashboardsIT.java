package io.infermeter.deploytests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermeter.deploytests.Dashboards.Query;
import io.infermeter.testsupport.Infra;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Integration test against the REAL local ClickHouse (Infra): a fresh database gets the
 * repository's migrations, a few rows of every table, then every dashboard query (Grafana macros
 * and variables expanded as Grafana does) must run and return rows; the fleet percentiles of the
 * latency panel must equal nearest-rank percentiles computed here from the merged buckets. Models
 * named {@code a\} and {@code a') OR 1=1 --} (issue 12: a backslash broke every panel under {@code
 * ${model:singlequote}}, a crafted pair injected SQL) are selected one at a time: every panel that
 * filters by model runs and returns only that model's rows.
 */
class GrafanaDashboardsIT {

  private static final Instant WINDOW = Instant.parse("2026-01-01T00:00:00Z");
  // TTL far enough that the fixed 2026 rows are not expired (DateTime ends in 2106)
  private static final int TTL_DAYS = 3650;
  private static final String MODEL = "model-a";

  /**
   * Model names a client may send (the collector takes any string): a trailing backslash, a quote
   * and a comment.
   */
  private static final List<String> HOSTILE = List.of("a\\", "a') OR 1=1 --");

  private static final String HOST = "host-1";
  // per-host e2e warm histograms (highest equivalent value, count) of one 10 s window
  private static final long[] H1_VALUES = {100, 200, 300};
  private static final long[] H1_COUNTS = {50, 49, 1};
  private static final long[] H2_VALUES = {150, 200, 400, 900};
  private static final long[] H2_COUNTS = {10, 10, 79, 2};

  // the exemplars of the two host rows, slowest first; a request without a request id has ''
  private static final long[] H1_EXEMPLAR_VALUES = {300, 200, 200};
  private static final List<String> H1_EXEMPLAR_EVENTS = List.of("ev-h1-1", "ev-h1-2", "ev-h1-3");
  private static final List<String> H1_EXEMPLAR_REQUESTS = List.of("req-h1-1", "", "req-h1-3");
  private static final long[] H2_EXEMPLAR_VALUES = {900, 900, 400};
  private static final List<String> H2_EXEMPLAR_EVENTS = List.of("ev-h2-1", "ev-h2-2", "ev-h2-3");
  private static final List<String> H2_EXEMPLAR_REQUESTS =
      List.of("req-h2-1", "req-h2-2", "req-h2-3");

  private static String database;
  private static Connection connection;

  @BeforeAll
  static void createDatabase() throws SQLException {
    database = Infra.uniqueName("deploy_tests");
    connection = DriverManager.getConnection(Infra.get().clickhouseJdbcUrl());
    try (Statement st = connection.createStatement()) {
      st.execute("CREATE DATABASE " + database);
      for (Path f : Migrations.files()) {
        for (String sql : Migrations.statements(RepoFiles.read(f), database, TTL_DAYS)) {
          st.execute(sql);
        }
      }
      insertFixtures(st);
    }
  }

  @AfterAll
  static void dropDatabase() throws SQLException {
    if (connection != null) {
      try (Statement st = connection.createStatement()) {
        st.execute("DROP DATABASE IF EXISTS " + database);
      } finally {
        connection.close();
      }
    }
  }

  private static void insertFixtures(Statement st) throws SQLException {
    String ws = "'2026-01-01 00:00:00'";
    String we = "'2026-01-01 00:00:10'";
    String latency =
        "INSERT INTO "
            + database
            + ".window_latency (window_start, window_end, window_size_ms, scope, "
            + "host, model, metric, cohort, count, bucket_values_us, bucket_counts, kafka_offset, "
            + "exemplar_values_us, exemplar_event_ids, exemplar_request_ids) VALUES ";
    st.execute(
        latency
            + row(
                ws,
                we,
                10000,
                "'host'",
                "'host-1'",
                q(MODEL),
                "'e2e'",
                "'warm'",
                100,
                arr(H1_VALUES),
                arr(H1_COUNTS),
                1,
                arr(H1_EXEMPLAR_VALUES),
                ids(H1_EXEMPLAR_EVENTS),
                ids(H1_EXEMPLAR_REQUESTS))
            + ","
            + row(
                ws,
                we,
                10000,
                "'host'",
                "'host-2'",
                q(MODEL),
                "'e2e'",
                "'warm'",
                101,
                arr(H2_VALUES),
                arr(H2_COUNTS),
                2,
                arr(H2_EXEMPLAR_VALUES),
                ids(H2_EXEMPLAR_EVENTS),
                ids(H2_EXEMPLAR_REQUESTS))
            + ","
            // the fleet rollup describes the same requests again: a panel that read it would double
            // count
            + row(
                ws,
                we,
                10000,
                "'fleet'",
                "'*'",
                q(MODEL),
                "'e2e'",
                "'warm'",
                1000,
                "[5000000]",
                "[1000]",
                3,
                "[5000000]",
                "['ev-fleet']",
                "['req-fleet']")
            + ","
            + row(
                ws,
                we,
                10000,
                "'host'",
                "'host-1'",
                q(MODEL),
                "'ttft'",
                "'warm'",
                100,
                "[100000, 900000]",
                "[90, 10]",
                4,
                "[]",
                "[]",
                "[]")
            + ","
            + row(
                ws,
                we,
                10000,
                "'host'",
                "'host-1'",
                q(MODEL),
                "'tpot'",
                "'warm'",
                100,
                "[10000, 90000]",
                "[80, 20]",
                5,
                "[]",
                "[]",
                "[]")
            + ","
            // token rates, milli-tokens per second: 20 and 50 tokens/s; 5,000 tokens/s of prefill
            + row(
                ws,
                we,
                10000,
                "'host'",
                "'host-1'",
                q(MODEL),
                "'output_tps'",
                "'warm'",
                100,
                "[20015, 50015]",
                "[10, 90]",
                6,
                "[]",
                "[]",
                "[]")
            + ","
            + row(
                ws,
                we,
                10000,
                "'host'",
                "'host-1'",
                q(MODEL),
                "'input_tps'",
                "'warm'",
                100,
                "[5001215]",
                "[100]",
                7,
                "[]",
                "[]",
                "[]"));
    st.execute(
        "INSERT INTO "
            + database
            + ".window_aggregates (window_start, window_end, window_size_ms, scope, host, "
            + "model, gpu_type, requests, ok, errors, timeouts, cold_starts, output_tokens, slo_class, slo_requests, "
            + "slo_good, kafka_offset) VALUES "
            + row(
                ws,
                we,
                10000,
                "'host'",
                "'host-1'",
                q(MODEL),
                "'H100'",
                100,
                90,
                5,
                5,
                2,
                1000,
                "['default']",
                "[100]",
                "[80]",
                1));
    st.execute(
        "INSERT INTO "
            + database
            + ".energy_attribution (window_start, window_end, window_size_ms, region, "
            + "host, device_id, gpu_type, model, is_idle, requests, output_tokens, energy_j, carbon_g, cost, currency, "
            + "kafka_offset) VALUES "
            + row(
                ws,
                we,
                10000,
                "'us-east-1'",
                "'host-1'",
                "'GPU-0'",
                "'H100'",
                q(MODEL),
                0,
                100,
                1000,
                500.0,
                0.1,
                0.01,
                "'USD'",
                1)
            + ","
            + row(
                ws,
                we,
                10000,
                "'us-east-1'",
                "'host-1'",
                "'GPU-0'",
                "'H100'",
                "''",
                1,
                0,
                0,
                100.0,
                0.02,
                0.002,
                "'USD'",
                2));
    st.execute(
        "INSERT INTO "
            + database
            + ".device_energy (window_start, window_end, window_size_ms, host, device_id, "
            + "gpu_type, measured_energy_j, kafka_offset) VALUES "
            + row(ws, we, 10000, "'host-1'", "'GPU-0'", "'H100'", 600.0, 1));
    st.execute(
        "INSERT INTO "
            + database
            + ".bottlenecks (window_start, window_end, host, label, kafka_offset) VALUES "
            + row(ws, we, "'host-1'", "'COMPUTE_BOUND'", 1)
            + ","
            + row(ws, we, "'host-2'", "'QUEUE_BOUND'", 2));
    st.execute(
        "INSERT INTO "
            + database
            + ".alerts (emitted, alert_id, dedup_key, rule, severity, state, host, model, "
            + "window_start, window_end, observed, threshold, unit, summary, first_seen, kafka_offset) VALUES "
            + row(
                we,
                "'a-1'",
                "'error_spike|host-1'",
                "'error_spike'",
                "'WARNING'",
                "'FIRING'",
                "'host-1'",
                q(MODEL),
                ws,
                we,
                10.0,
                5.0,
                "'percent'",
                "'errors 10 % > 5 %'",
                we,
                1));
    st.execute(
        "INSERT INTO "
            + database
            + ".dead_letters (detected, stage, reason, message, kafka_offset) VALUES "
            + row(we, "'sink'", "'deserialization'", "'bad bytes'", 1));
    st.execute(
        "INSERT INTO "
            + database
            + ".hardware_samples (ts, cluster, region, host, device_id, device_kind, "
            + "gpu_type, source, utilization_pct, memory_utilization_pct, memory_used_bytes, memory_total_bytes, power_w, "
            + "energy_mj, temperature_c, sm_clock_mhz, mem_clock_mhz, throttle_reasons, xid_errors, kafka_partition, "
            + "kafka_offset) VALUES "
            + row(
                ws,
                "'c1'",
                "'us-east-1'",
                q(HOST),
                "'GPU-0'",
                "'GPU'",
                "'H100'",
                "'nvml'",
                87.5,
                40.0,
                "40000000000",
                "80000000000",
                612.0,
                1000,
                71.0,
                1980,
                2619,
                4,
                1,
                0,
                1));
    long offset = 100;
    for (String model : HOSTILE) {
      String m = lit(model);
      for (String metric : List.of("e2e", "ttft", "tpot", "output_tps", "input_tps")) {
        long o = offset++;
        st.execute(
            latency
                + row(
                    ws,
                    we,
                    10000,
                    "'host'",
                    "'host-3'",
                    m,
                    q(metric),
                    "'warm'",
                    10,
                    "[100000]",
                    "[10]",
                    o,
                    "[100000]",
                    "['ev-" + o + "']",
                    "['req-" + o + "']"));
      }
      st.execute(
          "INSERT INTO "
              + database
              + ".window_aggregates (window_start, window_end, window_size_ms, scope, "
              + "host, model, gpu_type, requests, ok, errors, timeouts, cold_starts, output_tokens, slo_class, "
              + "slo_requests, slo_good, kafka_offset) VALUES "
              + row(
                  ws,
                  we,
                  10000,
                  "'host'",
                  "'host-3'",
                  m,
                  "'H100'",
                  10,
                  10,
                  0,
                  0,
                  0,
                  100,
                  "['default']",
                  "[10]",
                  "[10]",
                  offset++));
      st.execute(
          "INSERT INTO "
              + database
              + ".energy_attribution (window_start, window_end, window_size_ms, region, "
              + "host, device_id, gpu_type, model, is_idle, requests, output_tokens, energy_j, carbon_g, cost, currency, "
              + "kafka_offset) VALUES "
              + row(
                  ws,
                  we,
                  10000,
                  "'us-east-1'",
                  "'host-3'",
                  "'GPU-1'",
                  "'H100'",
                  m,
                  0,
                  10,
                  100,
                  50.0,
                  0.01,
                  0.001,
                  "'USD'",
                  offset++));
    }
  }

  /** A ClickHouse string literal of any text: backslash and quote escaped. */
  private static String lit(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  static Stream<Query> queries() {
    return Dashboards.allQueries().stream();
  }

  /**
   * Grafana's expansion for a 2 h range around the fixtures, 1 h buckets, window 10 s and the
   * fixture model.
   */
  private static String expand(Query q) {
    return expand(q, List.of(MODEL));
  }

  /**
   * The option values of the model variable for {@code names}, taken from the variable's own query
   * as Grafana takes them (first column value, second column label).
   */
  private static List<String> optionValues(List<String> names) throws SQLException {
    Query variable =
        queries().filter(q -> q.where().equals("variable model")).findFirst().orElseThrow();
    Map<String, String> valueOfName = new HashMap<>();
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery(expand(variable))) {
      while (rs.next()) {
        valueOfName.put(rs.getString(2), rs.getString(1));
      }
    }
    return names.stream()
        .map(n -> java.util.Objects.requireNonNull(valueOfName.get(n), n))
        .toList();
  }

  /** As {@link #expand(Query)} with {@code models} selected in the model variable. */
  private static String expand(Query q, List<String> models) {
    JsonNode dashboard =
        Dashboards.parse(RepoFiles.grafanaDir().resolve("dashboards").resolve(q.dashboard()));
    Map<String, List<String>> vars = new HashMap<>(Dashboards.variableDefaults(dashboard, models));
    vars.replace("window_ms", List.of("10000"));
    vars.replace("host", List.of(HOST));
    GrafanaMacros macros =
        new GrafanaMacros(
            WINDOW.minusSeconds(3600),
            WINDOW.plusSeconds(3600),
            Duration.ofHours(1),
            vars,
            Dashboards.multiVariables(dashboard));
    return macros.expand(q.sql()).replace(Dashboards.DATABASE + ".", database + ".");
  }

  static Stream<org.junit.jupiter.params.provider.Arguments>
      modelFilteredQueriesAndHostileModels() {
    return queries()
        .filter(q -> q.sql().contains("${model:percentencode}"))
        .flatMap(
            q -> HOSTILE.stream().map(m -> org.junit.jupiter.params.provider.Arguments.of(q, m)));
  }

  private static List<Map<String, Object>> run(String sql) throws SQLException {
    List<Map<String, Object>> rows = new ArrayList<>();
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        Map<String, Object> row = new HashMap<>();
        for (int i = 1; i <= n; i++) {
          row.put(rs.getMetaData().getColumnLabel(i), rs.getObject(i));
        }
        rows.add(row);
      }
    }
    return rows;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("queries")
  void everyDashboardQueryRunsAndFindsTheFixtureRows(Query q) throws SQLException {
    assertThat(run(expand(q))).as("rows of %s", q).isNotEmpty();
  }

  @Test
  void modelVariableListsTheModels() throws SQLException {
    Query variable =
        queries().filter(q -> q.where().equals("variable model")).findFirst().orElseThrow();
    List<String> all = new ArrayList<>(HOSTILE);
    all.add(MODEL);
    assertThat(run(expand(variable)))
        .extracting(r -> r.get("model"))
        .containsExactlyInAnyOrderElementsOf(all);
  }

  @ParameterizedTest(name = "{0} with model {1}")
  @MethodSource("modelFilteredQueriesAndHostileModels")
  void aHostileModelNameRunsAndSelectsOnlyItsOwnRows(Query q, String model) throws SQLException {
    // as the drop-down passes it (the option value), and as a hand-made URL could (the raw name)
    for (List<String> selected : List.of(optionValues(List.of(model)), List.of(model))) {
      String sql = expand(q, selected);
      assertThat(sql)
          .doesNotContain(model)
          .doesNotContain("\\"); // percent-encoded: no quote, no backslash
      List<Map<String, Object>> rows = run(sql);
      assertThat(rows).as("rows of %s", q).isNotEmpty();
      if (rows.get(0).containsKey("model")) {
        assertThat(rows).extracting(r -> r.get("model")).as("models of %s", q).containsOnly(model);
      }
    }
  }

  @Test
  void theModelFilterMatchesExactlyTheSelectedNames() throws SQLException {
    Query panel =
        queries()
            .filter(
                q ->
                    q.dashboard().equals("infermeter-latency.json")
                        && q.where().contains("Requests per second"))
            .findFirst()
            .orElseThrow();
    List<String> all = new ArrayList<>(HOSTILE);
    all.add(MODEL);
    assertThat(run(expand(panel, optionValues(all))))
        .extracting(r -> r.get("model"))
        .containsOnlyElementsOf(all)
        .containsAll(all);
    assertThat(run(expand(panel, List.of("a"))))
        .isEmpty(); // a prefix of the hostile names matches nothing
    assertThat(run(expand(panel, optionValues(List.of(MODEL)))))
        .extracting(r -> r.get("model"))
        .containsOnly(MODEL);
  }

  @Test
  void fleetPercentilesEqualNearestRankOfTheMergedBuckets() throws SQLException {
    Query panel =
        queries()
            .filter(
                q -> q.dashboard().equals("infermeter-latency.json") && q.where().contains("p99.9"))
            .findFirst()
            .orElseThrow();
    long[] merged =
        LongStream.concat(expandBuckets(H1_VALUES, H1_COUNTS), expandBuckets(H2_VALUES, H2_COUNTS))
            .sorted()
            .toArray();
    List<Map<String, Object>> rows = run(expand(panel));
    assertThat(rows).hasSize(1);
    Map<String, Object> r = rows.get(0);
    assertThat(((Number) r.get("p50_us")).longValue()).isEqualTo(nearestRank(merged, 0.5));
    assertThat(((Number) r.get("p99_us")).longValue()).isEqualTo(nearestRank(merged, 0.99));
    assertThat(((Number) r.get("p999_us")).longValue()).isEqualTo(nearestRank(merged, 0.999));
  }

  @Test
  void exemplarPanelListsTheSlowestRequestsOfTheHostRowsSlowestFirst() throws SQLException {
    Query panel =
        queries()
            .filter(
                q ->
                    q.dashboard().equals("infermeter-latency.json")
                        && q.where().contains("(exemplars)"))
            .findFirst()
            .orElseThrow();
    List<Map<String, Object>> rows = run(expand(panel));
    // both host rows merged, ties by event id; the fleet rollup's exemplar is the same requests
    // again and stays out
    assertThat(rows)
        .extracting(
            r -> ((Number) r.get("value_us")).longValue(),
            r -> r.get("request_id"),
            r -> r.get("event_id"),
            r -> r.get("host"),
            r -> r.get("model"))
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(900L, "req-h2-1", "ev-h2-1", "host-2", MODEL),
            org.assertj.core.groups.Tuple.tuple(900L, "req-h2-2", "ev-h2-2", "host-2", MODEL),
            org.assertj.core.groups.Tuple.tuple(400L, "req-h2-3", "ev-h2-3", "host-2", MODEL),
            org.assertj.core.groups.Tuple.tuple(300L, "req-h1-1", "ev-h1-1", "host-1", MODEL),
            org.assertj.core.groups.Tuple.tuple(200L, "", "ev-h1-2", "host-1", MODEL),
            org.assertj.core.groups.Tuple.tuple(200L, "req-h1-3", "ev-h1-3", "host-1", MODEL));
  }

  /** Every sample of a histogram as one value each (the buckets' highest equivalent values). */
  private static LongStream expandBuckets(long[] values, long[] counts) {
    return LongStream.range(0, values.length)
        .flatMap(i -> LongStream.range(0, counts[(int) i]).map(x -> values[(int) i]));
  }

  /** Nearest-rank percentile: the smallest sample with at least q of all samples at or below it. */
  private static long nearestRank(long[] sorted, double q) {
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(rank, 1) - 1];
  }

  private static String row(Object... values) {
    return "(" + String.join(", ", Arrays.stream(values).map(String::valueOf).toList()) + ")";
  }

  private static String arr(long[] values) {
    return Arrays.toString(values);
  }

  private static String ids(List<String> ids) {
    return "[" + String.join(", ", ids.stream().map(GrafanaDashboardsIT::lit).toList()) + "]";
  }

  private static String q(String s) {
    return "'" + s + "'";
  }
}
