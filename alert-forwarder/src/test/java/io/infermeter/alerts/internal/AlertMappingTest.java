package io.infermeter.alerts.internal;

import static io.infermeter.alerts.internal.TestAlerts.alert;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.Severity;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AlertMappingTest {

  /** Alertmanager's own API writes milliseconds; the mapping truncates microseconds to them. */
  private static final Instant NOW_US = Instant.parse("2026-03-01T12:00:00.123456Z");

  private static final Instant NOW = NOW_US.truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
  private static final Instant FIRST = NOW.minusSeconds(300);
  private final AlertMapping mapping =
      new AlertMapping(Duration.ofMinutes(4), Map.of(), Optional.empty());

  @Test
  void firingLabelsComeFromTheKeyAndTimesFromFirstSeenAndTheResendTimeout() {
    AlertmanagerAlert a =
        mapping.firing(alert("gpu_memory_high", "h1", AlertState.FIRING, FIRST, NOW), NOW_US);

    assertThat(a.labels())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "alertname",
                "gpu_memory_high",
                "severity",
                "critical",
                "cluster",
                "c1",
                "region",
                "r1",
                "host",
                "h1",
                "device",
                "gpu0"));
    assertThat(a.startsAtInstant()).isEqualTo(FIRST);
    assertThat(a.endsAtInstant()).isEqualTo(NOW.plus(Duration.ofMinutes(4)));
    assertThat(a.endsAt()).isEqualTo("2026-03-01T12:04:00.123Z");
    assertThat(a.resolved()).isFalse();
    assertThat(a.annotations())
        .containsEntry("summary", "GPU memory on h1/gpu0 at 93.1 % (threshold 85 %)")
        .containsEntry("observed", "93.1")
        .containsEntry("threshold", "85")
        .containsEntry("unit", "pct")
        .containsEntry("first_seen", FIRST.toString())
        .containsEntry("evidence_used_bytes", "80000000000")
        .doesNotContainKey("baseline");
    assertThat(a.annotations().get("dedup_key")).startsWith("gpu_memory_high|");
  }

  @Test
  void resolvedEndsAtTheResolutionTimeWithTheSameLabelsAsTheFiring() {
    Alert firing = alert("gpu_memory_high", "h1", AlertState.FIRING, FIRST, FIRST);
    Alert resolved =
        alert("gpu_memory_high", "h1", AlertState.RESOLVED, FIRST, NOW.minusSeconds(20));

    AlertmanagerAlert f = mapping.firing(firing, NOW);
    AlertmanagerAlert r = mapping.resolved(resolved, firing, NOW);

    assertThat(r.labels()).isEqualTo(f.labels());
    assertThat(r.startsAt()).isEqualTo(f.startsAt());
    assertThat(r.endsAtInstant()).isEqualTo(NOW.minusSeconds(20));
    assertThat(r.resolved()).isTrue();
  }

  @Test
  void resolvedUsesTheFiringLabelsWhenADimensionChangedInBetween() {
    Alert firing = alert("throttling", "h1", AlertState.FIRING, FIRST, FIRST);
    Alert resolved =
        Alert.newBuilder(alert("throttling", "h1", AlertState.RESOLVED, FIRST, NOW))
            .setSeverity(Severity.WARNING)
            .build();

    assertThat(mapping.resolved(resolved, firing, NOW).labels())
        .containsEntry("severity", "critical");
    assertThat(mapping.resolved(resolved, null, NOW).labels()).containsEntry("severity", "warning");
  }

  @Test
  void timesFromAFastOrBrokenProducerClockAreClampedToNow() {
    Alert future =
        alert("error_spike", "h1", AlertState.FIRING, NOW.plusSeconds(3600), NOW.plusSeconds(3600));
    assertThat(mapping.firing(future, NOW).startsAtInstant())
        .isEqualTo(NOW.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));

    Alert resolvedInFuture =
        alert("error_spike", "h1", AlertState.RESOLVED, FIRST, NOW.plusSeconds(3600));
    assertThat(mapping.resolved(resolvedInFuture, null, NOW).endsAtInstant())
        .isEqualTo(NOW.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));

    Alert resolvedBeforeStart =
        alert("error_spike", "h1", AlertState.RESOLVED, FIRST, FIRST.minusSeconds(60));
    AlertmanagerAlert r = mapping.resolved(resolvedBeforeStart, null, NOW);
    assertThat(r.endsAtInstant())
        .isEqualTo(r.startsAtInstant()); // Alertmanager rejects endsAt before startsAt

    Alert noTimes =
        Alert.newBuilder(alert("error_spike", "h1", AlertState.RESOLVED, FIRST, NOW))
            .setFirstSeenUs(0)
            .setEmittedUs(-5)
            .setWindowStartUs(0)
            .setWindowEndUs(0)
            .build();
    AlertmanagerAlert n = mapping.resolved(noTimes, null, NOW);
    assertThat(n.startsAtInstant()).isEqualTo(n.endsAtInstant());
    assertThat(n.annotations()).doesNotContainKeys("first_seen", "window_start", "window_end");
  }

  @Test
  void fleetWideAndEmptyDimensionsAreLeftOutAndOtherKeyDimensionsAreSanitized() {
    Alert fleet =
        Alert.newBuilder(alert("slo_burn", "*", AlertState.FIRING, FIRST, NOW))
            .setCluster("*")
            .setRegion("*")
            .setDeviceId("")
            .setModel("llama-3-70b")
            .setKey(
                Map.of(
                    "cluster",
                    "*",
                    "region",
                    "*",
                    "host",
                    "*",
                    "model",
                    "llama-3-70b",
                    "gpu.type",
                    "H100",
                    "9lives",
                    "x",
                    "",
                    "empty-name",
                    "version",
                    ""))
            .build();
    Map<String, String> labels = mapping.firing(fleet, NOW).labels();
    assertThat(labels)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "alertname",
                "slo_burn",
                "severity",
                "critical",
                "model",
                "llama-3-70b",
                "gpu_type",
                "H100",
                "_9lives",
                "x",
                "_",
                "empty-name"));
    labels.keySet().forEach(name -> assertThat(name).matches("[a-zA-Z_][a-zA-Z0-9_]*"));
  }

  @Test
  void externalLabelsAreAddedWithoutOverridingTheAlertsOwn() {
    AlertMapping withExternal =
        new AlertMapping(
            Duration.ofMinutes(4),
            Map.of("env", "prod", "host", "not-this"),
            Optional.of("https://grafana.example/d/alerts"));
    AlertmanagerAlert a =
        withExternal.firing(alert("throttling", "h1", AlertState.FIRING, FIRST, NOW), NOW);
    assertThat(a.labels()).containsEntry("env", "prod").containsEntry("host", "h1");
    assertThat(a.generatorUrl()).isEqualTo("https://grafana.example/d/alerts");
  }

  @ParameterizedTest
  @CsvSource({"gpu.type,gpu_type", "9x,_9x", "ok_name,ok_name", "a-b c,a_b_c", "ü,_"})
  void labelNamesAreMadeValid(String in, String out) {
    assertThat(AlertMapping.labelName(in)).isEqualTo(out);
  }

  /**
   * Field names and types of the JSON body against Alertmanager's OpenAPI specification
   * (prometheus/alertmanager api/v2/openapi.yaml): postableAlert = {startsAt: date-time, endsAt:
   * date-time, annotations: labelSet} + alert = {labels: labelSet (required), generatorURL: uri};
   * labelSet = object of strings.
   */
  @Test
  void jsonBodyHasExactlyThePostableAlertFieldsOfTheOpenApiSpec() throws Exception {
    AlertMapping withUrl =
        new AlertMapping(Duration.ofMinutes(4), Map.of(), Optional.of("http://grafana:3000/d/x"));
    ObjectMapper json = new ObjectMapper();
    JsonNode body =
        json.readTree(
            json.writeValueAsBytes(
                List.of(
                    withUrl.firing(
                        alert("gpu_memory_high", "h1", AlertState.FIRING, FIRST, NOW), NOW),
                    mapping.resolved(
                        alert("gpu_memory_high", "h2", AlertState.RESOLVED, FIRST, NOW),
                        null,
                        NOW))));

    assertThat(body.isArray()).isTrue();
    List<String> first = new ArrayList<>();
    body.get(0).fieldNames().forEachRemaining(first::add);
    assertThat(first)
        .containsExactlyInAnyOrder("labels", "annotations", "startsAt", "endsAt", "generatorURL");
    List<String> second = new ArrayList<>();
    body.get(1).fieldNames().forEachRemaining(second::add);
    assertThat(second).containsExactlyInAnyOrder("labels", "annotations", "startsAt", "endsAt");
    for (JsonNode a : body) {
      a.get("labels").fields().forEachRemaining(e -> assertThat(e.getValue().isTextual()).isTrue());
      a.get("annotations")
          .fields()
          .forEachRemaining(e -> assertThat(e.getValue().isTextual()).isTrue());
      assertThat(a.get("startsAt").asText())
          .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,3})?Z");
      assertThat(a.get("endsAt").asText())
          .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,3})?Z");
    }
  }

  @Test
  void unknownStateMapsToNothing() {
    Alert unknown =
        Alert.newBuilder(alert("throttling", "h1", AlertState.FIRING, FIRST, NOW))
            .setState(AlertState.UNKNOWN)
            .build();
    assertThat(mapping.map(unknown, NOW)).isNull();
    assertThat(
            mapping.map(alert("throttling", "h1", AlertState.FIRING, FIRST, NOW), NOW).resolved())
        .isFalse();
    assertThat(
            mapping.map(alert("throttling", "h1", AlertState.RESOLVED, FIRST, NOW), NOW).resolved())
        .isTrue();
  }
}
