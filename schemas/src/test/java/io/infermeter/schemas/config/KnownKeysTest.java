package io.infermeter.schemas.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KnownKeysTest {

  private static final KnownKeys APP =
      KnownKeys.forApp(
          Set.of("kafka.bootstrap.servers", "metrics.port", "clickhouse.password"),
          List.of("clickhouse.jdbc."),
          Set.of("num.stream.threads", "application.id"));
  private static final KnownKeys NO_STREAMS =
      KnownKeys.forApp(Set.of("metrics.port"), List.of(), Set.of());

  @ParameterizedTest(name = "{0} known={1}")
  @CsvSource({
    "metrics.port, true",
    "kafka.bootstrap.servers, true",
    "kafka.security.protocol, true",
    "kafka.sasl.jaas.config, true",
    "kafka.ssl.truststore.location, true",
    "kafka.producer.linger.ms, true",
    "kafka.consumer.isolation.level, true",
    "kafka.admin.retries, true",
    "kafka.streams.num.stream.threads, true",
    "kafka.streams.producer.linger.ms, true",
    "kafka.num.stream.threads, true",
    "clickhouse.jdbc.socket_timeout, true",
    "schema.registry.url, true",
    "schema.registry.ssl.truststore.location, true",
    "bearer.auth.token, true",
    "basic.auth.user.info, true",
    "kafka.port, true",
    "stack.dir, true",
    "kafka.security.protocl, false",
    "kafka.producer.isolation.level, false",
    "kafka.consumer.linger.ms, false",
    "kafka.streams.linger.mss, false",
    "schema.registry.ssl.truststore.locaton, false",
    "metric.port, false",
    "clickhouse.jdbc, false",
    "kafka., false",
  })
  void knowsTheAppsKeysAndTheKafkaClientSettings(String key, boolean known) {
    assertThat(APP.isKnown(key)).isEqualTo(known);
  }

  @Test
  void kafkaStreamsKeysAreUnknownToAnAppWithoutKafkaStreams() {
    assertThat(NO_STREAMS.isKnown("kafka.streams.num.stream.threads")).isFalse();
    assertThat(NO_STREAMS.isKnown("kafka.security.protocol")).isTrue();
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
    "kafka.security.protocl, kafka.security.protocol",
    "kafka.sasl.mechansim, kafka.sasl.mechanism",
    "kafka.producer.lingr.ms, kafka.producer.linger.ms",
    "schema.registry.ssl.truststore.locaton, schema.registry.ssl.truststore.location",
    "metric.port, metrics.port",
    "clickhouse.pasword, clickhouse.password",
    "bearer.auth.tokn, bearer.auth.token",
  })
  void suggestsTheClosestKnownKey(String typo, String expected) {
    assertThat(APP.closest(typo)).contains(expected);
  }

  @Test
  void noSuggestionForAnUnrelatedKey() {
    assertThat(APP.closest("completely.different.thing")).isEmpty();
    assertThat(APP.closest("")).isEqualTo(Optional.empty());
  }

  @Test
  void reportsOnlyWhatTheUserSetNamingTheOrigin() {
    Settings s =
        Settings.load(
            Map.of("metrics.port", "1", "unused.default", "x"),
            Optional.empty(),
            "INFERMETER_",
            Map.of(
                "INFERMETER_KAFKA_SECURITY_PROTOCL",
                "SSL",
                "INFERMETER_KAFKA_PORT",
                "9092",
                "INFERMETER_METRICS_PORT",
                "2"),
            new Properties());
    List<String> problems = APP.problems(s);
    assertThat(problems)
        .singleElement()
        .asString()
        .contains(
            "'kafka.security.protocl'",
            "env INFERMETER_KAFKA_SECURITY_PROTOCL",
            "did you mean 'kafka.security.protocol'");
  }

  @Test
  void strictTurnsUnknownKeysIntoOneError() {
    Settings s =
        Settings.fromMap(
            Map.of("metric.port", "1", "kafka.secuirty.protocol", "SSL", "metrics.port", "2"));
    assertThatThrownBy(() -> APP.report(s, true))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'metric.port'")
        .hasMessageContaining("'kafka.secuirty.protocol'")
        .hasMessageContaining("--strict");
    APP.report(s, false); // a warning only
    APP.report(Settings.fromMap(Map.of("metrics.port", "2")), true); // nothing unknown: no error
  }

  @Test
  void valuesNeverAppearInTheReport() {
    Settings s = Settings.fromMap(Map.of("kafka.sasl.jaas.confg", "password=\"hunter2\""));
    assertThat(APP.problems(s)).singleElement().asString().doesNotContain("hunter2");
  }

  @Test
  void launcherVariablesNeverReachKafkaClients() {
    Settings s =
        Settings.fromMap(
            Map.of(
                "kafka.port",
                "9092",
                "kafka.controller.port",
                "9093",
                "kafka.security.protocol",
                "SSL"));
    assertThat(KafkaClientConfig.of(s, Set.of()).producer()).containsOnlyKeys("security.protocol");
  }

  @Test
  void distanceGivesUpBeyondTheLimit() {
    assertThat(KnownKeys.distance("abc", "abd", 2)).isEqualTo(1);
    assertThat(KnownKeys.distance("abcdef", "uvwxyz", 2)).isEqualTo(3);
    assertThat(KnownKeys.distance("", "ab", 2)).isEqualTo(2);
  }
}
