package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.schemas.config.Settings;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * kafka.* reaches the collector's producer; kafka.producer.* wins; acks and idempotence stay fixed.
 */
class CollectorKafkaPropertiesTest {

  @Test
  void commonSettingsReachTheProducerAndOverridesWin() {
    CollectorConfig config =
        CollectorConfig.from(
            Settings.fromMap(
                Map.of(
                    "kafka.security.protocol", "SASL_SSL",
                    "kafka.sasl.mechanism", "PLAIN",
                    "kafka.producer.sasl.mechanism", "SCRAM-SHA-256",
                    "kafka.producer.acks", "0")));
    Map<String, Object> p = Collector.producerProperties(config);
    assertThat(p)
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-256")
        .containsEntry("acks", "all")
        .containsEntry("enable.idempotence", true);
  }
}
