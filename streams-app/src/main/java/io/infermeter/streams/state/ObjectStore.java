package io.infermeter.streams.state;

import io.infermeter.streams.support.StreamsCounters;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;

/**
 * A state store of mutable objects (accumulators) over a changelogged byte store. Objects are kept
 * deserialized in a map and updated in place; dirty ones are serialized into the inner
 * (changelogged) store only when Kafka Streams flushes its caches before a commit ({@link
 * WriteBehindStore}), not on every update. This is the same write-behind idea as Kafka Streams'
 * record cache, without re-serializing histograms per record. Objects once read stay in memory
 * until deleted (window accumulators are deleted when their window closes). An object that cannot
 * be encoded at a flush is dropped (logged at ERROR, counted) instead of failing the commit.
 *
 * <p>Not thread-safe: owned by one stream task.
 *
 * @param <V> the object type
 */
public final class ObjectStore<V> extends WriteBehindStore {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ObjectStore.class);
  private final Function<V, byte[]> encoder;
  private final StreamsCounters counters;
  private final Function<byte[], V> decoder;
  private final Map<Bytes, V> cache = new HashMap<>();
  private final Set<Bytes> dirty = new HashSet<>();
  private long flushes;

  private ObjectStore(
      String name,
      KeyValueStore<Bytes, byte[]> inner,
      Function<V, byte[]> encoder,
      Function<byte[], V> decoder,
      StreamsCounters counters) {
    super(name, inner);
    this.counters = counters;
    this.encoder = encoder;
    this.decoder = decoder;
  }

  /** A builder of the store with a changelog topic ({@code <application.id>-<name>-changelog}). */
  public static <V> StoreBuilder<ObjectStore<V>> builder(
      String name, boolean persistent, Function<V, byte[]> encoder, Function<byte[], V> decoder) {
    return builder(name, persistent, encoder, decoder, null);
  }

  /**
   * As {@link #builder(String, boolean, Function, Function)}, counting encode failures in {@code
   * counters}.
   */
  public static <V> StoreBuilder<ObjectStore<V>> builder(
      String name,
      boolean persistent,
      Function<V, byte[]> encoder,
      Function<byte[], V> decoder,
      StreamsCounters counters) {
    return new WriteBehindStoreBuilder<>(
        name, persistent, inner -> new ObjectStore<>(name, inner, encoder, decoder, counters));
  }

  /**
   * The object under {@code key}, or null. The returned object may be mutated; call {@link
   * #markDirty} after.
   */
  public V get(Bytes key) {
    V v = cache.get(key);
    if (v == null) {
      byte[] bytes = inner.get(key);
      if (bytes != null) {
        v = decoder.apply(bytes);
        cache.put(key, v);
      }
    }
    return v;
  }

  public void put(Bytes key, V value) {
    cache.put(key, value);
    dirty.add(key);
  }

  public void markDirty(Bytes key) {
    dirty.add(key);
  }

  public void delete(Bytes key) {
    cache.remove(key);
    dirty.remove(key);
    inner.delete(key);
  }

  /**
   * Writes the object under {@code key} now if it changed, and drops it from memory; a later {@link
   * #get} reads it back from the inner store.
   */
  public void release(Bytes key) {
    V v = cache.remove(key);
    if (v != null && dirty.remove(key)) {
      byte[] bytes;
      try {
        bytes = encoder.apply(v);
      } catch (RuntimeException e) {
        if (counters != null) {
          counters.stateEncodeFailures.increment();
        }
        LOG.error(
            "cannot encode the entry of store {} under a {}-byte key; it is dropped from the store and its "
                + "changelog",
            name(),
            key.get().length,
            e);
        inner.delete(key);
        return;
      }
      ensureRecordContext();
      inner.put(key, bytes);
    }
  }

  /**
   * The keys of the inner store up to {@code toInclusive} in byte order (objects changed since the
   * last flush but never written are not among them).
   */
  public List<Bytes> keysUpTo(Bytes toInclusive) {
    List<Bytes> out = new ArrayList<>();
    try (KeyValueIterator<Bytes, byte[]> it = inner.range(null, toInclusive)) {
      while (it.hasNext()) {
        out.add(it.next().key);
      }
    }
    return out;
  }

  /** Every entry (used once per task start to rebuild in-memory indexes). */
  public List<KeyValue<Bytes, V>> all() {
    return all(k -> true);
  }

  /** Every entry whose key passes {@code keyFilter}; the others are not decoded. */
  public List<KeyValue<Bytes, V>> all(java.util.function.Predicate<Bytes> keyFilter) {
    writeDirty();
    List<KeyValue<Bytes, V>> out = new ArrayList<>();
    try (KeyValueIterator<Bytes, byte[]> it = inner.all()) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> kv = it.next();
        if (!keyFilter.test(kv.key)) {
          continue;
        }
        V v = cache.get(kv.key);
        out.add(KeyValue.pair(kv.key, v != null ? v : decoder.apply(kv.value)));
      }
    }
    return out;
  }

  /**
   * How many times dirty objects were written out (and the dirty set cleared). A caller that
   * remembers this number at {@link #markDirty} may skip marking the same key again until it
   * changes.
   */
  public long flushCount() {
    return flushes;
  }

  @Override
  void writeDirty() {
    if (dirty.isEmpty()) {
      return;
    }
    flushes++;
    ensureRecordContext();
    List<Bytes> failed = null;
    for (Bytes k : dirty) {
      V v = cache.get(k);
      if (v != null) {
        byte[] bytes;
        try {
          bytes = encoder.apply(v);
        } catch (RuntimeException e) {
          // Runs in prepareCommit, outside any record: a throw here fails the thread, which
          // re-reads the same records
          // and fails again at the next commit. Drop the one object instead (its window loses that
          // key), loudly.
          if (counters != null) {
            counters.stateEncodeFailures.increment();
          }
          LOG.error(
              "cannot encode the entry of store {} under a {}-byte key; it is dropped from the store and its "
                  + "changelog",
              name(),
              k.get().length,
              e);
          (failed == null ? failed = new ArrayList<>() : failed).add(k);
          continue;
        }
        inner.put(k, bytes);
      }
    }
    dirty.clear();
    if (failed != null) {
      for (Bytes k : failed) {
        cache.remove(k);
        inner.delete(k);
      }
    }
  }

  @Override
  void forget() {
    cache.clear();
    dirty.clear();
    flushes++;
  }
}
