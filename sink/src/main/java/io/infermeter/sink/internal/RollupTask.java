package io.infermeter.sink.internal;

import io.infermeter.sink.SinkConfig;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One periodic run of {@link Rollups} for the sink: opens a connection, rolls what is due, closes
 * it. A failure (the server down, a timeout) is logged with its exception and left to the next run,
 * which finds the same hours still due: the rollups never stop the sink. Runs on the sink's rollup
 * thread only.
 */
public final class RollupTask implements Runnable {

  private static final Logger LOG = LoggerFactory.getLogger(RollupTask.class);

  private final SinkConfig config;
  private final Clock clock;

  public RollupTask(SinkConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
  }

  @Override
  public void run() {
    try (ClickHouseWriter writer = SinkFactory.writer(config)) {
      Connection c = writer.connection();
      Rollups.Result r =
          Rollups.rollUp(
              sql -> query(c, sql),
              config.database(),
              clock.instant(),
              config.rollupSettle(),
              config.rollupLookback());
      if (r.total() > 0) {
        LOG.info("hourly rollups of {}: rolled {}", config.database(), r);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.warn(
          "hourly rollups of {} failed; retried in {}",
          config.database(),
          config.rollupInterval(),
          e);
    }
  }

  /** The first column of each result row as a string; nothing for a statement without a result. */
  static List<String> query(Connection c, String sql) throws java.sql.SQLException {
    List<String> out = new ArrayList<>();
    try (Statement st = c.createStatement()) {
      if (st.execute(sql)) {
        try (ResultSet rs = st.getResultSet()) {
          while (rs.next()) {
            out.add(rs.getString(1));
          }
        }
      }
    }
    return out;
  }
}
