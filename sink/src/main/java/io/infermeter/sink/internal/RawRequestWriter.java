package io.infermeter.sink.internal;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.insert.InsertResponse;
import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.data.ClickHouseFormat;
import io.infermeter.sink.SinkConfig;
import java.net.URI;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Writes {@link Table#REQUESTS} with clickhouse-java client-v2's binary insert ({@code INSERT ...
 * FORMAT RowBinary} over HTTP, rows encoded by {@link RowBinaryRequests}) and hands every other
 * table to the JDBC writer. The text {@code VALUES} path of clickhouse-jdbc builds a statement per
 * batch and is bounded at tens of thousands of rows per second (docs/BENCHMARKS.md); raw requests
 * come at the fleet's request rate, so they take the binary path. Failures surface as the client's
 * exceptions ({@code ServerException} with the ClickHouse error code, or an IO cause), which {@link
 * ErrorClassifier} reads like the JDBC ones. Not thread-safe: one writer per sink loop.
 */
public final class RawRequestWriter implements RowWriter {

  private final RowWriter others;
  private final Client client;
  private final Duration timeout;
  private final RowBinaryRequests encoder = new RowBinaryRequests();
  private final InsertSettings settings = new InsertSettings();

  /**
   * @param others writer of every other table (closed with this one)
   * @param client client-v2 client whose default database holds {@code requests} (closed with this
   *     writer)
   * @param timeout longest wait for one insert's answer
   */
  public RawRequestWriter(RowWriter others, Client client, Duration timeout) {
    this.others = others;
    this.client = client;
    this.timeout = timeout;
  }

  /**
   * A client-v2 client for the ClickHouse server, user and database of {@code config}'s JDBC URL.
   */
  public static Client client(SinkConfig config) {
    Client.Builder b =
        new Client.Builder()
            .addEndpoint(httpEndpoint(config.clickhouseUrl()))
            .setUsername(config.user())
            .setPassword(config.password().orElse(""))
            .setDefaultDatabase(config.database());
    return b.build();
  }

  /**
   * The HTTP endpoint of a clickhouse-jdbc URL: {@code jdbc:clickhouse://h:8123/db?ssl=true} and
   * {@code jdbc:clickhouse:https://h:8443} name {@code https://h:8443}-style endpoints; the path
   * and the other parameters are not the endpoint's.
   */
  static String httpEndpoint(String jdbcUrl) {
    String rest = jdbcUrl.replaceFirst("^jdbc:(clickhouse|ch):", "");
    String scheme = "http";
    if (rest.startsWith("https:") || rest.startsWith("http:")) {
      scheme = rest.substring(0, rest.indexOf(':'));
      rest = rest.substring(scheme.length() + 1);
    }
    URI uri = URI.create("x:" + rest);
    String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
    if (query.matches("(?i)(^|.*&)ssl=true(&.*|$)")) {
      scheme = "https";
    }
    int port = uri.getPort() > 0 ? uri.getPort() : ("https".equals(scheme) ? 8443 : 8123);
    return scheme + "://" + uri.getHost() + ":" + port;
  }

  @Override
  public void insert(Table table, List<Object[]> rows) throws SQLException {
    if (table != Table.REQUESTS) {
      others.insert(table, rows);
      return;
    }
    if (rows.isEmpty()) {
      return;
    }
    encoder.reset();
    for (Object[] row : rows) {
      encoder.add(row);
    }
    byte[] bytes = encoder.buffer();
    int size = encoder.size();
    try (InsertResponse ignored =
        client
            .insert(
                table.tableName(),
                table.columns(),
                out -> out.write(bytes, 0, size),
                ClickHouseFormat.RowBinary,
                settings)
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      // the server answered: every row is written (an insert is atomic per block)
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException("insert into " + table.tableName() + " failed", cause);
    } catch (TimeoutException e) {
      throw new java.io.UncheckedIOException(
          new java.io.IOException(
              "no answer to the insert into " + table.tableName() + " within " + timeout, e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.UncheckedIOException(new java.io.InterruptedIOException("interrupted"));
    }
  }

  @Override
  public void close() {
    try {
      client.close();
    } finally {
      others.close();
    }
  }
}
