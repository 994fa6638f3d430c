package io.infermeter.alerts.internal;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.Map;

/**
 * One element of the body of Alertmanager's {@code POST /api/v2/alerts}: the {@code postableAlert}
 * of its OpenAPI specification (api/v2/openapi.yaml in prometheus/alertmanager): {@code labels}
 * (required) and {@code annotations} are label sets (string to string), {@code startsAt}/{@code
 * endsAt} RFC 3339 date-times, {@code "generatorURL"} a URI (left out when absent). Alertmanager
 * identifies an alert by its labels alone. Immutable.
 *
 * @param labels identity of the alert, sorted by name
 * @param annotations details that do not identify the alert
 * @param startsAt when the alert started
 * @param endsAt when it ends: in the future for a firing alert (refreshed by re-sending), the
 *     resolution time for a resolved one
 * @param generatorUrl link back to the source, or null
 * @param resolved whether this is a resolution (not sent: Alertmanager reads it from endsAt)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AlertmanagerAlert(
    @JsonProperty("labels") Map<String, String> labels,
    @JsonProperty("annotations") Map<String, String> annotations,
    @JsonProperty("startsAt") String startsAt,
    @JsonProperty("endsAt") String endsAt,
    @JsonProperty("generatorURL") String generatorUrl,
    @JsonIgnore boolean resolved) {

  /** {@link #startsAt()} parsed. */
  public Instant startsAtInstant() {
    return Instant.parse(startsAt);
  }

  /** {@link #endsAt()} parsed. */
  public Instant endsAtInstant() {
    return Instant.parse(endsAt);
  }
}
