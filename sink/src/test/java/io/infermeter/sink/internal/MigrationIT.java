package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.WindowAggregate;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The migrations on the real ClickHouse server, and a JDBC batch insert/select round trip through
 * the writer.
 */
class MigrationIT {

  @Test
  void migrationsApplyOnceAndASecondRunIsANoOp() throws Exception {
    try (ClickHouseTestDb db = new ClickHouseTestDb(Map.of("clickhouse.ttl.days.alerts", "7"))) {
      List<Integer> bundled =
          MigrationRunner.fromClasspath().migrations().stream().map(Migration::version).toList();
      assertThat(db.migrate()).containsExactlyElementsOf(bundled).contains(1, 2);
      assertThat(db.migrate()).isEmpty();
      assertThat(db.longValue("SELECT count() FROM ${db}.schema_migrations"))
          .isEqualTo(bundled.size());
      assertThat(
              db
                  .rows("SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name")
                  .stream()
                  .map(r -> r.get(0).toString())
                  .toList())
          .contains(
              "window_aggregates",
              "window_latency",
              "device_energy",
              "energy_attribution",
              "bottlenecks",
              "alerts",
              "dead_letters",
              "fleet_latency_percentiles",
              "bottleneck_share");
      // the configured TTL reached the DDL
      assertThat(
              db.rows(
                      "SELECT create_table_query FROM system.tables WHERE database = '${db}' AND name = 'alerts'")
                  .get(0)
                  .get(0)
                  .toString())
          .contains("toIntervalDay(7)");
      assertThat(
              db.rows(
                      "SELECT engine FROM system.tables WHERE database = '${db}' AND name = 'window_aggregates'")
                  .get(0)
                  .get(0))
          .isEqualTo("ReplacingMergeTree");
    }
  }

  @Test
  void anEditedAppliedMigrationFailsTheRun() throws Exception {
    try (ClickHouseTestDb db = new ClickHouseTestDb(Map.of())) {
      db.migrate();
      try (Statement st = db.connection.createStatement()) {
        st.execute(
            "INSERT INTO "
                + db.database
                + ".schema_migrations (version, description, checksum) "
                + "VALUES (999, 'x', 'abc')");
      }
      MigrationRunner edited =
          new MigrationRunner(List.of(Migration.of("V999__x.sql", "SELECT 1;")));
      assertThatThrownBy(() -> edited.migrate(db.connection, SinkFactory.placeholders(db.config)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("V999")
          .hasMessageContaining("changed");
    }
  }

  @Test
  void jdbcBatchInsertRoundTripsEveryColumnKind() throws Exception {
    try (ClickHouseTestDb db = new ClickHouseTestDb(Map.of())) {
      db.migrate();
      WindowAggregate w =
          Fixtures.window(3, "host-'quoted'", "llama", 42)
              .setErrorsByType(Map.of("oom", 2L, "timeout", 1L))
              .setOutputTokensPerBusySec(12.5)
              .setSlo(List.of(Fixtures.slo("interactive", 40, 30), Fixtures.slo("batch", 2, 2)))
              .setLatencies(
                  List.of(
                      Fixtures.latency(
                          "e2e",
                          "warm",
                          Fixtures.histogram(new long[] {1000, 2000, 2000, 123456}))))
              .build();
      List<Object[]> aggregates = new ArrayList<>();
      List<Object[]> latency = new ArrayList<>();
      RowMappers.windowAggregate(
          w, 4, 77, (t, row) -> (t == Table.WINDOW_AGGREGATES ? aggregates : latency).add(row));
      try (ClickHouseWriter writer = SinkFactory.writer(db.config)) {
        writer.insert(Table.WINDOW_AGGREGATES, aggregates);
        writer.insert(Table.WINDOW_LATENCY, latency);
      }
      List<Object> row =
          db.rows(
                  "SELECT toUnixTimestamp64Micro(window_start), host, requests, errors_by_type['oom'], "
                      + "output_tokens_per_busy_sec, slo_class, slo_good, batch_mean_size, kafka_partition, kafka_offset "
                      + "FROM ${db}.window_aggregates")
              .get(0);
      assertThat(((Number) row.get(0)).longValue()).isEqualTo(w.getWindowStartUs());
      assertThat(row.get(1)).isEqualTo("host-'quoted'");
      assertThat(((Number) row.get(2)).longValue()).isEqualTo(42);
      assertThat(((Number) row.get(3)).longValue()).isEqualTo(2);
      assertThat(((Number) row.get(4)).doubleValue()).isEqualTo(12.5);
      assertThat(
              db.rows("SELECT toString(slo_class), toString(slo_good) FROM ${db}.window_aggregates")
                  .get(0))
          .containsExactly("['interactive','batch']", "[30,2]");
      assertThat(row.get(7)).isNull();
      assertThat(((Number) row.get(8)).intValue()).isEqualTo(4);
      assertThat(((Number) row.get(9)).longValue()).isEqualTo(77);
      assertThat(
              db.rows(
                      "SELECT toString(bucket_values_us), toString(bucket_counts), toString(count) FROM ${db}.window_latency")
                  .get(0))
          .containsExactly(
              w.getLatencies().get(0).getBucketValuesUs().toString().replace(" ", ""),
              w.getLatencies().get(0).getBucketCounts().toString().replace(" ", ""),
              "4");
    }
  }
}
