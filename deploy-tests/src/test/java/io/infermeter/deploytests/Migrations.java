package io.infermeter.deploytests;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the ClickHouse migrations (deploy/clickhouse/migrations/V*.sql) the way the sink's
 * migration runner does: placeholders {@code ${database}} and {@code ${ttl_days_*}} substituted,
 * statements split at a ';' that ends a line. Stateless, thread-safe.
 */
final class Migrations {

  private static final Pattern CREATE =
      Pattern.compile(
          "(?i)\\bCREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:TABLE|VIEW|MATERIALIZED\\s+VIEW|DICTIONARY)\\s+"
              + "(?:IF\\s+NOT\\s+EXISTS\\s+)?\\$\\{database}\\.([A-Za-z_][A-Za-z0-9_]*)");
  private static final Pattern TTL = Pattern.compile("\\$\\{ttl_days_[a-z_]+}");
  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{[^}]*}");
  private static final Pattern STATEMENT_END = Pattern.compile(";[ \\t]*(?:\\r?\\n|$)");

  private Migrations() {}

  /** The migration files, in version order. */
  static List<Path> files() {
    return RepoFiles.list(RepoFiles.migrationsDir(), ".sql");
  }

  /**
   * Names of every table, view and dictionary the given migration texts create in {@code
   * ${database}}.
   */
  static Set<String> createdNames(List<String> texts) {
    Set<String> names = new LinkedHashSet<>();
    for (String text : texts) {
      Matcher m = CREATE.matcher(stripComments(text));
      while (m.find()) {
        names.add(m.group(1));
      }
    }
    return names;
  }

  /** Names created by the repository's migrations. */
  static Set<String> createdNames() {
    return createdNames(files().stream().map(RepoFiles::read).toList());
  }

  /**
   * The statements of one migration text for {@code database}, with every TTL set to {@code
   * ttlDays}.
   *
   * @throws IllegalArgumentException when a placeholder other than ${database} and ${ttl_days_*} is
   *     left
   */
  static List<String> statements(String text, String database, int ttlDays) {
    String sql =
        TTL.matcher(text.replace("${database}", database)).replaceAll(Integer.toString(ttlDays));
    Matcher left = PLACEHOLDER.matcher(sql);
    if (left.find()) {
      throw new IllegalArgumentException("unknown placeholder " + left.group() + " in migration");
    }
    List<String> out = new ArrayList<>();
    for (String part : STATEMENT_END.split(sql, -1)) {
      if (!stripComments(part).isBlank()) {
        out.add(part.strip());
      }
    }
    return out;
  }

  /**
   * {@code text} without "--" line comments (none of the SQL here has "--" inside a string
   * literal).
   */
  static String stripComments(String text) {
    return text.replaceAll("(?m)--.*$", "");
  }
}
