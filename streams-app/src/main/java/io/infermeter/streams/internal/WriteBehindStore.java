package io.infermeter.streams.internal;

import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.processor.internals.InternalProcessorContext;
import org.apache.kafka.streams.processor.internals.ProcessorRecordContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.internals.CacheFlushListener;
import org.apache.kafka.streams.state.internals.CachedStateStore;

/**
 * A store whose working state lives in memory and is written behind into a changelogged byte store ({@code inner}).
 * Kafka Streams calls {@link #flushCache} in prepareCommit, BEFORE the transaction commits (the hook its own record
 * cache uses; {@code StateStore.commit} runs after the transaction, too late for exactly-once), so what is written
 * there and the committed input offsets are in one transaction. {@link #clearCache} (uncommitted state dropped: task
 * corrupted), {@link #init} and {@link #close} forget the in-memory state, which is rebuilt from the inner store.
 * Subclasses say what to write and what to forget. Not thread-safe: owned by one stream task.
 */
abstract class WriteBehindStore implements StateStore, CachedStateStore<Bytes, byte[]> {

  private final String name;
  protected final KeyValueStore<Bytes, byte[]> inner;
  protected StateStoreContext context;

  WriteBehindStore(String name, KeyValueStore<Bytes, byte[]> inner) {
    this.name = name;
    this.inner = inner;
  }

  /** Writes what changed since the last call into {@link #inner}. */
  abstract void writeDirty();

  /** Forgets the in-memory state (not yet written changes included). */
  abstract void forget();

  /**
   * The changelogging layer stamps records with the current record context; outside record processing (commit) there
   * may be none, so give it one (internal API, pinned Kafka version).
   */
  final void ensureRecordContext() {
    if (context instanceof InternalProcessorContext<?, ?> ipc && ipc.recordContext() == null) {
      ipc.setRecordContext(new ProcessorRecordContext(0L, -1L, -1, null, new RecordHeaders()));
    }
  }

  @Override
  public void flushCache() {
    writeDirty();
  }

  @Override
  public void clearCache() {
    forget();
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
    forget();
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
    forget();
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
