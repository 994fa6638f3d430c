package io.infermeter.alerts.internal;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Maps an {@link Alert} record to the Alertmanager API v2 form. Stateless, thread-safe.
 *
 * <p>Labels (the identity Alertmanager groups, silences and de-duplicates by): {@code alertname} =
 * the rule, {@code severity} (lower case), {@code cluster}, {@code region}, {@code host} (left out
 * when {@code *}, i.e. fleet-wide), {@code model}, {@code device} (left out when empty), then every
 * other dimension of the alert's key, then the configured external labels where the alert has no
 * label of that name. Names are made valid Alertmanager label names ({@code
 * [a-zA-Z_][a-zA-Z0-9_]*}, other characters become {@code _}). The labels never contain the
 * first-seen time, so a condition that resolves and fires again is the same Alertmanager alert, as
 * with Prometheus rules.
 *
 * <p>Times: {@code startsAt} = the incident's first-seen time (stable across re-sends and
 * restarts), never after {@code now}; FIRING: {@code endsAt} = now + the resend timeout; RESOLVED:
 * {@code endsAt} = the emitted (stream) time of the RESOLVED record, clamped into [startsAt, now]
 * so a fast producer clock cannot keep it open.
 */
public final class AlertMapping {

  private final Duration resendTimeout;
  private final Map<String, String> externalLabels;
  private final Optional<String> generatorUrl;

  public AlertMapping(
      Duration resendTimeout, Map<String, String> externalLabels, Optional<String> generatorUrl) {
    this.resendTimeout = resendTimeout;
    this.externalLabels = Map.copyOf(externalLabels);
    this.generatorUrl = generatorUrl;
  }

  /** A firing alert sent at {@code now}: ends at now + resend timeout unless sent again. */
  public AlertmanagerAlert firing(Alert alert, Instant now) {
    Instant starts = startsAt(alert, now);
    return new AlertmanagerAlert(
        labels(alert),
        annotations(alert),
        format(starts),
        format(now.plus(resendTimeout)),
        generatorUrl.orElse(null),
        false);
  }

  /**
   * The resolution of an alert. {@code fired} is the FIRING record this RESOLVED ends when still
   * known: its labels are used, so the resolution reaches exactly the alert that was sent even if a
   * dimension changed in between.
   */
  public AlertmanagerAlert resolved(Alert resolved, Alert fired, Instant now) {
    Alert identity = fired != null ? fired : resolved;
    Instant starts = startsAt(identity, now);
    Instant ends = micros(resolved.getEmittedUs());
    if (ends == null || ends.isAfter(now)) {
      ends = now;
    }
    if (ends.isBefore(starts)) {
      ends = starts;
    }
    return new AlertmanagerAlert(
        labels(identity),
        annotations(resolved),
        format(starts),
        format(ends),
        generatorUrl.orElse(null),
        true);
  }

  /** The Alertmanager form of {@code alert} for its state; null for {@link AlertState#UNKNOWN}. */
  public AlertmanagerAlert map(Alert alert, Instant now) {
    return switch (alert.getState()) {
      case FIRING -> firing(alert, now);
      case RESOLVED -> resolved(alert, null, now);
      default -> null;
    };
  }

  Map<String, String> labels(Alert a) {
    Map<String, String> labels = new TreeMap<>();
    put(labels, "alertname", a.getRule());
    put(
        labels,
        "severity",
        a.getSeverity() == null ? "" : a.getSeverity().name().toLowerCase(Locale.ROOT));
    putDimension(labels, "cluster", a.getCluster());
    putDimension(labels, "region", a.getRegion());
    putDimension(labels, "host", a.getHost());
    putDimension(labels, "model", a.getModel());
    putDimension(labels, "device", a.getDeviceId());
    if (a.getKey() != null) {
      new TreeMap<>(a.getKey())
          .forEach(
              (k, v) -> {
                String name = k.equals("deviceId") ? "device" : labelName(k);
                if (!labels.containsKey(name)) {
                  putDimension(labels, name, v);
                }
              });
    }
    externalLabels.forEach(labels::putIfAbsent);
    return labels;
  }

  static Map<String, String> annotations(Alert a) {
    Map<String, String> ann = new TreeMap<>();
    put(ann, "summary", a.getSummary());
    put(ann, "observed", number(a.getObserved()));
    put(ann, "threshold", number(a.getThreshold()));
    if (a.getBaseline() != null) {
      put(ann, "baseline", number(a.getBaseline()));
    }
    put(ann, "unit", a.getUnit());
    put(ann, "dedup_key", a.getDedupKey());
    put(ann, "alert_id", a.getAlertId());
    putTime(ann, "first_seen", a.getFirstSeenUs());
    putTime(ann, "window_start", a.getWindowStartUs());
    putTime(ann, "window_end", a.getWindowEndUs());
    if (a.getEvidence() != null) {
      new TreeMap<>(a.getEvidence()).forEach((k, v) -> put(ann, "evidence_" + labelName(k), v));
    }
    return ann;
  }

  private static Instant startsAt(Alert a, Instant now) {
    Instant first = micros(a.getFirstSeenUs());
    return first == null || first.isAfter(now) ? now : first;
  }

  /** Epoch microseconds to an Instant; null when not positive (not a time). */
  static Instant micros(long us) {
    return us <= 0 ? null : Instant.EPOCH.plus(us, ChronoUnit.MICROS);
  }

  /** RFC 3339 in UTC with millisecond precision, as Alertmanager's own API writes times. */
  static String format(Instant t) {
    return t.truncatedTo(ChronoUnit.MILLIS).toString();
  }

  /**
   * A valid Alertmanager label name: characters outside [a-zA-Z0-9_] become '_', a leading digit
   * gets a '_'.
   */
  static String labelName(String name) {
    if (name == null || name.isEmpty()) {
      return "_";
    }
    StringBuilder sb = new StringBuilder(name.length() + 1);
    if (Character.isDigit(name.charAt(0))) {
      sb.append('_');
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      sb.append(
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
              ? c
              : '_');
    }
    return sb.toString();
  }

  private static void put(Map<String, String> m, String name, CharSequence value) {
    if (value != null && value.length() > 0) {
      m.put(name, value.toString());
    }
  }

  private static void putDimension(Map<String, String> m, String name, CharSequence value) {
    if (value != null && value.length() > 0 && !"*".contentEquals(value)) {
      m.put(name, value.toString());
    }
  }

  private static void putTime(Map<String, String> m, String name, long us) {
    Instant t = micros(us);
    if (t != null) {
      m.put(name, t.toString());
    }
  }

  private static String number(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      return Double.toString(d);
    }
    return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
  }
}
