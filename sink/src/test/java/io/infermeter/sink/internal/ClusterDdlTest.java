package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.sink.SinkConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ClusterDdlTest {

  @Test
  void mergeTreeTableBecomesReplicatedOnClusterWithADistributedTwin() {
    List<String> out =
        ClusterDdl.rewrite(
            """
        CREATE TABLE IF NOT EXISTS db.alerts
        (
          a UInt8,
          kafka_offset Int64
        )
        ENGINE = ReplacingMergeTree(kafka_offset)
        ORDER BY a
        TTL toDateTime(now()) + INTERVAL 7 DAY""",
            "prod");
    assertThat(out)
        .containsExactly(
            """
        CREATE TABLE IF NOT EXISTS db.alerts ON CLUSTER 'prod'
        (
          a UInt8,
          kafka_offset Int64
        )
        ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/alerts', '{replica}', kafka_offset)
        ORDER BY a
        TTL toDateTime(now()) + INTERVAL 7 DAY""",
            "CREATE TABLE IF NOT EXISTS db.alerts_all ON CLUSTER 'prod' AS db.alerts "
                + "ENGINE = Distributed('prod', 'db', 'alerts')");
  }

  @Test
  void plainMergeTreeWithoutArgumentsAndViewsAndAlters() {
    assertThat(
            ClusterDdl.rewrite("CREATE TABLE db.t (a UInt8) ENGINE = MergeTree ORDER BY a", "c")
                .get(0))
        .isEqualTo(
            "CREATE TABLE db.t ON CLUSTER 'c' (a UInt8) ENGINE = ReplicatedMergeTree("
                + "'/clickhouse/tables/{shard}/db/t', '{replica}') ORDER BY a");
    assertThat(ClusterDdl.rewrite("CREATE VIEW IF NOT EXISTS db.v AS SELECT 1", "c"))
        .containsExactly("CREATE VIEW IF NOT EXISTS db.v ON CLUSTER 'c' AS SELECT 1");
    assertThat(ClusterDdl.rewrite("ALTER TABLE db.t ADD COLUMN b UInt8", "c"))
        .containsExactly(
            "ALTER TABLE db.t ON CLUSTER 'c' ADD COLUMN b UInt8",
            "ALTER TABLE db.t_all ON CLUSTER 'c' ADD COLUMN b UInt8");
    assertThat(ClusterDdl.rewrite("ALTER TABLE db.t MODIFY TTL d + INTERVAL 1 DAY", "c"))
        .containsExactly("ALTER TABLE db.t ON CLUSTER 'c' MODIFY TTL d + INTERVAL 1 DAY");
    assertThat(ClusterDdl.rewrite("DROP TABLE IF EXISTS db.t", "c"))
        .containsExactly("DROP TABLE IF EXISTS db.t ON CLUSTER 'c'");
    assertThat(ClusterDdl.rewrite("INSERT INTO db.t VALUES (1)", "c"))
        .containsExactly("INSERT INTO db.t VALUES (1)");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "RENAME TABLE db.a TO db.b",
        "CREATE FUNCTION f AS x -> x",
        "TRUNCATE TABLE db.t",
        "CREATE TABLE db.m (a UInt8) ENGINE = Memory",
        "CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a"
      })
  void ddlWithoutAClusteredFormFails(String sql) {
    assertThatThrownBy(() -> ClusterDdl.rewrite(sql, "c"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("clustered");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a b", "c'; DROP DATABASE x; --", "é"})
  void clusterNamesThatNeedEscapingAreRejected(String name) {
    assertThatThrownBy(() -> ClusterDdl.onCluster(name))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SinkConfig.fromMap(Map.of("clickhouse.cluster", name + "x'")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("clickhouse.cluster");
  }

  @Test
  void everyBundledMigrationHasAClusteredForm() {
    MigrationRunner runner = MigrationRunner.fromClasspath().withCluster(Optional.of("infermeter"));
    Map<String, String> placeholders = SinkFactory.placeholders(SinkConfig.fromMap(Map.of()));
    List<String> all = new ArrayList<>();
    for (Migration m : runner.migrations()) {
      all.addAll(runner.statements(m, placeholders));
    }
    assertThat(all).allSatisfy(s -> assertThat(s).contains("ON CLUSTER 'infermeter'"));
    long tables = all.stream().filter(s -> s.contains("ENGINE = Replicated")).count();
    long distributed = all.stream().filter(s -> s.contains("ENGINE = Distributed(")).count();
    assertThat(tables).isPositive().isEqualTo(distributed);
    assertThat(all).noneMatch(s -> s.matches("(?s).*ENGINE\\s*=\\s*(Replacing)?MergeTree.*"));
    assertThat(SinkConfig.fromMap(Map.of()).cluster()).isEmpty();
    assertThat(SinkConfig.fromMap(Map.of("clickhouse.cluster", "prod-eu.1")).cluster())
        .contains("prod-eu.1");
  }
}
