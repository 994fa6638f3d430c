package io.infermeter.schemas.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class KafkaClientConfigTest {

  private static final String JAAS =
      "org.apache.kafka.common.security.scram.ScramLoginModule required "
          + "username=\"u\" password=\"p\";";

  /** settings, client, key, expected value (null: absent). */
  static Stream<Arguments> cases() {
    Map<String, String> sasl =
        Map.of(
            "kafka.bootstrap.servers", "b:9093",
            "kafka.security.protocol", "SASL_SSL",
            "kafka.sasl.mechanism", "SCRAM-SHA-512",
            "kafka.sasl.jaas.config", JAAS,
            "kafka.group.id", "g");
    Map<String, String> overridden =
        Map.of(
            "kafka.security.protocol", "SASL_SSL",
            "kafka.producer.security.protocol", "SSL",
            "kafka.consumer.security.protocol", "PLAINTEXT",
            "kafka.admin.request.timeout.ms", "5000",
            "kafka.request.timeout.ms", "30000",
            "kafka.streams.num.stream.threads", "3");
    return Stream.of(
        Arguments.of(sasl, "producer", "security.protocol", "SASL_SSL"),
        Arguments.of(sasl, "consumer", "security.protocol", "SASL_SSL"),
        Arguments.of(sasl, "admin", "security.protocol", "SASL_SSL"),
        Arguments.of(sasl, "streams", "security.protocol", "SASL_SSL"),
        Arguments.of(sasl, "producer", "sasl.mechanism", "SCRAM-SHA-512"),
        Arguments.of(sasl, "consumer", "sasl.jaas.config", JAAS),
        Arguments.of(sasl, "admin", "sasl.jaas.config", JAAS),
        Arguments.of(sasl, "streams", "sasl.jaas.config", JAAS),
        Arguments.of(sasl, "streams", "bootstrap.servers", "b:9093"),
        // an app key is read by the app, never passed through
        Arguments.of(sasl, "producer", "group.id", null),
        Arguments.of(sasl, "consumer", "group.id", null),
        Arguments.of(sasl, "streams", "group.id", null),
        // per-client overrides win over kafka.*
        Arguments.of(overridden, "producer", "security.protocol", "SSL"),
        Arguments.of(overridden, "consumer", "security.protocol", "PLAINTEXT"),
        Arguments.of(overridden, "admin", "security.protocol", "SASL_SSL"),
        Arguments.of(overridden, "admin", "request.timeout.ms", "5000"),
        Arguments.of(overridden, "producer", "request.timeout.ms", "30000"),
        // Kafka Streams: common unprefixed, overrides under its own client prefixes
        Arguments.of(overridden, "streams", "security.protocol", "SASL_SSL"),
        Arguments.of(overridden, "streams", "producer.security.protocol", "SSL"),
        Arguments.of(overridden, "streams", "consumer.security.protocol", "PLAINTEXT"),
        Arguments.of(overridden, "streams", "admin.request.timeout.ms", "5000"),
        Arguments.of(overridden, "streams", "admin.security.protocol", null),
        Arguments.of(overridden, "streams", "num.stream.threads", "3"),
        // per-client keys never leak into the common map or other clients
        Arguments.of(overridden, "producer", "num.stream.threads", null),
        Arguments.of(overridden, "consumer", "producer.security.protocol", null),
        Arguments.of(overridden, "producer", "admin.request.timeout.ms", null));
  }

  @ParameterizedTest(name = "{1}: {2} = {3}")
  @MethodSource("cases")
  void assemblesEachClient(
      Map<String, String> settings, String client, String key, String expected) {
    KafkaClientConfig config =
        KafkaClientConfig.of(Settings.fromMap(settings), Set.of("kafka.group.id"));
    Map<String, String> props =
        switch (client) {
          case "producer" -> config.producer();
          case "consumer" -> config.consumer();
          case "admin" -> config.admin();
          case "streams" -> config.streams();
          default -> throw new IllegalArgumentException(client);
        };
    if (expected == null) {
      assertThat(props).doesNotContainKey(key);
    } else {
      assertThat(props).containsEntry(key, expected);
    }
  }

  @Test
  void ignoresBlankValuesAndBarePrefixes() {
    KafkaClientConfig config =
        KafkaClientConfig.of(
            Settings.fromMap(
                Map.of(
                    "kafka.",
                    "x",
                    "kafka.sasl.mechanism",
                    "",
                    "kafka.producer.",
                    "y",
                    "kafkaish.key",
                    "z")),
            Set.of());
    assertThat(config.common()).isEmpty();
    assertThat(config.producer()).isEmpty();
    assertThat(config.streams()).isEmpty();
  }

  @Test
  void toStringNamesKeysButNeverValues() {
    KafkaClientConfig config =
        KafkaClientConfig.of(Settings.fromMap(Map.of("kafka.sasl.jaas.config", JAAS)), Set.of());
    assertThat(config.toString()).contains("sasl.jaas.config").doesNotContain("password");
  }
}
