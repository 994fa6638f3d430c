package io.infermeter.streams.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.processor.internals.InternalProcessorContext;
import org.apache.kafka.streams.processor.internals.ProcessorRecordContext;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.internals.CacheFlushListener;
import org.apache.kafka.streams.state.internals.CachedStateStore;

/**
 * A state store of mutable objects (accumulators) over a changelogged byte store. Objects are kept deserialized in a
 * map and updated in place; dirty ones are serialized into the inner (changelogged) store only when Kafka Streams
 * flushes its caches, which it does in prepareCommit BEFORE the transaction commits ({@link CachedStateStore#flushCache},
 * the hook Kafka's own record cache uses; {@code StateStore.commit} runs after the transaction, too late for
 * exactly-once), not on every update. So the changelog and the committed input offsets stay in one transaction.
 * This is the same write-behind idea as Kafka Streams' record cache, without re-serializing histograms per record.
 * Objects once read stay in memory until deleted (window accumulators are deleted when their window closes).
 *
 * <p>Not thread-safe: owned by one stream task.
 *
 * @param <V> the object type
 */
public final class ObjectStore<V> implements StateStore, CachedStateStore<Bytes, byte[]> {

  private final String name;
  private final KeyValueStore<Bytes, byte[]> inner;
  private final Function<V, byte[]> encoder;
  private final Function<byte[], V> decoder;
  private final Map<Bytes, V> cache = new HashMap<>();
  private final Set<Bytes> dirty = new HashSet<>();
  private StateStoreContext context;
  private long flushes;

  private ObjectStore(String name, KeyValueStore<Bytes, byte[]> inner, Function<V, byte[]> encoder,
      Function<byte[], V> decoder) {
    this.name = name;
    this.inner = inner;
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

  private void writeDirty() {
    if (dirty.isEmpty()) {
      return;
    }
    flushes++;
    ensureRecordContext(context);
    for (Bytes k : dirty) {
      V v = cache.get(k);
      if (v != null) {
        inner.put(k, encoder.apply(v));
      }
    }
    dirty.clear();
  }

  /**
   * The changelogging layer stamps records with the current record context; outside record processing (commit) there
   * may be none, so give it one (internal API, pinned Kafka version).
   */
  static void ensureRecordContext(StateStoreContext context) {
    if (context instanceof InternalProcessorContext<?, ?> ipc && ipc.recordContext() == null) {
      ipc.setRecordContext(new ProcessorRecordContext(0L, -1L, -1, null, new RecordHeaders()));
    }
  }

  /** Called by Kafka Streams before every commit (prepareCommit): writes dirty objects to the changelogged store. */
  @Override
  public void flushCache() {
    writeDirty();
  }

  /** Called when uncommitted state must be dropped (task corrupted): forget everything not yet written. */
  @Override
  public void clearCache() {
    cache.clear();
    dirty.clear();
    flushes++;
  }

  @Override
  public boolean setFlushListener(CacheFlushListener<Bytes, byte[]> listener, boolean sendOldValues) {
    return false;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void init(StateStoreContext context, StateStore root) {
    this.context = context;
    cache.clear();
    dirty.clear();
    inner.init(context, root);
  }

  @Override
  @SuppressWarnings("deprecation") // still part of the 4.3 store contract; delegated so the inner store behaves as usual
  public void flush() {
    writeDirty();
    inner.flush();
  }

  @Override
  public void commit(Map<TopicPartition, Long> changelogOffsets) {
    writeDirty();
    inner.commit(changelogOffsets);
  }

  @Override
  public Long committedOffset(TopicPartition partition) {
    return inner.committedOffset(partition);
  }

  @Override
  @SuppressWarnings("deprecation") // delegated for the same reason as flush()
  public boolean managesOffsets() {
    return inner.managesOffsets();
  }

  @Override
  public void close() {
    cache.clear();
    dirty.clear();
    inner.close();
  }

  @Override
  public boolean persistent() {
    return inner.persistent();
  }

  @Override
  public boolean isOpen() {
    return inner.isOpen();
  }
}
