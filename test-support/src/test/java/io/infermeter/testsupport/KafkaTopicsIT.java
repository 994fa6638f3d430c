package io.infermeter.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

/**
 * Topics come out of {@link KafkaTopics} with their partition counts and configs, on the real
 * broker.
 */
class KafkaTopicsIT {

  @Test
  void createsEveryTopicWithItsPartitionsAndConfigs() throws Exception {
    String bootstrap = Infra.get().kafkaBootstrap();
    String a = Infra.uniqueName("topics-a");
    String b = Infra.uniqueName("topics-b");
    Map<String, Integer> partitions = new LinkedHashMap<>();
    partitions.put(a, 3);
    partitions.put(b, 1);
    KafkaTopics.create(bootstrap, partitions, KafkaTopics.KEEP_FOREVER);

    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      Map<String, TopicDescription> described =
          admin.describeTopics(List.of(a, b)).allTopicNames().get();
      assertThat(described.get(a).partitions()).hasSize(3);
      assertThat(described.get(b).partitions()).hasSize(1);
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, a);
      Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
      assertThat(config.get("retention.ms").value()).isEqualTo("-1");
      admin.deleteTopics(List.of(a, b)).all().get();
    }
  }
}
