package io.infermeter.streams;

import io.infermeter.schemas.TopicSpec;
import io.infermeter.schemas.Topics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the app's external topics that do not exist yet (a convenience for local stacks; production pre-creates
 * topics and sets {@code topics.create.missing=false}). Existing topics are left as they are.
 */
final class TopicBootstrap {

  private static final Logger LOG = LoggerFactory.getLogger(TopicBootstrap.class);

  private TopicBootstrap() {}

  /**
   * Null when the request and hardware topics have the same partition count (or cannot be described yet), else why
   * the app cannot start: both are re-keyed by host into their own repartition topic, each created with its source
   * topic's partition count, and the energy task that merges them must see a host's usage and samples in the same
   * partition number.
   */
  static String inputPartitionMismatch(StreamsSettings s) throws InterruptedException {
    int[] counts = inputPartitions(s);
    if (counts == null || counts[0] == counts[1]) {
      return null;
    }
    return "topic " + Topics.REQUESTS.withPrefix(s.topicPrefix()).name() + " has " + counts[0] + " partitions and "
        + Topics.HARDWARE.withPrefix(s.topicPrefix()).name() + " has " + counts[1]
        + ": energy attribution joins a host's requests and samples by partition, so both need the same count "
        + "(add partitions to the smaller one before the first run; see docs/DEPLOY.md)";
  }

  /** {requests, hardware} partition counts, or null when the topics cannot be described. */
  static int[] inputPartitions(StreamsSettings s) throws InterruptedException {
    String requests = Topics.REQUESTS.withPrefix(s.topicPrefix()).name();
    String hardware = Topics.HARDWARE.withPrefix(s.topicPrefix()).name();
    Map<String, Object> cfg = new HashMap<>(s.kafkaClients().admin());
    cfg.put("bootstrap.servers", s.bootstrapServers());
    try (Admin admin = Admin.create(cfg)) {
      Map<String, org.apache.kafka.clients.admin.TopicDescription> d = null;
      // topics created a moment ago (createMissing) may not be known to the broker's metadata yet: retry briefly
      for (int attempt = 0; d == null; attempt++) {
        try {
          d = admin.describeTopics(List.of(requests, hardware)).allTopicNames().get();
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)
              || attempt >= 20) {
            throw e;
          }
          Thread.sleep(250);
        }
      }
      return new int[] {d.get(requests).partitions().size(), d.get(hardware).partitions().size()};
    } catch (ExecutionException e) {
      LOG.warn("could not describe {} and {} to check their partition counts", requests, hardware, e);
      return null;
    }
  }

  static void createMissing(StreamsSettings s) throws InterruptedException {
    List<TopicSpec<?>> specs = new ArrayList<>(List.of(Topics.REQUESTS, Topics.HARDWARE, Topics.WINDOW_AGGREGATES,
        Topics.ENERGY, Topics.BOTTLENECKS, Topics.ALERTS, Topics.DEAD_LETTERS));
    if (s.priceUpdatesEnabled()) {
      specs.add(Topics.PRICE_UPDATES);
    }
    if (s.carbonUpdatesEnabled()) {
      specs.add(Topics.CARBON_INTENSITY);
    }
    Map<String, Object> cfg = new HashMap<>(s.kafkaClients().admin());
    cfg.put("bootstrap.servers", s.bootstrapServers());
    List<NewTopic> missing = new ArrayList<>();
    try (Admin admin = Admin.create(cfg)) {
      Set<String> existing = admin.listTopics().names().get();
      for (TopicSpec<?> t : specs) {
        String name = t.withPrefix(s.topicPrefix()).name();
        if (!existing.contains(name)) {
          missing.add(new NewTopic(name, s.raw().positiveInt("topics.partitions"),
              (short) s.raw().positiveInt("topics.replication.factor")));
        }
      }
      if (!missing.isEmpty()) {
        admin.createTopics(missing).all().get();
        LOG.info("created topics {}", missing.stream().map(NewTopic::name).toList());
      }
    } catch (ExecutionException e) {
      LOG.warn("could not create the missing topics {}: create them yourself (see docs/DEPLOY.md for partitions and "
          + "keys) or check kafka.bootstrap.servers and the admin's ACLs; Kafka Streams stops if a source topic is "
          + "missing", missing.stream().map(NewTopic::name).toList(), e);
    }
  }
}
