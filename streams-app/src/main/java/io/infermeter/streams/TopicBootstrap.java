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

  static void createMissing(StreamsSettings s) throws InterruptedException {
    List<TopicSpec<?>> specs = new ArrayList<>(List.of(Topics.REQUESTS, Topics.HARDWARE, Topics.WINDOW_AGGREGATES,
        Topics.ENERGY, Topics.BOTTLENECKS, Topics.ALERTS, Topics.DEAD_LETTERS));
    if (s.priceUpdatesEnabled()) {
      specs.add(Topics.PRICE_UPDATES);
    }
    if (s.carbonUpdatesEnabled()) {
      specs.add(Topics.CARBON_INTENSITY);
    }
    Map<String, Object> cfg = new HashMap<>(s.raw().withPrefix("kafka.admin."));
    cfg.put("bootstrap.servers", s.bootstrapServers());
    try (Admin admin = Admin.create(cfg)) {
      Set<String> existing = admin.listTopics().names().get();
      List<NewTopic> missing = new ArrayList<>();
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
      LOG.warn("could not create missing topics; Kafka Streams will fail if a source topic is missing", e);
    }
  }
}
