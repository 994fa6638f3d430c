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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the versioned migrations ({@code V001__*.sql}, ...) in version order to one database, recording each
 * applied version with its checksum in {@code <database>.schema_migrations}. Idempotent: applied versions are
 * skipped, so running it twice is a no-op. A migration whose checksum differs from the recorded one fails the run
 * (an applied migration must never be edited; add a new version instead). Not safe against two runners migrating
 * the same database at the same moment; run {@code sink migrate} once per deployment. Not thread-safe.
 */
public final class MigrationRunner {

  /** Where the migrations live on the class path (the sink jar carries a copy of deploy/clickhouse/migrations). */
  public static final String RESOURCE_DIR = "clickhouse/migrations";
  private static final Logger LOG = LoggerFactory.getLogger(MigrationRunner.class);

  private final List<Migration> migrations;

  MigrationRunner(List<Migration> migrations) {
    List<Migration> sorted = new ArrayList<>(migrations);
    sorted.sort(Comparator.comparingInt(Migration::version));
    for (int i = 1; i < sorted.size(); i++) {
      if (sorted.get(i).version() == sorted.get(i - 1).version()) {
        throw new IllegalArgumentException("two migrations have version " + sorted.get(i).version());
      }
    }
    this.migrations = List.copyOf(sorted);
  }

  /** The migrations bundled on the class path. */
  public static MigrationRunner fromClasspath() {
    return new MigrationRunner(loadClasspath());
  }

  /** The migrations of a directory (e.g. deploy/clickhouse/migrations of a checkout). */
  public static MigrationRunner fromDirectory(Path dir) {
    List<Migration> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.filter(p -> p.getFileName().toString().matches("V\\d+__.*\\.sql")).toList()) {
        out.add(Migration.of(p.getFileName().toString(), Files.readString(p, StandardCharsets.UTF_8)));
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
  public List<Integer> migrate(Connection connection, Map<String, String> placeholders) throws SQLException {
    String db = placeholders.get("database");
    if (db == null || !db.matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new IllegalArgumentException("placeholder 'database' must be an identifier, got " + db);
    }
    try (Statement st = connection.createStatement()) {
      st.execute("CREATE DATABASE IF NOT EXISTS " + db);
      st.execute("CREATE TABLE IF NOT EXISTS " + db + ".schema_migrations (version UInt32, description String, "
          + "checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version");
    }
    Map<Integer, String> applied = new HashMap<>();
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery("SELECT version, checksum FROM " + db + ".schema_migrations")) {
      while (rs.next()) {
        applied.put(rs.getInt(1), rs.getString(2));
      }
    }
    List<Integer> done = new ArrayList<>();
    for (Migration m : migrations) {
      String recorded = applied.get(m.version());
      if (recorded != null) {
        if (!recorded.equals(m.checksum())) {
          throw new IllegalStateException("migration V" + m.version() + " (" + m.description() + ") was changed after "
              + "it was applied to " + db + ": recorded checksum " + recorded + ", file " + m.checksum()
              + ". Never edit an applied migration; add a new version.");
        }
        continue;
      }
      LOG.info("applying ClickHouse migration V{} ({}) to {}", m.version(), m.description(), db);
      try (Statement st = connection.createStatement()) {
        for (String sql : m.statements(placeholders)) {
          st.execute(sql);
        }
      }
      try (PreparedStatement ps = connection.prepareStatement(
          "INSERT INTO " + db + ".schema_migrations (version, description, checksum) VALUES (?, ?, ?)")) {
        ps.setInt(1, m.version());
        ps.setString(2, m.description());
        ps.setString(3, m.checksum());
        ps.executeUpdate();
      }
      done.add(m.version());
    }
    return done;
  }

  private static List<Migration> loadClasspath() {
    ClassLoader cl = MigrationRunner.class.getClassLoader();
    URL dir = cl.getResource(RESOURCE_DIR);
    if (dir == null) {
      throw new IllegalStateException("no " + RESOURCE_DIR + " on the class path: the sink jar is incomplete");
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
        try (JarFile jar = new JarFile(java.net.URLDecoder.decode(jarPath, StandardCharsets.UTF_8))) {
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
