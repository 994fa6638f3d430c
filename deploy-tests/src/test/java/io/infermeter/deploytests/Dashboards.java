package io.infermeter.deploytests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Grafana dashboards of deploy/grafana/dashboards: their SQL (panel targets and query
 * variables), their template variables, and the tables each SQL reads. Stateless, thread-safe.
 */
final class Dashboards {

  /**
   * Database every dashboard query names its tables in (the data source's default database as
   * well).
   */
  static final String DATABASE = "infermeter";

  /** One SQL text of a dashboard: a panel target or a query variable. */
  record Query(String dashboard, String where, String sql) {
    @Override
    public String toString() {
      return dashboard + " / " + where;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  // FROM/JOIN followed by a name; ARRAY JOIN (a column, not a table) and FROM ( (a subquery) are
  // told apart below.
  private static final Pattern SOURCE =
      Pattern.compile(
          "(?i)\\b(ARRAY\\s+)?(FROM|JOIN)\\s+([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)?)(\\s*\\()?");
  private static final Pattern STRING_LITERAL = Pattern.compile("'(?:[^'\\\\]|\\\\.)*'");

  private Dashboards() {}

  static List<Path> files() {
    return RepoFiles.list(RepoFiles.grafanaDir().resolve("dashboards"), ".json");
  }

  static JsonNode parse(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse " + file, e);
    }
  }

  /** Every panel, rows' nested panels included. */
  static List<JsonNode> panels(JsonNode dashboard) {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode p : dashboard.path("panels")) {
      out.add(p);
      p.path("panels").forEach(out::add);
    }
    return out;
  }

  /** The ClickHouse plugin's type id. */
  static final String CLICKHOUSE = "grafana-clickhouse-datasource";

  /**
   * True for a target or panel on a ClickHouse data source (Prometheus targets carry PromQL, not
   * SQL).
   */
  static boolean isClickHouse(JsonNode node) {
    return CLICKHOUSE.equals(node.path("datasource").path("type").asText());
  }

  /**
   * Every SQL text of one dashboard: each ClickHouse panel target's rawSql and each query
   * variable's query.
   */
  static List<Query> queries(String name, JsonNode dashboard) {
    List<Query> out = new ArrayList<>();
    for (JsonNode p : panels(dashboard)) {
      for (JsonNode t : p.path("targets")) {
        if (!isClickHouse(t)) {
          continue;
        }
        out.add(
            new Query(
                name,
                "panel '" + p.path("title").asText() + "' " + t.path("refId").asText(),
                t.path("rawSql").asText("")));
      }
    }
    for (JsonNode v : dashboard.path("templating").path("list")) {
      if ("query".equals(v.path("type").asText())) {
        JsonNode q = v.path("query");
        out.add(
            new Query(
                name,
                "variable " + v.path("name").asText(),
                q.isTextual() ? q.asText() : q.path("rawSql").asText()));
      }
    }
    return out;
  }

  /** Every SQL text of every dashboard file. */
  static List<Query> allQueries() {
    List<Query> out = new ArrayList<>();
    for (Path f : files()) {
      out.addAll(queries(f.getFileName().toString(), parse(f)));
    }
    return out;
  }

  /**
   * Default values of a dashboard's template variables: custom and textbox variables from their
   * definitions, query variables (filled by Grafana from the database) with {@code queryValues}.
   */
  static Map<String, List<String>> variableDefaults(JsonNode dashboard, List<String> queryValues) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (JsonNode v : dashboard.path("templating").path("list")) {
      String name = v.path("name").asText();
      switch (v.path("type").asText()) {
        case "query" -> out.put(name, queryValues);
        case "datasource" -> {} // chooses the data source, never appears in SQL
        case "custom", "textbox", "constant" -> {
          JsonNode current = v.path("current").path("value");
          out.put(
              name, List.of(current.isMissingNode() ? v.path("query").asText() : current.asText()));
        }
        default ->
            throw new IllegalArgumentException(
                "unsupported variable type of " + name + ": " + v.path("type"));
      }
    }
    return out;
  }

  /** Names of the multi-value variables of a dashboard. */
  static Set<String> multiVariables(JsonNode dashboard) {
    Set<String> out = new LinkedHashSet<>();
    for (JsonNode v : dashboard.path("templating").path("list")) {
      if (v.path("multi").asBoolean(false)) {
        out.add(v.path("name").asText());
      }
    }
    return out;
  }

  /** Every PromQL expression of a dashboard's Prometheus targets. */
  static List<String> promQueries(JsonNode dashboard) {
    List<String> out = new ArrayList<>();
    for (JsonNode p : panels(dashboard)) {
      for (JsonNode t : p.path("targets")) {
        if ("prometheus".equals(t.path("datasource").path("type").asText())) {
          out.add(t.path("expr").asText(""));
        }
      }
    }
    return out;
  }

  /**
   * Tables and views an SQL text reads (FROM / JOIN targets), as written (qualified or not). Table
   * functions are returned with "()" appended so that they never pass for a table.
   */
  static Set<String> sources(String sql) {
    String text = STRING_LITERAL.matcher(Migrations.stripComments(sql)).replaceAll("''");
    Set<String> out = new LinkedHashSet<>();
    Matcher m = SOURCE.matcher(text);
    while (m.find()) {
      if (m.group(1) != null) {
        continue; // ARRAY JOIN of a column
      }
      out.add(m.group(3) + (m.group(4) != null ? "()" : ""));
    }
    return out;
  }

  /**
   * Problems of the sources of one SQL text: every source must be {@code infermeter.<name>} with a
   * name that the migrations create (so the dashboards and the schema can never drift apart
   * unnoticed).
   */
  static List<String> sourceProblems(String sql, Set<String> known) {
    List<String> problems = new ArrayList<>();
    Set<String> sources = sources(sql);
    if (sources.isEmpty()) {
      problems.add("reads no table");
    }
    for (String s : sources) {
      String prefix = DATABASE + ".";
      if (!s.toLowerCase(Locale.ROOT).startsWith(prefix) || s.endsWith("()")) {
        problems.add("source '" + s + "' is not a table of database " + DATABASE);
      } else if (!known.contains(s.substring(prefix.length()))) {
        problems.add("source '" + s + "' is not created by the migrations " + known);
      }
    }
    return problems;
  }
}
