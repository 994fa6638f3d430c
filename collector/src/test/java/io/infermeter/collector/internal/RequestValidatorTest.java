package io.infermeter.collector.internal;

import static io.infermeter.collector.internal.JsonLinesParserTest.DEFAULTS;
import static io.infermeter.collector.internal.JsonLinesParserTest.NOW_US;
import static io.infermeter.collector.internal.JsonLinesParserTest.VALIDATOR;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.internal.CollectorMetrics.RejectReason;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RequestValidatorTest {

  static final long A = NOW_US - 60_000_000L;

  static RequestEvent valid() {
    RequestEvent e = DEFAULTS.newEvent("test");
    e.setModel("m");
    e.setArrivalUs(A);
    e.setScheduledUs(A + 1_000);
    e.setFirstTokenUs(A + 20_000);
    e.setCompletedUs(A + 500_000);
    e.setInputTokens(100);
    e.setOutputTokens(50);
    e.setCachedTokens(10);
    return e;
  }

  @Test
  void validEventPasses() {
    assertThatCode(() -> VALIDATOR.validate(valid())).doesNotThrowAnyException();
  }

  @Test
  void boundaryValuesPass() {
    RequestEvent e = valid();
    e.setScheduledUs(A);
    e.setFirstTokenUs(A);
    e.setCompletedUs(A + 3_600_000_000L); // exactly the max duration
    e.setArrivalUs(A);
    assertThatCode(() -> VALIDATOR.validate(e, A + 3_600_000_000L + 300_000_000L)).doesNotThrowAnyException();
  }

  static Stream<Arguments> rejects() {
    return Stream.of(
        Arguments.of("no model", RejectReason.MISSING_FIELD, (Consumer<RequestEvent>) e -> e.setModel("")),
        Arguments.of("no arrival", RejectReason.MISSING_FIELD, (Consumer<RequestEvent>) e -> e.setArrivalUs(0)),
        Arguments.of("no completion", RejectReason.MISSING_FIELD, (Consumer<RequestEvent>) e -> e.setCompletedUs(0)),
        Arguments.of("scheduled before arrival", RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>) e -> e.setScheduledUs(A - 1)),
        Arguments.of("first token before arrival", RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>) e -> {
              e.setScheduledUs(null);
              e.setFirstTokenUs(A - 1);
            }),
        Arguments.of("first token before scheduled", RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>) e -> e.setFirstTokenUs(A + 500)),
        Arguments.of("completed before first token", RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>) e -> e.setCompletedUs(A + 10_000)),
        Arguments.of("completed before arrival", RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>) e -> {
              e.setScheduledUs(null);
              e.setFirstTokenUs(null);
              e.setCompletedUs(A - 5);
            }),
        Arguments.of("negative stall", RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>) e -> e.setMaxInterTokenGapUs(-1L)),
        Arguments.of("stall longer than e2e", RejectReason.ABSURD_DURATION,
            (Consumer<RequestEvent>) e -> e.setMaxInterTokenGapUs(600_000L)),
        Arguments.of("e2e over an hour", RejectReason.ABSURD_DURATION,
            (Consumer<RequestEvent>) e -> {
              e.setArrivalUs(NOW_US - 3_600_000_001L);
              e.setScheduledUs(null);
              e.setFirstTokenUs(null);
              e.setCompletedUs(NOW_US);
            }),
        Arguments.of("completion far in the future", RejectReason.FUTURE_TIMESTAMP,
            (Consumer<RequestEvent>) e -> {
              e.setArrivalUs(NOW_US + 301_000_000L);
              e.setScheduledUs(null);
              e.setFirstTokenUs(null);
              e.setCompletedUs(NOW_US + 302_000_000L);
            }),
        Arguments.of("arrival older than max age", RejectReason.STALE_TIMESTAMP,
            (Consumer<RequestEvent>) e -> {
              e.setArrivalUs(NOW_US - 8L * 86_400_000_000L);
              e.setScheduledUs(null);
              e.setFirstTokenUs(null);
              e.setCompletedUs(NOW_US - 8L * 86_400_000_000L + 1000);
            }),
        Arguments.of("negative tokens", RejectReason.INVALID_VALUE,
            (Consumer<RequestEvent>) e -> e.setOutputTokens(-1)),
        Arguments.of("absurd tokens", RejectReason.INVALID_VALUE,
            (Consumer<RequestEvent>) e -> e.setInputTokens(10_000_001)),
        Arguments.of("cached above input", RejectReason.INVALID_VALUE,
            (Consumer<RequestEvent>) e -> e.setCachedTokens(101)),
        Arguments.of("zero batch", RejectReason.INVALID_VALUE, (Consumer<RequestEvent>) e -> e.setBatchSize(0)),
        Arguments.of("zero max batch", RejectReason.INVALID_VALUE,
            (Consumer<RequestEvent>) e -> e.setMaxBatchSize(0)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejects")
  void rejectsWithReason(String name, RejectReason reason, Consumer<RequestEvent> breakIt) {
    RequestEvent e = valid();
    breakIt.accept(e);
    assertThatThrownBy(() -> VALIDATOR.validate(e)).isInstanceOfSatisfying(InvalidEventException.class, ex -> {
      assertThat(ex.reason()).isEqualTo(reason);
      assertThat(ex.getMessage()).isNotBlank();
    });
  }
}
