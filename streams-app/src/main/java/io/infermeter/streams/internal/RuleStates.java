package io.infermeter.streams.internal;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;
import org.apache.kafka.common.utils.Bytes;

/**
 * The alert rules' state per (rule, subject key), kept in an {@link ObjectStore} (in memory, written behind to its
 * changelog at commit) under the UTF-8 key "rule|key", and the one place a rule's decision becomes a state change:
 * FIRING once, RESOLVED once. Used by the request, fleet and energy processors. Not thread-safe (one task).
 */
final class RuleStates {

  private final ObjectStore<RuleState> store;

  RuleStates(ObjectStore<RuleState> store) {
    this.store = store;
  }

  /**
   * Evaluates {@code rule} for {@code key} with its state ({@code decide} may update it), adds the Alert of a state
   * change to {@code out}, and keeps the state.
   */
  void evaluate(List<Alert> out, String rule, String key, Function<RuleState, AlertRules.Decision> decide,
      Alerts.Subject subject, long startUs, long endUs) {
    Bytes k = Bytes.wrap((rule + '|' + key).getBytes(StandardCharsets.UTF_8));
    RuleState s = store.get(k);
    if (s == null) {
      s = new RuleState();
    }
    AlertRules.Decision d = decide.apply(s);
    AlertState t = AlertRules.transition(s, d.condition(), endUs);
    if (t != null) {
      out.add(Alerts.build(d, t, s, subject, startUs, endUs, endUs));
    }
    store.put(k, s);
  }
}
