package io.infermeter.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import java.util.OptionalLong;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The derived durations of METRICS.md. Expected values are written as the timestamp differences the
 * definitions name, never as figures copied from the implementation.
 */
class RequestTimingsTest {

  private static final long ARRIVAL = 1_700_000_000_000_000L;
  private static final long SCHEDULED = ARRIVAL + 1_250;
  private static final long FIRST = ARRIVAL + 41_250;
  private static final long COMPLETED = ARRIVAL + 1_041_250;

  private static RequestEvent event(
      Long scheduled, Long first, long completed, Integer outputTokens) {
    return RequestEvent.newBuilder()
        .setEventId("e")
        .setSource("java-api")
        .setCluster("c")
        .setRegion("r")
        .setHost("h")
        .setModel("m")
        .setStatus(RequestStatus.OK)
        .setArrivalUs(ARRIVAL)
        .setScheduledUs(scheduled)
        .setFirstTokenUs(first)
        .setCompletedUs(completed)
        .setOutputTokens(outputTokens)
        .build();
  }

  @Test
  void everyDurationWhenAllTimestampsArePresent() {
    RequestEvent e = event(SCHEDULED, FIRST, COMPLETED, 101);

    assertThat(RequestTimings.queueUs(e)).hasValue(SCHEDULED - ARRIVAL);
    assertThat(RequestTimings.ttftUs(e)).hasValue(FIRST - ARRIVAL);
    assertThat(RequestTimings.prefillUs(e)).hasValue(FIRST - SCHEDULED);
    assertThat(RequestTimings.decodeUs(e)).hasValue(COMPLETED - FIRST);
    assertThat(RequestTimings.e2eUs(e)).hasValue(COMPLETED - ARRIVAL);
    assertThat(RequestTimings.tpotUs(e)).hasValue((COMPLETED - FIRST) / 100);
    assertThat(RequestTimings.busyUs(e)).isEqualTo((FIRST - SCHEDULED) + (COMPLETED - FIRST));
    // the definitions are consistent with one another
    assertThat(RequestTimings.queueUs(e).getAsLong() + RequestTimings.prefillUs(e).getAsLong())
        .isEqualTo(RequestTimings.ttftUs(e).getAsLong());
    assertThat(RequestTimings.ttftUs(e).getAsLong() + RequestTimings.decodeUs(e).getAsLong())
        .isEqualTo(RequestTimings.e2eUs(e).getAsLong());
  }

  @Test
  void withoutSchedulingTimeQueueAndPrefillAreAbsent() {
    RequestEvent e = event(null, FIRST, COMPLETED, 11);

    assertThat(RequestTimings.queueUs(e)).isEmpty();
    assertThat(RequestTimings.prefillUs(e)).isEmpty();
    assertThat(RequestTimings.ttftUs(e)).hasValue(FIRST - ARRIVAL);
    assertThat(RequestTimings.decodeUs(e)).hasValue(COMPLETED - FIRST);
    assertThat(RequestTimings.e2eUs(e)).hasValue(COMPLETED - ARRIVAL);
    // busy falls back to the whole request when nothing narrower is known
    assertThat(RequestTimings.busyUs(e)).isEqualTo(COMPLETED - ARRIVAL);
  }

  @Test
  void withoutFirstTokenTtftPrefillDecodeAndTpotAreAbsent() {
    RequestEvent e = event(SCHEDULED, null, COMPLETED, 50);

    assertThat(RequestTimings.ttftUs(e)).isEmpty();
    assertThat(RequestTimings.prefillUs(e)).isEmpty();
    assertThat(RequestTimings.decodeUs(e)).isEmpty();
    assertThat(RequestTimings.tpotUs(e)).isEmpty();
    assertThat(RequestTimings.queueUs(e)).hasValue(SCHEDULED - ARRIVAL);
    assertThat(RequestTimings.e2eUs(e)).hasValue(COMPLETED - ARRIVAL);
    assertThat(RequestTimings.busyUs(e)).isEqualTo(COMPLETED - SCHEDULED);
  }

  @Test
  void onlyArrivalAndCompletionKnown() {
    RequestEvent e = event(null, null, COMPLETED, null);

    assertThat(RequestTimings.queueUs(e)).isEmpty();
    assertThat(RequestTimings.ttftUs(e)).isEmpty();
    assertThat(RequestTimings.prefillUs(e)).isEmpty();
    assertThat(RequestTimings.decodeUs(e)).isEmpty();
    assertThat(RequestTimings.tpotUs(e)).isEmpty();
    assertThat(RequestTimings.e2eUs(e)).hasValue(COMPLETED - ARRIVAL);
    assertThat(RequestTimings.busyUs(e)).isEqualTo(COMPLETED - ARRIVAL);
  }

