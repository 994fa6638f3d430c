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
 * Unit tests: the Grafana provisioning and dashboards of deploy/grafana parse, use the provisioned
 * ClickHouse data source, and every panel's SQL reads only tables and views the migrations create,
 * with only known macros.
 */
class GrafanaDashboardsTest {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Instant FROM = Instant.parse("2026-01-01T00:00:00Z");

  static Stream<Query> queries() {
    return Dashboards.allQueries().stream();
  }

  @Test
  void migrationsCreateTheTablesTheDashboardsNeed() {
    assertThat(Migrations.createdNames())
        .contains(
            "window_aggregates",
            "window_latency",
            "device_energy",
            "energy_attribution",
            "bottlenecks",
            "alerts",
            "dead_letters");
  }

  @Test
  void dataSourceIsTheClickHousePluginOnTheComposeService() throws Exception {
    JsonNode ds =
        YAML.readTree(
            RepoFiles.grafanaDir().resolve("provisioning/datasources/clickhouse.yaml").toFile());
    JsonNode first = ds.path("datasources").get(0);
    assertThat(ds.path("datasources")).hasSize(1);
    assertThat(first.path("type").asText()).isEqualTo("grafana-clickhouse-datasource");
    assertThat(first.path("jsonData").path("host").asText()).isEqualTo("clickhouse");
    assertThat(first.path("jsonData").path("port").asInt()).isEqualTo(8123);
    assertThat(first.path("jsonData").path("protocol").asText()).isEqualTo("http");
    assertThat(first.path("jsonData").path("defaultDatabase").asText())
        .isEqualTo(Dashboards.DATABASE);
    // the password comes from the environment, never from the repository
    assertThat(first.path("secureJsonData").path("password").asText()).startsWith("${");
    // it serves these dashboards only: never the default for every other panel of the Grafana
    // instance
    assertThat(first.path("isDefault").asBoolean(true)).isFalse();
  }

  @Test
  void dashboardProviderLoadsTheDashboardsFolder() throws Exception {
    JsonNode p =
        YAML.readTree(
            RepoFiles.grafanaDir().resolve("provisioning/dashboards/infermeter.yaml").toFile());
    assertThat(p.path("providers").get(0).path("type").asText()).isEqualTo("file");
    assertThat(p.path("providers").get(0).path("options").path("path").asText()).isNotBlank();
  }

  @Test
  void everyDashboardIsUniqueAndChoosesItsDataSourceByAVariable() throws Exception {
    String provisionedUid =
        YAML.readTree(
                RepoFiles.grafanaDir().resolve("provisioning/datasources/clickhouse.yaml").toFile())
            .path("datasources")
            .get(0)
            .path("uid")
            .asText();
    Map<String, String> variableOfType =
        Map.of(Dashboards.CLICKHOUSE, "${datasource}", "prometheus", "${prometheus}");
    assertThat(Dashboards.files()).hasSizeGreaterThanOrEqualTo(5);
    Set<String> uids = new HashSet<>();
    for (Path f : Dashboards.files()) {
      JsonNode d = Dashboards.parse(f);
      assertThat(RepoFiles.read(f))
          .as("%s names no data source uid", f)
          .doesNotContain(provisionedUid);
      assertThat(uids.add(d.path("uid").asText())).as("unique uid of %s", f).isTrue();
      assertThat(d.path("title").asText()).as("title of %s", f).isNotBlank();
      Map<String, String> dsVariables = new java.util.HashMap<>();
      for (JsonNode v : d.path("templating").path("list")) {
        if ("datasource".equals(v.path("type").asText())) {
          dsVariables.put(v.path("query").asText(), "${" + v.path("name").asText() + "}");
        }
      }
      Set<Integer> ids = new HashSet<>();
      for (JsonNode p : Dashboards.panels(d)) {
        assertThat(ids.add(p.path("id").asInt())).as("unique panel id in %s", f).isTrue();
        for (JsonNode t : p.path("targets")) {
          String type = t.path("datasource").path("type").asText();
          assertThat(variableOfType)
              .as("%s %s: data source type", f, p.path("title"))
              .containsKey(type);
          assertThat(t.path("datasource").path("uid").asText())
              .as("%s %s", f, p.path("title"))
              .isEqualTo(variableOfType.get(type))
              .isEqualTo(dsVariables.get(type));
          assertThat(t.path(type.equals("prometheus") ? "expr" : "rawSql").asText())
              .as("%s %s", f, p.path("title"))
              .isNotBlank();
        }
      }
      assertThat(ids).as("panels of %s", f).isNotEmpty();
    }
  }

