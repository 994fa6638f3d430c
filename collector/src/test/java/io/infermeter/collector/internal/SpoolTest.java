package io.infermeter.collector.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {

  @TempDir
  Path dir;
  private final AtomicLong dropped = new AtomicLong();

  private static byte[] value(int i) {
    return String.format("value-%05d", i).getBytes(StandardCharsets.UTF_8);
  }

  // header 8 + kind 1 + key length 2 + key "k" 1 + value 11 = 23 bytes per record
  static final int RECORD = 23;

  private Spool open(long max, long segment) throws Exception {
    return new Spool(dir, max, segment, dropped::addAndGet);
  }

  private static List<String> values(Spool.Batch b) {
    List<String> out = new ArrayList<>();
    b.entries().forEach(e -> out.add(new String(e.avro(), StandardCharsets.UTF_8)));
    return out;
  }

  @Test
  void fifoReadCommitAndSegmentRollover() throws Exception {
    try (Spool s = open(1_000_000, RECORD * 4)) {
      for (int i = 0; i < 10; i++) {
        s.append((byte) 1, "k", value(i));
      }
      assertThat(s.pending()).isEqualTo(10);
      assertThat(s.segmentCount()).isEqualTo(3); // 4 + 4 + 2
      Spool.Batch b1 = s.read(6);
      assertThat(values(b1)).containsExactly("value-00000", "value-00001", "value-00002", "value-00003",
          "value-00004", "value-00005");
      assertThat(b1.entries().get(0).kind()).isEqualTo((byte) 1);
      assertThat(b1.entries().get(0).key()).isEqualTo("k");
      // not committed: read again gives the same records
      assertThat(values(s.read(1))).containsExactly("value-00000");
      s.commit(b1);
      assertThat(s.pending()).isEqualTo(4);
      assertThat(s.segmentCount()).isEqualTo(2);
      Spool.Batch b2 = s.read(100);
      assertThat(values(b2)).containsExactly("value-00006", "value-00007", "value-00008", "value-00009");
      s.commit(b2);
      assertThat(s.pending()).isZero();
      assertThat(s.bytes()).isZero();
      // the spool is reusable after it emptied
      s.append((byte) 2, "k", value(42));
      assertThat(values(s.read(10))).containsExactly("value-00042");
    }
  }

  @Test
  void fullSpoolDropsOldestSegmentsAndCountsEveryDroppedRecord() throws Exception {
    // 3 segments of 4 records fit; a 13th record forces the oldest segment out
    try (Spool s = open(RECORD * 12, RECORD * 4)) {
      for (int i = 0; i < 12; i++) {
        s.append((byte) 1, "k", value(i));
      }
      assertThat(dropped.get()).isZero();
      // consume 1 record of the oldest segment: only its 3 unread ones count as dropped
      s.commit(s.read(1));
      s.append((byte) 1, "k", value(12));
      assertThat(dropped.get()).isEqualTo(3);
      assertThat(s.pending()).isEqualTo(9);
      Spool.Batch notSent = s.read(100);
      assertThat(values(notSent)).first().isEqualTo("value-00004");
      s.release(notSent); // the reader gave up on it: records deleted from now on count as dropped at once
      for (int i = 13; i < 30; i++) {
        s.append((byte) 1, "k", value(i));
      }
      // accepted 30, consumed 1; every record is either pending or counted as dropped
      assertThat(s.pending() + dropped.get()).isEqualTo(29);
      assertThat(s.bytes()).isLessThanOrEqualTo(RECORD * 12);
      List<String> rest = values(s.read(100));
      assertThat(rest).last().isEqualTo("value-00029");
      assertThat(rest).hasSize((int) s.pending());
    }
  }

  @Test
  void commitOfABatchWhoseSegmentWasDroppedDoesNotMoveBackNorCountsItDropped() throws Exception {
    try (Spool s = open(RECORD * 8, RECORD * 4)) {
      for (int i = 0; i < 8; i++) {
        s.append((byte) 1, "k", value(i));
      }
      Spool.Batch inFlight = s.read(2);
      for (int i = 8; i < 12; i++) {
        s.append((byte) 1, "k", value(i)); // drops the first segment: 4 unread records, 2 of them in flight
      }
      assertThat(dropped.get()).isEqualTo(2); // the two not handed to the reader
      s.commit(inFlight); // the two in flight were delivered after all: not dropped
      assertThat(dropped.get()).isEqualTo(2);
      assertThat(s.pending()).isEqualTo(8);
      assertThat(values(s.read(1))).containsExactly("value-00004");
    }
  }

  @Test
  void releaseCountsInFlightRecordsDeletedMeanwhileExceptSettledOnes() throws Exception {
    try (Spool s = open(RECORD * 8, RECORD * 4)) {
      for (int i = 0; i < 8; i++) {
        s.append((byte) 1, "k", value(i));
      }
      Spool.Batch inFlight = s.read(6); // records 0-5: segment 1 whole, 2 of segment 2
      s.settle(inFlight.entries().get(0).position()); // acknowledged before the drop
      for (int i = 8; i < 12; i++) {
        s.append((byte) 1, "k", value(i)); // drops segment 1: 1 settled, 3 in flight and unsettled, none else unread
      }
      assertThat(dropped.get()).isZero();
      s.settle(inFlight.entries().get(1).position()); // acknowledged after the drop
      s.release(inFlight); // the other two of segment 1 were neither delivered nor are they on disk any more
      assertThat(dropped.get()).isEqualTo(2);
      // records 4 and 5 were in flight but are still on disk: read again, nothing counted for them
      assertThat(values(s.read(100))).containsExactly("value-00004", "value-00005", "value-00006", "value-00007",
          "value-00008", "value-00009", "value-00010", "value-00011");
    }
  }

  @Test
  void settledRecordsAreNotReadAgainAndCommitCoversThem() throws Exception {
    try (Spool s = open(1_000_000, RECORD * 4)) {
      for (int i = 0; i < 6; i++) {
        s.append((byte) 1, "k", value(i));
      }
      Spool.Batch first = s.read(4);
      s.settle(first.entries().get(0).position());
      s.settle(first.entries().get(2).position());
      s.release(first); // partly delivered
      Spool.Batch retry = s.read(3);
      assertThat(values(retry)).containsExactly("value-00001", "value-00003", "value-00004");
      s.commit(retry);
      assertThat(s.pending()).isEqualTo(1);
      assertThat(values(s.read(10))).containsExactly("value-00005");
      assertThat(dropped.get()).isZero();
    }
  }

  @Test
  void everyAppendedRecordIsDeliveredOrDroppedExactlyOnceWhileAppendsRaceTheReader() throws Exception {
    // a reader that settles every other record, releases, and commits, against appends that keep dropping segments
    try (Spool s = open(RECORD * 12, RECORD * 4)) {
      java.util.Set<String> delivered = new java.util.HashSet<>();
      int appended = 0;
      for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 3; i++) {
          s.append((byte) 1, "k", value(appended++));
        }
        Spool.Batch b = s.read(5);
        for (int i = 0; i < 2; i++) {
          s.append((byte) 1, "k", value(appended++)); // may drop segments under the batch in flight
        }
        if (round % 3 == 0) {
          for (int i = 0; i < b.entries().size(); i += 2) {
            s.settle(b.entries().get(i).position());
            assertThat(delivered.add(new String(b.entries().get(i).avro(), StandardCharsets.UTF_8))).isTrue();
          }
          s.release(b);
        } else {
          b.entries().forEach(e -> assertThat(delivered.add(new String(e.avro(), StandardCharsets.UTF_8))).isTrue());
          s.commit(b);
        }
      }
      Spool.Batch rest = s.read(1000);
      rest.entries().forEach(e -> assertThat(delivered.add(new String(e.avro(), StandardCharsets.UTF_8))).isTrue());
      s.commit(rest);
      assertThat(dropped.get()).isPositive();
      assertThat(delivered.size() + dropped.get()).isEqualTo(appended);
      assertThat(s.pending()).isZero();
    }
  }

  @Test
  void reopenResumesAtTheCommittedCursor() throws Exception {
    try (Spool s = open(1_000_000, RECORD * 4)) {
      for (int i = 0; i < 6; i++) {
        s.append((byte) 1, "k", value(i));
      }
      s.commit(s.read(3));
    }
    try (Spool s = open(1_000_000, RECORD * 4)) {
      assertThat(s.pending()).isEqualTo(3);
      assertThat(values(s.read(10))).containsExactly("value-00003", "value-00004", "value-00005");
      s.append((byte) 1, "k", value(6));
      assertThat(s.pending()).isEqualTo(4);
    }
  }

  @Test
  void tornTailIsDiscardedOnRecovery() throws Exception {
    try (Spool s = open(1_000_000, 1_000_000)) {
      s.append((byte) 1, "k", value(0));
      s.append((byte) 1, "k", value(1));
    }
    Path seg;
    try (var files = Files.list(dir)) {
      seg = files.filter(p -> p.toString().endsWith(".spool")).findFirst().orElseThrow();
    }
    Files.write(seg, new byte[] {0, 0, 0, 50, 1, 2}, StandardOpenOption.APPEND); // half-written record
    try (Spool s = open(1_000_000, 1_000_000)) {
      assertThat(s.pending()).isEqualTo(2);
      assertThat(values(s.read(10))).containsExactly("value-00000", "value-00001");
      s.append((byte) 1, "k", value(2));
      assertThat(values(s.read(10))).containsExactly("value-00000", "value-00001", "value-00002");
    }
  }
}
