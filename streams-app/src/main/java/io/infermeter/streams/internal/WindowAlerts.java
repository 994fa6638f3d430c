package io.infermeter.streams.internal;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.streams.StreamsSettings.AlertSettings;
import java.util.ArrayList;
import java.util.List;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Bytes;

/**
 * Alerts concern for request windows: evaluates the request rules (latency regression, SLO burn, error spike,
 * cold-start storm, queue build-up) on a closed window and keeps each rule's state in a named store (in memory, written
 * behind to its changelog at commit).
 * Not thread-safe (one task).
 */
final class WindowAlerts {

  private final ObjectStore<RuleState> states;
  private final AlertSettings cfg;

  WindowAlerts(ObjectStore<RuleState> states, AlertSettings cfg) {
    this.states = states;
    this.cfg = cfg;
  }

  List<Alert> evaluate(RequestAccumulator a) {
    List<Alert> out = new ArrayList<>(0);
    AggKey k = a.key;
    Alerts.Subject subject = new Alerts.Subject(k.asString(), k.cluster(), k.region(), k.host(), k.model(), "");
    long startUs = a.windowStartMs * 1000;
    long endUs = (a.windowStartMs + a.windowSizeMs) * 1000;
    LatencyAccumulator e2e = a.latency(LatencyMetric.E2E, false);
    if (e2e != null && e2e.count > 0) {
      RuleState s = state(AlertRules.LATENCY_REGRESSION, k);
      apply(out, AlertRules.latencyRegression(s, LatencyPercentiles.percentile(e2e, 99), e2e.count, cfg), s, k, subject, startUs, endUs);
    }
    long good = 0;
    long total = 0;
    for (long[] v : a.slo.values()) {
      total += v[0];
      good += v[1];
    }
    RuleState slo = state(AlertRules.SLO_BURN, k);
    apply(out, AlertRules.sloBurn(slo, good, total, cfg), slo, k, subject, startUs, endUs);
    RuleState err = state(AlertRules.ERROR_SPIKE, k);
    apply(out, AlertRules.errorSpike(a.errors + a.timeouts, a.requests, cfg), err, k, subject, startUs, endUs);
    RuleState cold = state(AlertRules.COLD_START_STORM, k);
    apply(out, AlertRules.coldStartStorm(a.coldStarts, a.requests, cfg), cold, k, subject, startUs, endUs);
    RuleState queue = state(AlertRules.QUEUE_BUILDUP, k);
    apply(out, AlertRules.queueBuildup(a.queueShareOfE2ePct(), a.queueSumUs, a.e2eSumUs, cfg), queue, k, subject,
        startUs, endUs);
    return out;
  }

  private RuleState state(String rule, AggKey k) {
    RuleState s = states.get(key(rule, k));
    return s == null ? new RuleState() : s;
  }

  /** "rule|key" in UTF-8: the same store keys (and changelog) as the String-keyed store this replaced. */
  private static Bytes key(String rule, AggKey k) {
    return Bytes.wrap((rule + '|' + k.asString()).getBytes(StandardCharsets.UTF_8));
  }

  private void apply(List<Alert> out, AlertRules.Decision d, RuleState s, AggKey k, Alerts.Subject subject,
      long startUs, long endUs) {
    AlertState t = AlertRules.transition(s, d.condition(), endUs);
    if (t != null) {
      out.add(Alerts.build(d, t, s, subject, startUs, endUs, endUs));
    }
    states.put(key(d.rule(), k), s); // written behind at the next commit
  }
}