  /**
   * Variables in SQL only as {@code '${name:percentencode}'}: nothing a value holds can end the
   * literal.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("queries")
  void noVariableIsSplicedIntoSqlUnescaped(Query q) {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("\\$(?!__)\\{?[A-Za-z]").matcher(q.sql());
    while (m.find()) {
      String rest = q.sql().substring(Math.max(0, m.start() - 1));
      assertThat(rest)
          .as("variable at %d of %s", m.start(), q)
          .matches("(?s)'\\$\\{[A-Za-z0-9_]+:percentencode}'.*");
    }
  }

  @Test
  void hardwareDashboardShowsEveryHardwareColumnThatMatters() {
    String sql =
        String.join(
            "\n",
            Dashboards.queries(
                    "infermeter-hardware.json",
                    Dashboards.parse(
                        RepoFiles.grafanaDir().resolve("dashboards/infermeter-hardware.json")))
                .stream()
                .map(Query::sql)
                .toList());
    assertThat(sql)
        .contains(
            "utilization_pct",
            "memory_used_bytes",
            "memory_total_bytes",
            "power_w",
            "temperature_c",
            "throttle_reasons",
            "xid_errors");
  }

  /**
   * Each metric of the pipeline dashboard is one the apps register (a counter is exported with
   * _total).
   */
  @Test
  void pipelineDashboardUsesOnlyMetricsTheAppsExport() throws java.io.IOException {
    Set<String> registered = new HashSet<>();
    java.util.regex.Pattern name = java.util.regex.Pattern.compile("\"(infermeter_[a-z0-9_]+)\"");
    for (String module : List.of("collector", "streams-app", "sink")) {
      try (Stream<Path> files =
          java.nio.file.Files.walk(RepoFiles.root().resolve(module).resolve("src/main/java"))) {
        for (Path f : files.filter(x -> x.toString().endsWith(".java")).toList()) {
          java.util.regex.Matcher m = name.matcher(RepoFiles.read(f));
          while (m.find()) {
            registered.add(m.group(1));
          }
        }
      }
    }
    List<String> exprs =
        Dashboards.promQueries(
            Dashboards.parse(
                RepoFiles.grafanaDir().resolve("dashboards/infermeter-pipeline.json")));
    assertThat(exprs).hasSizeGreaterThanOrEqualTo(8);
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("infermeter_[a-z0-9_]+").matcher(String.join(" ", exprs));
    Set<String> used = new HashSet<>();
    while (m.find()) {
      used.add(m.group());
    }
    assertThat(used)
        .contains(
            "infermeter_sink_consumer_lag_records",
            "infermeter_collector_dropped_total",
            "infermeter_collector_spool_bytes",
            "infermeter_sink_dead_letters_total",
            "infermeter_streams_dead_letters_total");
    for (String u : used) {
      String base = u.replaceAll("_(total|bucket|sum|count)$", "");
      assertThat(registered.contains(u) || registered.contains(base))
          .as("metric %s is registered by an app", u)
          .isTrue();
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
    JsonNode dashboard =
        Dashboards.parse(RepoFiles.grafanaDir().resolve("dashboards").resolve(q.dashboard()));
    GrafanaMacros macros =
        new GrafanaMacros(
            FROM,
            FROM.plusSeconds(3600),
            Duration.ofSeconds(60),
            Dashboards.variableDefaults(dashboard, List.of("model-a")),
            Dashboards.multiVariables(dashboard));
    assertThat(macros.expand(q.sql())).doesNotContain("$");
  }

  @Test
  void latencyPercentilesAreMergedFromTheHistogramBuckets() {
    List<Query> latency =
        queries()
            .filter(
                q -> q.dashboard().equals("infermeter-latency.json") && q.where().contains("p99.9"))
            .toList();
    assertThat(latency)
        .singleElement()
        .satisfies(
            q ->
                assertThat(q.sql())
                    .contains("quantilesExactWeighted(0.5, 0.99, 0.999)(v, c)")
                    .contains("ARRAY JOIN bucket_values_us AS v, bucket_counts AS c")
                    .contains("$__timeFilter(window_start)"));
  }

  // ---- negative tests of the helpers ----

  @Test
  void sourcesSkipArrayJoinsSubqueriesAndStringLiterals() {
    String sql =
        "SELECT x FROM (SELECT 1 FROM infermeter.a FINAL ARRAY JOIN arr AS v) "
            + "LEFT JOIN infermeter.b USING (x) WHERE s = 'FROM nowhere' -- FROM comment\n";
    assertThat(Dashboards.sources(sql)).containsExactly("infermeter.a", "infermeter.b");
  }

  @Test
  void unknownUnqualifiedAndFunctionSourcesAreReported() {
    Set<String> known = Set.of("a");
    assertThat(Dashboards.sourceProblems("SELECT 1 FROM infermeter.zzz", known))
        .singleElement()
        .asString()
        .contains("not created by the migrations");
    assertThat(Dashboards.sourceProblems("SELECT 1 FROM a", known))
        .singleElement()
        .asString()
        .contains("not a table of database infermeter");
    assertThat(Dashboards.sourceProblems("SELECT 1 FROM numbers(10)", known))
        .singleElement()
        .asString()
        .contains("numbers()");
    assertThat(Dashboards.sourceProblems("SELECT 1", known)).containsExactly("reads no table");
    assertThat(Dashboards.sourceProblems("SELECT 1 FROM infermeter.a", known)).isEmpty();
  }

  @Test
  void macrosExpandAsThePluginDoes() {
    GrafanaMacros m =
        new GrafanaMacros(
            FROM,
            FROM.plusSeconds(60),
            Duration.ofSeconds(20),
            Map.of("model", List.of("a", "b'c"), "w", List.of("10000")));
    assertThat(
            m.expand(
                "$__timeFilter(t) AND $__timeInterval(t) AND m IN (${model:singlequote}) AND w = $w"))
        .isEqualTo(
            "t >= toDateTime(1767225600) AND t <= toDateTime(1767225660) AND "
                + "toStartOfInterval(toDateTime(t), INTERVAL 20 second) AND m IN ('a','b\\'c') AND w = 10000");
    assertThat(m.expand("$__fromTime $__toTime $__interval_s ${w}"))
        .isEqualTo("toDateTime(1767225600) toDateTime(1767225660) 20 10000");
  }

  /**
   * Grafana's own test case (grafana/scenes formatRegistry) and the hostile model names of issue
   * 12.
   */
  @Test
  void percentEncodeIsGrafanasStrictEncoding() {
    GrafanaMacros m =
        new GrafanaMacros(
            FROM,
            FROM.plusSeconds(60),
            Duration.ofSeconds(20),
            Map.of(
                "servers",
                List.of("foo()bar BAZ", "test2"),
                "one",
                List.of("a\\"),
                "evil",
                List.of("a') OR 1=1 --"),
                "many",
                List.of("é", "x,y")),
            Set.of("one", "many"));
    assertThat(m.expand("${servers:percentencode}")).isEqualTo("%7Bfoo%28%29bar%20BAZ%2Ctest2%7D");
    assertThat(m.expand("${one:percentencode}")).isEqualTo("%7Ba%5C%7D");
    assertThat(m.expand("${evil:percentencode}")).isEqualTo("a%27%29%20OR%201%3D1%20--");
    assertThat(m.expand("${many:percentencode}")).isEqualTo("%7B%C3%A9%2Cx%2Cy%7D");
  }

  @Test
  void unknownMacrosVariablesAndFormatsAreRejected() {
    GrafanaMacros m =
        new GrafanaMacros(
            FROM, FROM.plusSeconds(60), Duration.ofSeconds(20), Map.of("v", List.of("1")));
    assertThatThrownBy(() -> m.expand("$__unknownMacro(x)"))
        .hasMessageContaining("$__unknownMacro");
    assertThatThrownBy(() -> m.expand("$nope")).hasMessageContaining("$nope");
    assertThatThrownBy(() -> m.expand("${v:json}")).hasMessageContaining("${v:json}");
    assertThatThrownBy(() -> new GrafanaMacros(FROM, FROM, Duration.ofSeconds(1), Map.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void migrationStatementsAreSplitAndPlaceholdersChecked() {
    String text =
        """
        -- a comment; not a statement end
        CREATE TABLE IF NOT EXISTS ${database}.t (a UInt8) ENGINE = Memory;
        CREATE VIEW IF NOT EXISTS ${database}.v AS SELECT a FROM ${database}.t
        WHERE a < ${ttl_days_x};
        """;
    assertThat(Migrations.statements(text, "db", 7))
        .containsExactly(
            "-- a comment; not a statement end\nCREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = Memory",
            "CREATE VIEW IF NOT EXISTS db.v AS SELECT a FROM db.t\nWHERE a < 7");
    assertThat(Migrations.createdNames(List.of(text))).containsExactly("t", "v");
    assertThatThrownBy(() -> Migrations.statements("SELECT ${other}", "db", 1))
        .hasMessageContaining("${other}");
  }
}
