package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BackoffTest {

  private final Backoff backoff = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(30));

  @ParameterizedTest
  @CsvSource({"1, 200", "2, 400", "3, 800", "8, 25600", "9, 30000", "40, 30000"})
  void delayDoublesUpToTheCapJitteredBetweenHalfAndWhole(int attempt, long full) {
    for (int i = 0; i < 200; i++) {
      assertThat(backoff.delayMillis(attempt)).isBetween(full / 2, full);
    }
  }

  @Test
  void delayIsAtLeastOneMillisecond() {
    Backoff zero = new Backoff(Duration.ZERO, Duration.ZERO);
    assertThat(zero.delayMillis(1)).isEqualTo(1);
  }

  @Test
  void aFailureSchedulesTheNextAttempt() {
    assertThat(backoff.waiting(1_000)).isFalse();
    long delay = backoff.failed(1_000);
    assertThat(backoff.failures()).isEqualTo(1);
    assertThat(backoff.retryAt()).isEqualTo(1_000 + delay);
    assertThat(backoff.waiting(1_000 + delay - 1)).isTrue();
    assertThat(backoff.waiting(1_000 + delay)).isFalse();
    assertThat(backoff.failed(2_000)).isBetween(200L, 400L);
    assertThat(backoff.failures()).isEqualTo(2);
  }

  @Test
  void retryAtNowKeepsTheCountAndEndsTheWait() {
    backoff.failed(1_000);
    backoff.retryAt(1_000);
    assertThat(backoff.waiting(1_000)).isFalse();
    assertThat(backoff.failures()).isEqualTo(1);
  }

  @Test
  void resetStartsAgainFromTheInitialDelay() {
    backoff.failed(1_000);
    backoff.failed(1_000);
    backoff.reset();
    assertThat(backoff.failures()).isZero();
    assertThat(backoff.retryAt()).isZero();
    assertThat(backoff.waiting(0)).isFalse();
    assertThat(backoff.failed(5_000)).isBetween(100L, 200L);
  }
}
