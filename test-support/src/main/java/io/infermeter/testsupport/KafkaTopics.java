package io.infermeter.testsupport;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Topic creation for integration tests on the shared broker: topics with a unique prefix ({@link
 * Infra#uniqueName(String)}), replication factor 1, created and acknowledged before the test goes
 * on. Stateless, thread-safe.
 */
public final class KafkaTopics {

  /**
   * Keeps records whatever their timestamps: fixtures with event times in the past would otherwise
   * be deleted by the broker's 7-day retention check (every 5 minutes) in the middle of a test.
   */
  public static final Map<String, String> KEEP_FOREVER = Map.of("retention.ms", "-1");

  private KafkaTopics() {}

  /**
   * Creates every topic of {@code partitions} (name to partition count) with the same {@code
   * configs}.
   */
  public static void create(
      String bootstrap, Map<String, Integer> partitions, Map<String, String> configs)
      throws InterruptedException, ExecutionException, TimeoutException {
    List<NewTopic> topics = new ArrayList<>();
    partitions.forEach(
        (name, count) -> topics.add(new NewTopic(name, count, (short) 1).configs(configs)));
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
    }
  }

  /**
   * Creates each of {@code names} with {@code partitions} partitions and the same {@code configs}.
   */
  public static void create(
      String bootstrap, int partitions, Map<String, String> configs, List<String> names)
      throws InterruptedException, ExecutionException, TimeoutException {
    Map<String, Integer> all = new LinkedHashMap<>();
    names.forEach(n -> all.put(n, partitions));
    create(bootstrap, all, configs);
  }

  /**
   * True when consumer group {@code group} has committed the end of every partition of {@code
   * topics} (an empty partition needs no commit): an app under test has consumed, and with
   * exactly-once also produced, everything sent to them so far.
   */
  public static boolean committedToEnd(Admin admin, String group, List<String> topics)
      throws InterruptedException, ExecutionException, TimeoutException {
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin
            .listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata()
            .get(30, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (TopicDescription d :
        admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS).values()) {
      d.partitions()
          .forEach(
              p -> latest.put(new TopicPartition(d.name(), p.partition()), OffsetSpec.latest()));
    }
    for (var e : admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS).entrySet()) {
      long end = e.getValue().offset();
      OffsetAndMetadata c = committed.get(e.getKey());
      if (end > 0 && (c == null || c.offset() < end)) {
        return false;
      }
    }
    return true;
  }
}
