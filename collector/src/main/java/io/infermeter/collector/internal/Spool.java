package io.infermeter.collector.internal;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * A bounded, FIFO on-disk spool of events that could not be delivered yet. Records are appended to segment files
 * ({@code seg-<n>.spool}); each record is {@code [int length][int crc32][payload]} with payload
 * {@code [byte kind][short keyLength][key UTF-8][Avro binary]}. When appending would make the spool exceed
 * {@code maxBytes}, whole segments are deleted oldest first and every unread record in them is reported to the
 * {@code onDrop} callback, so nothing is lost silently. Reading is a two-step {@link #read(int)} / {@link #commit(Batch)}
 * so a batch that failed to send stays in the spool (it is re-read, and re-sent events keep their eventId for
 * downstream de-duplication). The committed read position is persisted in {@code cursor} so a restart resumes; a torn
 * record at the tail of a segment (crash mid-write) is detected by its CRC and discarded.
 *
 * <p>Exact accounting with one reader: the records of the batch last returned by {@link #read(int)} are <em>in
 * flight</em> until the reader calls {@link #commit(Batch)} (all delivered) or {@link #release(Batch)} (not all). Drop-
 * oldest deletes their segment like any other but leaves their counting to the reader: a record the reader
 * {@link #settle(long) settles} (delivered, or counted by the reader itself) is never reported to {@code onDrop}; one
 * deleted while in flight and not settled is reported when the batch is released. So every appended record ends up
 * exactly once as delivered (committed or settled) or dropped (reported to {@code onDrop}). Settled records are skipped
 * by later reads, so a batch that failed in part is not sent (and counted) twice.
 *
 * <p>Thread-safe: all methods synchronize on the spool (appends come from ingest, sender and producer callback threads,
 * reads from the drainer). One reader at a time.
 */
public final class Spool implements Closeable {

  /**
   * One spooled event: kind (1 request, 2 hardware sample), Kafka key, Avro binary value (no registry header), and its
   * position in the spool (for {@link #settle(long)}).
   */
  public record Entry(byte kind, String key, byte[] avro, long position) {}

  /** Records read but not yet committed, and where reading stopped. */
  public record Batch(List<Entry> entries, long segmentId, long position, int indexInSegment) {}

  private static final int HEADER = 8;

  private static final class Segment {
    final long id;
    final Path path;
    long bytes;
    int records;

    Segment(long id, Path path) {
      this.id = id;
      this.path = path;
    }
  }

  private final Path dir;
  private final long maxBytes;
  private final long segmentBytes;
  private final LongConsumer onDrop;
  private final Deque<Segment> segments = new ArrayDeque<>();
  private FileChannel writer;
  private long totalBytes;
  private long pending;
  private volatile boolean empty = true;
  // read cursor: segment id, byte position and record index within it
  private long readSegment;
  private long readPosition;
  private int readIndex;
  // the reader's batch in flight: positions [inFlightFrom, inFlightTo), none when inFlightTo == NONE
  private static final long NONE = -1;
  private long inFlightFrom = NONE;
  private long inFlightTo = NONE;
  /** Settled (delivered or counted by the reader) but not yet committed positions; all at or after the cursor. */
  private final Set<Long> settled = new HashSet<>();
  /** In flight when drop-oldest deleted them and not settled yet: reported to onDrop unless settled before release. */
  private final Set<Long> droppedInFlight = new HashSet<>();

  /**
   * Opens (or creates) the spool in {@code dir}, recovering existing segments and the committed cursor.
   *
   * @param onDrop called with the number of unread records deleted to stay under {@code maxBytes}
   */
  public Spool(Path dir, long maxBytes, long segmentBytes, LongConsumer onDrop) throws IOException {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.segmentBytes = Math.min(segmentBytes, maxBytes);
    this.onDrop = onDrop;
    Files.createDirectories(dir);
    recover();
  }

  private void recover() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.getFileName().toString().matches("seg-\\d+\\.spool")).sorted().toList();
    }
    for (Path p : files) {
      String n = p.getFileName().toString();
      Segment seg = new Segment(Long.parseLong(n.substring(4, n.length() - 6)), p);
      scan(seg);
      segments.add(seg);
      totalBytes += seg.bytes;
    }
    readSegment = segments.isEmpty() ? 0 : segments.peekFirst().id;
    Path cursor = dir.resolve("cursor");
    if (Files.isRegularFile(cursor)) {
      String[] parts = Files.readString(cursor).trim().split("\\s+");
      if (parts.length == 3) {
        long seg = Long.parseLong(parts[0]);
        Segment s = find(seg);
        if (s != null) {
          readSegment = seg;
          readPosition = Math.min(Long.parseLong(parts[1]), s.bytes);
          readIndex = Math.min(Integer.parseInt(parts[2]), s.records);
        }
      }
    }
    // drop segments older than the cursor (fully consumed before the restart)
    while (!segments.isEmpty() && segments.peekFirst().id < readSegment) {
      Segment s = segments.pollFirst();
      totalBytes -= s.bytes;
      Files.deleteIfExists(s.path);
    }
    pending = 0;
    for (Segment s : segments) {
      pending += s.records;
    }
    pending -= readIndex;
    updateEmpty();
    if (segments.isEmpty()) {
      openNewSegment(readSegment + 1);
    } else {
      writer = FileChannel.open(segments.peekLast().path, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }
  }

  /** Counts valid records of a segment and truncates a torn tail. */
  private static void scan(Segment seg) throws IOException {
    try (FileChannel ch = FileChannel.open(seg.path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long pos = 0;
      long size = ch.size();
      ByteBuffer header = ByteBuffer.allocate(HEADER);
      while (pos + HEADER <= size) {
        header.clear();
        ch.read(header, pos);
        header.flip();
        int len = header.getInt();
        int crc = header.getInt();
        if (len < 0 || pos + HEADER + len > size) {
          break;
        }
        ByteBuffer payload = ByteBuffer.allocate(len);
        ch.read(payload, pos + HEADER);
        if (crc(payload.array()) != crc) {
          break;
        }
        pos += HEADER + len;
        seg.records++;
      }
      if (pos < size) {
        ch.truncate(pos);
      }
      seg.bytes = pos;
    }
  }

  /** Total order of records: segment id in the high 32 bits, index within the segment in the low 32. */
  static long position(long segmentId, int index) {
    return segmentId << 32 | index;
  }

  private long cursor() {
    return position(readSegment, readIndex);
  }

  private static int crc(byte[] payload) {
    CRC32 c = new CRC32();
    c.update(payload, 0, payload.length);
    return (int) c.getValue();
  }

  private Segment find(long id) {
    for (Segment s : segments) {
      if (s.id == id) {
        return s;
      }
    }
    return null;
  }

  private void openNewSegment(long id) throws IOException {
    if (writer != null) {
      writer.force(false);
      writer.close();
    }
    Segment seg = new Segment(id, dir.resolve(String.format("seg-%020d.spool", id)));
    writer = FileChannel.open(seg.path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND);
    segments.addLast(seg);
    if (segments.size() == 1) {
      readSegment = id;
      readPosition = 0;
      readIndex = 0;
    }
  }

  /** Appends one record; may delete the oldest segments (reported to onDrop) to stay within the size bound. */
  public synchronized void append(byte kind, String key, byte[] avro) {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    int payloadLen = 1 + 2 + k.length + avro.length;
    ByteBuffer buf = ByteBuffer.allocate(HEADER + payloadLen);
    buf.putInt(payloadLen).putInt(0).put(kind).putShort((short) k.length).put(k).put(avro);
    byte[] arr = buf.array();
    CRC32 crc = new CRC32();
    crc.update(arr, HEADER, payloadLen);
    buf.putInt(4, (int) crc.getValue());
    buf.flip();
    try {
      Segment last = segments.peekLast();
      if (last.bytes > 0 && last.bytes + arr.length > segmentBytes) {
        openNewSegment(last.id + 1);
        last = segments.peekLast();
      }
      while (totalBytes + arr.length > maxBytes && segments.size() > 1) {
        dropOldest();
      }
      while (buf.hasRemaining()) {
        writer.write(buf);
      }
      last.bytes += arr.length;
      last.records++;
      totalBytes += arr.length;
      pending++;
      updateEmpty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to spool " + dir, e);
    }
  }

  private void dropOldest() throws IOException {
    Segment s = segments.pollFirst();
    int firstUnread = s.id == readSegment ? readIndex : 0;
    long unread = s.records - firstUnread;
    totalBytes -= s.bytes;
    pending -= unread;
    updateEmpty();
    Files.deleteIfExists(s.path);
    Segment next = segments.peekFirst();
    if (s.id == readSegment || readSegment < next.id) {
      readSegment = next.id;
      readPosition = 0;
      readIndex = 0;
    }
    // Not lost: records already settled by the reader (delivered), and records in flight (their fate is the reader's:
    // settled before the batch is released means delivered, otherwise release reports them).
    Set<Long> settledHere = new HashSet<>();
    for (Iterator<Long> it = settled.iterator(); it.hasNext(); ) {
      long p = it.next();
      if (p >>> 32 == s.id) {
        settledHere.add(p);
        it.remove();
      }
    }
    long inFlightHere = 0;
    if (inFlightTo != NONE) {
      long from = Math.max(inFlightFrom, position(s.id, firstUnread));
      long to = Math.min(inFlightTo, position(s.id, s.records));
      for (long p = from; p < to; p++) {
        if (!settledHere.contains(p)) {
          droppedInFlight.add(p);
          inFlightHere++;
        }
      }
    }
    onDrop.accept(unread - settledHere.size() - inFlightHere);
  }

  /**
   * Up to {@code max} unread, unsettled records from the cursor, without moving it (see {@link #commit(Batch)}); the
   * returned batch is in flight until {@link #commit(Batch)} or {@link #release(Batch)}. A previous batch still in
   * flight is released first.
   */
  public synchronized Batch read(int max) {
    resolveInFlight();
    List<Entry> out = new ArrayList<>(Math.min(max, (int) Math.min(pending, 4096)));
    long seg = readSegment;
    long pos = readPosition;
    int idx = readIndex;
    try {
      Segment s = find(seg);
      while (s != null && out.size() < max) {
        if (idx >= s.records) {
          Segment next = nextAfter(s.id);
          if (next == null) {
            break;
          }
          s = next;
          seg = s.id;
          pos = 0;
          idx = 0;
          continue;
        }
        try (FileChannel ch = FileChannel.open(s.path, StandardOpenOption.READ)) {
          ByteBuffer header = ByteBuffer.allocate(HEADER);
          while (idx < s.records && out.size() < max) {
            header.clear();
            ch.read(header, pos);
            header.flip();
            int len = header.getInt();
            header.getInt();
            ByteBuffer payload = ByteBuffer.allocate(len);
            ch.read(payload, pos + HEADER);
            payload.flip();
            long at = position(s.id, idx);
            pos += HEADER + len;
            idx++;
            if (settled.contains(at)) {
              continue; // delivered by an earlier attempt of this batch: not sent (nor counted) again
            }
            byte kind = payload.get();
            int klen = payload.getShort() & 0xffff;
            String key = new String(payload.array(), 3, klen, StandardCharsets.UTF_8);
            byte[] avro = new byte[len - 3 - klen];
            System.arraycopy(payload.array(), 3 + klen, avro, 0, avro.length);
            out.add(new Entry(kind, key, avro, at));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read spool " + dir, e);
    }
    inFlightFrom = cursor();
    inFlightTo = position(seg, idx);
    return new Batch(out, seg, pos, idx);
  }

  /**
   * Marks one record of the batch in flight as done by the reader: delivered (Kafka acknowledged it), or counted by
   * the reader itself (e.g. undecodable). It is never reported to {@code onDrop} and not returned by later reads.
   */
  public synchronized void settle(long position) {
    if (!droppedInFlight.remove(position) && position >= cursor()) {
      settled.add(position);
    }
  }

  /**
   * Ends the batch in flight without moving the cursor (not all of it was delivered): its unsettled records stay in
   * the spool and are read again, except those drop-oldest deleted meanwhile, which are reported to {@code onDrop}
   * now.
   */
  public synchronized void release(Batch batch) {
    resolveInFlight();
  }

  private void resolveInFlight() {
    long lost = droppedInFlight.size();
    droppedInFlight.clear();
    inFlightFrom = NONE;
    inFlightTo = NONE;
    if (lost > 0) {
      onDrop.accept(lost);
    }
  }

  private Segment nextAfter(long id) {
    for (Segment s : segments) {
      if (s.id > id) {
        return s;
      }
    }
    return null;
  }

  /**
   * Marks a batch as delivered, all of it: moves the cursor past it and deletes fully consumed segments. A batch whose
   * segments were meanwhile dropped for space only moves the cursor forward, never back; its records that drop-oldest
   * deleted while in flight count as delivered (they were), not as dropped.
   */
  public synchronized void commit(Batch batch) {
    droppedInFlight.clear();
    inFlightFrom = NONE;
    inFlightTo = NONE;
    if (position(batch.segmentId(), batch.indexInSegment()) <= cursor()) {
      return; // nothing read, or the segments under this batch were dropped and the cursor moved on
    }
    long consumed = 0;
    for (Segment s : segments) {
      if (s.id < batch.segmentId()) {
        consumed += s.id == readSegment ? s.records - readIndex : s.records;
      } else if (s.id == batch.segmentId()) {
        consumed += batch.indexInSegment() - (s.id == readSegment ? readIndex : 0);
      }
    }
    pending -= consumed;
    updateEmpty();
    readSegment = batch.segmentId();
    readPosition = batch.position();
    readIndex = batch.indexInSegment();
    try {
      while (segments.size() > 1 && segments.peekFirst().id < readSegment) {
        Segment s = segments.pollFirst();
        totalBytes -= s.bytes;
        Files.deleteIfExists(s.path);
      }
      Segment head = segments.peekFirst();
      if (segments.size() == 1 && head.id == readSegment && readIndex == head.records && head.records > 0) {
        // everything delivered: start a fresh segment so the spool's disk use goes back to zero
        openNewSegment(head.id + 1);
        segments.pollFirst();
        totalBytes -= head.bytes;
        Files.deleteIfExists(head.path);
        readSegment = head.id + 1;
        readPosition = 0;
        readIndex = 0;
      }
      long c = cursor();
      settled.removeIf(p -> p < c);
      writeCursor();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot commit spool cursor in " + dir, e);
    }
  }

  private void writeCursor() throws IOException {
    Path tmp = dir.resolve("cursor.tmp");
    Files.writeString(tmp, readSegment + " " + readPosition + " " + readIndex + "\n");
    Files.move(tmp, dir.resolve("cursor"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Unread records. */
  public synchronized long pending() {
    return pending;
  }

  /** Lock-free: true when no unread record is in the spool (the hot path checks this per event). */
  public boolean isEmpty() {
    return empty;
  }

  private void updateEmpty() {
    empty = pending == 0;
  }

  /** Bytes on disk (segments not yet deleted). */
  public synchronized long bytes() {
    return totalBytes;
  }

  /** Number of segment files (for tests). */
  synchronized int segmentCount() {
    return segments.size();
  }

  @Override
  public synchronized void close() throws IOException {
    if (writer != null) {
      writer.force(false);
      writer.close();
      writer = null;
    }
    writeCursor();
  }
}
