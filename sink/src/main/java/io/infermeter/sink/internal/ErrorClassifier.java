package io.infermeter.sink.internal;

import com.clickhouse.client.api.ServerException;
import java.io.IOException;
import java.sql.SQLException;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * The one place that decides what a failed ClickHouse insert means. Stateless, thread-safe.
 *
 * <ul>
 *   <li>{@link Kind#RETRYABLE}: the server or the way to it is unavailable or overloaded
 *       (connection refused or reset, timeouts, TOO_MANY_PARTS, ...) or the schema is not there yet
 *       (UNKNOWN_TABLE, UNKNOWN_DATABASE, NO_SUCH_COLUMN_IN_TABLE: an operator fixes these, the
 *       rows stay good). The sink pauses consumption and retries the same batch with exponential
 *       backoff and jitter.
 *   <li>{@link Kind#REJECTED}: ClickHouse answered that the data is wrong (parse errors, type
 *       mismatch, constraint violated, any other server error code not listed as retryable) or the
 *       driver could not encode a value. The sink bisects the batch to find the rows at fault and
 *       sends their records to the dead-letter topic.
 *   <li>{@link Kind#TOO_LARGE}: MEMORY_LIMIT_EXCEEDED (241): the insert did not fit in the server's
 *       memory. The sink splits the rows in halves until each part fits; a single row that still
 *       does not fit is treated as {@link Kind#UNKNOWN} (retried a bounded number of times, since
 *       the limit may be the server's total memory taken by other queries, then dead-lettered).
 *   <li>{@link Kind#UNKNOWN}: an exception with neither a server error code nor a known cause (a
 *       driver bug, an unexpected runtime exception). Retrying forever would stall the sink for
 *       good on one poison batch, and dead-lettering at once would lose a healthy batch to a
 *       passing fault: the sink retries with backoff a bounded number of times, then bisects the
 *       batch and dead-letters the rows that still fail.
 * </ul>
 */
public final class ErrorClassifier {

  /** What to do with a failed insert. */
  public enum Kind {
    RETRYABLE,
    REJECTED,
    TOO_LARGE,
    UNKNOWN
  }

  /** Server error codes that say "try again later" (ClickHouse src/Common/ErrorCodes.cpp). */
  static final Set<Integer> RETRYABLE_CODES =
      Set.of(
          3, // UNEXPECTED_END_OF_FILE (connection cut mid-response)
          16, // NO_SUCH_COLUMN_IN_TABLE (schema not migrated yet)
          60, // UNKNOWN_TABLE
          81, // UNKNOWN_DATABASE
          159, // TIMEOUT_EXCEEDED
          164, // READONLY
          202, // TOO_MANY_SIMULTANEOUS_QUERIES
          203, // NO_FREE_CONNECTION
          209, // SOCKET_TIMEOUT
          210, // NETWORK_ERROR
          218, // TABLE_IS_DROPPED
          236, // ABORTED
          242, // TABLE_IS_READ_ONLY
          243, // NOT_ENOUGH_SPACE
          252, // TOO_MANY_PARTS
          279, // ALL_CONNECTION_TRIES_FAILED
          394, // QUERY_WAS_CANCELLED
          425, // SYSTEM_ERROR
          439, // CANNOT_SCHEDULE_TASK
          999, // KEEPER_EXCEPTION
          1002 // UNKNOWN_EXCEPTION: the server itself failed, not the data
          );

  /** MEMORY_LIMIT_EXCEEDED: the insert is split, not retried whole. */
  static final int MEMORY_LIMIT_EXCEEDED = 241;

  /** The kind of {@code error}; never null. */
  public Kind classify(Throwable error) {
    Integer code = serverCode(error);
    if (code != null) {
      if (code == MEMORY_LIMIT_EXCEEDED) {
        return Kind.TOO_LARGE;
      }
      return RETRYABLE_CODES.contains(code) ? Kind.RETRYABLE : Kind.REJECTED;
    }
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof IOException || t instanceof TimeoutException) {
        return Kind.RETRYABLE;
      }
      if (t instanceof IllegalArgumentException
          || t instanceof ArithmeticException
          || t instanceof com.clickhouse.client.api.serde.DataSerializationException) {
        return Kind.REJECTED;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return Kind.UNKNOWN;
  }

  /**
   * The ClickHouse server error code anywhere in the cause chain, or null when the server did not
   * answer one.
   */
  static Integer serverCode(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ServerException se && se.getCode() > 0) {
        return se.getCode();
      }
    }
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLException sql && sql.getErrorCode() > 0) {
        return sql.getErrorCode();
      }
    }
    return null;
  }
}
