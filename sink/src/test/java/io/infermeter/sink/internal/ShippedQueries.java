package io.infermeter.sink.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The named queries of docs/queries.sql, with their {@code {name:Type}} parameters bound to
 * literals.
 */
final class ShippedQueries {

  private static final Pattern PARAM = Pattern.compile("\\{([a-z_]+):[A-Za-z0-9(), ']+}");
  private final Map<String, String> queries = new LinkedHashMap<>();

  ShippedQueries(Path file) throws IOException {
    String name = null;
    StringBuilder sql = new StringBuilder();
    for (String line : Files.readAllLines(file)) {
      if (line.startsWith("-- name: ")) {
        name = line.substring("-- name: ".length()).strip();
        sql.setLength(0);
      } else if (name != null && !line.startsWith("--")) {
        sql.append(line).append('\n');
        if (line.strip().endsWith(";")) {
          String text = sql.toString().strip();
          queries.put(name, text.substring(0, text.length() - 1));
          name = null;
        }
      }
    }
  }

  static ShippedQueries load() throws IOException {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path candidate = p.resolve("docs").resolve("queries.sql");
      if (Files.isRegularFile(candidate)) {
        return new ShippedQueries(candidate);
      }
    }
    throw new IOException("docs/queries.sql not found above " + Path.of("").toAbsolutePath());
  }

  Map<String, String> all() {
    return queries;
  }

  /**
   * The query {@code name} for {@code database}, every parameter replaced by the quoted literal in
   * {@code params}.
   */
  String bind(String name, String database, Map<String, ?> params) {
    String sql = queries.get(name);
    if (sql == null) {
      throw new IllegalArgumentException(
          "no query named " + name + " in docs/queries.sql; have " + queries.keySet());
    }
    sql = sql.replace("infermeter.", database + ".");
    Matcher m = PARAM.matcher(sql);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      Object v = params.get(m.group(1));
      if (v == null) {
        throw new IllegalArgumentException("query " + name + " needs parameter " + m.group(1));
      }
      m.appendReplacement(
          sb, Matcher.quoteReplacement(v instanceof Number ? v.toString() : "'" + v + "'"));
    }
    m.appendTail(sb);
    return sb.toString();
  }
}
