package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class BatchTest {

  private static ConsumerRecord<byte[], byte[]> record(int partition, long offset) {
    return new ConsumerRecord<>("t", partition, offset, null, new byte[] {1});
  }

  @Test
  void offsetsAreTheFirstAndTheNextPerPartitionAndTheAgeCountsFromTheFirstRecord() {
    Batch batch = new Batch();
    batch.noteOffset(record(0, 7), 100);
    batch.noteOffset(record(0, 5), 200);
    batch.noteOffset(record(1, 3), 300);
    assertThat(batch.firstOffsets)
        .isEqualTo(Map.of(new TopicPartition("t", 0), 5L, new TopicPartition("t", 1), 3L));
    assertThat(batch.nextOffsets)
        .isEqualTo(Map.of(new TopicPartition("t", 0), 8L, new TopicPartition("t", 1), 4L));
    assertThat(batch.firstAddedMillis).isEqualTo(100);
  }

  @Test
  void rowsOfARecordAreKeptOnlyWhenTheWholeRecordMapped() {
    Batch batch = new Batch();
    ConsumerRecord<byte[], byte[]> r = record(0, 0);
    batch.pendingRow(Table.WINDOW_AGGREGATES, new Batch.Pending(new Object[0], r));
    batch.pendingRow(Table.WINDOW_LATENCY, new Batch.Pending(new Object[0], r));
    batch.dropPending();
    batch.keepPending();
    assertThat(batch.rows).isZero();
    assertThat(batch.tables).isEmpty();

    batch.pendingRow(Table.WINDOW_AGGREGATES, new Batch.Pending(new Object[0], r));
    batch.pendingRow(Table.WINDOW_LATENCY, new Batch.Pending(new Object[0], r));
    batch.keepPending();
    batch.keepPending();
    assertThat(batch.rows).isEqualTo(2);
    assertThat(batch.tables.get(Table.WINDOW_AGGREGATES)).hasSize(1);
    assertThat(batch.tables.get(Table.WINDOW_LATENCY)).hasSize(1);
  }

  @Test
  void aBatchHoldingOnlyOffsetsIsNotEmpty() {
    Batch batch = new Batch();
    assertThat(batch.isEmpty()).isTrue();
    batch.noteOffset(
        record(0, 0), 0); // a dead letter stored as a row, or a skipped record: still to commit
    assertThat(batch.isEmpty()).isFalse();
  }
}
