package io.infermeter.collector.ingest;

import static io.infermeter.collector.ingest.JsonLinesParserTest.DEFAULTS;
import static io.infermeter.collector.ingest.JsonLinesParserTest.NOW_US;
import static io.infermeter.collector.ingest.JsonLinesParserTest.VALIDATOR;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
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
    assertThatCode(() -> VALIDATOR.validate(e, A + 3_600_000_000L + 300_000_000L))
        .doesNotThrowAnyException();
  }

  static Stream<Arguments> rejects() {
    return Stream.of(
        Arguments.of(
            "no model", RejectReason.MISSING_FIELD, (Consumer<RequestEvent>) e -> e.setModel("")),
        Arguments.of(
            "no arrival",
            RejectReason.MISSING_FIELD,
            (Consumer<RequestEvent>) e -> e.setArrivalUs(0)),
        Arguments.of(
            "no completion",
            RejectReason.MISSING_FIELD,
            (Consumer<RequestEvent>) e -> e.setCompletedUs(0)),
        Arguments.of(
            "scheduled before arrival",
            RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>) e -> e.setScheduledUs(A - 1)),
        Arguments.of(
            "first token before arrival",
            RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>)
                e -> {
                  e.setScheduledUs(null);
                  e.setFirstTokenUs(A - 1);
                }),
        Arguments.of(
            "first token before scheduled",
            RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>) e -> e.setFirstTokenUs(A + 500)),
        Arguments.of(
            "completed before first token",
            RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>) e -> e.setCompletedUs(A + 10_000)),
        Arguments.of(
            "completed before arrival",
            RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>)
                e -> {
                  e.setScheduledUs(null);
                  e.setFirstTokenUs(null);
                  e.setCompletedUs(A - 5);
                }),
        Arguments.of(
            "negative stall",
            RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>) e -> e.setMaxInterTokenGapUs(-1L)),
        Arguments.of(
            "stall longer than e2e",
            RejectReason.ABSURD_DURATION,
            (Consumer<RequestEvent>) e -> e.setMaxInterTokenGapUs(600_000L)),
        Arguments.of(
            "e2e over an hour",
            RejectReason.ABSURD_DURATION,
            (Consumer<RequestEvent>)
                e -> {
                  e.setArrivalUs(NOW_US - 3_600_000_001L);
                  e.setScheduledUs(null);
                  e.setFirstTokenUs(null);
                  e.setCompletedUs(NOW_US);
                }),
        Arguments.of(
            "completion far in the future",
            RejectReason.FUTURE_TIMESTAMP,
            (Consumer<RequestEvent>)
                e -> {
                  e.setArrivalUs(NOW_US + 301_000_000L);
                  e.setScheduledUs(null);
                  e.setFirstTokenUs(null);
                  e.setCompletedUs(NOW_US + 302_000_000L);
                }),
        Arguments.of(
            "arrival older than max age",
            RejectReason.STALE_TIMESTAMP,
            (Consumer<RequestEvent>)
                e -> {
                  e.setArrivalUs(NOW_US - 8L * 86_400_000_000L);
                  e.setScheduledUs(null);
                  e.setFirstTokenUs(null);
                  e.setCompletedUs(NOW_US - 8L * 86_400_000_000L + 1000);
                }),
        Arguments.of(
            "negative tokens",
            RejectReason.INVALID_VALUE,
            (Consumer<RequestEvent>) e -> e.setOutputTokens(-1)),
        Arguments.of(
            "absurd tokens",
            RejectReason.INVALID_VALUE,
            (Consumer<RequestEvent>) e -> e.setInputTokens(10_000_001)),
        Arguments.of(
            "cached above input",
            RejectReason.INVALID_VALUE,
            (Consumer<RequestEvent>) e -> e.setCachedTokens(101)),
        Arguments.of(
            "zero batch",
            RejectReason.INVALID_VALUE,
            (Consumer<RequestEvent>) e -> e.setBatchSize(0)),
        Arguments.of(
            "zero max batch",
            RejectReason.INVALID_VALUE,
            (Consumer<RequestEvent>) e -> e.setMaxBatchSize(0)),
        Arguments.of(
            "completed before scheduled (no first token)",
            RejectReason.NEGATIVE_DURATION,
            (Consumer<RequestEvent>)
                e -> {
                  e.setFirstTokenUs(null);
                  e.setScheduledUs(A + 600_000);
                }),
        Arguments.of(
            "model over the dimension limit",
            RejectReason.TOO_LONG,
            (Consumer<RequestEvent>) e -> e.setModel("m".repeat(257))),
        Arguments.of(
            "host of 64 KiB",
            RejectReason.TOO_LONG,
            (Consumer<RequestEvent>) e -> e.setHost("h".repeat(65_536))),
        Arguments.of(
            "cluster over the limit in multi-byte characters",
            RejectReason.TOO_LONG,
            (Consumer<RequestEvent>)
                e -> e.setCluster("\u6771".repeat(86))), // 258 bytes, 86 characters
        Arguments.of(
            "region",
            RejectReason.TOO_LONG,
            (Consumer<RequestEvent>) e -> e.setRegion("r".repeat(300))),
        Arguments.of(
            "gpuType",
            RejectReason.TOO_LONG,
            (Consumer<RequestEvent>) e -> e.setGpuType("g".repeat(300))),
        Arguments.of(
            "deviceId",
            RejectReason.TOO_LONG,
            (Consumer<RequestEvent>) e -> e.setDeviceId("d".repeat(300))),
        Arguments.of(
            "sloClass",
            RejectReason.TOO_LONG,
            (Consumer<RequestEvent>) e -> e.setSloClass("s".repeat(300))),
        Arguments.of(
            "requestId",
            RejectReason.TOO_LONG,
            (Consumer<RequestEvent>) e -> e.setRequestId("q".repeat(300))),
        Arguments.of(
            "attribute key",
            RejectReason.TOO_LONG,
            (Consumer<RequestEvent>) e -> e.getAttributes().put("k".repeat(300), "v")),
        Arguments.of(
            "too many attributes",
            RejectReason.TOO_LONG,
            (Consumer<RequestEvent>)
                e -> {
                  for (int i = 0; i <= RequestValidator.MAX_ATTRIBUTES; i++) {
                    e.getAttributes().put("a" + i, "v");
                  }
                }));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejects")
  void rejectsWithReason(String name, RejectReason reason, Consumer<RequestEvent> breakIt) {
    RequestEvent e = valid();
    breakIt.accept(e);
    assertThatThrownBy(() -> VALIDATOR.validate(e))
        .isInstanceOfSatisfying(
            InvalidEventException.class,
            ex -> {
              assertThat(ex.reason()).isEqualTo(reason);
              assertThat(ex.getMessage()).isNotBlank();
            });
  }

  @Test
  void dimensionsAtTheLimitPass() {
    RequestEvent e = valid();
    e.setModel("m".repeat(256));
    e.setHost("\u00e9".repeat(128)); // 256 bytes
    e.setRegion("\ud83d\ude00".repeat(64)); // 64 emoji: 256 bytes
    assertThatCode(() -> VALIDATOR.validate(e, NOW_US)).doesNotThrowAnyException();
  }

  @Test
  void freeTextIsCutOnACharacterBoundaryAndCounted() throws Exception {
    java.util.List<String> cuts = new java.util.ArrayList<>();
    RequestValidator v =
        new RequestValidator(
            JsonLinesParserTest.CLOCK,
            java.time.Duration.ofHours(1),
            java.time.Duration.ofMinutes(5),
            java.time.Duration.ofDays(7),
            10_000_000,
            256,
            10,
            cuts::add);
    RequestEvent e = valid();
    e.setErrorType("abcdefghi\u00e9xyz"); // the 2-byte character straddles byte 10
    e.setAttributes(
        java.util.Map.of("note", "0123456789ABC", "short", "ok")); // immutable: copied when cut
    v.validate(e, NOW_US);
    assertThat(e.getErrorType()).isEqualTo("abcdefghi");
    assertThat(e.getAttributes()).containsEntry("note", "0123456789").containsEntry("short", "ok");
    assertThat(cuts).containsExactlyInAnyOrder("errorType", "attributes");
    RequestEvent fits = valid();
    fits.setErrorType("abcdefgh\u00e9"); // exactly 10 bytes
    v.validate(fits, NOW_US);
    assertThat(fits.getErrorType()).isEqualTo("abcdefgh\u00e9");
    assertThat(cuts).hasSize(2);
  }

  @Test
  void aRejectedEventIsNotCountedAsCut() {
    java.util.List<String> cuts = new java.util.ArrayList<>();
    RequestValidator v =
        new RequestValidator(
            JsonLinesParserTest.CLOCK,
            java.time.Duration.ofHours(1),
            java.time.Duration.ofMinutes(5),
            java.time.Duration.ofDays(7),
            10_000_000,
            256,
            10,
            cuts::add);
    RequestEvent e = valid();
    e.setErrorType("x".repeat(100));
    e.setOutputTokens(-1);
    assertThatThrownBy(() -> v.validate(e, NOW_US)).isInstanceOf(InvalidEventException.class);
    assertThat(cuts).isEmpty();
  }

  @Test
  void utf8LengthIsWhatAvroWrites() {
    for (String s :
        java.util.List.of(
            "",
            "a",
            "\u00e9",
            "\u6771",
            "\ud83d\ude00",
            "\ud800",
            "a\udc00b",
            "\ud800\ud800",
            "mixed \u00e9\u6771\ud83d\ude00 text")) {
      int avroBytes = new org.apache.avro.util.Utf8(s).getByteLength();
      assertThat(RequestValidator.utf8Length(s)).as(s).isEqualTo(avroBytes);
      for (int max = 0; max <= avroBytes; max++) {
        String cut = RequestValidator.truncateUtf8(s, max);
        assertThat(new org.apache.avro.util.Utf8(cut).getByteLength()).isLessThanOrEqualTo(max);
        assertThat(s).startsWith(cut);
      }
    }
  }

  @Test
  void rejectMessagesQuotingLongValuesAreCut() {
    InvalidEventException e =
        new InvalidEventException(RejectReason.INVALID_VALUE, "got '" + "x".repeat(100_000) + "'");
    assertThat(e.getMessage())
        .hasSizeLessThan(InvalidEventException.MAX_MESSAGE_CHARS + 40)
        .endsWith("characters)");
  }
}
