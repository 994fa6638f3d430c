package io.infermeter.alerts.internal;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.Severity;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Alert records shaped as the streams app writes them (dedupKey rule|key|firstSeenUs, key dims as
 * in Alerts.Subject).
 */
public final class TestAlerts {

  private TestAlerts() {}

  public static long us(Instant t) {
    return ChronoUnit.MICROS.between(Instant.EPOCH, t);
  }

  /**
   * A host-scoped alert of {@code rule} on {@code host} (cluster c1, region r1), first seen at
   * {@code firstSeen}.
   */
  public static Alert alert(
      String rule, String host, AlertState state, Instant firstSeen, Instant emitted) {
    Map<String, String> key = new LinkedHashMap<>();
    key.put("cluster", "c1");
    key.put("region", "r1");
    key.put("host", host);
    key.put("deviceId", "gpu0");
    String subject = "c1|r1|" + host + "|gpu0";
    String dedupKey = rule + '|' + subject + '|' + us(firstSeen);
    Map<String, String> evidence = new LinkedHashMap<>();
    evidence.put("used_bytes", "80000000000");
    evidence.put("total_bytes", "85899345920");
    return Alert.newBuilder()
        .setAlertId(dedupKey + '|' + state)
        .setDedupKey(dedupKey)
        .setRule(rule)
        .setSeverity(Severity.CRITICAL)
        .setState(state)
        .setCluster("c1")
        .setRegion("r1")
        .setHost(host)
        .setModel("")
        .setDeviceId("gpu0")
        .setKey(key)
        .setWindowStartUs(us(emitted.minusSeconds(10)))
        .setWindowEndUs(us(emitted))
        .setObserved(93.1)
        .setThreshold(85.0)
        .setBaseline(null)
        .setUnit("pct")
        .setSummary("GPU memory on " + host + "/gpu0 at 93.1 % (threshold 85 %)")
        .setEvidence(evidence)
        .setFirstSeenUs(us(firstSeen))
        .setEmittedUs(us(emitted))
        .build();
  }
}
