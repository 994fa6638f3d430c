package io.infermeter.streams.windows;

import io.infermeter.streams.state.ObjectStore;
import io.infermeter.streams.support.StreamsCounters;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Open tumbling windows of one task, with our own lateness check (Kafka Streams' windowed
 * aggregation would drop late records silently). Stream time is the largest event time seen
 * (milliseconds); a window [start, end) closes when {@code end <= streamTime - grace}; a record
 * whose window is already closed is late. The stream time is persisted in a meta store at every
 * close pass, which is exactly when the set of closed windows changes, so lateness decisions are
 * the same after a restart. A cap on distinct keys per window folds the excess into an {@code
 * other} key.
 *
 * <p>State lives in an {@link ObjectStore} under keys laid out as [window end][window
 * size][dimension key]; this table also keeps every open window in memory, indexed by window and
 * key (rebuilt from the store when a task starts), so a record finds its accumulator without
 * building a store key and closing walks the index instead of range-scanning the store. Windows
 * close in the store-key order: by end, then size, then key.
 *
 * <p>Derived sizes (optional, {@link #deriveFromSmallest}): a window size that is a multiple of the
 * smallest size can be built by appending each closed smallest window into it, instead of recording
 * every record twice. The caller then records only into the smallest window (and directly into a
 * derived window only when the record is late for the smallest one but on time for the derived
 * one). Not thread-safe (one task).
 */
public final class WindowTable<V extends WindowTable.Windowed> {

  /** A value that knows its window and key. */
  public interface Windowed {
    long windowStartMs();

    long windowSizeMs();

    AggKey key();
  }

  /** Creates the value of a new (key, window). */
  public interface Factory<V> {
    V create(AggKey key, long startMs, long sizeMs);
  }

  private static final String STREAM_TIME = "streamTime";

  /** One open window: its values by key, each with its store key. */
  private static final class Slot<V> {
    final long endMs;
    final long sizeMs;
    final Map<AggKey, Entry<V>> byKey = new HashMap<>();

    Slot(long endMs, long sizeMs) {
      this.endMs = endMs;
      this.sizeMs = sizeMs;
    }
  }

  private static final class Entry<V> {
    final Bytes storeKey;
    final V value;

    /**
     * The store's flush count when this entry was last marked dirty (skips re-marking until the
     * next flush).
     */
    long markedAt = -1;

    Entry(Bytes storeKey, V value) {
      this.storeKey = storeKey;
      this.value = value;
    }
  }

  /**
   * A closed window taking late records: {@code full} is the whole window (as emitted before, plus
   * the late records), {@code delta} only the late records since the last emission (null when the
   * caller asked for none). Both are kept in the store until {@link #drainCorrections}, so a
   * correction survives a restart between the late record and its emission, in the same
   * exactly-once transaction as the input offsets.
   */
  public record Correction<V>(V full, V delta) {}

  private final ObjectStore<V> store;
  private final KeyValueStore<String, Long> meta;
  private final long graceMs;
  private final long allowedLatenessMs;
  private final List<Long> sizesMs;
  private final int maxKeys;
  private final StreamsCounters counters;

  /** windowId -> slot, and end -> size -> slot (closing order). */
  private final Map<Long, Slot<V>> slots = new HashMap<>();

  private final TreeMap<Long, TreeMap<Long, Slot<V>>> byEnd = new TreeMap<>();
  private Slot<V> lastSlot;
  private long streamTime = -1;
  private boolean loaded;
  private List<Long> derivedSizes = List.of();
  private BiConsumer<V, V> appender;
  private UnaryOperator<AggKey> folder;
  private Factory<V> derivedFactory;

  /**
   * Closed windows changed by late records and not yet re-emitted, by store key, in arrival order.
   */
  private final Map<Bytes, Correction<V>> corrections = new LinkedHashMap<>();

  public WindowTable(
      ObjectStore<V> store,
      KeyValueStore<String, Long> meta,
      long graceMs,
      List<Long> sizesMs,
      int maxKeys,
      StreamsCounters counters) {
    this(store, meta, graceMs, 0, sizesMs, maxKeys, counters);
  }

  /**
   * @param allowedLatenessMs how long after it closed a window still takes late records as
   *     corrections ({@link #correct}); 0 deletes a window when it closes
   */
  public WindowTable(
      ObjectStore<V> store,
      KeyValueStore<String, Long> meta,
      long graceMs,
      long allowedLatenessMs,
      List<Long> sizesMs,
      int maxKeys,
      StreamsCounters counters) {
    if (allowedLatenessMs < 0) {
      throw new IllegalArgumentException("allowed lateness " + allowedLatenessMs + " ms < 0");
    }
    this.store = store;
    this.meta = meta;
    this.graceMs = graceMs;
    this.allowedLatenessMs = allowedLatenessMs;
    this.sizesMs = sizesMs;
    this.maxKeys = maxKeys;
    this.counters = counters;
  }

  /**
   * Builds every configured size that is a multiple of the smallest (and larger) by appending
   * closed smallest windows: {@code appender.accept(target, closedPart)}; {@code folder} gives the
   * key-cap bucket of a key.
   */
  WindowTable<V> deriveFromSmallest(
      BiConsumer<V, V> appender, UnaryOperator<AggKey> folder, Factory<V> factory) {
    long smallest = smallest();
    List<Long> derived = new ArrayList<>();
    for (long size : sizesMs) {
      if (size > smallest && size % smallest == 0) {
        derived.add(size);
      }
    }
    this.derivedSizes = List.copyOf(derived);
    this.appender = appender;
    this.folder = folder;
    this.derivedFactory = factory;
    return this;
  }

  /**
   * True when {@code sizeMs} is built from closed smallest windows rather than recorded into
   * directly.
   */
  boolean isDerived(long sizeMs) {
    return derivedSizes.contains(sizeMs);
  }

  long smallest() {
    long min = Long.MAX_VALUE;
    for (long s : sizesMs) {
      min = Math.min(min, s);
    }
    return min;
  }

  static Bytes key(long endMs, long sizeMs, String dims) {
    byte[] d = dims.getBytes(StandardCharsets.UTF_8);
    return Bytes.wrap(
        ByteBuffer.allocate(16 + d.length).putLong(endMs).putLong(sizeMs).put(d).array());
  }

  /** The store key of a correction's delta: the window's key with the size negated. */
  private static Bytes deltaKey(Bytes fullKey) {
    byte[] b = fullKey.get().clone();
    ByteBuffer buf = ByteBuffer.wrap(b);
    buf.putLong(8, -buf.getLong(8));
    return Bytes.wrap(b);
  }

  private static long keyEnd(Bytes key) {
    return ByteBuffer.wrap(key.get()).getLong(0);
  }

  private static long keySize(Bytes key) {
    return ByteBuffer.wrap(key.get()).getLong(8);
  }

  private static long windowId(long endMs, long sizeMs) {
    return endMs * 31 + sizeMs;
  }

  private void load() {
    if (loaded) {
      return;
    }
    Long st = meta.get(STREAM_TIME);
    streamTime = st == null ? -1 : st;
    List<Bytes> deltas = new ArrayList<>();
    // A closed window kept for corrections stays in the store only (not decoded here), read again
    // if a late record
    // needs it.
    for (KeyValue<Bytes, V> kv :
        store.all(k -> keySize(k) < 0 || !closedAt(keyEnd(k), streamTime))) {
      V a = kv.value;
      if (keySize(kv.key) < 0) {
        deltas.add(kv.key);
      } else {
        slot(a.windowStartMs() + a.windowSizeMs(), a.windowSizeMs())
            .byKey
            .put(a.key(), new Entry<>(kv.key, a));
      }
    }
    for (Bytes d : deltas) {
      Bytes fullKey = deltaKey(d);
      V full = store.get(fullKey);
      V delta = store.get(d);
      if (full != null) {
        corrections.put(fullKey, new Correction<>(full, delta));
      } else {
        store.delete(d);
      }
    }
    loaded = true;
  }

  private Slot<V> slot(long endMs, long sizeMs) {
    Slot<V> s = lastSlot;
    if (s != null && s.endMs == endMs && s.sizeMs == sizeMs) {
      return s;
    }
    long id = windowId(endMs, sizeMs);
    s = slots.get(id);
    if (s == null) {
      s = new Slot<>(endMs, sizeMs);
      slots.put(id, s);
      byEnd.computeIfAbsent(endMs, e -> new TreeMap<>()).put(sizeMs, s);
    }
    lastSlot = s;
    return s;
  }

  public long streamTime() {
    load();
    return streamTime;
  }

  public List<Long> sizes() {
    return sizesMs;
  }

  /**
   * True when the window ending at {@code windowEndMs} has closed (stream time passed its end +
   * grace).
   */
  public boolean isLate(long windowEndMs) {
    load();
    return closedAt(windowEndMs, streamTime);
  }

  private boolean closedAt(long windowEndMs, long streamTimeMs) {
    return streamTimeMs >= 0 && windowEndMs <= streamTimeMs - graceMs;
  }

  /**
   * True when the window has closed more than the allowed lateness ago: a record for it can no
   * longer count.
   */
  public boolean isTooLate(long windowEndMs) {
    return isLate(windowEndMs + allowedLatenessMs);
  }

  public long allowedLatenessMs() {
    return allowedLatenessMs;
  }

  /**
   * The correction of the closed window (key, [startMs, startMs + sizeMs)), within the allowed
   * lateness: the window as kept since it closed (created empty if it never had a record), and a
   * delta holding what changed since its last emission when {@code withDelta}. The caller adds the
   * late record to both. Late windows skip the key cap: they are bounded by the allowed lateness
   * and the dead-letter rule for older records.
   */
  public Correction<V> correct(
      AggKey key, long startMs, long sizeMs, Factory<V> factory, boolean withDelta) {
    load();
    Bytes fullKey = key(startMs + sizeMs, sizeMs, key.asString());
    Correction<V> c = corrections.get(fullKey);
    if (c == null) {
      V full = store.get(fullKey);
      if (full == null) {
        full = factory.create(key, startMs, sizeMs);
      }
      V delta = withDelta ? factory.create(key, startMs, sizeMs) : null;
      c = new Correction<>(full, delta);
      corrections.put(fullKey, c);
      store.put(fullKey, full);
      if (delta != null) {
        store.put(deltaKey(fullKey), delta);
      }
      counters.windowsCorrected.increment();
      return c;
    }
    store.markDirty(fullKey);
    if (c.delta() != null) {
      store.markDirty(deltaKey(fullKey));
    }
    return c;
  }

  /** Pending corrections (closed windows changed by late records and not yet re-emitted). */
  public int pendingCorrections() {
    return corrections.size();
  }

  /**
   * The corrections since the last call, in the order their first late record arrived; each window
   * is kept again as its full value (written to the store and dropped from memory), its delta
   * deleted.
   */
  public List<Correction<V>> drainCorrections() {
    if (corrections.isEmpty()) {
      return List.of();
    }
    List<Correction<V>> out = new ArrayList<>(corrections.values());
    for (Bytes k : corrections.keySet()) {
      if (keySize(k) > 0 && isTooLate(keyEnd(k))) {
        store.delete(k);
      } else {
        store.release(k);
      }
      store.delete(deltaKey(k));
    }
    corrections.clear();
    return out;
  }

  /**
   * The accumulator of (key, window), created on first use. When the window already holds the
   * maximum number of distinct keys, a new key goes to {@code folder.apply(key)} instead (counted);
   * a folder answering null never folds.
   */
  public V getOrCreate(
      AggKey key, UnaryOperator<AggKey> folder, long startMs, long sizeMs, Factory<V> factory) {
    load();
    Slot<V> slot = slot(startMs + sizeMs, sizeMs);
    Entry<V> e = slot.byKey.get(key);
    if (e == null) {
      AggKey folded = slot.byKey.size() >= maxKeys ? folder.apply(key) : null;
      if (folded != null && !key.equals(folded)) {
        counters.keyCapFolded.increment();
        key = folded;
        e = slot.byKey.get(key);
      }
      if (e == null) {
        V a = factory.create(key, startMs, sizeMs);
        e = new Entry<>(key(slot.endMs, sizeMs, key.asString()), a);
        slot.byKey.put(key, e);
        store.put(e.storeKey, a);
        e.markedAt = store.flushCount();
        return a;
      }
    }
    if (e.markedAt != store.flushCount()) {
      store.markDirty(e.storeKey);
      e.markedAt = store.flushCount();
    }
    return e.value;
  }

  /**
   * Advances stream time to {@code eventTimeMs}; returns the windows that closed, oldest first,
   * removed from state.
   */
  public List<V> advance(long eventTimeMs) {
    load();
    if (eventTimeMs <= streamTime) {
      return List.of();
    }
    long oldClose = streamTime < 0 ? Long.MIN_VALUE : streamTime - graceMs;
    long newClose = eventTimeMs - graceMs;
    streamTime = eventTimeMs;
    boolean crossed = oldClose == Long.MIN_VALUE;
    for (long size : sizesMs) {
      if (!crossed && Math.floorDiv(newClose, size) > Math.floorDiv(oldClose, size)) {
        crossed = true;
      }
    }
    if (!crossed) {
      return List.of();
    }
    meta.put(STREAM_TIME, streamTime);
    List<V> closed = closeUpTo(newClose);
    if (allowedLatenessMs > 0) {
      expireRetained(newClose - allowedLatenessMs);
    }
    return closed;
  }

  /**
   * Deletes the closed windows kept for corrections whose end is at or before {@code cutoffEndMs}
   * (past the allowed lateness), except those with a correction still to emit (deleted when it
   * drains).
   */
  private void expireRetained(long cutoffEndMs) {
    if (cutoffEndMs < 0) {
      return;
    }
    for (Bytes k : store.keysUpTo(key(cutoffEndMs, Long.MAX_VALUE, ""))) {
      if (keyEnd(k) <= cutoffEndMs
          && !corrections.containsKey(k)
          && !corrections.containsKey(deltaKey(k))) {
        store.delete(k);
      }
    }
  }

  private List<V> closeUpTo(long closeTimeMs) {
    if (closeTimeMs < 0) {
      return List.of();
    }
    List<V> out = new ArrayList<>();
    long smallest = derivedSizes.isEmpty() ? -1 : smallest();
    while (!byEnd.isEmpty() && byEnd.firstKey() <= closeTimeMs) {
      TreeMap<Long, Slot<V>> bySize = byEnd.firstEntry().getValue();
      Slot<V> slot =
          bySize.firstEntry().getValue(); // smallest size first: it may still feed a derived window
      List<Entry<V>> entries = new ArrayList<>(slot.byKey.values());
      entries.sort((a, b) -> a.storeKey.compareTo(b.storeKey));
      for (Entry<V> e : entries) {
        if (slot.sizeMs == smallest) {
          for (long size : derivedSizes) {
            long start = Math.floorDiv(e.value.windowStartMs(), size) * size;
            AggKey k = e.value.key();
            appender.accept(getOrCreate(k, folder, start, size, derivedFactory), e.value);
          }
        }
        if (allowedLatenessMs > 0) {
          store.release(
              e.storeKey); // kept, out of memory, for corrections within the allowed lateness
        } else {
          store.delete(e.storeKey);
        }
        out.add(e.value);
      }
      bySize.remove(slot.sizeMs);
      if (bySize.isEmpty()) {
        byEnd.remove(slot.endMs);
      }
      slots.remove(windowId(slot.endMs, slot.sizeMs));
      if (lastSlot == slot) {
        lastSlot = null;
      }
    }
    return out;
  }
}
