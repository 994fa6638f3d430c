package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MigrationTest {

  @Test
  void parsesVersionDescriptionAndSplitsStatementsWithPlaceholders() {
    Migration m =
        Migration.of(
            "V007__add_things.sql",
            """
        -- a comment; with a semicolon
        CREATE TABLE ${database}.t (a UInt8)
        ENGINE = MergeTree ORDER BY a TTL now() + INTERVAL ${ttl_days_alerts} DAY;

        CREATE VIEW ${database}.v AS SELECT 1;
        """);
    assertThat(m.version()).isEqualTo(7);
    assertThat(m.description()).isEqualTo("add things");
    assertThat(m.statements(Map.of("database", "db1", "ttl_days_alerts", "30")))
        .containsExactly(
            "CREATE TABLE db1.t (a UInt8)\nENGINE = MergeTree ORDER BY a TTL now() + INTERVAL 30 DAY",
            "CREATE VIEW db1.v AS SELECT 1");
  }

  @Test
  void checksumIsOfTheRawTextSoSettingsDoNotChangeIt() {
    Migration a = Migration.of("V1__a.sql", "SELECT ${database};");
    Migration b = Migration.of("V1__a.sql", "SELECT ${database};");
    Migration c = Migration.of("V1__a.sql", "SELECT ${database} ;");
    assertThat(a.checksum()).isEqualTo(b.checksum()).hasSize(64).isNotEqualTo(c.checksum());
  }

  @ParameterizedTest
  @ValueSource(strings = {"V1_a.sql", "1__a.sql", "V1__a.txt", "Vx__a.sql", "V1__a-b.sql"})
  void rejectsBadFileNames(String name) {
    assertThatThrownBy(() -> Migration.of(name, "SELECT 1;"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(name);
  }

  @Test
  void unknownPlaceholderAndUnterminatedStatementFail() {
    assertThatThrownBy(
            () -> Migration.of("V1__a.sql", "SELECT ${nope};").statements(Map.of("database", "d")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("${nope}");
    assertThatThrownBy(() -> Migration.of("V1__a.sql", "SELECT 1").statements(Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("without ';'");
  }

  @Test
  void duplicateVersionsAreRefused() {
    assertThatThrownBy(
            () ->
                new MigrationRunner(
                    List.of(
                        Migration.of("V1__a.sql", "SELECT 1;"),
                        Migration.of("V1__b.sql", "SELECT 2;"))))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void bundledMigrationsAreTheDeployDirectoryInVersionOrderAndUseOnlyKnownPlaceholders()
      throws Exception {
    MigrationRunner bundled = MigrationRunner.fromClasspath();
    Path dir = Path.of("..", "deploy", "clickhouse", "migrations");
    MigrationRunner onDisk = MigrationRunner.fromDirectory(dir);
    assertThat(bundled.migrations()).isEqualTo(onDisk.migrations());
    assertThat(bundled.migrations()).extracting(Migration::version).isSorted().startsWith(1, 2);
    Map<String, String> placeholders =
        SinkFactory.placeholders(io.infermeter.sink.SinkConfig.fromMap(Map.of()));
    for (Migration m : bundled.migrations()) {
      assertThat(m.statements(placeholders))
          .isNotEmpty()
          .allSatisfy(s -> assertThat(s).doesNotContain("${"));
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.count()).isEqualTo(bundled.migrations().size());
    }
  }
}
