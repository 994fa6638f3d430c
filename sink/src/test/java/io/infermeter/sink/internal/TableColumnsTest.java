package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.AlertState;
import io.infermeter.avro.BatchingStats;
import io.infermeter.avro.BottleneckLabel;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.JitterStats;
import io.infermeter.avro.Severity;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The sink's column lists ({@link Table}) and row arrays ({@link RowMappers}) against the columns
 * the migrations declare (deploy/clickhouse/migrations, parsed by {@link MigrationColumns}). A
 * column added by a migration but not to {@link Table} and its mapper, a column in {@link Table}
 * that no migration creates, or a value of the wrong kind in a column's position (a String where a
 * UInt64 goes: a mapper out of step with {@link Table}) fails here, before an insert on a real
 * ClickHouse would. Recipe "add a ClickHouse column" in docs/ARCHITECTURE.md.
 */
class TableColumnsTest {

  /**
   * Columns ClickHouse fills itself (a DEFAULT the sink never sets). Anything else a migration adds
   * must be written.
   */
  static final Set<String> LEFT_TO_CLICKHOUSE = Set.of("ingested_at");

  private static final Map<String, Map<String, String>> DECLARED =
      MigrationColumns.of(MigrationRunner.fromClasspath().migrations());

  /**
   * What is wrong between one {@link Table} and the declared columns of its table; empty when they
   * agree.
   */
  static List<String> differences(Table table, Map<String, Map<String, String>> declared) {
    Map<String, String> columns = declared.get(table.tableName());
    if (columns == null) {
      return List.of("no migration creates table " + table.tableName());
    }
    List<String> out = new ArrayList<>();
    Set<String> unwritten = new TreeSet<>(columns.keySet());
    unwritten.removeAll(table.columns());
    unwritten.removeAll(LEFT_TO_CLICKHOUSE);
    if (!unwritten.isEmpty()) {
      out.add(
          table.tableName()
              + ": the migrations declare "
              + unwritten
              + " but Table."
              + table.name()
              + " (and its RowMappers method) does not write them");
    }
    Set<String> undeclared = new TreeSet<>(table.columns());
    undeclared.removeAll(columns.keySet());
    if (!undeclared.isEmpty()) {
      out.add(
          table.tableName()
              + ": Table."
              + table.name()
              + " writes "
              + undeclared
              + " but no migration declares them");
    }
    if (table.columns().size() != Set.copyOf(table.columns()).size()) {
      out.add(table.tableName() + ": Table." + table.name() + " names a column twice");
    }
    return out;
  }

  @Test
  void everyTableTheSinkWritesMatchesTheColumnsOfTheMigrations() {
    List<String> problems = new ArrayList<>();
    for (Table t : Table.values()) {
      problems.addAll(differences(t, DECLARED));
    }
    assertThat(problems).isEmpty();
  }

  /**
   * Tables the sink fills with {@code INSERT ... SELECT} inside ClickHouse (the hourly rollups and
   * their bookkeeping), not from Kafka records through {@link Table}: named {@code *_hourly}, plus
   * {@code rollup_hours}.
   */
  static boolean rolledUpInClickHouse(String table) {
    return table.endsWith("_hourly") || table.equals("rollup_hours");
  }

  @Test
  void everyTableTheMigrationsCreateIsWrittenByTheSink() {
    Set<String> written = new TreeSet<>();
    for (Table t : Table.values()) {
      written.add(t.tableName());
    }
    assertThat(DECLARED.keySet().stream().filter(t -> !rolledUpInClickHouse(t)).toList())
        .as("tables of the migrations that no Table constant writes")
        .isSubsetOf(written);
  }

  @Test
  void aColumnAddedByAMigrationButNotToTheMapperIsReported() {
    List<Migration> withNewColumn = new ArrayList<>(MigrationRunner.fromClasspath().migrations());
    withNewColumn.add(
        Migration.of(
            "V999__new_column.sql",
            "-- a newcomer's migration\nALTER TABLE ${database}.window_aggregates ADD COLUMN IF NOT EXISTS"
                + " prefix_cache_hits UInt64 CODEC(T64, ZSTD(1)) AFTER busy_time_us;\n"));
    assertThat(differences(Table.WINDOW_AGGREGATES, MigrationColumns.of(withNewColumn)))
        .singleElement()
        .asString()
        .contains("[prefix_cache_hits]", "does not write");
  }

