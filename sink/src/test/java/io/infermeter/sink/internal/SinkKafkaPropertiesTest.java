package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.sink.SinkConfig;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * The sink's Kafka client settings: built-in defaults, the shared kafka.* prefix, per-client
 * overrides.
 */
class SinkKafkaPropertiesTest {

  @Test
  void readsCommittedByDefaultWithoutAnyConfiguration() {
    SinkConfig config = SinkConfig.load(Optional.empty(), Map.of(), new Properties());
    assertThat(SinkFactory.consumerProperties(config))
        .containsEntry("isolation.level", "read_committed")
        .containsEntry("enable.auto.commit", false);
  }

  @Test
  void securitySettingsUnderKafkaReachConsumerAndDeadLetterProducer() {
    SinkConfig config =
        SinkConfig.load(
            Optional.empty(),
            Map.of(
                "INFERMETER_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                "INFERMETER_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
            new Properties());
    assertThat(SinkFactory.consumerProperties(config))
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-256")
        .containsEntry("group.id", "infermeter-sink");
    assertThat(SinkFactory.producerProperties(config))
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-256")
        .doesNotContainKey("group.id");
  }

  @Test
  void perClientOverridesWinAndCannotTurnOnAutoCommit() {
    SinkConfig config =
        SinkConfig.fromMap(
            Map.of(
                "kafka.security.protocol", "SASL_SSL",
                "kafka.consumer.security.protocol", "SSL",
                "kafka.consumer.isolation.level", "read_uncommitted",
                "kafka.consumer.enable.auto.commit", "true",
                "kafka.producer.acks", "1"));
    assertThat(SinkFactory.consumerProperties(config))
        .containsEntry("security.protocol", "SSL")
        .containsEntry("isolation.level", "read_uncommitted")
        .containsEntry("enable.auto.commit", false);
    assertThat(SinkFactory.producerProperties(config))
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("acks", "1");
  }
}
