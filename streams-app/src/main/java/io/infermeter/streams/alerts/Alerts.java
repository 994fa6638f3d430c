package io.infermeter.streams.alerts;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Builds Alert records from rule decisions. The alert id is derived from (dedupKey, state, window)
 * so a replay under exactly-once produces the same id. The dedupKey is rule|key|firstSeenUs: stable
 * from FIRING to RESOLVED. Stateless.
 */
public final class Alerts {

  private Alerts() {}

  /**
   * Identity of what an alert concerns; {@code metric} ("" = none) tells apart alerts of one rule
   * on several metrics of the same key (an Alertmanager label of its own).
   */
  public record Subject(
      String key,
      String cluster,
      String region,
      String host,
      String model,
      String deviceId,
      String metric) {

    public Subject(
        String key, String cluster, String region, String host, String model, String deviceId) {
      this(key, cluster, region, host, model, deviceId, "");
    }

    /** This subject for {@code metric}, keyed apart unless {@code metric} is {@code keyedAs}. */
    public Subject forMetric(String metric, String keyedAs) {
      return new Subject(
          metric.equals(keyedAs) ? key : key + '|' + metric,
          cluster,
          region,
          host,
          model,
          deviceId,
          metric);
    }

    Map<String, String> dims() {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("cluster", cluster);
      m.put("region", region);
      m.put("host", host);
      if (!model.isEmpty()) {
        m.put("model", model);
      }
      if (!deviceId.isEmpty()) {
        m.put("deviceId", deviceId);
      }
      if (!metric.isEmpty()) {
        m.put("metric", metric);
      }
      return m;
    }
  }

  public static Alert build(
      AlertRules.Decision d,
      AlertState state,
      RuleState s,
      Subject subject,
      long windowStartUs,
      long windowEndUs,
      long emittedUs) {
    String dedupKey = d.rule() + '|' + subject.key() + '|' + s.firstSeenUs;
    String id =
        UUID.nameUUIDFromBytes(
                (dedupKey + '|' + state + '|' + windowStartUs).getBytes(StandardCharsets.UTF_8))
            .toString();
    return Alert.newBuilder()
        .setAlertId(id)
        .setDedupKey(dedupKey)
        .setRule(d.rule())
        .setSeverity(d.severity())
        .setState(state)
        .setCluster(subject.cluster())
        .setRegion(subject.region())
        .setHost(subject.host())
        .setModel(subject.model())
        .setDeviceId(subject.deviceId())
        .setKey(subject.dims())
        .setWindowStartUs(windowStartUs)
        .setWindowEndUs(windowEndUs)
        .setObserved(d.observed())
        .setThreshold(d.threshold())
        .setBaseline(d.baseline())
        .setUnit(d.unit())
        .setSummary(d.summary())
        .setEvidence(new LinkedHashMap<>(d.evidence()))
        .setFirstSeenUs(s.firstSeenUs)
        .setEmittedUs(emittedUs)
        .build();
  }
}
