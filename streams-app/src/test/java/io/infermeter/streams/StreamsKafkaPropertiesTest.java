package io.infermeter.streams;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

/** kafka.* reaches every client Kafka Streams creates, and the app's own admin client. */
class StreamsKafkaPropertiesTest {

  private static final Map<String, String> SASL =
      Map.of(
          "kafka.security.protocol", "SASL_SSL",
          "kafka.sasl.mechanism", "SCRAM-SHA-512",
          "kafka.consumer.max.poll.records", "200",
          "kafka.admin.security.protocol", "SSL",
          "kafka.streams.num.stream.threads", "2");

  @Test
  void commonSettingsReachEveryInternalClientAndOverridesWin() {
    Properties p = StreamsSettings.fromMap(SASL).streamsProperties();
    StreamsConfig config = new StreamsConfig(p);
    Map<String, Object> producer = config.getProducerConfigs("client");
    Map<String, Object> consumer = config.getMainConsumerConfigs("g", "client", 0);
    Map<String, Object> restore = config.getRestoreConsumerConfigs("client");
    Map<String, Object> admin = config.getAdminConfigs("client");
    assertThat(producer)
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512");
    assertThat(consumer)
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("max.poll.records", "200");
    assertThat(restore).containsEntry("security.protocol", "SASL_SSL");
    assertThat(admin)
        .containsEntry("security.protocol", "SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512");
    assertThat(p)
        .containsEntry("num.stream.threads", "2")
        .containsEntry("processing.guarantee", "exactly_once_v2");
  }

  @Test
  void topicBootstrapAdminGetsCommonSettingsWithItsOverrides() {
    Map<String, String> admin = StreamsSettings.fromMap(SASL).kafkaClients().admin();
    assertThat(admin)
        .containsEntry("security.protocol", "SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
        .doesNotContainKey("max.poll.records")
        .doesNotContainKey("num.stream.threads");
  }
}
