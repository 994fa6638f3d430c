package io.infermeter.streams;

import io.infermeter.schemas.TopicCreator;
import io.infermeter.schemas.Topics;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streams app's side of topic creation: every app creates the missing topics at start with
 * {@link TopicCreator} (production pre-creates them and sets {@code topics.create.missing=false});
 * this class adds the check only the streams app needs, that its two input topics have the same
 * partition count.
 */
final class TopicBootstrap {

  private static final Logger LOG = LoggerFactory.getLogger(TopicBootstrap.class);

  private TopicBootstrap() {}

  /**
   * Null when the request, hardware and engine-state topics have the same partition count (or
   * cannot be described yet), else why the app cannot start: each is re-keyed by host into its own
   * repartition topic, created with its source topic's partition count, and the energy task that
   * merges them must see a host's usage, hardware samples and engine samples in the same partition
   * number.
   */
  static String inputPartitionMismatch(StreamsSettings s) throws InterruptedException {
    int[] counts = inputPartitions(s);
    if (counts == null) {
      return null;
    }
    TopicCreator.Plan plan = TopicCreator.Plan.from(s.raw());
    Map<String, Integer> byTopic =
        new HashMap<>(
            Map.of(plan.name(Topics.REQUESTS), counts[0], plan.name(Topics.HARDWARE), counts[1]));
    if (counts[2] >= 0) {
      byTopic.put(plan.name(Topics.ENGINE_STATE), counts[2]);
    }
    return TopicCreator.inputMismatch(plan, byTopic);
  }

  /**
   * {requests, hardware, engine state} partition counts (engine state -1 when that topic does not
   * exist: it is then not compared, and Kafka Streams reports the missing source topic itself), or
   * null when the request and hardware topics cannot be described.
   */
  static int[] inputPartitions(StreamsSettings s) throws InterruptedException {
    String requests = Topics.REQUESTS.withPrefix(s.topicPrefix()).name();
    String hardware = Topics.HARDWARE.withPrefix(s.topicPrefix()).name();
    String engine = Topics.ENGINE_STATE.withPrefix(s.topicPrefix()).name();
    try (Admin admin = Admin.create(adminConfig(s))) {
      Map<String, TopicDescription> d = null;
      // topics created a moment ago (by this app or another) may not be known to the broker's
      // metadata yet
      for (int attempt = 0; d == null; attempt++) {
        try {
          d = admin.describeTopics(List.of(requests, hardware)).allTopicNames().get();
        } catch (ExecutionException e) {
          if (!(e.getCause()
                  instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)
              || attempt >= 20) {
            throw e;
          }
          Thread.sleep(250);
        }
      }
      int engineCount;
      try {
        engineCount =
            admin
                .describeTopics(List.of(engine))
                .allTopicNames()
                .get()
                .get(engine)
                .partitions()
                .size();
      } catch (ExecutionException e) {
        if (!(e.getCause()
            instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)) {
          throw e;
        }
        engineCount = -1;
      }
      return new int[] {
        d.get(requests).partitions().size(), d.get(hardware).partitions().size(), engineCount
      };
    } catch (ExecutionException e) {
      LOG.warn(
          "could not describe {}, {} and {} to check their partition counts",
          requests,
          hardware,
          engine,
          e);
      return null;
    }
  }

  /**
   * Creates every missing topic of the pipeline ({@link TopicCreator#atStart}); never throws for a
   * broker problem.
   */
  static void createMissing(StreamsSettings s) throws InterruptedException {
    TopicCreator.atStart("streams app", adminConfig(s), s.raw());
  }

  private static Map<String, Object> adminConfig(StreamsSettings s) {
    Map<String, Object> cfg = new HashMap<>(s.kafkaClients().admin());
    cfg.put("bootstrap.servers", s.bootstrapServers());
    return cfg;
  }
}
