package io.infermeter.report;

import io.infermeter.report.internal.ClickHouseSource;
import io.infermeter.report.internal.HtmlReport;
import io.infermeter.report.internal.ReportData;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/**
 * The report as a library call: reads the shipped views from ClickHouse and renders one
 * self-contained HTML page (inline SVG charts, no script, no external resource). Stateless; uses
 * the caller's connection, so not safe to call concurrently on one connection.
 */
public final class Report {

  private Report() {}

  /** Reads the data of {@code request} from {@code connection} and renders the page. */
  public static String generate(Connection connection, ReportRequest request) throws SQLException {
    ReportData data = new ClickHouseSource(connection).load(request);
    return HtmlReport.render(data, request);
  }

  /**
   * The span of the data of one window size in a database, as [first, last + 1 us) over latency,
   * energy, bottleneck windows and alert emissions; empty when the database has no rows.
   */
  public static Optional<Instant[]> dataRange(Connection connection, String database, long windowMs)
      throws SQLException {
    return new ClickHouseSource(connection).dataRange(database, windowMs);
  }
}
