package io.infermeter.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.sink.internal.MigrationRunner;
import io.infermeter.testsupport.Infra;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The summary's exemplar lines against the REAL local ClickHouse: a fresh database migrated with
 * the sink's migrations and known window_latency rows, where the worst window (by merged p99) is
 * not the one with the largest single value, two exemplars tie, a fleet rollup row has a larger
 * exemplar that must stay out, and one model's window carries no exemplar.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SummaryIT {

  private static final String W0 = "2026-01-01 00:00:00";
  private static final String W1 = "2026-01-01 00:00:10";
  private static final String W2 = "2026-01-01 00:00:20";

  private String db;
  private Connection connection;

  @BeforeAll
  void setUp() throws SQLException {
    db = Infra.uniqueName("summary_it");
    connection = DriverManager.getConnection(Infra.get().clickhouseJdbcUrl(), "default", "");
    Map<String, String> placeholders = new LinkedHashMap<>();
    placeholders.put("database", db);
    for (String table :
        List.of(
            "alerts",
            "bottlenecks",
            "dead_letters",
            "energy",
            "engine",
            "hardware",
            "requests",
            "window_aggregates")) {
      placeholders.put("ttl_days_" + table, "3650"); // the 2026 rows stay
    }
    MigrationRunner.fromClasspath().migrate(connection, placeholders);
    try (Statement st = connection.createStatement()) {
      st.execute(
          "INSERT INTO "
              + db
              + ".window_latency (window_start, window_end, window_size_ms, scope, host, model,"
              + " metric, cohort, count, bucket_values_us, bucket_counts, kafka_offset,"
              + " exemplar_values_us, exemplar_event_ids, exemplar_request_ids) VALUES "
              // m-a, window 0: merged p99 (rank 198 of 200) 150 ms, but the largest exemplar
              + "('"
              + W0
              + "', '"
              + W1
              + "', 10000, 'host', 'h1', 'm-a', 'e2e', 'warm', 100, [100000, 999999], [99, 1], 1,"
              + " [999999], ['a-0-1'], ['req-a-0-1']), ('"
              + W0
              + "', '"
              + W1
              + "', 10000, 'host', 'h2', 'm-a', 'e2e', 'warm', 100, [150000], [100], 2,"
              + " [150000], ['a-0-2'], ['req-a-0-2']), ('"
              // m-a, window 1: merged p99 300 ms, the worst; h1's and h2's slowest tie at 300.1 ms
              + W1
              + "', '"
              + W2
              + "', 10000, 'host', 'h1', 'm-a', 'e2e', 'warm', 100, [300000], [100], 3,"
              + " [300100, 300050, 300000], ['a-1-1', 'a-1-2', 'a-1-3'], ['req-a-1-1', '', 'r']), ('"
              + W1
              + "', '"
              + W2
              + "', 10000, 'host', 'h2', 'm-a', 'e2e', 'warm', 100, [100000], [100], 4,"
              + " [300100, 100000], ['a-0-9', 'a-1-9'], ['req-a-0-9', '']), ('"
              // the fleet rollup describes the same requests again
              + W1
              + "', '"
              + W2
              + "', 10000, 'fleet', '*', 'm-a', 'e2e', 'warm', 200, [300000], [200], 5,"
              + " [5000000], ['fleet-ev'], ['fleet-req']), ('"
              // the 1 min window and the ttft rows are not read
              + W0
              + "', '2026-01-01 00:01:00', 60000, 'host', 'h1', 'm-a', 'e2e', 'warm', 100, [900000],"
              + " [100], 6, [900000], ['min-ev'], ['min-req']), ('"
              + W1
              + "', '"
              + W2
              + "', 10000, 'host', 'h1', 'm-a', 'ttft', 'warm', 100, [900000], [100], 7,"
              + " [900000], ['ttft-ev'], ['ttft-req']), ('"
              // m-b: its only window carries no exemplar
              + W0
              + "', '"
              + W1
              + "', 10000, 'host', 'h1', 'm-b', 'e2e', 'warm', 10, [50000], [10], 8, [], [], [])");
    }
  }

  @AfterAll
  void tearDown() throws SQLException {
    if (connection != null) {
      try (Statement st = connection.createStatement()) {
        st.execute("DROP DATABASE IF EXISTS " + db);
      } finally {
        connection.close();
      }
    }
  }

  @Test
  void printsTheSlowestRequestOfEachModelsWorstWindow() throws SQLException {
    Summary summary = new Summary(connection, db);
    assertThat(summary.slowest(W0, "2026-01-01 00:01:00"))
        .containsExactly(
            new Summary.Slowest("m-a", W1, 300_000, 300_100, "req-a-0-9", "a-0-9", "h2"),
            new Summary.Slowest("m-b", W0, 50_000, 0, "", "", ""));

    PrintStream stdout = System.out;
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
      summary.print(
          W0, "2026-01-01 00:01:00", "http://127.0.0.1:1", "jdbc:clickhouse://127.0.0.1:8123/x");
    } finally {
      System.setOut(stdout);
    }
    String out = buffer.toString(StandardCharsets.UTF_8);
    String title =
        "Slowest request of each model's worst 10 s window (highest warm e2e p99; its exemplars)\n";
    assertThat(out)
        .contains(
            title
                + "  m-a: e2e 300.100 ms, request req-a-0-9 (event a-0-9), host h2, window "
                + W1
                + " UTC (p99 300.000 ms)\n"
                + "  m-b: no exemplar stored for its worst window "
                + W0
                + " UTC (p99 50.000 ms)\n");
    assertThat(out.indexOf(title)).isGreaterThan(out.indexOf("Warm latency per model"));
  }

  @Test
  void anEmptyRangeHasNoSlowestRequest() throws SQLException {
    Summary summary = new Summary(connection, db);
    assertThat(summary.slowest("2025-01-01 00:00:00", "2025-01-02 00:00:00")).isEmpty();
  }
}
