package io.infermeter.streams.internal;

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
 * A state store of mutable objects (accumulators) over a changelogged byte store. Objects are kept deserialized in a
 * map and updated in place; dirty ones are serialized into the inner (changelogged) store only when Kafka Streams
 * flushes its caches before a commit ({@link WriteBehindStore}), not on every update. This is the same write-behind
 * idea as Kafka Streams' record cache, without re-serializing histograms per record.
 * Objects once read stay in memory until deleted (window accumulators are deleted when their window closes).
 *
 * <p>Not thread-safe: owned by one stream task.
 *
 * @param <V> the object type
 */
public final class ObjectStore<V> extends WriteBehindStore {

  private final Function<V, byte[]> encoder;
  private final Function<byte[], V> decoder;
  private final Map<Bytes, V> cache = new HashMap<>();
  private final Set<Bytes> dirty = new HashSet<>();
  private long flushes;

  private ObjectStore(String name, KeyValueStore<Bytes, byte[]> inner, Function<V, byte[]> encoder,
      Function<byte[], V> decoder) {
    super(name, inner);
    this.encoder = encoder;
    this.decoder = decoder;
  }

  /** A builder of the store with a changelog topic ({@code <application.id>-<name>-changelog}). */
  public static <V> StoreBuilder<ObjectStore<V>> builder(String name, boolean persistent, Function<V, byte[]> encoder,
      Function<byte[], V> decoder) {
    return new WriteBehindStoreBuilder<>(name, persistent, inner -> new ObjectStore<>(name, inner, encoder, decoder));
  }

  /** The object under {@code key}, or null. The returned object may be mutated; call {@link #markDirty} after. */
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

  /** Every entry (used once per task start to rebuild in-memory indexes). */
  public List<KeyValue<Bytes, V>> all() {
    writeDirty();
    List<KeyValue<Bytes, V>> out = new ArrayList<>();
    try (KeyValueIterator<Bytes, byte[]> it = inner.all()) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> kv = it.next();
        V v = cache.get(kv.key);
        out.add(KeyValue.pair(kv.key, v != null ? v : decoder.apply(kv.value)));
      }
    }
    return out;
  }

  /**
   * How many times dirty objects were written out (and the dirty set cleared). A caller that remembers this number at
   * {@link #markDirty} may skip marking the same key again until it changes.
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
    for (Bytes k : dirty) {
      V v = cache.get(k);
      if (v != null) {
        inner.put(k, encoder.apply(v));
      }
    }
    dirty.clear();
  }

  @Override
  void forget() {
    cache.clear();
    dirty.clear();
    flushes++;
  }
}
