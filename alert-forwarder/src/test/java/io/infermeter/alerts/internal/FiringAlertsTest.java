package io.infermeter.alerts.internal;

import static io.infermeter.alerts.internal.TestAlerts.alert;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class FiringAlertsTest {

  private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");
  private static final TopicPartition P0 = new TopicPartition("infermeter-alerts", 0);
  private static final TopicPartition P1 = new TopicPartition("infermeter-alerts", 1);

  @Test
  void firingIsKeptUntilItsResolvedArrives() {
    FiringAlerts firing = new FiringAlerts(Duration.ofSeconds(60), 100);
    Alert f1 = alert("throttling", "h1", AlertState.FIRING, T0, T0);
    Alert f2 = alert("throttling", "h2", AlertState.FIRING, T0, T0);

    assertThat(firing.apply(P0, f1)).isSameAs(f1);
    assertThat(firing.apply(P1, f2)).isSameAs(f2);
    assertThat(firing.apply(P0, f1)).isSameAs(f1); // a repeated FIRING refreshes, does not add
    assertThat(firing.size()).isEqualTo(2);

    Alert r1 = alert("throttling", "h1", AlertState.RESOLVED, T0, T0.plusSeconds(30));
    assertThat(firing.apply(P0, r1)).isSameAs(f1);
    assertThat(firing.apply(P0, r1)).isNull(); // a second RESOLVED finds nothing
    assertThat(firing.all()).containsExactly(f2);
  }

  @Test
  void atMostMaxAreKeptAndAFullSetStillRefreshesItsMembers() {
    FiringAlerts firing = new FiringAlerts(Duration.ofSeconds(60), 2);
    Alert a = alert("throttling", "a", AlertState.FIRING, T0, T0);
    firing.apply(P0, a);
    firing.apply(P0, alert("throttling", "b", AlertState.FIRING, T0, T0));

    assertThat(firing.apply(P0, alert("throttling", "c", AlertState.FIRING, T0, T0))).isNull();
    assertThat(firing.apply(P0, a)).isSameAs(a);
    assertThat(firing.size()).isEqualTo(2);

    firing.replace(P1, Map.of("x", alert("throttling", "x", AlertState.FIRING, T0, T0)));
    assertThat(firing.size()).isEqualTo(2); // the cap holds for rebuilt partitions too
  }

  @Test
  void revokedPartitionsTakeTheirAlertsWithThem() {
    FiringAlerts firing = new FiringAlerts(Duration.ofSeconds(60), 100);
    firing.apply(P0, alert("throttling", "h1", AlertState.FIRING, T0, T0));
    Alert onP1 = alert("throttling", "h2", AlertState.FIRING, T0, T0);
    firing.apply(P1, onP1);

    firing.drop(List.of(P0));

    assertThat(firing.all()).containsExactly(onP1);
    assertThat(firing.of(List.of(P1))).containsExactly(onP1);
    assertThat(firing.size()).isEqualTo(1);
    firing.replace(P1, Map.of());
    assertThat(firing.size()).isZero();
  }

  @Test
  void resendIsDueEveryInterval() {
    ManualClock clock = new ManualClock(T0);
    FiringAlerts firing = new FiringAlerts(Duration.ofSeconds(60), 100);
    assertThat(firing.resendDue(clock.instant())).isTrue();

    firing.resent(clock.instant());
    clock.advance(Duration.ofSeconds(59));
    assertThat(firing.resendDue(clock.instant())).isFalse();
    clock.advance(Duration.ofSeconds(1));
    assertThat(firing.resendDue(clock.instant())).isTrue();

    firing.resent(clock.instant());
    assertThat(firing.resendDue(clock.instant().plusSeconds(30))).isFalse();
  }
}
