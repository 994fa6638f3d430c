package io.infermeter.sink.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the versioned migrations ({@code V001__*.sql}, ...) in version order to one database,
 * recording each applied version with its checksum in {@code <database>.schema_migrations}.
 * Idempotent: applied versions are skipped, so running it twice is a no-op. A migration whose
 * checksum differs from the recorded one fails the run (an applied migration must never be edited;
 * add a new version instead).
 *
 * <p>Concurrent runners (several sink replicas starting together) apply each migration once: a run
 * holds a lock, the table {@code <database>.schema_migrations_lock}, for the whole
 * read-apply-record sequence. ClickHouse creates a table name at most once, so {@code CREATE TABLE}
 * (without {@code IF NOT EXISTS}) is the acquire, and {@code DROP TABLE} the release; with {@code
 * clickhouse.cluster} both run {@code ON CLUSTER}, through ClickHouse's Keeper-backed distributed
 * DDL queue, which orders them across servers. A waiter polls; a lock older than the lock timeout
 * (by the server's clock) is taken as left behind by a crashed runner and broken.
 *
 * <p>With a cluster, statements are rewritten by {@link ClusterDdl} (Replicated engines, ON
 * CLUSTER, Distributed tables) and {@code schema_migrations} is itself replicated. Not thread-safe;
 * one runner per thread.
 */
public final class MigrationRunner {

  /**
   * Where the migrations live on the class path (the sink jar carries a copy of
   * deploy/clickhouse/migrations).
   */
  public static final String RESOURCE_DIR = "clickhouse/migrations";

  /** Name of the lock table inside the migrated database. */
  public static final String LOCK_TABLE = "schema_migrations_lock";

  /**
   * Default lock timeout: the age (server clock, whole seconds) at which a held lock counts as
   * abandoned.
   */
  public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofMinutes(10);

  private static final Duration POLL = Duration.ofMillis(250);
  private static final Logger LOG = LoggerFactory.getLogger(MigrationRunner.class);

  private final List<Migration> migrations;
  private final Optional<String> cluster;
  private final Duration lockTimeout;

  MigrationRunner(List<Migration> migrations) {
    this(migrations, Optional.empty(), DEFAULT_LOCK_TIMEOUT);
  }

  private MigrationRunner(
      List<Migration> migrations, Optional<String> cluster, Duration lockTimeout) {
    List<Migration> sorted = new ArrayList<>(migrations);
    sorted.sort(Comparator.comparingInt(Migration::version));
    for (int i = 1; i < sorted.size(); i++) {
      if (sorted.get(i).version() == sorted.get(i - 1).version()) {
        throw new IllegalArgumentException(
            "two migrations have version " + sorted.get(i).version());
      }
    }
    this.migrations = List.copyOf(sorted);
    cluster.ifPresent(ClusterDdl::onCluster); // validates the name
    this.cluster = cluster;
    this.lockTimeout = lockTimeout;
  }

  /**
   * This runner for a ClickHouse cluster ({@code clickhouse.cluster}); empty for a single server.
   */
  public MigrationRunner withCluster(Optional<String> cluster) {
    return new MigrationRunner(migrations, cluster.filter(c -> !c.isBlank()), lockTimeout);
  }

  /** This runner with another lock timeout (see the class comment). */
  public MigrationRunner withLockTimeout(Duration timeout) {
    if (timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("lock timeout must be positive, got " + timeout);
    }
    return new MigrationRunner(migrations, cluster, timeout);
  }

  /** The statements of {@code m} as this runner executes them (clustered when a cluster is set). */
  List<String> statements(Migration m, Map<String, String> placeholders) {
    List<String> plain = m.statements(placeholders);
    if (cluster.isEmpty()) {
      return plain;
    }
    List<String> out = new ArrayList<>();
    for (String sql : plain) {
      try {
        out.addAll(ClusterDdl.rewrite(sql, cluster.get()));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("migration V" + m.version() + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  /** The migrations bundled on the class path. */
  public static MigrationRunner fromClasspath() {
    return new MigrationRunner(loadClasspath());
  }

  /** The migrations of a directory (e.g. deploy/clickhouse/migrations of a checkout). */
  public static MigrationRunner fromDirectory(Path dir) {
    List<Migration> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p :
          files.filter(p -> p.getFileName().toString().matches("V\\d+__.*\\.sql")).toList()) {
        out.add(
            Migration.of(p.getFileName().toString(), Files.readString(p, StandardCharsets.UTF_8)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read migrations from " + dir, e);
    }
    return new MigrationRunner(out);
  }

  List<Migration> migrations() {
    return migrations;
  }

  /**
   * Creates the database if missing and applies every migration not yet recorded.
   *
   * @param placeholders values of {@code ${name}} placeholders; {@code database} must be among them
   * @return the versions applied by this call (empty when the schema was up to date)
   * @throws SQLException when ClickHouse rejects a statement (the failed version is not recorded)
   * @throws IllegalStateException when an applied migration's checksum changed
   */
  public List<Integer> migrate(Connection connection, Map<String, String> placeholders)
      throws SQLException {
    String db = placeholders.get("database");
    if (db == null || !db.matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new IllegalArgumentException("placeholder 'database' must be an identifier, got " + db);
    }
    String on = cluster.map(ClusterDdl::onCluster).orElse("");
    try (Statement st = connection.createStatement()) {
      st.execute("CREATE DATABASE IF NOT EXISTS " + db + on);
    }
    String owner = owner();
    acquireLock(connection, db, on, owner);
    try {
      return migrateLocked(connection, placeholders, db, on);
    } finally {
      releaseLock(connection, db, on, owner);
    }
  }

  private List<Integer> migrateLocked(
      Connection connection, Map<String, String> placeholders, String db, String on)
      throws SQLException {
    try (Statement st = connection.createStatement()) {
      String engine =
          cluster.isEmpty()
              ? "MergeTree"
              : "ReplicatedMergeTree('/clickhouse/tables/{shard}/"
                  + db
                  + "/schema_migrations', '{replica}')";
      st.execute(
          "CREATE TABLE IF NOT EXISTS "
              + db
              + ".schema_migrations"
              + on
              + " (version UInt32, description "
              + "String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = "
              + engine
              + " ORDER BY version");
    }
    Map<Integer, String> applied = new HashMap<>();
    try (Statement st = connection.createStatement();
        ResultSet rs =
            st.executeQuery("SELECT version, checksum FROM " + db + ".schema_migrations")) {
      while (rs.next()) {
        applied.put(rs.getInt(1), rs.getString(2));
      }
    }
    List<Integer> done = new ArrayList<>();
    for (Migration m : migrations) {
      String recorded = applied.get(m.version());
      if (recorded != null) {
        if (!recorded.equals(m.checksum())) {
          throw new IllegalStateException(
              "migration V"
                  + m.version()
                  + " ("
                  + m.description()
                  + ") was changed after "
                  + "it was applied to "
                  + db
                  + ": recorded checksum "
                  + recorded
                  + ", file "
                  + m.checksum()
                  + ". Never edit an applied migration; add a new version.");
        }
        continue;
      }
      LOG.info("applying ClickHouse migration V{} ({}) to {}", m.version(), m.description(), db);
      try (Statement st = connection.createStatement()) {
        for (String sql : statements(m, placeholders)) {
          st.execute(sql);
        }
      }
      try (PreparedStatement ps =
          connection.prepareStatement(
              "INSERT INTO "
                  + db
                  + ".schema_migrations (version, description, checksum) VALUES (?, ?, ?)")) {
        ps.setInt(1, m.version());
        ps.setString(2, m.description());
        ps.setString(3, m.checksum());
        ps.executeUpdate();
      }
      done.add(m.version());
    }
    return done;
  }

  /**
   * Creates the lock table, waiting while another runner holds it; breaks a lock older than the
   * lock timeout.
   */
  private void acquireLock(Connection connection, String db, String on, String owner)
      throws SQLException {
    String lock = db + "." + LOCK_TABLE;
    // a held lock counts as abandoned at lockTimeout; past twice that, others keep taking it before
    // us: give up
    long deadline = System.nanoTime() + 2 * lockTimeout.toNanos() + Duration.ofSeconds(1).toNanos();
    boolean logged = false;
    while (true) {
      try (Statement st = connection.createStatement()) {
        st.execute(
            "CREATE TABLE "
                + lock
                + on
                + " (owner String) ENGINE = Memory COMMENT '"
                + owner
                + "'");
        return;
      } catch (SQLException e) {
        if (!isAlreadyExists(e)) {
          throw e;
        }
      }
      // empty: released between our CREATE and the look-up (or, on a cluster, not on this server
      // yet): poll again
      Optional<LockHolder> holder =
          Optional.of(
              holder(connection, db)
                  .orElse(new LockHolder("unknown (not visible on this server)", 0)));
      if (holder.get().ageSeconds() >= Math.max(1, lockTimeout.toSeconds())) {
        LOG.warn(
            "breaking the ClickHouse migration lock {} of '{}': held for {} s, longer than the lock timeout {} "
                + "(a runner that crashed while migrating?)",
            lock,
            holder.get().owner(),
            holder.get().ageSeconds(),
            lockTimeout);
        try (Statement st = connection.createStatement()) {
          st.execute("DROP TABLE IF EXISTS " + lock + on + " SYNC");
        }
        continue;
      }
      if (!logged) {
        LOG.info(
            "waiting for the ClickHouse migration lock {} held by '{}' (another sink migrating {})",
            lock,
            holder.get().owner(),
            db);
        logged = true;
      }
      if (System.nanoTime() > deadline) {
        throw new SQLException(
            "timed out after "
                + lockTimeout
                + " waiting for the migration lock "
                + lock
                + " held by '"
                + holder.get().owner()
                + "'; if no sink is migrating, DROP TABLE "
                + lock);
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SQLException("interrupted while waiting for the migration lock " + lock, e);
      }
    }
  }

  private static void releaseLock(Connection connection, String db, String on, String owner) {
    try (Statement st = connection.createStatement()) {
      Optional<LockHolder> holder = holder(connection, db);
      if (holder.isPresent() && !holder.get().owner().equals(owner)) {
        LOG.warn(
            "the migration lock {}.{} is now held by '{}' (ours was broken as stale); leaving it",
            db,
            LOCK_TABLE,
            holder.get().owner());
        return;
      }
      st.execute("DROP TABLE IF EXISTS " + db + "." + LOCK_TABLE + on + " SYNC");
    } catch (SQLException e) {
      LOG.warn(
          "could not release the migration lock {}.{}; the next runner breaks it after {}",
          db,
          LOCK_TABLE,
          DEFAULT_LOCK_TIMEOUT,
          e);
    }
  }

  private record LockHolder(String owner, long ageSeconds) {}

  private static Optional<LockHolder> holder(Connection connection, String db) throws SQLException {
    try (PreparedStatement ps =
        connection.prepareStatement(
            "SELECT comment, "
                + "toInt64(dateDiff('second', metadata_modification_time, now())) FROM system.tables "
                + "WHERE database = ? AND name = ?")) {
      ps.setString(1, db);
      ps.setString(2, LOCK_TABLE);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new LockHolder(rs.getString(1), rs.getLong(2)))
            : Optional.empty();
      }
    }
  }

  /**
   * ClickHouse error 57, TABLE_ALREADY_EXISTS (also through ON CLUSTER, where it arrives in the
   * message).
   */
  static boolean isAlreadyExists(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String msg = String.valueOf(t.getMessage());
      if ((t instanceof SQLException s && s.getErrorCode() == 57)
          || msg.contains("TABLE_ALREADY_EXISTS")
          || msg.contains("Code: 57.")) {
        return true;
      }
    }
    return false;
  }

  /** Host and a random id: who holds the lock, in its table comment. */
  private static String owner() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      host = "unknown-host";
    }
    return (host + "-" + java.util.UUID.randomUUID()).replaceAll("[^A-Za-z0-9_.-]", "_");
  }

  private static List<Migration> loadClasspath() {
    ClassLoader cl = MigrationRunner.class.getClassLoader();
    URL dir = cl.getResource(RESOURCE_DIR);
    if (dir == null) {
      throw new IllegalStateException(
          "no " + RESOURCE_DIR + " on the class path: the sink jar is incomplete");
    }
    List<String> names = new ArrayList<>();
    try {
      if ("file".equals(dir.getProtocol())) {
        try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
          files.map(p -> p.getFileName().toString()).forEach(names::add);
        }
      } else if ("jar".equals(dir.getProtocol())) {
        String path = dir.getPath();
        String jarPath = path.substring("file:".length(), path.indexOf('!'));
        try (JarFile jar =
            new JarFile(java.net.URLDecoder.decode(jarPath, StandardCharsets.UTF_8))) {
          Enumeration<JarEntry> entries = jar.entries();
          while (entries.hasMoreElements()) {
            String name = entries.nextElement().getName();
            if (name.startsWith(RESOURCE_DIR + "/") && name.length() > RESOURCE_DIR.length() + 1) {
              names.add(name.substring(RESOURCE_DIR.length() + 1));
            }
          }
        }
      } else {
        throw new IllegalStateException("cannot list " + dir);
      }
      List<Migration> out = new ArrayList<>();
      for (String name : names) {
        if (!name.matches("V\\d+__.*\\.sql")) {
          continue;
        }
        try (InputStream in = cl.getResourceAsStream(RESOURCE_DIR + "/" + name)) {
          out.add(Migration.of(name, new String(in.readAllBytes(), StandardCharsets.UTF_8)));
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read bundled migrations", e);
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot list " + dir, e);
    }
  }
}
