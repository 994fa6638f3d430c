package io.infermeter.streams.alerts;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.Severity;
import io.infermeter.streams.StreamsLimits;
import io.infermeter.streams.state.ObjectStore;
import io.infermeter.streams.support.StreamsCounters;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;

/**
 * The alert rules' state per (rule, subject key), kept in an {@link ObjectStore} (in memory,
 * written behind to its changelog at commit) under the UTF-8 key "rule|key", and the one place a
 * rule's decision becomes a state change: FIRING once, RESOLVED once. Used by the request, fleet
 * and energy processors.
 *
 * <p>Bounded: a state not evaluated for {@code state.inactive.expiry} (wall clock) is forgotten by
 * {@link #evict} (a firing one first resolves as stale: a RESOLVED alert with evidence {@code
 * resolution=stale}, when its subject is known, i.e. it was evaluated since the task started); a
 * new key past {@code state.max.keys.per.task} is refused (the rule is not evaluated for it,
 * counted). An access-ordered index of the keys (rebuilt from the store once per task start) makes
 * both O(1) per key: eviction pops the least recently evaluated keys and stops at the first live
 * one. Not thread-safe (one task).
 */
public final class RuleStates {

  /** Index entry: last evaluation (wall clock, ms) and the subject of the last alert decision. */
  private static final class Tracked {
    long lastMs;
    String rule;
    Alerts.Subject subject;
  }

  private final ObjectStore<RuleState> store;
  private final StreamsLimits limits;
  private final StreamsCounters counters;
  private final LinkedHashMap<Bytes, Tracked> index = new LinkedHashMap<>(16, 0.75f, true);
  private boolean loaded;

  public RuleStates(ObjectStore<RuleState> store, StreamsLimits limits, StreamsCounters counters) {
    this.store = store;
    this.limits = limits;
    this.counters = counters;
  }

  /** Keys held now. */
  int size() {
    return index.size();
  }

  private void load(long nowMs) {
    if (loaded) {
      return;
    }
    List<KeyValue<Bytes, RuleState>> all = new ArrayList<>(store.all());
    // a state from a format without the time gets a full expiry period from now
    all.sort((a, b) -> Long.compare(time(a.value, nowMs), time(b.value, nowMs)));
    for (KeyValue<Bytes, RuleState> kv : all) {
      Tracked t = new Tracked();
      t.lastMs = time(kv.value, nowMs);
      index.put(kv.key, t);
    }
    loaded = true;
  }

  private static long time(RuleState s, long nowMs) {
    return s.lastActiveMs > 0 ? s.lastActiveMs : nowMs;
  }

  /**
   * Evaluates {@code rule} for {@code key} with its state ({@code decide} may update it), adds the
   * Alert of a state change to {@code out}, and keeps the state; {@code nowMs} is the wall clock. A
   * new key past the per-task cap is refused (counted) and nothing is evaluated.
   */
  public void evaluate(
      List<Alert> out,
      String rule,
      String key,
      Function<RuleState, AlertRules.Decision> decide,
      Alerts.Subject subject,
      long startUs,
      long endUs,
      long nowMs) {
    load(nowMs);
    Bytes k = Bytes.wrap((rule + '|' + key).getBytes(StandardCharsets.UTF_8));
    Tracked tracked = index.get(k);
    if (tracked == null && index.size() >= limits.maxKeysPerTask()) {
      counters.stateKeysRefused.increment();
      return;
    }
    RuleState s = store.get(k);
    if (s == null) {
      s = new RuleState();
    }
    AlertRules.Decision d = decide.apply(s);
    AlertState t = AlertRules.transition(s, d.condition(), endUs);
    if (t != null) {
      out.add(Alerts.build(d, t, s, subject, startUs, endUs, endUs));
    }
    s.lastActiveMs = nowMs;
    store.put(k, s);
    if (tracked == null) {
      tracked = new Tracked();
      index.put(k, tracked);
    }
    tracked.lastMs = nowMs;
    tracked.rule = rule;
    tracked.subject = subject;
  }

  /**
   * Forgets every state not evaluated since {@code nowMs - state.inactive.expiry}; a firing one
   * first adds its stale RESOLVED alert to {@code out}. Returns how many were forgotten.
   */
  public int evict(List<Alert> out, long nowMs) {
    load(nowMs);
    long cutoff = nowMs - limits.inactiveExpiry().toMillis();
    int n = 0;
    Iterator<Map.Entry<Bytes, Tracked>> it = index.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<Bytes, Tracked> e = it.next();
      Tracked t = e.getValue();
      if (t.lastMs > cutoff) {
        break; // access order: every later key was evaluated more recently
      }
      RuleState s = store.get(e.getKey());
      if (s != null && s.firing && t.subject != null) {
        out.add(stale(t.rule, s, t.subject, t.lastMs, nowMs, limits));
      }
      store.delete(e.getKey());
      it.remove();
      counters.stateEvicted.increment();
      n++;
    }
    return n;
  }

  /**
   * The RESOLVED alert of a firing {@code rule} whose subject went quiet: observed is the
   * inactivity in seconds, threshold the expiry, evidence {@code resolution=stale}. Updates {@code
   * s} (not firing).
   */
  public static Alert stale(
      String rule,
      RuleState s,
      Alerts.Subject subject,
      long lastMs,
      long nowMs,
      StreamsLimits limits) {
    double inactiveS = (nowMs - lastMs) / 1000.0;
    double expiryS = limits.inactiveExpiry().toMillis() / 1000.0;
    AlertRules.Decision d =
        new AlertRules.Decision(
            rule,
            Severity.INFO,
            false,
            inactiveS,
            expiryS,
            null,
            "s",
            String.format(
                Locale.ROOT,
                "resolved as stale: no data for %.0f s (state.inactive.expiry %.0f s); "
                    + "state forgotten",
                inactiveS,
                expiryS),
            Map.of("resolution", "stale", "inactiveSeconds", AlertRules.fmt(inactiveS)));
    s.firing = false;
    return Alerts.build(
        d, AlertState.RESOLVED, s, subject, lastMs * 1000, nowMs * 1000, nowMs * 1000);
  }
}
