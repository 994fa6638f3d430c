package io.infermeter.alerts.internal;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;

/**
 * The forwarder's own Prometheus metrics. Counts are of alerts, not requests, per Alertmanager URL
 * where one is concerned. Thread-safe (the Prometheus client is).
 */
public final class ForwarderMetrics {

  private final Counter consumed;
  private final Counter forwarded;
  private final Counter failed;
  private final Counter retries;
  private final Counter resends;
  private final Counter invalid;
  private final Counter firingDropped;
  private final Counter commitFailures;
  private final Counter registryRetries;
  private final Gauge firing;

  public ForwarderMetrics(PrometheusRegistry registry) {
    consumed =
        Counter.builder()
            .name("infermeter_alerts_consumed_total")
            .help("Records read from the alerts topic (rebuild reads not included)")
            .register(registry);
    forwarded =
        Counter.builder()
            .name("infermeter_alerts_forwarded_total")
            .help(
                "Alerts accepted by an Alertmanager (2xx), per Alertmanager and state (firing: first sends and re-sends)")
            .labelNames("alertmanager", "state")
            .register(registry);
    failed =
        Counter.builder()
            .name("infermeter_alerts_failed_total")
            .help(
                "Alerts not delivered to an Alertmanager, per reason: rejected (4xx, not retried) or gave_up "
                    + "(5xx or no answer past alertmanager.retry.give.up.after)")
            .labelNames("alertmanager", "reason")
            .register(registry);
    retries =
        Counter.builder()
            .name("infermeter_alerts_retries_total")
            .help(
                "Requests to an Alertmanager that failed with 5xx, 429 or no answer and will be retried")
            .labelNames("alertmanager")
            .register(registry);
    resends =
        Counter.builder()
            .name("infermeter_alerts_resends_total")
            .help("Rounds in which every firing alert was sent again to push its endsAt forward")
            .register(registry);
    invalid =
        Counter.builder()
            .name("infermeter_alerts_invalid_records_total")
            .help(
                "Records of the alerts topic skipped, per reason (undecodable, tombstone, unknown_state)")
            .labelNames("reason")
            .register(registry);
    firingDropped =
        Counter.builder()
            .name("infermeter_alerts_firing_dropped_total")
            .help(
                "FIRING alerts forwarded once but not kept for re-sending because alertmanager.firing.max was reached")
            .register(registry);
    commitFailures =
        Counter.builder()
            .name("infermeter_alerts_commit_failures_total")
            .help(
                "Offset commits that failed after delivery (the records are delivered again: harmless, Alertmanager "
                    + "de-duplicates)")
            .register(registry);
    registryRetries =
        Counter.builder()
            .name("infermeter_alerts_registry_retries_total")
            .help(
                "Decoding attempts that found the schema registry unavailable; the record is decoded again, not skipped")
            .register(registry);
    firing =
        Gauge.builder()
            .name("infermeter_alerts_firing")
            .help("Alerts currently firing and re-sent by this instance")
            .register(registry);
  }

  void forwarded(String alertmanager, List<AlertmanagerAlert> alerts) {
    long resolved = alerts.stream().filter(AlertmanagerAlert::resolved).count();
    forwarded.labelValues(alertmanager, "resolved").inc(resolved);
    forwarded.labelValues(alertmanager, "firing").inc(alerts.size() - resolved);
  }

  void failed(String alertmanager, String reason, int n) {
    failed.labelValues(alertmanager, reason).inc(n);
  }

  void retry(String alertmanager) {
    retries.labelValues(alertmanager).inc();
  }

  void consumed(int n) {
    consumed.inc(n);
  }

  void resend() {
    resends.inc();
  }

  void invalid(String reason) {
    invalid.labelValues(reason).inc();
  }

  void firingDropped() {
    firingDropped.inc();
  }

  void commitFailure() {
    commitFailures.inc();
  }

  void registryRetry() {
    registryRetries.inc();
  }

  public double registryRetries() {
    return registryRetries.get();
  }

  void firing(int n) {
    firing.set(n);
  }

  public double forwarded(String alertmanager, String state) {
    return forwarded.labelValues(alertmanager, state).get();
  }

  public double failed(String alertmanager, String reason) {
    return failed.labelValues(alertmanager, reason).get();
  }

  public double retries(String alertmanager) {
    return retries.labelValues(alertmanager).get();
  }

  public double invalidRecords(String reason) {
    return invalid.labelValues(reason).get();
  }

  public double firing() {
    return firing.get();
  }

  public double consumed() {
    return consumed.get();
  }
}
