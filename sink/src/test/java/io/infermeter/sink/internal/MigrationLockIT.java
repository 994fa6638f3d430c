package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.sink.SinkConfig;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Clustered migrations and the migration lock on the real local ClickHouse server. The local server
 * is a single chdb process without Keeper or a {@code remote_servers} cluster, so the clustered DDL
 * cannot execute here: ClickHouse's own parser checks every clustered statement instead ({@code
 * EXPLAIN AST} and {@code formatQuery}), and the lock is checked with concurrent runners on the
 * plain server, where it works the same way.
 */
class MigrationLockIT {

  @Test
  void clickHouseParsesEveryClusteredStatement() throws Exception {
    try (ClickHouseTestDb db = new ClickHouseTestDb(Map.of("clickhouse.cluster", "infermeter"))) {
      MigrationRunner runner = MigrationRunner.fromClasspath().withCluster(db.config.cluster());
      List<String> statements = new ArrayList<>();
      for (Migration m : runner.migrations()) {
        statements.addAll(runner.statements(m, SinkFactory.placeholders(db.config)));
      }
      assertThat(statements).isNotEmpty();
      for (String sql : statements) {
        try (Statement st = db.connection.createStatement();
            ResultSet rs = st.executeQuery("EXPLAIN AST " + sql)) {
          assertThat(rs.next()).as(sql).isTrue();
        }
        try (PreparedStatement ps =
            db.connection.prepareStatement("SELECT formatQuerySingleLine(?)")) {
          ps.setString(1, sql);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            String formatted = rs.getString(1);
            assertThat(formatted).as(sql).contains("ON CLUSTER infermeter");
            if (sql.contains("ENGINE = Replicated")) {
              assertThat(formatted)
                  .containsPattern(
                      "ENGINE = Replicated(Replacing)?MergeTree\\('/clickhouse/tables/"
                          + "\\{shard\\}/"
                          + db.database
                          + "/[a-z_]+', '\\{replica\\}'");
            }
          }
        }
      }
    }
  }

  @Test
  void concurrentRunnersApplyEachMigrationExactlyOnce() throws Exception {
    try (ClickHouseTestDb db = new ClickHouseTestDb(Map.of())) {
      int runners = 3;
      ExecutorService pool = Executors.newFixedThreadPool(runners);
      CountDownLatch start = new CountDownLatch(1);
      List<Future<List<Integer>>> results = new ArrayList<>();
      for (int i = 0; i < runners; i++) {
        results.add(
            pool.submit(
                () -> {
                  try (Connection c =
                      DriverManager.getConnection(db.config.clickhouseUrl(), "default", "")) {
                    start.await();
                    return MigrationRunner.fromClasspath()
                        .migrate(c, SinkFactory.placeholders(db.config));
                  }
                }));
      }
      start.countDown();
      List<Integer> applied = new ArrayList<>();
      for (Future<List<Integer>> f : results) {
        applied.addAll(f.get(120, TimeUnit.SECONDS));
      }
      pool.shutdown();
      List<Integer> bundled =
          MigrationRunner.fromClasspath().migrations().stream().map(Migration::version).toList();
      assertThat(applied)
          .containsExactlyInAnyOrderElementsOf(bundled); // every version once, over all runners
      assertThat(db.longValue("SELECT count() FROM ${db}.schema_migrations"))
          .isEqualTo(bundled.size());
      assertThat(
              db.longValue(
                  "SELECT count() FROM system.tables WHERE database = '${db}' AND name = '"
                      + MigrationRunner.LOCK_TABLE
                      + "'"))
          .isZero();
    }
  }

  @Test
  void aHeldLockIsWaitedForAndAnAbandonedOneIsBroken() throws Exception {
    try (ClickHouseTestDb db = new ClickHouseTestDb(Map.of())) {
      try (Statement st = db.connection.createStatement()) {
        st.execute("CREATE DATABASE IF NOT EXISTS " + db.database);
        st.execute(
            "CREATE TABLE "
                + db.database
                + "."
                + MigrationRunner.LOCK_TABLE
                + " (owner String) ENGINE = Memory COMMENT 'crashed-runner'");
      }
      long t0 = System.nanoTime();
      List<Integer> applied =
          MigrationRunner.fromClasspath()
              .withLockTimeout(Duration.ofSeconds(2))
              .migrate(db.connection, SinkFactory.placeholders(db.config));
      long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertThat(applied).isNotEmpty();
      // the lock was younger than the timeout at first: the runner waited until it counted as
      // abandoned; its age is
      // whole seconds of the server's clock, so a lock made late in a second reaches 2 s after just
      // over 1 s
      assertThat(waitedMs).isGreaterThanOrEqualTo(1000);
      assertThat(
              db.longValue(
                  "SELECT count() FROM system.tables WHERE database = '${db}' AND name = '"
                      + MigrationRunner.LOCK_TABLE
                      + "'"))
          .isZero();
    }
  }

  @Test
  void lockErrorsAreRecognised() {
    assertThat(
            MigrationRunner.isAlreadyExists(
                new java.sql.SQLException(
                    "Code: 57. DB::Exception: Table x.y already "
                        + "exists. (TABLE_ALREADY_EXISTS)")))
        .isTrue();
    assertThat(MigrationRunner.isAlreadyExists(new java.sql.SQLException("x", "HY000", 57)))
        .isTrue();
    assertThat(
            MigrationRunner.isAlreadyExists(new java.sql.SQLException("Code: 60. UNKNOWN_TABLE")))
        .isFalse();
    assertThat(SinkConfig.fromMap(Map.of()).cluster()).isEqualTo(Optional.empty());
  }
}
