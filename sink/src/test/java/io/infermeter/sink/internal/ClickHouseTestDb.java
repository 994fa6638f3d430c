package io.infermeter.sink.internal;

import io.infermeter.sink.SinkConfig;
import io.infermeter.testsupport.Infra;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A unique ClickHouse database on the real local server, migrated, dropped on close. */
final class ClickHouseTestDb implements AutoCloseable {

  final String database = Infra.uniqueName("sinkit");
  final SinkConfig config;
  final Connection connection;

  ClickHouseTestDb(Map<String, ?> extra) throws SQLException {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("clickhouse.url", jdbcBase(Infra.get().clickhouseJdbcUrl()));
    m.put("clickhouse.database", database);
    m.put("kafka.bootstrap.servers", Infra.get().kafkaBootstrap());
    m.put("schema.registry.url", Infra.get().schemaRegistryUrl());
    m.put("metrics.port", "0");
    m.putAll(extra);
    this.config = SinkConfig.fromMap(m);
    this.connection = DriverManager.getConnection(config.clickhouseUrl(), "default", "");
  }

  /** The server part of Infra's JDBC URL (the sink names its database itself). */
  static String jdbcBase(String url) {
    int q = url.indexOf('?');
    String noQuery = q < 0 ? url : url.substring(0, q);
    int slash = noQuery.indexOf('/', "jdbc:clickhouse://".length());
    return slash < 0 ? noQuery : noQuery.substring(0, slash);
  }

  List<Integer> migrate() throws SQLException {
    return MigrationRunner.fromClasspath().migrate(connection, SinkFactory.placeholders(config));
  }

  List<List<Object>> rows(String sql) throws SQLException {
    List<List<Object>> out = new ArrayList<>();
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery(sql.replace("${db}", database))) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<Object> row = new ArrayList<>(n);
        for (int i = 1; i <= n; i++) {
          row.add(rs.getObject(i));
        }
        out.add(row);
      }
    }
    return out;
  }

  long longValue(String sql) throws SQLException {
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery(sql.replace("${db}", database))) {
      rs.next();
      return rs.getLong(1);
    }
  }

  double doubleValue(String sql) throws SQLException {
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery(sql.replace("${db}", database))) {
      rs.next();
      return rs.getDouble(1);
    }
  }

  @Override
  public void close() throws SQLException {
    try (Statement st = connection.createStatement()) {
      st.execute("DROP DATABASE IF EXISTS " + database);
    } finally {
      connection.close();
    }
  }
}
