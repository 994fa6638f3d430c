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
import java.util.List;
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
 * <p>Thread-safe: all methods synchronize on the spool (appends come from ingest, sender and producer callback threads,
 * reads from the drainer).
 */
public final class Spool implements Closeable {

  /** One spooled event: kind (1 request, 2 hardware sample), Kafka key, Avro binary value (no registry header). */
  public record Entry(byte kind, String key, byte[] avro) {}

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
    long unread = s.id == readSegment ? s.records - readIndex : s.records;
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
    onDrop.accept(unread);
  }

  /** Up to {@code max} unread records from the cursor, without moving it (see {@link #commit(Batch)}). */
  public synchronized Batch read(int max) {
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
            byte kind = payload.get();
            int klen = payload.getShort() & 0xffff;
            String key = new String(payload.array(), 3, klen, StandardCharsets.UTF_8);
            byte[] avro = new byte[len - 3 - klen];
            System.arraycopy(payload.array(), 3 + klen, avro, 0, avro.length);
            out.add(new Entry(kind, key, avro));
            pos += HEADER + len;
            idx++;
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read spool " + dir, e);
    }
    return new Batch(out, seg, pos, idx);
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
   * Marks a batch as delivered: moves the cursor past it and deletes fully consumed segments. A batch whose segments
   * were meanwhile dropped for space only moves the cursor forward, never back.
   */
  public synchronized void commit(Batch batch) {
    if (batch.entries().isEmpty()) {
      return;
    }
    if (batch.segmentId() < readSegment
        || batch.segmentId() == readSegment && batch.indexInSegment() <= readIndex) {
      return; // the segment under this batch was dropped (already counted) and the cursor moved on
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
