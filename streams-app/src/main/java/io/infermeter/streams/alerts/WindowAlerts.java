package io.infermeter.streams.alerts;

import io.infermeter.avro.Alert;
import io.infermeter.streams.StreamsLimits;
import io.infermeter.streams.StreamsSettings.AlertSettings;
import io.infermeter.streams.latency.LatencyAccumulator;
import io.infermeter.streams.latency.LatencyMetric;
import io.infermeter.streams.state.ObjectStore;
import io.infermeter.streams.support.StreamsCounters;
import io.infermeter.streams.windows.AggKey;
import io.infermeter.streams.windows.RequestAccumulator;
import java.util.ArrayList;
import java.util.List;

/**
 * Alerts concern for request windows: evaluates the request rules (latency regression, P99 jitter,
 * SLO burn, error spike, cold-start storm, queue build-up) on a closed window and keeps each rule's
 * state in a named store (in memory, written behind to its changelog at commit). Not thread-safe
 * (one task).
 */
public final class WindowAlerts {

  /** The latency metrics judged by latency_regression, each its own alert (label metric). */
  private static final LatencyMetric[] REGRESSION_METRICS = {LatencyMetric.E2E, LatencyMetric.TTFT};

  private static final String E2E = LatencyMetric.E2E.wireName();

  private final RuleStates states;
  private final AlertSettings cfg;

  public WindowAlerts(
      ObjectStore<RuleState> states,
      AlertSettings cfg,
      StreamsLimits limits,
      StreamsCounters counters) {
    this.states = new RuleStates(states, limits, counters);
    this.cfg = cfg;
  }

  /** The stale RESOLVED alerts of the rule states forgotten now (see {@link RuleStates#evict}). */
  public List<Alert> evict(long nowMs) {
    List<Alert> out = new ArrayList<>(0);
    states.evict(out, nowMs);
    return out;
  }

  /** The alert state changes of the closed window {@code a}; {@code nowMs} is the wall clock. */
  public List<Alert> evaluate(RequestAccumulator a, long nowMs) {
    List<Alert> out = new ArrayList<>(0);
    AggKey k = a.key;
    String key = k.asString();
    Alerts.Subject subject =
        new Alerts.Subject(key, k.cluster(), k.region(), k.host(), k.model(), "");
    long startUs = a.windowStartMs * 1000;
    long endUs = (a.windowStartMs + a.windowSizeMs) * 1000;
    for (LatencyMetric m : REGRESSION_METRICS) {
      LatencyAccumulator warm = a.latency(m, false);
      if (warm != null && warm.count > 0) {
        // e2e keeps the key it always had; ttft's state and dedup key get a "|ttft" suffix
        Alerts.Subject metricSubject = subject.forMetric(m.wireName(), E2E);
        states.evaluate(
            out,
            AlertRules.LATENCY_REGRESSION,
            metricSubject.key(),
            s ->
                AlertRules.latencyRegression(
                    s, m.wireName(), warm, a.windowStartMs, a.windowSizeMs, cfg),
            metricSubject,
            startUs,
            endUs,
            nowMs);
      }
    }
    LatencyAccumulator tpot = a.latency(LatencyMetric.TPOT, false);
    if (tpot != null && tpot.count > 0) {
      states.evaluate(
          out,
          AlertRules.P99_JITTER,
          key,
          s -> AlertRules.p99Jitter(s, tpot, a.windowStartMs, a.windowSizeMs, cfg),
          subject.forMetric(LatencyMetric.TPOT.wireName(), LatencyMetric.TPOT.wireName()),
          startUs,
          endUs,
          nowMs);
    }
    long g = a.slo.good();
    long t = a.slo.requests();
    states.evaluate(
        out,
        AlertRules.SLO_BURN,
        key,
        s -> AlertRules.sloBurn(s, a.windowStartMs, a.windowStartMs + a.windowSizeMs, g, t, cfg),
        subject,
        startUs,
        endUs,
        nowMs);
    states.evaluate(
        out,
        AlertRules.ERROR_SPIKE,
        key,
        s -> AlertRules.errorSpike(s, a.errors + a.timeouts, a.requests, cfg),
        subject,
        startUs,
        endUs,
        nowMs);
    states.evaluate(
        out,
        AlertRules.COLD_START_STORM,
        key,
        s -> AlertRules.coldStartStorm(s, a.coldStarts, a.requests, cfg),
        subject,
        startUs,
        endUs,
        nowMs);
    states.evaluate(
        out,
        AlertRules.QUEUE_BUILDUP,
        key,
        s ->
            AlertRules.queueBuildup(
                s, a.queueShareOfE2ePct(), a.requests, a.queueSumUs, a.e2eSumUs, cfg),
        subject,
        startUs,
        endUs,
        nowMs);
    return out;
  }
}
