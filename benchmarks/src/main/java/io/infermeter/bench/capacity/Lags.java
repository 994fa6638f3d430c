package io.infermeter.bench.capacity;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

/**
 * Consumer lag of a group on its input topics with the Kafka AdminClient: committed offsets against
 * end offsets (read_committed: the last stable offset, as both consumers read; the streams app
 * writes transactionally).
 */
final class Lags {

  /**
   * A group's lag, the end offsets (records written so far) of its input topics, and their
   * partition count (a caught-up group can stay one transaction marker behind per partition: it
   * commits the offset after its last record, the marker follows that record).
   */
  record Snapshot(long lag, long endOffsets, int partitions) {

    boolean caughtUp() {
      return lag <= partitions;
    }
  }

  private final Admin admin;

  Lags(Admin admin) {
    this.admin = admin;
  }

  Snapshot of(String group, List<String> topics) throws Exception {
    Set<TopicPartition> partitions =
        admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS).values().stream()
            .flatMap(
                d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
            .collect(Collectors.toSet());
    ListOffsetsOptions committedOnly = new ListOffsetsOptions(IsolationLevel.READ_COMMITTED);
    Map<TopicPartition, Long> end = offsets(partitions, OffsetSpec.latest(), committedOnly);
    Map<TopicPartition, Long> first = offsets(partitions, OffsetSpec.earliest(), committedOnly);
    Map<TopicPartition, Long> committed = new HashMap<>();
    Map<TopicPartition, OffsetAndMetadata> offsets =
        admin
            .listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata()
            .get(30, TimeUnit.SECONDS);
    offsets.forEach(
        (tp, om) -> {
          if (om != null && partitions.contains(tp)) {
            committed.put(tp, om.offset());
          }
        });
    long written = end.values().stream().mapToLong(Long::longValue).sum();
    return new Snapshot(Stats.lag(end, committed, first), written, partitions.size());
  }

  private Map<TopicPartition, Long> offsets(
      Set<TopicPartition> partitions, OffsetSpec spec, ListOffsetsOptions options)
      throws Exception {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    partitions.forEach(tp -> request.put(tp, spec));
    Map<TopicPartition, Long> out = new HashMap<>();
    admin
        .listOffsets(request, options)
        .all()
        .get(30, TimeUnit.SECONDS)
        .forEach((tp, info) -> out.put(tp, info.offset()));
    return out;
  }
}
