package io.infermeter.alerts.internal;

import io.infermeter.avro.Alert;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * The alerts this instance currently knows as firing, per assigned partition (FIRING and RESOLVED
 * of one incident share the record key, the dedupKey, and so the partition: a partition handed to
 * another instance takes its firing alerts with it), and when they are due to be sent again. At
 * most {@code max} alerts are kept. Not thread-safe: owned by the forwarder's poll thread.
 */
public final class FiringAlerts {

  private final Map<TopicPartition, Map<String, Alert>> byPartition = new HashMap<>();
  private final Duration resendInterval;
  private final int max;
  private int size;
  private Instant nextResend = Instant.MIN;

  public FiringAlerts(Duration resendInterval, int max) {
    this.resendInterval = resendInterval;
    this.max = max;
  }

  /**
   * Applies one record: FIRING adds (or refreshes) its dedupKey, RESOLVED removes it.
   *
   * @return for RESOLVED, the FIRING it ends (null when unknown); for FIRING, the alert itself, or
   *     null when it was not kept because {@code max} alerts are firing already
   */
  public Alert apply(TopicPartition tp, Alert alert) {
    String key = alert.getDedupKey();
    switch (alert.getState()) {
      case FIRING -> {
        Map<String, Alert> m = byPartition.computeIfAbsent(tp, t -> new LinkedHashMap<>());
        if (!m.containsKey(key) && size >= max) {
          return null;
        }
        if (m.put(key, alert) == null) {
          size++;
        }
        return alert;
      }
      case RESOLVED -> {
        Map<String, Alert> m = byPartition.get(tp);
        Alert fired = m == null ? null : m.remove(key);
        if (fired != null) {
          size--;
        }
        return fired;
      }
      default -> {
        return null;
      }
    }
  }

  /** Replaces what is known of {@code tp} (after a rebuild). */
  public void replace(TopicPartition tp, Map<String, Alert> firing) {
    drop(List.of(tp));
    Map<String, Alert> m = new LinkedHashMap<>();
    for (Map.Entry<String, Alert> e : firing.entrySet()) {
      if (size >= max) {
        break;
      }
      m.put(e.getKey(), e.getValue());
      size++;
    }
    byPartition.put(tp, m);
  }

  /** Forgets the alerts of partitions no longer assigned to this instance. */
  public void drop(Collection<TopicPartition> partitions) {
    for (TopicPartition tp : partitions) {
      Map<String, Alert> m = byPartition.remove(tp);
      if (m != null) {
        size -= m.size();
      }
    }
  }

  /** Every firing alert, in partition then arrival order. */
  public List<Alert> all() {
    List<Alert> out = new ArrayList<>(size);
    byPartition.values().forEach(m -> out.addAll(m.values()));
    return out;
  }

  /** A copy of the firing alerts of {@code tp} by dedupKey (empty when none). */
  public Map<String, Alert> partition(TopicPartition tp) {
    Map<String, Alert> m = byPartition.get(tp);
    return m == null ? Map.of() : new LinkedHashMap<>(m);
  }

  /** The firing alerts of {@code partitions}. */
  public List<Alert> of(Collection<TopicPartition> partitions) {
    List<Alert> out = new ArrayList<>();
    for (TopicPartition tp : partitions) {
      Map<String, Alert> m = byPartition.get(tp);
      if (m != null) {
        out.addAll(m.values());
      }
    }
    return out;
  }

  public int size() {
    return size;
  }

  /** Whether every firing alert is due to be sent again at {@code now}. */
  public boolean resendDue(Instant now) {
    return !now.isBefore(nextResend);
  }

  /**
   * Records a send of every firing alert at {@code now}: the next one is due a resend interval
   * later.
   */
  public void resent(Instant now) {
    nextResend = now.plus(resendInterval);
  }
}
