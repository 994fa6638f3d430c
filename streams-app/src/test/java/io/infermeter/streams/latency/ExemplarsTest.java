package io.infermeter.streams.latency;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ExemplarsTest {

  private static List<String> ids(Exemplars e) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < e.size(); i++) {
      out.add(e.eventId(i) + "=" + e.value(i));
    }
    return out;
  }

  @Test
  void keepsTheSlowestThreeSlowestFirstInAnyArrivalOrder() {
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      order.add(i);
    }
    Collections.shuffle(order, new Random(3));
    Exemplars e = new Exemplars();
    for (int i : order) {
      e.offer(1_000L * i, "e" + i, "r" + i, false);
    }
    assertThat(ids(e)).containsExactly("e99=99000", "e98=98000", "e97=97000");
    assertThat(e.requestId(0)).isEqualTo("r99");
    Exemplars rates = new Exemplars();
    for (int i : order) {
      rates.offer(1_000L * i, "e" + i, null, true);
    }
    assertThat(ids(rates)).containsExactly("e0=0", "e1=1000", "e2=2000");
  }

  @Test
  void tiesGoToTheSmallerEventIdAndMergesKeepTheSlowestOfBoth() {
    Exemplars a = new Exemplars();
    a.offer(5, "b", null, false);
    a.offer(5, "a", null, false);
    a.offer(1, "z", null, false);
    assertThat(ids(a)).containsExactly("a=5", "b=5", "z=1");
    Exemplars b = new Exemplars();
    b.offer(7, "x", "rx", false);
    b.offer(2, "y", null, false);
    a.merge(b, false);
    assertThat(ids(a)).containsExactly("x=7", "a=5", "b=5");
    assertThat(a.requestId(0)).isEqualTo("rx");
  }

  @Test
  void fewerRequestsThanKKeepThemAll() {
    Exemplars e = new Exemplars();
    assertThat(e.size()).isZero();
    e.offer(10, "only", null, false);
    assertThat(ids(e)).containsExactly("only=10");
  }
}
