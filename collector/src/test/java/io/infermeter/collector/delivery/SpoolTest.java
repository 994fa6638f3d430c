package io.infermeter.collector.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {

  @TempDir Path dir;
  private final AtomicLong dropped = new AtomicLong();

  private static byte[] value(int i) {
    return String.format("value-%05d", i).getBytes(StandardCharsets.UTF_8);
  }

  // frame header 12 + kind 1 + key length 2 + key "k" 1 + value 11 = 27 bytes per record
  static final int RECORD = 27;

  /** A segment of four records (the segment header comes with its first record). */
  static final int SEG4 = Spool.SEGMENT_HEADER + RECORD * 4;

  private final Map<String, Long> drops = new ConcurrentHashMap<>();

  private Spool open(long max, long segment) throws Exception {
    return new Spool(
        dir,
        max,
        segment,
        Spool.Fsync.SEGMENT,
        (reason, n) -> {
          dropped.addAndGet(n);
          drops.merge(reason, n, Long::sum);
        });
  }

  private long drops(String reason) {
    return drops.getOrDefault(reason, 0L);
  }

  private Path onlySegment() throws IOException {
    try (var files = Files.list(dir)) {
      List<Path> segs = files.filter(p -> p.toString().endsWith(".spool")).sorted().toList();
      return segs.get(0);
    }
  }

  private static List<String> values(Spool.Batch b) {
    List<String> out = new ArrayList<>();
    b.entries().forEach(e -> out.add(new String(e.avro(), StandardCharsets.UTF_8)));
    return out;
  }

  @Test
  void fifoReadCommitAndSegmentRollover() throws Exception {
    try (Spool s = open(1_000_000, SEG4)) {
      for (int i = 0; i < 10; i++) {
        s.append((byte) 1, "k", value(i));
      }
      assertThat(s.pending()).isEqualTo(10);
      assertThat(s.segmentCount()).isEqualTo(3); // 4 + 4 + 2
      Spool.Batch b1 = s.read(6);
      assertThat(values(b1))
          .containsExactly(
              "value-00000",
              "value-00001",
              "value-00002",
              "value-00003",
              "value-00004",
              "value-00005");
      assertThat(b1.entries().get(0).kind()).isEqualTo((byte) 1);
      assertThat(b1.entries().get(0).key()).isEqualTo("k");
      // not committed: read again gives the same records
      assertThat(values(s.read(1))).containsExactly("value-00000");
      s.commit(b1);
      assertThat(s.pending()).isEqualTo(4);
      assertThat(s.segmentCount()).isEqualTo(2);
      Spool.Batch b2 = s.read(100);
      assertThat(values(b2))
          .containsExactly("value-00006", "value-00007", "value-00008", "value-00009");
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
    try (Spool s = open(3 * SEG4, SEG4)) {
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
      s.release(
          notSent); // the reader gave up on it: records deleted from now on count as dropped at
      // once
      for (int i = 13; i < 30; i++) {
        s.append((byte) 1, "k", value(i));
      }
      // accepted 30, consumed 1; every record is either pending or counted as dropped
      assertThat(s.pending() + dropped.get()).isEqualTo(29);
      assertThat(s.bytes()).isLessThanOrEqualTo(3 * SEG4);
      List<String> rest = values(s.read(100));
      assertThat(rest).last().isEqualTo("value-00029");
      assertThat(rest).hasSize((int) s.pending());
    }
  }

  @Test
  void commitOfABatchWhoseSegmentWasDroppedDoesNotMoveBackNorCountsItDropped() throws Exception {
    try (Spool s = open(2 * SEG4, SEG4)) {
      for (int i = 0; i < 8; i++) {
        s.append((byte) 1, "k", value(i));
      }
      Spool.Batch inFlight = s.read(2);
      for (int i = 8; i < 12; i++) {
        s.append(
            (byte) 1, "k",
            value(i)); // drops the first segment: 4 unread records, 2 of them in flight
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
    try (Spool s = open(2 * SEG4, SEG4)) {
      for (int i = 0; i < 8; i++) {
        s.append((byte) 1, "k", value(i));
      }
      Spool.Batch inFlight = s.read(6); // records 0-5: segment 1 whole, 2 of segment 2
      s.settle(inFlight.entries().get(0).position()); // acknowledged before the drop
      for (int i = 8; i < 12; i++) {
        s.append(
            (byte) 1, "k",
            value(i)); // drops segment 1: 1 settled, 3 in flight and unsettled, none else unread
      }
      assertThat(dropped.get()).isZero();
      s.settle(inFlight.entries().get(1).position()); // acknowledged after the drop
      s.release(
          inFlight); // the other two of segment 1 were neither delivered nor are they on disk any
      // more
      assertThat(dropped.get()).isEqualTo(2);
      // records 4 and 5 were in flight but are still on disk: read again, nothing counted for them
      assertThat(values(s.read(100)))
          .containsExactly(
              "value-00004",
              "value-00005",
              "value-00006",
              "value-00007",
              "value-00008",
              "value-00009",
              "value-00010",
              "value-00011");
    }
  }

  @Test
  void settledRecordsAreNotReadAgainAndCommitCoversThem() throws Exception {
    try (Spool s = open(1_000_000, SEG4)) {
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
  void everyAppendedRecordIsDeliveredOrDroppedExactlyOnceWhileAppendsRaceTheReader()
      throws Exception {
    // a reader that settles every other record, releases, and commits, against appends that keep
    // dropping segments
    try (Spool s = open(3 * SEG4, SEG4)) {
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
            assertThat(delivered.add(new String(b.entries().get(i).avro(), StandardCharsets.UTF_8)))
                .isTrue();
          }
          s.release(b);
        } else {
          b.entries()
              .forEach(
                  e ->
                      assertThat(delivered.add(new String(e.avro(), StandardCharsets.UTF_8)))
                          .isTrue());
          s.commit(b);
        }
      }
      Spool.Batch rest = s.read(1000);
      rest.entries()
          .forEach(
              e ->
                  assertThat(delivered.add(new String(e.avro(), StandardCharsets.UTF_8))).isTrue());
      s.commit(rest);
      assertThat(dropped.get()).isPositive();
      assertThat(delivered.size() + dropped.get()).isEqualTo(appended);
      assertThat(s.pending()).isZero();
    }
  }

  @Test
  void reopenResumesAtTheCommittedCursor() throws Exception {
    try (Spool s = open(1_000_000, SEG4)) {
      for (int i = 0; i < 6; i++) {
        s.append((byte) 1, "k", value(i));
      }
      s.commit(s.read(3));
    }
    try (Spool s = open(1_000_000, SEG4)) {
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
    Files.write(
        seg, new byte[] {0, 0, 0, 50, 1, 2}, StandardOpenOption.APPEND); // half-written record
    try (Spool s = open(1_000_000, 1_000_000)) {
      assertThat(s.pending()).isEqualTo(2);
      assertThat(values(s.read(10))).containsExactly("value-00000", "value-00001");
      s.append((byte) 1, "k", value(2));
      assertThat(values(s.read(10))).containsExactly("value-00000", "value-00001", "value-00002");
    }
  }

  @Test
  void aDamagedRecordInTheMiddleIsSkippedAndCountedAndTheRecordsAfterItAreKept() throws Exception {
    try (Spool s = open(1_000_000, 1_000_000)) {
      for (int i = 0; i < 5; i++) {
        s.append((byte) 1, "k", value(i));
      }
    }
    Path seg = onlySegment();
    byte[] bytes = Files.readAllBytes(seg);
    bytes[Spool.SEGMENT_HEADER + 2 * RECORD + RECORD - 3] ^= 0x5a; // a payload byte of record 2
    Files.write(seg, bytes);
    try (Spool s = open(1_000_000, 1_000_000)) {
      assertThat(drops(Spool.CORRUPT)).isEqualTo(1);
      assertThat(s.pending()).isEqualTo(4);
      Spool.Batch b = s.read(10);
      assertThat(values(b))
          .containsExactly("value-00000", "value-00001", "value-00003", "value-00004");
      s.commit(b);
      assertThat(s.pending()).isZero();
    }
  }

  @Test
  void aTornWriteFollowedByMoreRecordsLosesOnlyTheTornOne() throws Exception {
    try (Spool s = open(1_000_000, 1_000_000)) {
      s.append((byte) 1, "k", value(0));
      s.append((byte) 1, "k", value(1));
    }
    Path seg = onlySegment();
    // what a disk-full partial write used to leave: half a frame, then complete frames appended
    // after it
    byte[] torn = Spool.frame((byte) 1, "k", value(99), false);
    Files.write(seg, java.util.Arrays.copyOf(torn, torn.length / 2), StandardOpenOption.APPEND);
    Files.write(seg, Spool.frame((byte) 1, "k", value(2), false), StandardOpenOption.APPEND);
    Files.write(seg, Spool.frame((byte) 1, "k", value(3), false), StandardOpenOption.APPEND);
    try (Spool s = open(1_000_000, 1_000_000)) {
      assertThat(drops(Spool.CORRUPT)).isEqualTo(1);
      s.append((byte) 1, "k", value(4)); // after the restart, into a new segment
      assertThat(values(s.read(10)))
          .containsExactly(
              "value-00000", "value-00001", "value-00002", "value-00003", "value-00004");
    }
  }

  @Test
  void aFileTruncatedMidRecordKeepsItsWholeRecordsAndTheSpoolKeepsWorking() throws Exception {
    try (Spool s = open(1_000_000, 1_000_000)) {
      for (int i = 0; i < 4; i++) {
        s.append((byte) 1, "k", value(i));
      }
    }
    Path seg = onlySegment();
    try (var ch = java.nio.channels.FileChannel.open(seg, StandardOpenOption.WRITE)) {
      ch.truncate(
          Spool.SEGMENT_HEADER + 2 * RECORD + RECORD / 2); // crash in the middle of record 2
    }
    try (Spool s = open(1_000_000, 1_000_000)) {
      assertThat(drops(Spool.CORRUPT)).isEqualTo(1);
      assertThat(s.pending()).isEqualTo(2);
      s.append((byte) 1, "k", value(4));
      Spool.Batch b = s.read(10);
      assertThat(values(b)).containsExactly("value-00000", "value-00001", "value-00004");
      s.commit(b);
    }
    try (Spool s = open(1_000_000, 1_000_000)) {
      assertThat(s.pending()).isZero();
    }
  }

  static java.util.stream.Stream<String> damagedCursors() {
    return java.util.stream.Stream.of(
        "",
        "garbage",
        "1 2",
        "x y z",
        "1 0 999999",
        "999 0 0",
        "-5 0 -1",
        "1 0 0 0 0",
        "\u0000\u0000\u0000");
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.MethodSource("damagedCursors")
  void aDamagedCursorNeverFailsStartUpAndResumesAtTheOldestRecord(String cursor) throws Exception {
    try (Spool s = open(1_000_000, SEG4)) {
      for (int i = 0; i < 6; i++) {
        s.append((byte) 1, "k", value(i));
      }
      s.commit(s.read(1));
    }
    Files.writeString(dir.resolve("cursor"), cursor);
    try (Spool s = open(1_000_000, SEG4)) {
      // the committed record may come again (downstream de-duplicates by eventId); nothing is lost
      assertThat(values(s.read(10)))
          .containsExactly(
              "value-00000",
              "value-00001",
              "value-00002",
              "value-00003",
              "value-00004",
              "value-00005");
    }
  }

  @Test
  void aCursorThatIsASymbolicLinkIsIgnoredAndNeverWrittenThrough() throws Exception {
    Path victim = Files.createTempFile("victim", ".txt");
    try {
      Files.writeString(victim, "2 0 0\n");
      try (Spool s = open(1_000_000, SEG4)) {
        s.append((byte) 1, "k", value(0));
      }
      Files.delete(dir.resolve("cursor"));
      Files.createSymbolicLink(dir.resolve("cursor"), victim);
      Files.createSymbolicLink(dir.resolve("cursor.tmp"), victim);
      try (Spool s = open(1_000_000, SEG4)) {
        Spool.Batch b = s.read(10);
        assertThat(values(b)).containsExactly("value-00000");
        s.commit(b);
      }
      assertThat(Files.readString(victim)).isEqualTo("2 0 0\n");
      assertThat(Files.isSymbolicLink(dir.resolve("cursor"))).isFalse();
    } finally {
      Files.deleteIfExists(victim);
    }
  }

  @Test
  void aSymbolicLinkPlantedAsASegmentIsNeitherReadNorWrittenThrough() throws Exception {
    Path victim = Files.createTempFile("victim", ".txt");
    try {
      Files.writeString(victim, "precious");
      // the names the spool would read at start and create next
      Files.createSymbolicLink(dir.resolve(String.format("seg-%020d.spool", 1)), victim);
      Files.createSymbolicLink(dir.resolve(String.format("seg-%020d.spool", 2)), victim);
      try (Spool s = open(1_000_000, SEG4)) {
        for (int i = 0; i < 10; i++) {
          s.append((byte) 1, "k", value(i)); // rolls over into several new segments
        }
        assertThat(s.pending()).isEqualTo(10);
        assertThat(values(s.read(1))).containsExactly("value-00000");
      }
      assertThat(Files.readString(victim)).isEqualTo("precious");
    } finally {
      Files.deleteIfExists(victim);
    }
  }

  @Test
  void theDirectoryIsCreatedOwnerOnlyAndAWorldWritableOneOfOursIsTightened() throws Exception {
    Path fresh = dir.resolve("a/b/spool");
    new Spool(fresh, 1_000_000, SEG4, dropped::addAndGet).close();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)))
        .isEqualTo("rwx------");
    Path open = dir.resolve("shared");
    Files.createDirectory(open);
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    new Spool(open, 1_000_000, SEG4, dropped::addAndGet).close();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(open)))
        .isEqualTo("rwx------");
  }

  @Test
  void aRefusedWriteDropsTheOldestSegmentCountedAndLeavesNoPartialFrame() throws Exception {
    try (Spool s = open(1_000_000, SEG4)) {
      for (int i = 0; i < 8; i++) {
        s.append((byte) 1, "k", value(i)); // two full segments
      }
      int[] failures = {1};
      s.writeHook =
          () -> {
            if (failures[0]-- > 0) {
              throw new IOException("No space left on device");
            }
          };
      s.append((byte) 1, "k", value(8));
      assertThat(drops(Spool.DISK_FULL)).isEqualTo(4);
      assertThat(s.pending()).isEqualTo(5);
      assertThat(values(s.read(10)))
          .containsExactly(
              "value-00004", "value-00005", "value-00006", "value-00007", "value-00008");
    }
  }

  @Test
  void aWriteRefusedWithNothingLeftToDropFailsThatAppendOnlyAndTheSpoolStaysReadable()
      throws Exception {
    try (Spool s = open(1_000_000, 1_000_000)) {
      s.append((byte) 1, "k", value(0));
      s.writeHook =
          () -> {
            throw new IOException("No space left on device");
          };
      assertThatThrownBy(() -> s.append((byte) 1, "k", value(1)))
          .isInstanceOf(UncheckedIOException.class);
      s.writeHook = null;
      s.append((byte) 1, "k", value(2));
      assertThat(s.pending()).isEqualTo(2);
      assertThat(values(s.read(10))).containsExactly("value-00000", "value-00002");
    }
    try (Spool s = open(1_000_000, 1_000_000)) {
      assertThat(drops(Spool.CORRUPT)).isZero();
      assertThat(s.pending()).isEqualTo(2);
    }
  }

  /**
   * Records larger than the read window, and a damaged one among them, across the window's
   * boundaries.
   */
  @Test
  void recordsLargerThanTheReadWindowAndDamageAcrossItsBoundaries() throws Exception {
    int[] sizes = {600_000, 700_000, 2_500_000, 10, 900_000};
    java.util.Random random = new java.util.Random(3);
    List<byte[]> values = new ArrayList<>();
    try (Spool s = open(100_000_000, 100_000_000)) {
      for (int n : sizes) {
        byte[] v = new byte[n];
        random.nextBytes(v);
        values.add(v);
        s.append((byte) 1, "k", v);
      }
    }
    Path seg = onlySegment();
    byte[] bytes = Files.readAllBytes(seg);
    int second = Spool.SEGMENT_HEADER + Spool.FRAME_HEADER + 4 + sizes[0];
    bytes[second + Spool.FRAME_HEADER + 1_000] ^= 1; // a byte inside the 700 kB record
    Files.write(seg, bytes);
    try (Spool s = open(100_000_000, 100_000_000)) {
      assertThat(drops(Spool.CORRUPT)).isEqualTo(1);
      Spool.Batch b = s.read(10);
      assertThat(b.entries())
          .extracting(Spool.Entry::avro)
          .containsExactly(values.get(0), values.get(2), values.get(3), values.get(4));
    }
  }

  /**
   * The bytes of a segment of format 2 holding one record (kind 1, key "k", value "v1"); CRC32C
   * computed apart.
   */
  static final String GOLDEN_SEGMENT_V2 = "494d535002000000494d523200000006440e67f70100016b7631";

  /**
   * A record of the first, headerless format (kind 1, key "k", value "old"), as spools of earlier
   * releases hold.
   */
  static final String GOLDEN_RECORD_V1 = "000000072a40808f0100016b6f6c64";

  @Test
  void segmentFormatIsStable() throws Exception {
    try (Spool s = open(1_000_000, 1_000_000)) {
      s.append((byte) 1, "k", "v1".getBytes(StandardCharsets.UTF_8));
    }
    assertThat(HexFormat.of().formatHex(Files.readAllBytes(onlySegment())))
        .isEqualTo(GOLDEN_SEGMENT_V2);
  }

  @Test
  void segmentsOfTheFirstFormatAreStillRead() throws Exception {
    Files.write(
        dir.resolve(String.format("seg-%020d.spool", 1)),
        HexFormat.of().parseHex(GOLDEN_RECORD_V1));
    try (Spool s = open(1_000_000, 1_000_000)) {
      s.append((byte) 2, "k", value(1));
      Spool.Batch b = s.read(10);
      assertThat(values(b)).containsExactly("old", "value-00001");
      assertThat(b.entries().get(0).kind()).isEqualTo((byte) 1);
      s.commit(b);
      assertThat(s.pending()).isZero();
    }
  }

  @Test
  void fsyncPolicies() {
    assertThat(Spool.Fsync.parse("never").mode()).isEqualTo(Spool.Fsync.Mode.NEVER);
    assertThat(Spool.Fsync.parse("Segment")).isEqualTo(Spool.Fsync.SEGMENT);
    assertThat(Spool.Fsync.parse("always").mode()).isEqualTo(Spool.Fsync.Mode.ALWAYS);
    assertThat(Spool.Fsync.parse("250ms"))
        .isEqualTo(new Spool.Fsync(Spool.Fsync.Mode.INTERVAL, Duration.ofMillis(250)));
    assertThatThrownBy(() -> Spool.Fsync.parse("sometimes")).isInstanceOf(RuntimeException.class);
    assertThatThrownBy(() -> Spool.Fsync.parse("0s")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void everyFsyncPolicyKeepsTheRecords() throws Exception {
    for (String policy : List.of("never", "segment", "always", "1ms")) {
      Path d = dir.resolve(policy);
      try (Spool s =
          new Spool(
              d, 1_000_000, SEG4, Spool.Fsync.parse(policy), (r, n) -> dropped.addAndGet(n))) {
        for (int i = 0; i < 6; i++) {
          s.append((byte) 1, "k", value(i));
        }
        s.syncIfDue();
      }
      try (Spool s =
          new Spool(
              d, 1_000_000, SEG4, Spool.Fsync.parse(policy), (r, n) -> dropped.addAndGet(n))) {
        assertThat(s.pending()).as(policy).isEqualTo(6);
      }
    }
    assertThat(dropped.get()).isZero();
  }
}
