package io.infermeter.streams.latency;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Unit tests of {@link SloCounts}. */
class SloCountsTest {

  @Test
  void countsPerClassInNameOrderAndMergesClassByClass() {
    SloCounts a = new SloCounts();
    a.add("interactive", true);
    a.add("interactive", false);
    a.add("batch", true);
    SloCounts b = new SloCounts();
    b.add("interactive", true);
    b.add("default", false);

    a.merge(b);

    assertThat(a.byClass().keySet()).containsExactly("batch", "default", "interactive");
    assertThat(a.get("interactive").requests).isEqualTo(3);
    assertThat(a.get("interactive").good).isEqualTo(2);
    assertThat(a.get("default").good).isZero();
    assertThat(a.requests()).isEqualTo(5);
    assertThat(a.good()).isEqualTo(3);
    // the merged-in part is not aliased
    b.add("default", true);
    assertThat(a.get("default").requests).isEqualTo(1);
  }
}
