package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.clickhouse.client.api.ClientException;
import com.clickhouse.client.api.ServerException;
import io.infermeter.sink.internal.ErrorClassifier.Kind;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ErrorClassifierTest {

  private static SQLException server(int code, String name) {
    return new SQLException(
        "Code: " + code + ". " + name,
        "HY000",
        code,
        new ServerException(code, "DB::Exception: " + name, 500, "q1"));
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of(
            Named.of(
                "connection refused",
                new SQLException(
                    "Failed to get response",
                    new ClientException(
                        "Failed to get response", new ConnectException("Connection refused")))),
            Kind.RETRYABLE),
        Arguments.of(
            Named.of(
                "socket timeout",
                new SQLException("x", new SocketTimeoutException("Read timed out"))),
            Kind.RETRYABLE),
        Arguments.of(Named.of("TOO_MANY_PARTS", server(252, "TOO_MANY_PARTS")), Kind.RETRYABLE),
        Arguments.of(
            Named.of("MEMORY_LIMIT_EXCEEDED", server(241, "MEMORY_LIMIT_EXCEEDED")),
            Kind.TOO_LARGE),
        Arguments.of(Named.of("TIMEOUT_EXCEEDED", server(159, "TIMEOUT_EXCEEDED")), Kind.RETRYABLE),
        Arguments.of(
            Named.of("UNKNOWN_TABLE (not migrated yet)", server(60, "UNKNOWN_TABLE")),
            Kind.RETRYABLE),
        Arguments.of(
            Named.of("VIOLATED_CONSTRAINT", server(469, "VIOLATED_CONSTRAINT")), Kind.REJECTED),
        Arguments.of(Named.of("TYPE_MISMATCH", server(53, "TYPE_MISMATCH")), Kind.REJECTED),
        Arguments.of(Named.of("CANNOT_PARSE_TEXT", server(6, "CANNOT_PARSE_TEXT")), Kind.REJECTED),
        Arguments.of(
            Named.of(
                "error code only on the SQLException", new SQLException("Code: 27", "HY000", 27)),
            Kind.REJECTED),
        Arguments.of(
            Named.of(
                "driver cannot encode a value",
                new SQLException("x", new IllegalArgumentException("bad"))),
            Kind.REJECTED),
        Arguments.of(
            Named.of("unknown client failure", new SQLException("something odd")), Kind.UNKNOWN),
        Arguments.of(
            Named.of("runtime exception without a code", new IllegalStateException("driver state")),
            Kind.UNKNOWN),
        Arguments.of(
            Named.of(
                "null pointer in the driver", new SQLException("x", new NullPointerException())),
            Kind.UNKNOWN));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void classifies(Throwable error, Kind expected) {
    assertThat(new ErrorClassifier().classify(error)).isEqualTo(expected);
  }
}