  static Stream<Arguments> negativeSpans() {
    return Stream.of(
        Arguments.of(
            "scheduled before arrival",
            event(ARRIVAL - 1, FIRST, COMPLETED, 2),
            (ToLongFunction<RequestEvent>) e -> RequestTimings.queueUs(e).orElse(-1)),
        Arguments.of(
            "first token before scheduling",
            event(FIRST + 1, FIRST, COMPLETED, 2),
            (ToLongFunction<RequestEvent>) e -> RequestTimings.prefillUs(e).orElse(-1)),
        Arguments.of(
            "completed before first token",
            event(SCHEDULED, COMPLETED + 1, COMPLETED, 2),
            (ToLongFunction<RequestEvent>) e -> RequestTimings.decodeUs(e).orElse(-1)),
        Arguments.of(
            "completed before arrival",
            event(null, null, ARRIVAL - 1, 2),
            (ToLongFunction<RequestEvent>) e -> RequestTimings.e2eUs(e).orElse(-1)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("negativeSpans")
  void aNegativeSpanIsAbsentNotNegative(
      String name, RequestEvent e, ToLongFunction<RequestEvent> duration) {
    assertThat(duration.applyAsLong(e)).isEqualTo(-1);
  }

  @Test
  void busyFallsBackWhenPrefillOrDecodeIsNegative() {
    // first token after completion: decode is absent, the scheduled-to-completed span is still
    // known
    RequestEvent e = event(SCHEDULED, COMPLETED + 5, COMPLETED, 2);
    assertThat(RequestTimings.busyUs(e)).isEqualTo(COMPLETED - SCHEDULED);
    // completion before arrival and nothing else: no busy time at all
    assertThat(RequestTimings.busyUs(event(null, null, ARRIVAL - 1, null))).isZero();
  }

  @ParameterizedTest(name = "{0} tokens, decode {1} us")
  @CsvSource(
      nullValues = "null",
      value = {
        "null, 1000",
        "0,    1000",
        "1,    1000",
        "2,    1000",
        "11,   1000",
        "4,    10",
        "3,    11",
        "101,  0",
      })
  void tpotDividesDecodeByTokensAfterTheFirst(Integer tokens, long decodeUs) {
    RequestEvent e = event(SCHEDULED, FIRST, FIRST + decodeUs, tokens);

    OptionalLong tpot = RequestTimings.tpotUs(e);

    if (tokens == null || tokens <= 1) {
      assertThat(tpot).isEmpty();
    } else {
      // exact rational decode / (tokens - 1), rounded half up to whole microseconds
      long expected = (2 * decodeUs + (tokens - 1)) / (2L * (tokens - 1));
      assertThat(tpot).hasValue(expected);
    }
  }

  @Test
  void outputTokenRateIsTokensAfterTheFirstPerDecodeSecond() {
    // 101 tokens, the last 100 in 2 s of decode: 50 tokens/s, 50,000 milli-tokens/s
    RequestEvent e = event(SCHEDULED, FIRST, FIRST + 2_000_000, 101);
    assertThat(RequestTimings.outputTokenRateMilli(e)).hasValue(50_000);
    // 1 / TPOT: TPOT 20 ms
    assertThat(RequestTimings.tpotUs(e)).hasValue(20_000);
    // 4 tokens in 3 ms: 1,000 tokens/s
    assertThat(RequestTimings.outputTokenRateMilli(event(SCHEDULED, FIRST, FIRST + 3_000, 4)))
        .hasValue(1_000_000);
    // 3 tokens in 3 s: 2/3 tokens/s, rounded to 667 milli-tokens/s
    assertThat(RequestTimings.outputTokenRateMilli(event(SCHEDULED, FIRST, FIRST + 3_000_000, 3)))
        .hasValue(667);
  }

  @ParameterizedTest
  @CsvSource(
      nullValues = "null",
      value = {
        "null, 1000", // no token count
        "0,    1000",
        "1,    1000", // one token: no time between tokens
        "101,  0", // zero decode time
      })
  void outputTokenRateIsAbsentWithoutTwoTokensAndADecodeTime(Integer tokens, long decodeUs) {
    assertThat(
            RequestTimings.outputTokenRateMilli(event(SCHEDULED, FIRST, FIRST + decodeUs, tokens)))
        .isEmpty();
    // no first token: no decode time
    assertThat(RequestTimings.outputTokenRateMilli(event(SCHEDULED, null, COMPLETED, 101)))
        .isEmpty();
  }

  @Test
  void inputTokenRateIsInputTokensPerPrefillSecond() {
    // 2,000 prompt tokens prefilled in 40 ms (first token - scheduled): 50,000 tokens/s
    RequestEvent e = withInput(event(SCHEDULED, FIRST, COMPLETED, 101), 2_000);
    assertThat(RequestTimings.prefillUs(e)).hasValue(40_000);
    assertThat(RequestTimings.inputTokenRateMilli(e)).hasValue(50_000_000);
    // 7 tokens in 3 us: 2,333,333.33 tokens/s
    assertThat(
            RequestTimings.inputTokenRateMilli(
                withInput(event(SCHEDULED, SCHEDULED + 3, COMPLETED, 1), 7)))
        .hasValue(2_333_333_333L);
  }

  @Test
  void inputTokenRateIsAbsentWithoutTokensOrAPrefillTime() {
    // no scheduling time: the prefill time is unknown (TTFT would hold the queue wait)
    assertThat(
            RequestTimings.inputTokenRateMilli(withInput(event(null, FIRST, COMPLETED, 101), 500)))
        .isEmpty();
    // no first token
    assertThat(
            RequestTimings.inputTokenRateMilli(
                withInput(event(SCHEDULED, null, COMPLETED, 101), 500)))
        .isEmpty();
    // zero prefill time
    assertThat(
            RequestTimings.inputTokenRateMilli(
                withInput(event(SCHEDULED, SCHEDULED, COMPLETED, 101), 500)))
        .isEmpty();
    // no or zero input tokens
    assertThat(RequestTimings.inputTokenRateMilli(event(SCHEDULED, FIRST, COMPLETED, 101)))
        .isEmpty();
    assertThat(
            RequestTimings.inputTokenRateMilli(
                withInput(event(SCHEDULED, FIRST, COMPLETED, 101), 0)))
        .isEmpty();
  }

  private static RequestEvent withInput(RequestEvent e, int inputTokens) {
    return RequestEvent.newBuilder(e).setInputTokens(inputTokens).build();
  }
}
