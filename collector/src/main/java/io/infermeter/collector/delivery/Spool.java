package io.infermeter.collector.delivery;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded, FIFO on-disk spool of events that could not be delivered yet (format and guarantees:
 * docs/COLLECTOR.md, "Delivery, buffer and spool"; threats: docs/SECURITY.md, "Collector spool").
 *
 * <p>Files. Records are appended to segment files ({@code seg-<n>.spool}) in a directory of the
 * collector's own (created owner-only, 0700; one that others may write is tightened when it is ours
 * and refused otherwise). Every file is opened without following symbolic links, so a link planted
 * in the directory is never written through. A segment starts with an 8-byte header, {@code
 * "IMSP"}, the format version ({@value #VERSION}) and three zero bytes, followed by frames {@code
 * [int magic "IMR2"][int length][int crc32c][payload]} (big-endian; the CRC32C covers the length
 * and the payload), payload {@code [byte kind][short keyLength][key UTF-8][Avro binary]}. A frame
 * that is torn (crash or disk full mid-write) or damaged is detected by its CRC and skipped, and
 * reading resynchronizes on the next valid frame, so the records after it are kept; each damaged
 * region is reported once (at start-up) to the drop listener as {@value #CORRUPT}. Segments of the
 * previous format (no header, {@code [int length][int crc32][payload]}) are still read, up to their
 * first damaged record.
 *
 * <p>Bounds. When appending would make the spool exceed {@code maxBytes}, whole segments are
 * deleted oldest first and every unread record in them is reported as {@value #FULL}; when the disk
 * refuses a write (disk full, quota), the partial write is cut off and the oldest segments are
 * deleted ({@value #DISK_FULL}) until the write fits, or the append fails (the caller counts the
 * event). Reading is a two-step {@link #read(int)} / {@link #commit(Batch)} so a batch that failed
 * to send stays in the spool (it is re-read, and re-sent events keep their eventId for downstream
 * de-duplication). The committed read position is persisted in {@code cursor} so a restart resumes;
 * a cursor that cannot be read or does not match the segments is ignored with a warning and reading
 * starts at the oldest record (events may be sent twice then, never lost). Durability follows
 * {@link Fsync}.
 *
 * <p>Exact accounting with one reader: the records of the batch last returned by {@link #read(int)}
 * are <em>in flight</em> until the reader calls {@link #commit(Batch)} (all delivered) or {@link
 * #release(Batch)} (not all). Drop- oldest deletes their segment like any other but leaves their
 * counting to the reader: a record the reader {@link #settle(long) settles} (delivered, or counted
 * by the reader itself) is never reported as dropped; one deleted while in flight and not settled
 * is reported when the batch is released. So every appended record ends up exactly once as
 * delivered (committed or settled) or dropped (reported to the listener). Settled records are
 * skipped by later reads, so a batch that failed in part is not sent (and counted) twice.
 *
 * <p>Thread-safe: all methods synchronize on the spool (appends come from ingest, sender and
 * producer callback threads, reads from the drainer). One reader at a time.
 */
public final class Spool implements Closeable {

  private static final Logger LOG = LoggerFactory.getLogger(Spool.class);

  /**
   * One spooled event: kind (1 request, 2 hardware sample, 3 dead letter), Kafka key, Avro binary
   * value (no registry header), and its position in the spool (for {@link #settle(long)}).
   */
  public record Entry(byte kind, String key, byte[] avro, long position) {}

  /** Records read but not yet committed, and where reading stopped. */
  public record Batch(List<Entry> entries, long segmentId, long position, int indexInSegment) {}

  /**
   * Where dropped records are reported: a reason ({@link #FULL}, {@link #DISK_FULL}, {@link
   * #CORRUPT}) and a count.
   */
  @FunctionalInterface
  public interface DropListener {
    void dropped(String reason, long records);
  }

  /** Unread records deleted to stay under spool.max.bytes. */
  public static final String FULL = "spool_full";

  /** Unread records deleted because the disk refused a write. */
  public static final String DISK_FULL = "spool_disk_full";

  /** Damaged regions skipped (each held at least one record). */
  public static final String CORRUPT = "spool_corrupt";

  /**
   * When appended records are forced to the device ({@code spool.fsync}): {@code never} (the OS
   * writes them back; a host crash may lose the last seconds), {@code segment} (when a segment is
   * closed and on shutdown; a host crash may lose the open segment's unsynced tail), {@code always}
   * (every append: one device flush per spooled event, which caps spooling at the device's flush
   * rate), or a duration such as {@code 1s} (at most that much is unsynced; checked on append and
   * by the drainer). A process crash loses nothing in any mode: written bytes are in the page
   * cache.
   *
   * @param mode the policy
   * @param interval for {@link Mode#INTERVAL}, the longest time between flushes; otherwise zero
   */
  public record Fsync(Mode mode, Duration interval) {
    public enum Mode {
      NEVER,
      SEGMENT,
      ALWAYS,
      INTERVAL
    }

    public static final Fsync SEGMENT = new Fsync(Mode.SEGMENT, Duration.ZERO);

    /**
     * Parses {@code never}, {@code segment}, {@code always} or a positive duration ({@code 500ms},
     * {@code 1s}).
     */
    public static Fsync parse(String s) {
      String v = s.trim().toLowerCase(Locale.ROOT);
      switch (v) {
        case "never":
          return new Fsync(Mode.NEVER, Duration.ZERO);
        case "segment":
          return SEGMENT;
        case "always":
          return new Fsync(Mode.ALWAYS, Duration.ZERO);
        default:
          Duration d = io.infermeter.schemas.config.Settings.parseDuration(v);
          if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(
                "expected never, segment, always or a positive duration");
          }
          return new Fsync(Mode.INTERVAL, d);
      }
    }
  }

  static final byte[] SEGMENT_MAGIC = {'I', 'M', 'S', 'P'};
  private static final int SEGMENT_MAGIC_INT = 0x494D5350;
  static final byte VERSION = 2;

  /** Segment header: magic, version, three reserved zero bytes. */
  static final int SEGMENT_HEADER = 8;

  /** Frame magic "IMR2". */
  static final int FRAME_MAGIC = 0x494D5232;

  /** Frame header: magic, length, crc32c. */
  static final int FRAME_HEADER = 12;

  /** Record header of the first format: length, crc32. */
  private static final int V1_HEADER = 8;

  private static final class Segment {
    final long id;
    final Path path;

    /** 1 (headerless) or {@link #VERSION}. */
    final int version;

    long bytes;
    int records;

    Segment(long id, Path path, int version) {
      this.id = id;
      this.path = path;
      this.version = version;
    }

    long dataStart() {
      return version == 1 ? 0 : SEGMENT_HEADER;
    }
  }

  /** Fault injection for tests: called before each write of an append. */
  interface WriteHook {
    void beforeWrite() throws IOException;
  }

  private final Path dir;
  private final long maxBytes;
  private final long segmentBytes;
  private final Fsync fsync;
  private final DropListener listener;
  private final Deque<Segment> segments = new ArrayDeque<>();
  private FileChannel writer;
  private long lastForceNanos = System.nanoTime();
  private boolean unforced;
  private long totalBytes;
  private long pending;
  private volatile boolean empty = true;
  volatile WriteHook writeHook;
  // read cursor: segment id, byte position and record index within it
  private long readSegment;
  private long readPosition;
  private int readIndex;
  // the reader's batch in flight: positions [inFlightFrom, inFlightTo), none when inFlightTo ==
  // NONE
  private static final long NONE = -1;
  private long inFlightFrom = NONE;
  private long inFlightTo = NONE;

  /**
   * Settled (delivered or counted by the reader) but not yet committed positions; all at or after
   * the cursor.
   */
  private final Set<Long> settled = new HashSet<>();

  /**
   * In flight when drop-oldest deleted them and not settled yet: reported unless settled before
   * release.
   */
  private final Set<Long> droppedInFlight = new HashSet<>();

  /**
   * As {@link #Spool(Path, long, long, Fsync, DropListener)} with {@link Fsync#SEGMENT}, every drop
   * to onDrop.
   */
  public Spool(Path dir, long maxBytes, long segmentBytes, LongConsumer onDrop) throws IOException {
    this(dir, maxBytes, segmentBytes, Fsync.SEGMENT, (reason, n) -> onDrop.accept(n));
  }

  /**
   * Opens (or creates) the spool in {@code dir}, recovering existing segments and the committed
   * cursor. Fails only when the directory cannot be used (not creatable, or writable by others and
   * not this user's to tighten); damaged segments or cursor never fail it.
   */
  public Spool(Path dir, long maxBytes, long segmentBytes, Fsync fsync, DropListener listener)
      throws IOException {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.segmentBytes = Math.min(segmentBytes, maxBytes);
    this.fsync = fsync;
    this.listener = listener;
    prepareDirectory(dir);
    recover();
  }

  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rwx------");

  /**
   * Creates {@code dir} owner-only, or checks an existing one: a directory others may write (as
   * {@code /tmp} is) would let them plant or replace segments, so it is tightened to 0700 when this
   * user owns it and refused otherwise.
   */
  static void prepareDirectory(Path dir) throws IOException {
    boolean posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
    if (!Files.exists(dir)) {
      if (posix) {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
      } else {
        Files.createDirectories(dir);
      }
    }
    if (!Files.isDirectory(dir)) {
      throw new IOException("spool.dir " + dir + " is not a directory");
    }
    if (!posix) {
      return;
    }
    PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
    Set<PosixFilePermission> perms = view.readAttributes().permissions();
    if (perms.contains(PosixFilePermission.OTHERS_WRITE)
        || perms.contains(PosixFilePermission.GROUP_WRITE)) {
      Set<PosixFilePermission> tightened = EnumSet.copyOf(perms);
      tightened.removeAll(
          EnumSet.of(
              PosixFilePermission.GROUP_WRITE,
              PosixFilePermission.OTHERS_WRITE,
              PosixFilePermission.GROUP_READ,
              PosixFilePermission.OTHERS_READ,
              PosixFilePermission.GROUP_EXECUTE,
              PosixFilePermission.OTHERS_EXECUTE));
      try {
        view.setPermissions(tightened);
      } catch (IOException | SecurityException e) {
        throw new IOException(
            "spool.dir "
                + dir
                + " is writable by other users ("
                + PosixFilePermissions.toString(perms)
                + ") and not this user's to tighten: use a directory of the collector's own (e.g. the default "
                + "under ~/.local/state/infermeter), not a shared one such as /tmp",
            e);
      }
      LOG.warn(
          "spool.dir {} was writable by other users ({}); tightened to {}",
          dir,
          PosixFilePermissions.toString(perms),
          PosixFilePermissions.toString(tightened));
    }
  }

  private void recover() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files =
          s.filter(p -> p.getFileName().toString().matches("seg-\\d+\\.spool")).sorted().toList();
    }
    long corrupt = 0;
    for (Path p : files) {
      if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        LOG.warn(
            "ignoring {} in the spool: not a regular file (a symbolic link is never followed)", p);
        continue;
      }
      String n = p.getFileName().toString();
      long id = Long.parseLong(n.substring(4, n.length() - 6));
      Segment seg;
      try {
        seg = scan(id, p);
      } catch (IOException e) {
        LOG.warn("cannot read spool segment {}; ignoring it", p, e);
        continue;
      }
      corrupt += lastScanCorrupt;
      segments.add(seg);
      totalBytes += seg.bytes;
    }
    readSegment = segments.isEmpty() ? 0 : segments.peekFirst().id;
    readIndex = 0;
    readPosition = segments.isEmpty() ? 0 : segments.peekFirst().dataStart();
    readCursor();
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
    if (corrupt > 0) {
      LOG.warn(
          "spool {}: skipped {} damaged region(s) (torn or corrupt records); the records after them are kept",
          dir,
          corrupt);
      listener.dropped(CORRUPT, corrupt);
    }
    // always append to a fresh segment: a previous run's last segment may end in a torn frame
    long next = segments.isEmpty() ? readSegment + 1 : segments.peekLast().id + 1;
    openNewSegment(next);
  }

  /**
   * The cursor file, when it is usable; otherwise reading starts at the oldest record (with a
   * warning).
   */
  private void readCursor() {
    Path cursor = dir.resolve("cursor");
    if (!Files.exists(cursor, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try {
      if (!Files.isRegularFile(cursor, LinkOption.NOFOLLOW_LINKS)) {
        throw new IOException("not a regular file");
      }
      String text;
      try (FileChannel ch =
          FileChannel.open(cursor, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        if (ch.size() > 256) {
          throw new IOException("too large");
        }
        ByteBuffer b = ByteBuffer.allocate((int) ch.size());
        while (b.hasRemaining() && ch.read(b) > 0) {
          // read all
        }
        text = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII);
      }
      String[] parts = text.trim().split("\\s+", -1);
      if (parts.length != 3) {
        throw new IOException("expected 3 numbers, got '" + text.trim() + "'");
      }
      long seg = Long.parseLong(parts[0]);
      int idx = Integer.parseInt(parts[2]);
      Segment s = find(seg);
      if (s == null) {
        if (!segments.isEmpty() && seg > segments.peekLast().id) {
          throw new IOException("segment " + seg + " is newer than every segment on disk");
        }
        // its segment was consumed and deleted: the next one starts unread
        Segment after = nextAfter(seg);
        if (after != null) {
          readSegment = after.id;
          readIndex = 0;
          readPosition = after.dataStart();
        }
        return;
      }
      if (idx < 0 || idx > s.records) {
        throw new IOException(
            "record index " + idx + " outside segment " + seg + " (" + s.records + " records)");
      }
      // the byte position is recomputed from the index (the file's frames), never trusted
      readSegment = seg;
      readIndex = idx;
      readPosition = positionOfIndex(s, idx);
    } catch (IOException | RuntimeException e) {
      LOG.warn(
          "spool cursor {} is damaged ({}); resuming at the oldest spooled record (some events may be sent "
              + "twice; downstream de-duplicates them by eventId)",
          cursor,
          e.toString());
    }
  }

  /** Damaged regions found by the last {@link #scan}. */
  private long lastScanCorrupt;

  /**
   * Reads a segment's header and counts its valid records (and damaged regions, in {@link
   * #lastScanCorrupt}).
   */
  private Segment scan(long id, Path path) throws IOException {
    lastScanCorrupt = 0;
    try (FileChannel ch =
        FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      long size = ch.size();
      if (size == 0) {
        return new Segment(id, path, VERSION);
      }
      Window map = new Window(ch, size);
      boolean v2 = size >= SEGMENT_HEADER && map.getInt(0) == SEGMENT_MAGIC_INT;
      if (v2 && map.get(4) != VERSION) {
        throw new IOException("unknown spool segment version " + map.get(4));
      }
      Segment seg = new Segment(id, path, v2 ? VERSION : 1);
      seg.bytes = size;
      if (v2) {
        long pos = SEGMENT_HEADER;
        while (true) {
          long start = nextFrame(map, pos, size);
          if (start < 0) {
            if (pos < size) {
              lastScanCorrupt++; // a torn or damaged tail
            }
            break;
          }
          if (start > pos) {
            lastScanCorrupt++;
          }
          seg.records++;
          pos = start + FRAME_HEADER + map.getInt(start + 4);
        }
      } else {
        long pos = 0;
        while (pos + V1_HEADER <= size) {
          int len = map.getInt(pos);
          int crc = map.getInt(pos + 4);
          if (len < 0 || pos + V1_HEADER + len > size || crc32(map, pos + V1_HEADER, len) != crc) {
            break;
          }
          pos += V1_HEADER + len;
          seg.records++;
        }
        if (pos < size) {
          lastScanCorrupt++;
        }
        seg.bytes = pos; // a v1 segment is read up to its first damaged record only
      }
      return seg;
    }
  }

  /**
   * Start of the first valid frame at or after {@code pos} (resynchronizing over damage), or -1.
   */
  static long nextFrame(Window map, long pos, long size) throws IOException {
    for (long p = pos; p + FRAME_HEADER <= size; p++) {
      if (map.getInt(p) != FRAME_MAGIC) {
        continue;
      }
      int len = map.getInt(p + 4);
      if (len < 3 || p + FRAME_HEADER + len > size) {
        continue;
      }
      int o = map.at(p + 4, 8 + len); // length, crc and payload in one piece
      CRC32C c = new CRC32C();
      c.update(map.buf, o, 4);
      c.update(map.buf, o + 8, len);
      if ((int) c.getValue() == Window.intAt(map.buf, o + 4)) {
        return p;
      }
    }
    return -1;
  }

  private static int crc32(Window map, long from, int len) throws IOException {
    int o = map.at(from, len);
    CRC32 c = new CRC32();
    c.update(map.buf, o, len);
    return (int) c.getValue();
  }

  /**
   * A segment file read through a heap buffer, a window of at least {@value #CHUNK} bytes moved as
   * reading goes. Not a memory mapping: a mapping would hold a deleted segment's disk space until
   * the garbage collector unmaps it, and deleting the oldest segment must free space at once when
   * the disk is full. Not thread-safe (one per call).
   */
  static final class Window {
    static final int CHUNK = 1 << 20;
    private final FileChannel ch;
    private final long size;
    byte[] buf = new byte[0];
    private long start;
    private int len;

    Window(FileChannel ch, long size) {
      this.ch = ch;
      this.size = size;
    }

    /**
     * Makes bytes [p, p + n) of the file available in {@link #buf}; returns the offset of p there.
     */
    int at(long p, int n) throws IOException {
      if (p >= start && p + n <= start + len) {
        return (int) (p - start);
      }
      if (p < 0 || n < 0 || p + n > size) {
        throw new IOException(
            "read of " + n + " bytes at " + p + " beyond the segment's " + size + " bytes");
      }
      int want = (int) Math.min(size - p, Math.max(CHUNK, n));
      if (buf.length < want) {
        buf = new byte[want];
      }
      ByteBuffer b = ByteBuffer.wrap(buf, 0, want);
      while (b.hasRemaining()) {
        if (ch.read(b, p + b.position()) < 0) {
          break;
        }
      }
      if (b.position() < n) {
        throw new IOException(
            "segment ended after " + (p + b.position()) + " of " + size + " bytes");
      }
      start = p;
      len = b.position();
      return 0;
    }

    int getInt(long p) throws IOException {
      int o = at(p, 4); // before reading buf: at() may replace it
      return intAt(buf, o);
    }

    byte get(long p) throws IOException {
      int o = at(p, 1);
      return buf[o];
    }

    static int intAt(byte[] b, int o) {
      return (b[o] & 0xff) << 24
          | (b[o + 1] & 0xff) << 16
          | (b[o + 2] & 0xff) << 8
          | (b[o + 3] & 0xff);
    }
  }

  /**
   * Byte position of record {@code idx} of a segment (the end of the segment's data for idx ==
   * records).
   */
  private long positionOfIndex(Segment s, int idx) throws IOException {
    if (s.bytes == 0) {
      return s.dataStart();
    }
    try (FileChannel ch =
        FileChannel.open(s.path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      Window map = new Window(ch, s.bytes);
      long pos = s.dataStart();
      for (int i = 0; i < idx; i++) {
        pos = frameEnd(s, map, pos);
      }
      return pos;
    }
  }

  /** End of the record at or after {@code pos} (skipping damage in a v2 segment). */
  private static long frameEnd(Segment s, Window map, long pos) throws IOException {
    if (s.version == 1) {
      return pos + V1_HEADER + map.getInt(pos);
    }
    long start = nextFrame(map, pos, s.bytes);
    if (start < 0) {
      throw new IOException("segment " + s.path + " has fewer records than counted");
    }
    return start + FRAME_HEADER + map.getInt(start + 4);
  }

  /**
   * Total order of records: segment id in the high 32 bits, index within the segment in the low 32.
   */
  static long position(long segmentId, int index) {
    return segmentId << 32 | index;
  }

  private long cursor() {
    return position(readSegment, readIndex);
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
    closeWriter();
    Segment seg = new Segment(id, dir.resolve(String.format("seg-%020d.spool", id)), VERSION);
    // CREATE_NEW: never reuse (or write through) a file someone else put there
    Files.deleteIfExists(seg.path);
    writer =
        FileChannel.open(
            seg.path,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS);
    segments.addLast(seg);
    if (segments.size() == 1) {
      readSegment = id;
      readPosition = seg.dataStart();
      readIndex = 0;
    }
  }

  private void closeWriter() throws IOException {
    if (writer != null) {
      FileChannel w = writer;
      writer = null;
      try {
        if (fsync.mode() != Fsync.Mode.NEVER && unforced) {
          w.force(false);
        }
      } finally {
        unforced = false;
        w.close();
      }
    }
  }

  /** The bytes of one frame (and, for an empty segment, the segment header before it). */
  static byte[] frame(byte kind, String key, byte[] avro, boolean withSegmentHeader) {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    if (k.length > 0xffff) {
      throw new IllegalArgumentException("key of " + k.length + " bytes");
    }
    int payloadLen = 1 + 2 + k.length + avro.length;
    int head = withSegmentHeader ? SEGMENT_HEADER : 0;
    ByteBuffer buf =
        ByteBuffer.allocate(head + FRAME_HEADER + payloadLen).order(ByteOrder.BIG_ENDIAN);
    if (withSegmentHeader) {
      buf.put(SEGMENT_MAGIC).put(VERSION).put((byte) 0).put((byte) 0).put((byte) 0);
    }
    buf.putInt(FRAME_MAGIC)
        .putInt(payloadLen)
        .putInt(0)
        .put(kind)
        .putShort((short) k.length)
        .put(k)
        .put(avro);
    byte[] arr = buf.array();
    CRC32C crc = new CRC32C();
    crc.update(arr, head + 4, 4);
    crc.update(arr, head + FRAME_HEADER, payloadLen);
    ByteBuffer.wrap(arr).putInt(head + 8, (int) crc.getValue());
    return arr;
  }

  /**
   * Appends one record; may delete the oldest segments (reported as {@link #FULL}) to stay within
   * the size bound, or (reported as {@link #DISK_FULL}) when the disk refuses the write.
   *
   * @throws UncheckedIOException when the record cannot be written even with only the newest
   *     segment left
   */
  public synchronized void append(byte kind, String key, byte[] avro) {
    try {
      Segment last = segments.peekLast();
      int frameLen =
          FRAME_HEADER + 3 + key.length() + avro.length; // close enough for the rollover decision
      if (last.bytes > 0 && last.bytes + frameLen > segmentBytes) {
        openNewSegment(last.id + 1);
      }
      while (true) {
        last = segments.peekLast();
        byte[] arr = frame(kind, key, avro, last.bytes == 0);
        while (totalBytes + arr.length > maxBytes && segments.size() > 1) {
          dropOldest(FULL);
        }
        IOException failure = write(last, arr);
        if (failure == null) {
          last.bytes += arr.length;
          last.records++;
          totalBytes += arr.length;
          pending++;
          updateEmpty();
          afterWrite();
          return;
        }
        if (segments.size() <= 1) {
          throw failure;
        }
        LOG.warn(
            "cannot write the spool {} ({}); dropping its oldest segment to make room",
            dir,
            failure.toString());
        dropOldest(DISK_FULL);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to spool " + dir, e);
    }
  }

  /**
   * Writes a frame at the end of the writer's segment {@code last}; on failure cuts the partial
   * write off (or, when that fails too, starts a new segment, the reader resynchronizing over the
   * partial frame) and returns the failure.
   */
  private IOException write(Segment last, byte[] arr) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(arr);
    try {
      WriteHook hook = writeHook;
      if (hook != null) {
        hook.beforeWrite();
      }
      while (buf.hasRemaining()) {
        writer.write(buf, last.bytes + buf.position());
      }
      unforced = true;
      return null;
    } catch (IOException e) {
      try {
        writer.truncate(last.bytes);
      } catch (IOException truncateFailed) {
        LOG.warn(
            "cannot cut a partial write off {}; starting a new segment", last.path, truncateFailed);
        openNewSegment(last.id + 1);
      }
      return e;
    }
  }

  private void afterWrite() throws IOException {
    switch (fsync.mode()) {
      case ALWAYS -> force();
      case INTERVAL -> {
        if (System.nanoTime() - lastForceNanos >= fsync.interval().toNanos()) {
          force();
        }
      }
      default -> {}
    }
  }

  private void force() throws IOException {
    if (writer != null && unforced) {
      writer.force(false);
    }
    unforced = false;
    lastForceNanos = System.nanoTime();
  }

  /**
   * With an interval policy: forces appended bytes to the device when the interval has passed
   * (drainer loop).
   */
  public synchronized void syncIfDue() {
    if (fsync.mode() == Fsync.Mode.INTERVAL
        && unforced
        && System.nanoTime() - lastForceNanos >= fsync.interval().toNanos()) {
      try {
        force();
      } catch (IOException e) {
        LOG.warn("cannot fsync the spool {}", dir, e);
      }
    }
  }

  private void dropOldest(String reason) throws IOException {
    Segment s = segments.pollFirst();
    int firstUnread = s.id == readSegment ? readIndex : 0;
    long unread = (long) s.records - firstUnread;
    totalBytes -= s.bytes;
    pending -= unread;
    updateEmpty();
    Files.deleteIfExists(s.path);
    Segment next = segments.peekFirst();
    if (s.id == readSegment || readSegment < next.id) {
      readSegment = next.id;
      readPosition = next.dataStart();
      readIndex = 0;
    }
    // Not lost: records already settled by the reader (delivered), and records in flight (their
    // fate is the reader's:
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
    long lost = unread - settledHere.size() - inFlightHere;
    if (lost > 0) {
      listener.dropped(reason, lost);
    }
  }

  /**
   * Up to {@code max} unread, unsettled records from the cursor, without moving it (see {@link
   * #commit(Batch)}); the returned batch is in flight until {@link #commit(Batch)} or {@link
   * #release(Batch)}. A previous batch still in flight is released first. Damaged frames are
   * skipped (they were counted when the spool was opened).
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
          pos = s.dataStart();
          idx = 0;
          continue;
        }
        try (FileChannel ch =
            FileChannel.open(s.path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
          Window map = new Window(ch, s.bytes);
          while (idx < s.records && out.size() < max) {
            long start = s.version == 1 ? pos : nextFrame(map, pos, s.bytes);
            if (start < 0) {
              idx =
                  s.records; // cannot happen unless the file changed under us: nothing more to read
              // here
              break;
            }
            int header = s.version == 1 ? V1_HEADER : FRAME_HEADER;
            int len = map.getInt(start + (s.version == 1 ? 0 : 4));
            long at = position(s.id, idx);
            pos = start + header + len;
            idx++;
            if (settled.contains(at)) {
              continue; // delivered by an earlier attempt of this batch: not sent (nor counted)
              // again
            }
            int p = map.at(start + header, len);
            byte[] b = map.buf;
            byte kind = b[p];
            int klen = (b[p + 1] & 0xff) << 8 | (b[p + 2] & 0xff);
            if (3 + klen > len) {
              settled.add(at); // a valid CRC over an impossible layout: skipped once, counted once
              listener.dropped(CORRUPT, 1);
              continue;
            }
            byte[] avro = java.util.Arrays.copyOfRange(b, p + 3 + klen, p + len);
            out.add(new Entry(kind, new String(b, p + 3, klen, StandardCharsets.UTF_8), avro, at));
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
   * Marks one record of the batch in flight as done by the reader: delivered (Kafka acknowledged
   * it), or counted by the reader itself (e.g. undecodable, or refused by Kafka). It is never
   * reported as dropped and not returned by later reads.
   */
  public synchronized void settle(long position) {
    if (!droppedInFlight.remove(position) && position >= cursor()) {
      settled.add(position);
    }
  }

  /**
   * Ends the batch in flight without moving the cursor (not all of it was delivered): its unsettled
   * records stay in the spool and are read again, except those drop-oldest deleted meanwhile, which
   * are reported now.
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
      listener.dropped(FULL, lost);
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
   * Marks a batch as delivered, all of it: moves the cursor past it and deletes fully consumed
   * segments. A batch whose segments were meanwhile dropped for space only moves the cursor
   * forward, never back; its records that drop-oldest deleted while in flight count as delivered
   * (they were), not as dropped.
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
      if (segments.size() == 1
          && head.id == readSegment
          && readIndex == head.records
          && head.records > 0) {
        // everything delivered: start a fresh segment so the spool's disk use goes back to zero
        openNewSegment(head.id + 1);
        segments.pollFirst();
        totalBytes -= head.bytes;
        Files.deleteIfExists(head.path);
        readSegment = head.id + 1;
        readPosition = SEGMENT_HEADER;
        readIndex = 0;
      }
      long c = cursor();
      settled.removeIf(p -> p < c);
      writeCursor();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot commit spool cursor in " + dir, e);
    }
  }

  /**
   * Replaces the cursor file atomically; never writes through a link (the temporary file is created
   * anew).
   */
  private void writeCursor() throws IOException {
    Path tmp = dir.resolve("cursor.tmp");
    Files.deleteIfExists(tmp); // deletes a link itself, not its target
    byte[] text =
        (readSegment + " " + readPosition + " " + readIndex + "\n")
            .getBytes(StandardCharsets.US_ASCII);
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS)) {
      ByteBuffer b = ByteBuffer.wrap(text);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      if (fsync.mode() == Fsync.Mode.ALWAYS) {
        ch.force(false);
      }
    }
    Files.move(
        tmp,
        dir.resolve("cursor"),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
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
  /**
   * Whether the spool is full: appending another segment's worth of events would drop the oldest
   * undelivered ones ({@code spool.max.bytes} minus one {@code spool.segment.bytes} in use).
   */
  public synchronized boolean full() {
    return totalBytes + segmentBytes > maxBytes;
  }

  public synchronized long bytes() {
    return totalBytes;
  }

  /** Number of segment files (for tests). */
  synchronized int segmentCount() {
    return segments.size();
  }

  /** The directory (for messages). */
  public Path dir() {
    return dir;
  }

  @Override
  public synchronized void close() throws IOException {
    closeWriter();
    writeCursor();
  }
}
