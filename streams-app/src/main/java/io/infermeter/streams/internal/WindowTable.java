package io.infermeter.streams.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Open tumbling windows of one task, with our own lateness check (Kafka Streams' windowed aggregation would drop late
 * records silently). Stream time is the largest event time seen (milliseconds); a window [start, end) closes when
 * {@code end <= streamTime - grace}; a record whose window is already closed is late. Keys are laid out as
 * [window end][window size][dimension key] so closable windows are one range scan. The stream time is persisted in a
 * meta store at every close pass, which is exactly when the set of closed windows changes, so lateness decisions are
 * the same after a restart. A cap on distinct keys per window folds the excess into an {@code other} key.
 * Not thread-safe (one task).
 */
final class WindowTable<V extends WindowTable.Windowed> {

  /** A value that knows its window. */
  interface Windowed {
    long windowStartMs();

    long windowSizeMs();
  }

  /** Creates the value of a new (key, window). */
  interface Factory<V> {
    V create(AggKey key, long startMs, long sizeMs);
  }


  private static final String STREAM_TIME = "streamTime";

  private final ObjectStore<V> store;
  private final KeyValueStore<String, Long> meta;
  private final long graceMs;
  private final List<Long> sizesMs;
  private final int maxKeys;
  private final StreamsCounters counters;
  private final Map<Long, Integer> keysPerWindow = new HashMap<>();
  private long streamTime = -1;
  private boolean loaded;

  WindowTable(ObjectStore<V> store, KeyValueStore<String, Long> meta, long graceMs,
      List<Long> sizesMs, int maxKeys, StreamsCounters counters) {
    this.store = store;
    this.meta = meta;
    this.graceMs = graceMs;
    this.sizesMs = sizesMs;
    this.maxKeys = maxKeys;
    this.counters = counters;
  }

  static Bytes key(long endMs, long sizeMs, String dims) {
    byte[] d = dims.getBytes(StandardCharsets.UTF_8);
    return Bytes.wrap(ByteBuffer.allocate(16 + d.length).putLong(endMs).putLong(sizeMs).put(d).array());
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
    for (KeyValue<Bytes, V> kv : store.all()) {
      V a = kv.value;
      keysPerWindow.merge(windowId(a.windowStartMs() + a.windowSizeMs(), a.windowSizeMs()), 1, Integer::sum);
    }
    loaded = true;
  }

  long streamTime() {
    load();
    return streamTime;
  }

  List<Long> sizes() {
    return sizesMs;
  }

  boolean isLate(long windowEndMs) {
    load();
    return streamTime >= 0 && windowEndMs <= streamTime - graceMs;
  }

  /**
   * The accumulator of (key, window), created on first use. When the window already holds the maximum number of
   * distinct keys, a new key goes to {@code folded} instead (counted).
   */
  V getOrCreate(AggKey key, AggKey folded, long startMs, long sizeMs, Factory<V> factory) {
    load();
    long end = startMs + sizeMs;
    Bytes k = key(end, sizeMs, key.asString());
    V a = store.get(k);
    if (a == null) {
      long id = windowId(end, sizeMs);
      int n = keysPerWindow.getOrDefault(id, 0);
      if (n >= maxKeys && !key.equals(folded)) {
        counters.keyCapFolded.increment();
        key = folded;
        k = key(end, sizeMs, key.asString());
        a = store.get(k);
      }
      if (a == null) {
        a = factory.create(key, startMs, sizeMs);
        keysPerWindow.merge(id, 1, Integer::sum);
        store.put(k, a);
        return a;
      }
    }
    store.markDirty(k);
    return a;
  }

  /** Advances stream time to {@code eventTimeMs}; returns the windows that closed, oldest first, removed from state. */
  List<V> advance(long eventTimeMs) {
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
    return closeUpTo(newClose);
  }

  private List<V> closeUpTo(long closeTimeMs) {
    if (closeTimeMs < 0) {
      return List.of();
    }
    byte[] to = ByteBuffer.allocate(17).putLong(closeTimeMs).putLong(-1L).put((byte) -1).array();
    List<KeyValue<Bytes, V>> closed = store.range(Bytes.wrap(new byte[8]), Bytes.wrap(to));
    List<V> out = new ArrayList<>(closed.size());
    for (KeyValue<Bytes, V> kv : closed) {
      store.delete(kv.key);
      V a = kv.value;
      keysPerWindow.remove(windowId(a.windowStartMs() + a.windowSizeMs(), a.windowSizeMs()));
      out.add(a);
    }
    return out;
  }
}
