package io.infermeter.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * The forwarder's Kafka consumer settings, as in the sink and the streams app: built-in defaults,
 * the shared {@code kafka.*} prefix, {@code kafka.consumer.*} overrides on top, and the settings
 * delivery depends on fixed.
 */
class AlertForwarderKafkaPropertiesTest {

  @Test
  void readsCommittedWithoutAutoCommitByDefault() {
    ForwarderConfig c = ForwarderConfig.load(Optional.empty(), Map.of(), new Properties());
    Map<String, Object> p = AlertForwarder.consumerProps(c, true);
    assertThat(p)
        .containsEntry("isolation.level", "read_committed")
        .containsEntry("enable.auto.commit", false)
        .containsEntry("bootstrap.servers", "127.0.0.1:9092")
        .containsEntry("group.id", "infermeter-alert-forwarder");
  }

  @Test
  void securitySettingsUnderKafkaReachBothConsumers() {
    ForwarderConfig c =
        ForwarderConfig.load(
            Optional.empty(),
            Map.of(
                "INFERMETER_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                "INFERMETER_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512",
                "INFERMETER_KAFKA_BOOTSTRAP_SERVERS", "broker-0:9093"),
            new Properties());
    for (boolean group : new boolean[] {true, false}) {
      assertThat(AlertForwarder.consumerProps(c, group))
          .as("group consumer: %s", group)
          .containsEntry("security.protocol", "SASL_SSL")
          .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
          .containsEntry("bootstrap.servers", "broker-0:9093");
    }
  }

  @Test
  void kafkaGroupIdIsTheForwardersOwnKeyNotAClientSettingOfTheRebuildConsumer() {
    ForwarderConfig c = ForwarderConfig.fromMap(Map.of("kafka.group.id", "alerts-eu"));
    assertThat(AlertForwarder.consumerProps(c, true)).containsEntry("group.id", "alerts-eu");
    assertThat(AlertForwarder.consumerProps(c, false)).doesNotContainKey("group.id");
    assertThat(c.consumerOverrides()).doesNotContainKey("group.id");
  }

  @Test
  void perConsumerOverridesWinButCannotTurnOnAutoCommit() {
    ForwarderConfig c =
        ForwarderConfig.fromMap(
            Map.of(
                "kafka.security.protocol", "SASL_SSL",
                "kafka.consumer.security.protocol", "SSL",
                "kafka.consumer.isolation.level", "read_uncommitted",
                "kafka.consumer.enable.auto.commit", "true",
                "kafka.producer.acks", "1"));
    Map<String, Object> p = AlertForwarder.consumerProps(c, true);
    assertThat(p)
        .containsEntry("security.protocol", "SSL")
        .containsEntry("isolation.level", "read_uncommitted")
        .containsEntry("enable.auto.commit", false)
        .doesNotContainKey("acks")
        .doesNotContainKey("producer.acks");
  }

  @Test
  void emptyCommonValuesAndLauncherVariablesAreNotPassedToTheClient() {
    ForwarderConfig c =
        ForwarderConfig.load(
            Optional.empty(),
            Map.of(
                "INFERMETER_KAFKA_SASL_JAAS_CONFIG", "",
                "INFERMETER_KAFKA_PORT", "19092"),
            new Properties());
    assertThat(AlertForwarder.consumerProps(c, true))
        .doesNotContainKeys("sasl.jaas.config", "port");
  }
}
