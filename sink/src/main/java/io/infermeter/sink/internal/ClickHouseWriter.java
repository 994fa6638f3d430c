package io.infermeter.sink.internal;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batched inserts through clickhouse-jdbc: one {@code INSERT ... VALUES} prepared statement per
 * table, every row added with {@code addBatch}, sent with one {@code executeBatch}. The connection
 * is opened lazily and dropped after any failure, so the next attempt reconnects (ClickHouse's HTTP
 * interface makes that cheap). Not thread-safe: one writer per sink loop.
 */
public final class ClickHouseWriter implements RowWriter {

  private static final Logger LOG = LoggerFactory.getLogger(ClickHouseWriter.class);

  private final String url;
  private final Properties properties;
  private final String database;
  private Connection connection;

  /**
   * @param url JDBC URL, e.g. {@code jdbc:clickhouse://127.0.0.1:8123}
   * @param user ClickHouse user
   * @param password password, if any (never logged)
   * @param database target database
   * @param overrides extra clickhouse-jdbc connection properties
   */
  public ClickHouseWriter(
      String url,
      String user,
      Optional<String> password,
      String database,
      Map<String, String> overrides) {
    this.url = url;
    this.database = database;
    this.properties = new Properties();
    properties.putAll(overrides);
    properties.setProperty("user", user);
    properties.setProperty("password", password.orElse(""));
  }

  /** The open connection, opening one if needed. */
  public Connection connection() throws SQLException {
    if (connection == null || connection.isClosed()) {
      connection = DriverManager.getConnection(url, properties);
    }
    return connection;
  }

  /**
   * Inserts {@code rows} (column order of {@code table}) in one batch; on failure the connection is
   * dropped.
   */
  @Override
  public void insert(Table table, List<Object[]> rows) throws SQLException {
    if (rows.isEmpty()) {
      return;
    }
    try (PreparedStatement ps = connection().prepareStatement(table.insertSql(database))) {
      int width = table.columns().size();
      for (Object[] row : rows) {
        if (row.length != width) {
          throw new IllegalArgumentException(
              table + " row has " + row.length + " values for " + width + " columns");
        }
        for (int i = 0; i < width; i++) {
          ps.setObject(i + 1, row[i]);
        }
        ps.addBatch();
      }
      ps.executeBatch();
    } catch (SQLException | RuntimeException e) {
      dropConnection();
      throw e;
    }
  }

  private void dropConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        LOG.debug("closing a failed ClickHouse connection", e);
      }
      connection = null;
    }
  }

  @Override
  public void close() {
    dropConnection();
  }
}
