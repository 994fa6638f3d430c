package io.infermeter.sink.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The columns of every table the migrations create, as the migrations declare them: {@code CREATE
 * TABLE} column lists, then {@code ALTER TABLE ... ADD / DROP / RENAME / MODIFY COLUMN} in version
 * order. A test-side reading of the SQL (not ClickHouse's), good for the statements our migrations
 * use; a statement it cannot read fails the test that asks rather than being skipped.
 */
final class MigrationColumns {

  private static final Pattern CREATE_TABLE =
      Pattern.compile(
          "CREATE TABLE (?:IF NOT EXISTS )?\\$\\{database}\\.([a-z_0-9]+)\\s*\\(",
          Pattern.CASE_INSENSITIVE);
  private static final Pattern ALTER_TABLE =
      Pattern.compile(
          "ALTER TABLE \\$\\{database}\\.([a-z_0-9]+)\\s+(.*)",
          Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
  private static final Pattern ADD =
      Pattern.compile(
          "ADD COLUMN (?:IF NOT EXISTS )?([a-z_0-9]+)\\s+(.*)",
          Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
  private static final Pattern DROP =
      Pattern.compile("DROP COLUMN (?:IF EXISTS )?([a-z_0-9]+)", Pattern.CASE_INSENSITIVE);
  private static final Pattern RENAME =
      Pattern.compile(
          "RENAME COLUMN (?:IF EXISTS )?([a-z_0-9]+) TO ([a-z_0-9]+)", Pattern.CASE_INSENSITIVE);
  private static final Pattern MODIFY =
      Pattern.compile(
          "MODIFY COLUMN (?:IF EXISTS )?([a-z_0-9]+)\\s+(.*)",
          Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

  /** Where a column's type ends in its definition. */
  private static final Pattern TYPE_END =
      Pattern.compile(
          "\\s+(?:CODEC|DEFAULT|MATERIALIZED|ALIAS|EPHEMERAL|TTL|COMMENT|AFTER|FIRST|SETTINGS)\\b.*",
          Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

  private MigrationColumns() {}

  /**
   * Table name to (column name to ClickHouse type), in declaration order, after every migration.
   */
  static Map<String, Map<String, String>> of(List<Migration> migrations) {
    Map<String, Map<String, String>> tables = new LinkedHashMap<>();
    for (Migration m : migrations) {
      for (String statement : statements(m.script())) {
        Matcher create = CREATE_TABLE.matcher(statement);
        if (create.lookingAt()) {
          tables.put(create.group(1), columns(statement.substring(create.end() - 1), m));
          continue;
        }
        Matcher alter = ALTER_TABLE.matcher(statement);
        if (alter.lookingAt()) {
          Map<String, String> columns = tables.get(alter.group(1));
          if (columns == null) {
            throw new IllegalArgumentException(
                "V"
                    + m.version()
                    + " alters "
                    + alter.group(1)
                    + ", which no earlier migration creates");
          }
          for (String action : splitTopLevel(alter.group(2))) {
            apply(columns, action.strip(), m);
          }
        }
      }
    }
    return tables;
  }

  private static void apply(Map<String, String> columns, String action, Migration m) {
    Matcher add = ADD.matcher(action);
    Matcher drop = DROP.matcher(action);
    Matcher rename = RENAME.matcher(action);
    Matcher modify = MODIFY.matcher(action);
    if (add.matches()) {
      columns.put(add.group(1), type(add.group(2)));
    } else if (drop.matches()) {
      columns.remove(drop.group(1));
    } else if (rename.matches()) {
      columns.put(rename.group(2), columns.remove(rename.group(1)));
    } else if (modify.matches()) {
      columns.put(modify.group(1), type(modify.group(2)));
    } else if (!action.matches(
        "(?is)(ADD|DROP|MATERIALIZE|CLEAR) (INDEX|PROJECTION|CONSTRAINT)\\b.*|MODIFY TTL\\b.*")) {
      throw new IllegalArgumentException(
          "V" + m.version() + ": cannot read ALTER action '" + action + "'");
    }
  }

  /** The column list of a CREATE TABLE, from its opening parenthesis. */
  private static Map<String, String> columns(String fromParen, Migration m) {
    int depth = 0;
    int end = -1;
    for (int i = 0; i < fromParen.length() && end < 0; i++) {
      char c = fromParen.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')' && --depth == 0) {
        end = i;
      }
    }
    if (end < 0) {
      throw new IllegalArgumentException(
          "V" + m.version() + ": unbalanced parentheses in a CREATE TABLE");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String element : splitTopLevel(fromParen.substring(1, end))) {
      String e = element.strip();
      if (e.isEmpty() || e.matches("(?is)(CONSTRAINT|INDEX|PROJECTION|PRIMARY KEY)\\b.*")) {
        continue;
      }
      String[] nameAndRest = e.split("\\s+", 2);
      out.put(nameAndRest[0].replace("`", ""), type(nameAndRest[1]));
    }
    return out;
  }

  private static String type(String definition) {
    return TYPE_END.matcher(definition.strip()).replaceFirst("").strip();
  }

  /** Splits on commas outside parentheses and quotes. */
  private static List<String> splitTopLevel(String s) {
    List<String> out = new ArrayList<>();
    int depth = 0;
    boolean quoted = false;
    int from = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\'') {
        quoted = !quoted;
      } else if (!quoted && c == '(') {
        depth++;
      } else if (!quoted && c == ')') {
        depth--;
      } else if (!quoted && depth == 0 && c == ',') {
        out.add(s.substring(from, i));
        from = i + 1;
      }
    }
    out.add(s.substring(from));
    return out;
  }

  /**
   * The statements of a script with {@code --} comments removed (to the end of the line), split on
   * ';'.
   */
  private static List<String> statements(String script) {
    StringBuilder sb = new StringBuilder();
    for (String line : script.split("\n", -1)) {
      int comment = line.indexOf("--");
      sb.append(comment >= 0 ? line.substring(0, comment) : line).append('\n');
    }
    return Arrays.stream(sb.toString().split(";"))
        .map(String::strip)
        .filter(s -> !s.isEmpty())
        .toList();
  }
}
