package io.infermeter.deploytests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermeter.deploytests.Dashboards.Query;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Unit tests: the Grafana provisioning and dashboards of deploy/grafana parse, use the provisioned ClickHouse data
 * source, and every panel's SQL reads only tables and views the migrations create, with only known macros.
 */
class GrafanaDashboardsTest {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Instant FROM = Instant.parse("2026-01-01T00:00:00Z");

  static Stream<Query> queries() {
    return Dashboards.allQueries().stream();
  }

  @Test
  void migrationsCreateTheTablesTheDashboardsNeed() {
    assertThat(Migrations.createdNames()).contains("window_aggregates", "window_latency", "device_energy",
        "energy_attribution", "bottlenecks", "alerts", "dead_letters");
  }

  @Test
  void dataSourceIsTheClickHousePluginOnTheComposeService() throws Exception {
    JsonNode ds = YAML.readTree(RepoFiles.grafanaDir().resolve("provisioning/datasources/clickhouse.yaml").toFile());
    JsonNode first = ds.path("datasources").get(0);
    assertThat(ds.path("datasources")).hasSize(1);
    assertThat(first.path("type").asText()).isEqualTo("grafana-clickhouse-datasource");
    assertThat(first.path("jsonData").path("host").asText()).isEqualTo("clickhouse");
    assertThat(first.path("jsonData").path("port").asInt()).isEqualTo(8123);
    assertThat(first.path("jsonData").path("protocol").asText()).isEqualTo("http");
    assertThat(first.path("jsonData").path("defaultDatabase").asText()).isEqualTo(Dashboards.DATABASE);
    // the password comes from the environment, never from the repository
    assertThat(first.path("secureJsonData").path("password").asText()).startsWith("${");
  }

  @Test
  void dashboardProviderLoadsTheDashboardsFolder() throws Exception {
    JsonNode p = YAML.readTree(RepoFiles.grafanaDir().resolve("provisioning/dashboards/infermeter.yaml").toFile());
    assertThat(p.path("providers").get(0).path("type").asText()).isEqualTo("file");
    assertThat(p.path("providers").get(0).path("options").path("path").asText()).isNotBlank();
  }