  @Test
  void aColumnDroppedOrRenamedByAMigrationButStillWrittenIsReported() {
    List<Migration> changed = new ArrayList<>(MigrationRunner.fromClasspath().migrations());
    changed.add(
        Migration.of(
            "V998__rename.sql",
            "ALTER TABLE ${database}.alerts RENAME COLUMN IF EXISTS summary TO title, DROP COLUMN evidence;\n"));
    assertThat(differences(Table.ALERTS, MigrationColumns.of(changed)))
        .anySatisfy(p -> assertThat(p).contains("[title]", "does not write"))
        .anySatisfy(p -> assertThat(p).contains("[evidence, summary]", "no migration declares"));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "hardware_samples | pod | LowCardinality(String)",
        "window_latency | bucket_values_us | Array(UInt64)",
        "window_aggregates | errors_by_type | Map(LowCardinality(String), UInt64)",
        "window_aggregates | batch_max_size | Nullable(UInt32)",
        "requests | ingested_at | DateTime64(3, 'UTC')"
      })
  void columnTypesAreReadWithoutCodecsDefaultsOrPositions(
      String table, String column, String type) {
    assertThat(DECLARED.get(table)).containsEntry(column, type);
  }

  /**
   * One row of every table the JDBC writer fills, from records with every optional part present.
   */
  private static Map<Table, Object[]> sampleRows() {
    Map<Table, Object[]> rows = new EnumMap<>(Table.class);
    RowMappers.RowConsumer keep = (t, row) -> rows.putIfAbsent(t, row);
    RowMappers.windowAggregate(
        Fixtures.window(0, "h", "m", 3)
            .setSlo(List.of(Fixtures.slo("a", 3, 2)))
            .setJitter(
                List.of(
                    JitterStats.newBuilder()
                        .setMetric("e2e")
                        .setStddevUs(1.5)
                        .setCoefficientOfVariation(0.1)
                        .setP99OverP50(1.2)
                        .setIqrUs(7)
                        .setMeanAbsConsecutiveDiffUs(2.5)
                        .build()))
            .setBatching(
                BatchingStats.newBuilder()
                    .setRequestsWithBatchSize(3)
                    .setMeanBatchSize(2.0)
                    .setMaxBatchSize(4)
                    .setEfficiency(0.5)
                    .setBatchSizeOneShare(0.1)
                    .setP50BatchSize(2)
                    .setP90BatchSize(3)
                    .setP99BatchSize(4)
                    .setTokensPerBatch(9.0)
                    .build())
            .setOutputTokensPerBusySec(12.0)
            .setErrorsByType(Map.of("oom", 1L))
            .setLatencies(
                List.of(Fixtures.latency("e2e", "warm", Fixtures.histogram(new long[] {5, 6}))))
            .build(),
        1,
        2,
        keep);
    RowMappers.energy(
        Fixtures.energy(
            0,
            "h",
            "eu",
            "H100",
            4,
            1,
            0.1,
            List.of(Fixtures.attribution("m", 1, 10, 0.5, 5, 1, 0.1))),
        1,
        2,
        keep);
    RowMappers.bottleneck(Fixtures.bottleneck(0, "h", BottleneckLabel.COMPUTE_BOUND), 1, 2, keep);
    RowMappers.alert(
        Fixtures.alert("id", "dk", "rule", Severity.INFO, AlertState.FIRING, "h", 5), 1, 2, keep);
    RowMappers.hardware(Fixtures.gpuSample("h", 0, 50.0, 300.0, 0), 1, 2, keep);
    RowMappers.engine(
        EngineSample.newBuilder()
            .setCluster("c")
            .setRegion("r")
            .setHost("h")
            .setInstance("h:8000")
            .setPod("p")
            .setEngine("vllm")
            .setModel("m")
            .setSource("scrape")
            .setTimestampUs(Fixtures.T0_US)
            .setKvCacheUsage(0.5)
            .setRequestsRunning(3L)
            .setRequestsWaiting(1L)
            .setPreemptionsTotal(0L)
            .build(),
        1,
        2,
        keep);
    RowMappers.deadLetter(
        DeadLetter.newBuilder()
            .setStage("sink")
            .setReason("mapping")
            .setMessage("m")
            .setErrorClass("E")
            .setSourceTopic("t")
            .setSourcePartition(0)
            .setSourceOffset(1L)
            .setRecordTimestampUs(Fixtures.T0_US)
            .setKey(ByteBuffer.wrap(new byte[] {1}))
            .setPayload(ByteBuffer.wrap(new byte[] {2}))
            .setDetectedUs(Fixtures.T0_US)
            .build(),
        1,
        2,
        keep);
    return rows;
  }

  @Test
  void everyMappedRowHasOneValuePerColumnOfItsTypeInEveryTable() {
    Map<Table, Object[]> rows = sampleRows();
    // REQUESTS goes through RowBinaryRequests, which binds by column name, not through these arrays
    assertThat(rows.keySet())
        .containsExactlyInAnyOrderElementsOf(
            Set.of(Table.values()).stream().filter(t -> t != Table.REQUESTS).toList());
    List<String> problems = new ArrayList<>();
    rows.forEach(
        (table, row) -> {
          if (row.length != table.columns().size()) {
            problems.add(
                table.tableName()
                    + ": the mapper writes "
                    + row.length
                    + " values but Table."
                    + table.name()
                    + " names "
                    + table.columns().size()
                    + " columns");
            return;
          }
          Map<String, String> types = DECLARED.get(table.tableName());
          for (int i = 0; i < row.length; i++) {
            String column = table.columns().get(i);
            String type = types.get(column);
            if (type != null && !fits(type, row[i])) {
              problems.add(
                  table.tableName()
                      + "."
                      + column
                      + " is "
                      + type
                      + " but the mapper puts a "
                      + (row[i] == null
                          ? "null"
                          : row[i].getClass().getSimpleName() + " (" + row[i] + ")")
                      + " there");
            }
          }
        });
    assertThat(problems).isEmpty();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "UInt64 | text",
        "LowCardinality(String) | 7",
        "Array(UInt64) | text",
        "DateTime64(6, 'UTC') | 7",
        "Float64 | text",
        "Nullable(UInt32) | text"
      })
  void aValueOfAnotherKindDoesNotFit(String type, String value) {
    Object v = value.equals("7") ? (Object) 7L : value;
    assertThat(fits(type, v)).isFalse();
  }

  /** Whether a value the JDBC writer binds can go into a column of this ClickHouse type. */
  static boolean fits(String type, Object v) {
    if (type.startsWith("Nullable(")) {
      return v == null || fits(inner(type), v);
    }
    if (type.startsWith("LowCardinality(")) {
      return fits(inner(type), v);
    }
    if (v == null) {
      return false;
    }
    if (type.startsWith("Array(")) {
      return v instanceof List<?> list && list.stream().allMatch(e -> fits(inner(type), e));
    }
    if (type.startsWith("Map(")) {
      return v instanceof Map<?, ?>;
    }
    if (type.startsWith("DateTime64") || type.startsWith("DateTime")) {
      return v instanceof Instant;
    }
    if (type.matches("U?Int(8|16|32|64)")) {
      return v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte;
    }
    if (type.matches("Float(32|64)")) {
      return v instanceof Double || v instanceof Float;
    }
    if (type.equals("Bool")) {
      return v instanceof Boolean;
    }
    if (type.equals("String")) {
      return v instanceof String;
    }
    throw new IllegalArgumentException(
        "no rule for ClickHouse type " + type + " in this test; add one");
  }

  private static String inner(String type) {
    return type.substring(type.indexOf('(') + 1, type.lastIndexOf(')'));
  }
}
