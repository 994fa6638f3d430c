package io.infermeter.streams.state;

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
 * A store whose working state lives in memory and is written behind into a changelogged byte store
 * ({@code inner}). Subclasses say what to write ({@link #writeDirty}) and what to forget ({@link
 * #forget}). Not thread-safe: owned by one stream task.
 *
 * <p><b>The only class of the streams app that uses Kafka internals</b> (enforced by {@code
 * StreamsArchitectureTest}). It uses, from the pinned Kafka Streams 4.3.1:
 *
 * <ul>
 *   <li>{@code state.internals.CachedStateStore#flushCache()}: {@code StreamTask.prepareCommit}
 *       calls {@code StreamTask.flush()}, which calls {@code ProcessorStateManager.flushCache()}
 *       and then {@code RecordCollector.flush()}; {@code flushCache()} calls {@code flushCache()}
 *       on every store that is a {@code CachedStateStore} (and {@code commit(Map.of())} on a {@code
 *       TimeOrderedKeyValueBuffer}, internal too). This is the only store callback that runs BEFORE
 *       the exactly-once transaction commits ({@code TaskExecutor.commitOffsetsOrTransaction}), so
 *       what {@link #writeDirty} sends to the changelog is in the same transaction as the input
 *       offsets. {@link #clearCache} (task corrupted: uncommitted state dropped) comes with the
 *       same interface.
 *   <li>{@code processor.internals.InternalProcessorContext#setRecordContext} with a {@code
 *       ProcessorRecordContext} (and {@code common.header.internals.RecordHeaders}): the
 *       changelogging layer stamps each record with the current record context, and during commit
 *       there is none.
 * </ul>
 *
 * No public API replaces the first: the public {@code StateStore.flush()} is deprecated and no
 * longer called by the task, and {@code StateStore.commit(Map)} (KIP-1035) is called by {@code
 * ProcessorStateManager.commit()} from {@code StreamTask.postCommit} → {@code maybeCheckpoint},
 * i.e. AFTER the transaction has committed: a write there goes into the next transaction, so a
 * crash in between loses it while the input offsets are committed. Punctuators run between records,
 * not at commit. Writing every change through to {@code inner} on each put (public API only) would
 * remove the write-behind this class exists for.
 *
 * <p>On a Kafka Streams upgrade, check (the build fails to compile if signatures changed): that
 * {@code ProcessorStateManager.flushCache()} still calls {@code CachedStateStore.flushCache()}
 * before the transaction commits (if it stops, dirty state is committed one transaction late: lost
 * on a crash between, with no compile error; {@code StreamsAppIT}'s exactly-once test is the
 * check), that {@code clearCache()} is still called on task corruption, and that {@code
 * ProcessorRecordContext}'s constructor is unchanged.
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
   * The changelogging layer stamps records with the current record context; outside record
   * processing (commit) there may be none, so give it one (internal API, pinned Kafka version).
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
  public boolean setFlushListener(
      CacheFlushListener<Bytes, byte[]> listener, boolean sendOldValues) {
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
  @SuppressWarnings(
      "deprecation") // still part of the 4.3 store contract; delegated so the inner store behaves
  // as usual
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