  @Test
  void everyDashboardIsUniqueAndUsesTheProvisionedDataSource() throws Exception {
    String uid = YAML.readTree(RepoFiles.grafanaDir().resolve("provisioning/datasources/clickhouse.yaml").toFile())
        .path("datasources").get(0).path("uid").asText();
    assertThat(Dashboards.files()).hasSizeGreaterThanOrEqualTo(3);
    Set<String> uids = new HashSet<>();
    for (Path f : Dashboards.files()) {
      JsonNode d = Dashboards.parse(f);
      assertThat(uids.add(d.path("uid").asText())).as("unique uid of %s", f).isTrue();
      assertThat(d.path("title").asText()).as("title of %s", f).isNotBlank();
      Set<Integer> ids = new HashSet<>();
      for (JsonNode p : Dashboards.panels(d)) {
        assertThat(ids.add(p.path("id").asInt())).as("unique panel id in %s", f).isTrue();
        for (JsonNode t : p.path("targets")) {
          assertThat(t.path("datasource").path("uid").asText()).as("%s %s", f, p.path("title")).isEqualTo(uid);
          assertThat(t.path("rawSql").asText()).as("%s %s", f, p.path("title")).isNotBlank();
        }
      }
      assertThat(ids).as("panels of %s", f).isNotEmpty();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("queries")
  void everyQueryReadsOnlyTablesOfTheMigrations(Query q) {
    assertThat(Dashboards.sourceProblems(q.sql(), Migrations.createdNames())).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("queries")
  void everyMacroAndVariableIsKnown(Query q) {
    JsonNode dashboard = Dashboards.parse(RepoFiles.grafanaDir().resolve("dashboards").resolve(q.dashboard()));
    GrafanaMacros macros = new GrafanaMacros(FROM, FROM.plusSeconds(3600), Duration.ofSeconds(60),
        Dashboards.variableDefaults(dashboard, List.of("model-a")));
    assertThat(macros.expand(q.sql())).doesNotContain("$");
  }

  @Test
  void latencyPercentilesAreMergedFromTheHistogramBuckets() {
    List<Query> latency = queries().filter(q -> q.dashboard().equals("infermeter-latency.json")
        && q.where().contains("p99.9")).toList();
    assertThat(latency).singleElement().satisfies(q -> assertThat(q.sql())
        .contains("quantilesExactWeighted(0.5, 0.99, 0.999)(v, c)")
        .contains("ARRAY JOIN bucket_values_us AS v, bucket_counts AS c")
        .contains("$__timeFilter(window_start)"));
  }

  // ---- negative tests of the helpers ----

  @Test
  void sourcesSkipArrayJoinsSubqueriesAndStringLiterals() {
    String sql = "SELECT x FROM (SELECT 1 FROM infermeter.a FINAL ARRAY JOIN arr AS v) "
        + "LEFT JOIN infermeter.b USING (x) WHERE s = 'FROM nowhere' -- FROM comment\n";
    assertThat(Dashboards.sources(sql)).containsExactly("infermeter.a", "infermeter.b");
  }

  @Test
  void unknownUnqualifiedAndFunctionSourcesAreReported() {
    Set<String> known = Set.of("a");
    assertThat(Dashboards.sourceProblems("SELECT 1 FROM infermeter.zzz", known))
        .singleElement().asString().contains("not created by the migrations");
    assertThat(Dashboards.sourceProblems("SELECT 1 FROM a", known))
        .singleElement().asString().contains("not a table of database infermeter");
    assertThat(Dashboards.sourceProblems("SELECT 1 FROM numbers(10)", known))
        .singleElement().asString().contains("numbers()");
    assertThat(Dashboards.sourceProblems("SELECT 1", known)).containsExactly("reads no table");
    assertThat(Dashboards.sourceProblems("SELECT 1 FROM infermeter.a", known)).isEmpty();
  }

  @Test
  void macrosExpandAsThePluginDoes() {
    GrafanaMacros m = new GrafanaMacros(FROM, FROM.plusSeconds(60), Duration.ofSeconds(20),
        Map.of("model", List.of("a", "b'c"), "w", List.of("10000")));
    assertThat(m.expand("$__timeFilter(t) AND $__timeInterval(t) AND m IN (${model:singlequote}) AND w = $w"))
        .isEqualTo("t >= toDateTime(1767225600) AND t <= toDateTime(1767225660) AND "
            + "toStartOfInterval(toDateTime(t), INTERVAL 20 second) AND m IN ('a','b\\'c') AND w = 10000");
    assertThat(m.expand("$__fromTime $__toTime $__interval_s ${w}"))
        .isEqualTo("toDateTime(1767225600) toDateTime(1767225660) 20 10000");
  }

  @Test
  void unknownMacrosVariablesAndFormatsAreRejected() {
    GrafanaMacros m = new GrafanaMacros(FROM, FROM.plusSeconds(60), Duration.ofSeconds(20), Map.of("v", List.of("1")));
    assertThatThrownBy(() -> m.expand("$__unknownMacro(x)")).hasMessageContaining("$__unknownMacro");
    assertThatThrownBy(() -> m.expand("$nope")).hasMessageContaining("$nope");
    assertThatThrownBy(() -> m.expand("${v:json}")).hasMessageContaining("${v:json}");
    assertThatThrownBy(() -> new GrafanaMacros(FROM, FROM, Duration.ofSeconds(1), Map.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void migrationStatementsAreSplitAndPlaceholdersChecked() {
    String text = """
        -- a comment; not a statement end
        CREATE TABLE IF NOT EXISTS ${database}.t (a UInt8) ENGINE = Memory;
        CREATE VIEW IF NOT EXISTS ${database}.v AS SELECT a FROM ${database}.t
        WHERE a < ${ttl_days_x};
        """;
    assertThat(Migrations.statements(text, "db", 7)).containsExactly(
        "-- a comment; not a statement end\nCREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = Memory",
        "CREATE VIEW IF NOT EXISTS db.v AS SELECT a FROM db.t\nWHERE a < 7");
    assertThat(Migrations.createdNames(List.of(text))).containsExactly("t", "v");
    assertThatThrownBy(() -> Migrations.statements("SELECT ${other}", "db", 1)).hasMessageContaining("${other}");
  }
}
