package io.infermeter.sink.internal;

import io.infermeter.avro.DeadLetter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The records of one batch: rows per table, dead letters, and the offsets to commit. Not
 * thread-safe: filled by the loop thread, then owned by the inserter until its result is collected
 * (the Future hands it over safely).
 */
final class Batch {

  /** A row waiting for its insert, with the record it came from (for dead-lettering). */
  record Pending(Object[] row, ConsumerRecord<byte[], byte[]> source) {}

  final Map<Table, List<Pending>> tables = new EnumMap<>(Table.class);
  final Set<Table> inserted = EnumSet.noneOf(Table.class);
  final List<ProducerRecord<byte[], DeadLetter>> deadLetters = new ArrayList<>();
  final Map<TopicPartition, Long> nextOffsets = new HashMap<>();
  final Map<TopicPartition, Long> firstOffsets = new HashMap<>();

  /**
   * Rows inserted or dead-lettered by an earlier attempt: a retry skips them (identity: rows are
   * not values).
   */
  final Set<Pending> done = Collections.newSetFromMap(new IdentityHashMap<>());

  /** Attempts that failed with a bounded (unknown or single-row memory) failure. */
  int boundedFailures;

  /**
   * Set after {@code maxUnknownAttempts}: bounded failures isolate and dead-letter rows instead of
   * retrying.
   */
  boolean giveUp;

  /** Rows of the record being mapped: kept only when the whole record mapped (no half records). */
  private final List<Table> pendingTables = new ArrayList<>(4);

  private final List<Pending> pendingRows = new ArrayList<>(4);
  int rows;

  /** Epoch ms of the first record added. */
  long firstAddedMillis;

  boolean started;

  void noteOffset(ConsumerRecord<byte[], byte[]> r, long now) {
    if (!started) {
      started = true;
      firstAddedMillis = now; // the age of a batch counts from its first record
    }
    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
    nextOffsets.merge(tp, r.offset() + 1, Math::max);
    firstOffsets.merge(tp, r.offset(), Math::min);
  }

  void pendingRow(Table t, Pending p) {
    pendingTables.add(t);
    pendingRows.add(p);
  }

  void keepPending() {
    for (int i = 0; i < pendingRows.size(); i++) {
      tables.computeIfAbsent(pendingTables.get(i), k -> new ArrayList<>()).add(pendingRows.get(i));
      rows++;
    }
    dropPending();
  }

  void dropPending() {
    pendingTables.clear();
    pendingRows.clear();
  }

  boolean isEmpty() {
    return rows == 0 && deadLetters.isEmpty() && nextOffsets.isEmpty();
  }
}
