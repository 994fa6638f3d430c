package io.infermeter.sink.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The clustered form of a migration statement, for {@code clickhouse.cluster}: every DDL statement
 * runs {@code ON CLUSTER}, every {@code *MergeTree} table becomes its {@code Replicated*MergeTree}
 * twin (replica path {@code /clickhouse/tables/{shard}/<database>/<table>}, replica name {@code
 * {replica}}: the {@code shard} and {@code replica} macros of each server's configuration), and
 * each such table gets a {@code <table>_all} {@code Distributed} table over the cluster for queries
 * across shards.
 *
 * <p>The sink keeps writing to the replicated table itself (one shard of N replicas is the
 * supported shape; an insert into a Distributed table is asynchronous by default and would weaken
 * the sink's insert-then-commit guarantee), and the views keep reading it. A DDL statement that
 * this class cannot rewrite fails the migration rather than running on one server only. Stateless
 * and thread-safe.
 */
final class ClusterDdl {

  private static final String NAME = "([A-Za-z_][A-Za-z0-9_]*)\\.([A-Za-z_][A-Za-z0-9_]*)";
  private static final Pattern CREATE_DATABASE =
      Pattern.compile(
          "(?is)^(CREATE\\s+DATABASE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?[A-Za-z_][A-Za-z0-9_]*)(.*)$");
  private static final Pattern CREATE_TABLE =
      Pattern.compile("(?is)^(CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?)" + NAME + "(.*)$");
  private static final Pattern CREATE_VIEW =
      Pattern.compile(
          "(?is)^(CREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:MATERIALIZED\\s+)?VIEW\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?)"
              + NAME
              + "(.*)$");
  private static final Pattern ALTER_OR_DROP =
      Pattern.compile(
          "(?is)^((?:ALTER\\s+TABLE|DROP\\s+(?:TABLE|VIEW|DICTIONARY)(?:\\s+IF\\s+EXISTS)?)\\s+)"
              + NAME
              + "(.*)$");
  private static final Pattern ENGINE =
      Pattern.compile(
          "(?is)\\bENGINE\\s*=\\s*(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing)?MergeTree\\b"
              + "(?:\\s*\\(([^()]*)\\))?");
  private static final Pattern DDL =
      Pattern.compile("(?is)^\\s*(CREATE|ALTER|DROP|RENAME|TRUNCATE|EXCHANGE)\\b.*");
  private static final Pattern CLUSTER_NAME = Pattern.compile("[A-Za-z0-9_.-]+");

  private ClusterDdl() {}

  /**
   * True when {@code cluster} can be written as {@code ON CLUSTER '<cluster>'} without escaping.
   */
  static boolean isValidCluster(String cluster) {
    return cluster != null && CLUSTER_NAME.matcher(cluster).matches();
  }

  /** {@code ON CLUSTER '<cluster>'}. */
  static String onCluster(String cluster) {
    if (!isValidCluster(cluster)) {
      throw new IllegalArgumentException("cluster name must match [A-Za-z0-9_.-]+, got " + cluster);
    }
    return " ON CLUSTER '" + cluster + "'";
  }

  /**
   * The clustered statements for one statement of a migration: the statement itself rewritten, plus
   * the {@code Distributed} table after a {@code CREATE TABLE} of a MergeTree-family table. A
   * statement that is not DDL (an {@code INSERT}, a {@code SELECT}) is returned unchanged: on a
   * replicated table it reaches every replica.
   *
   * @throws IllegalArgumentException for a DDL statement without a clustered form here
   */
  static List<String> rewrite(String sql, String cluster) {
    String on = onCluster(cluster);
    String s = sql.strip();
    List<String> out = new ArrayList<>();
    Matcher m;
    if ((m = CREATE_DATABASE.matcher(s)).matches()) {
      out.add(m.group(1) + on + m.group(2));
    } else if ((m = CREATE_TABLE.matcher(s)).matches()) {
      String db = m.group(2);
      String table = m.group(3);
      String rest = m.group(4);
      Matcher engine = ENGINE.matcher(rest);
      if (!engine.find()) {
        throw new IllegalArgumentException(
            "CREATE TABLE "
                + db
                + "."
                + table
                + " has no *MergeTree engine: no "
                + "clustered (replicated) form for clickhouse.cluster");
      }
      String kind = engine.group(1) == null ? "" : engine.group(1);
      String args = engine.group(2) == null ? "" : engine.group(2).strip();
      String replicated =
          "ENGINE = Replicated"
              + kind
              + "MergeTree('/clickhouse/tables/{shard}/"
              + db
              + "/"
              + table
              + "', '{replica}'"
              + (args.isEmpty() ? "" : ", " + args)
              + ")";
      out.add(
          m.group(1)
              + db
              + "."
              + table
              + on
              + rest.substring(0, engine.start())
              + replicated
              + rest.substring(engine.end()));
      out.add(
          "CREATE TABLE IF NOT EXISTS "
              + db
              + "."
              + table
              + "_all"
              + on
              + " AS "
              + db
              + "."
              + table
              + " ENGINE = Distributed('"
              + cluster
              + "', '"
              + db
              + "', '"
              + table
              + "')");
    } else if ((m = CREATE_VIEW.matcher(s)).matches()) {
      out.add(m.group(1) + m.group(2) + "." + m.group(3) + on + m.group(4));
    } else if ((m = ALTER_OR_DROP.matcher(s)).matches()) {
      out.add(m.group(1) + m.group(2) + "." + m.group(3) + on + m.group(4));
      boolean columns =
          m.group(1).toUpperCase(Locale.ROOT).startsWith("ALTER")
              && m.group(4)
                  .toUpperCase(Locale.ROOT)
                  .matches("(?s)\\s*(ADD|DROP|MODIFY|RENAME|COMMENT)\\s+COLUMN\\b.*");
      if (columns) {
        // the Distributed table mirrors the columns of its local table
        out.add(m.group(1) + m.group(2) + "." + m.group(3) + "_all" + on + m.group(4));
      }
    } else if (DDL.matcher(s).matches()) {
      throw new IllegalArgumentException(
          "no clustered form for the statement '"
              + abbreviate(s)
              + "': write it with ON CLUSTER support in ClusterDdl or as CREATE/ALTER/DROP of a table or view");
    } else {
      out.add(s);
    }
    return out;
  }

  private static String abbreviate(String s) {
    String one = s.replaceAll("\\s+", " ");
    return one.length() <= 80 ? one : one.substring(0, 77) + "...";
  }
}
