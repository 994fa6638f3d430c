package io.infermeter.sink.internal;

import java.sql.SQLException;
import java.util.List;

/**
 * Writes rows of one table in one batch; {@link ClickHouseWriter} in production, fakes in unit
 * tests.
 */
public interface RowWriter extends AutoCloseable {

  /**
   * Inserts {@code rows} (column order of {@code table}) as one batch; all or nothing from the
   * caller's view.
   */
  void insert(Table table, List<Object[]> rows) throws SQLException;

  @Override
  void close();
}
