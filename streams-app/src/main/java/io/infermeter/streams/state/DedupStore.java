package io.infermeter.streams.state;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;

/**
 * The event ids seen by one task within a retention of event time, for de-duplication: per
 * event-time bucket an in-memory hash set of 64-bit id hashes, written behind into a changelogged
 * byte store in chunks. A re-sent event carries its original completion time, so it falls into the
 * same bucket: a record costs a hash and one probe of its bucket's set, and an expired bucket is
 * dropped whole. The store and its changelog get one write per bucket chunk per commit instead of
 * one per event (a RocksDB window store with a changelog record per event was the largest per-event
 * cost of the request processor).
 *
 * <p>Layout: ids are grouped into event-time buckets of {@code bucketMs}; each bucket's ids are
 * appended to chunks of up to {@value #CHUNK} hashes, stored under [bucket start ms][chunk number]
 * as a version byte and the 8-byte hashes (chunks without the version byte, written before it, are
 * still read). Only the open (last) chunk of a bucket changes, and it is written when Kafka Streams
 * flushes caches before each commit ({@link #flushCache}), so the changelog and the committed input
 * offsets stay in one transaction, as in {@link ObjectStore}. A bucket expires (its chunks deleted,
 * its set dropped) once its end is more than the retention behind the stream time. On task start
 * the set is rebuilt from the store (restored from the changelog).
 *
 * <p>Two different ids with the same 64-bit hash would make the second look like a duplicate: with
 * n ids in retention the chance that this happens at all is about n^2 / 2^65 (1e-5 for 20 million
 * ids). Not thread-safe: one task.
 */
public final class DedupStore extends WriteBehindStore {

  static final int CHUNK = 4096;

  private static final class Bucket {
    final LongHashSet ids = new LongHashSet();
    final List<long[]> chunks = new ArrayList<>();
    int openSize;
    boolean dirty;

    long[] open() {
      return chunks.get(chunks.size() - 1);
    }
  }

  private final long bucketMs;
  private final long retentionMs;
  private final TreeMap<Long, Bucket> buckets = new TreeMap<>();
  private boolean loaded;

  /** The bucket of the previous call (consecutive events mostly share one). */
  private long lastStart = Long.MIN_VALUE;

  private Bucket lastBucket;

  private DedupStore(String name, KeyValueStore<Bytes, byte[]> inner, long retentionMs) {
    super(name, inner);
    this.retentionMs = retentionMs;
    this.bucketMs = Math.max(1000, retentionMs / 8);
  }

  /** A builder of the store with a changelog topic ({@code <application.id>-<name>-changelog}). */
  public static StoreBuilder<DedupStore> builder(
      String name, boolean persistent, long retentionMs) {
    return new WriteBehindStoreBuilder<>(
        name, persistent, inner -> new DedupStore(name, inner, retentionMs));
  }

  /**
   * The 64-bit hash of an event id (FNV-1a over the UTF-16 chars, then MurmurHash3's 64-bit
   * finalizer).
   */
  static long hash(CharSequence id) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < id.length(); i++) {
      h ^= id.charAt(i);
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h == Long.MIN_VALUE ? 0 : h;
  }

  /**
   * Records {@code id} (event time {@code timeMs}); returns false when it was already seen within
   * the retention. Also expires buckets that fell out of the retention behind {@code streamTimeMs}.
   */
  public boolean firstSighting(CharSequence id, long timeMs, long streamTimeMs) {
    load();
    expire(streamTimeMs);
    long start = Math.floorDiv(timeMs, bucketMs) * bucketMs;
    Bucket b = start == lastStart ? lastBucket : buckets.get(start);
    if (b == null) {
      b = new Bucket();
      b.chunks.add(new long[CHUNK]);
      buckets.put(start, b);
    }
    lastStart = start;
    lastBucket = b;
    long h = hash(id);
    if (!b.ids.add(h)) {
      return false;
    }
    if (b.openSize == CHUNK) {
      if (b.dirty) {
        writeOpen(start, b); // the full chunk is final: write it before starting the next
      }
      b.chunks.add(new long[CHUNK]);
      b.openSize = 0;
    }
    b.open()[b.openSize++] = h;
    b.dirty = true;
    return true;
  }

  /** Ids held now. */
  public int size() {
    int n = 0;
    for (Bucket b : buckets.values()) {
      n += b.ids.size();
    }
    return n;
  }

  private void expire(long streamTimeMs) {
    while (!buckets.isEmpty() && buckets.firstKey() + bucketMs + retentionMs <= streamTimeMs) {
      Map.Entry<Long, Bucket> e = buckets.pollFirstEntry();
      Bucket b = e.getValue();
      if (b == lastBucket) {
        lastBucket = null;
        lastStart = Long.MIN_VALUE;
      }
      for (int c = 0; c < b.chunks.size(); c++) {
        ensureRecordContext();
        inner.delete(key(e.getKey(), c));
      }
    }
  }

  private static Bytes key(long bucketStart, int chunk) {
    return Bytes.wrap(ByteBuffer.allocate(12).putLong(bucketStart).putInt(chunk).array());
  }

  /**
   * Version byte of a chunk; a chunk of a multiple of 8 bytes (no version byte) is the format
   * before it.
   */
  static final int CHUNK_VERSION = 2;

  /** A chunk: {@link #CHUNK_VERSION}, then {@code n} big-endian 8-byte hashes. */
  static byte[] encodeChunk(long[] hashes, int n) {
    ByteBuffer buf = ByteBuffer.allocate(1 + 8 * n);
    buf.put((byte) CHUNK_VERSION);
    for (int i = 0; i < n; i++) {
      buf.putLong(hashes[i]);
    }
    return buf.array();
  }

  /**
   * Reads a chunk into {@code into}; returns the number of hashes. Reads the unversioned format
   * too.
   */
  static int decodeChunk(byte[] bytes, long[] into) {
    int offset = bytes.length % 8;
    if ((offset == 1 && bytes[0] != CHUNK_VERSION) || offset > 1) {
      throw new IllegalArgumentException(
          "corrupt dedup chunk: " + bytes.length + " bytes, first byte " + bytes[0]);
    }
    ByteBuffer v = ByteBuffer.wrap(bytes, offset, bytes.length - offset);
    int n = (bytes.length - offset) / 8;
    for (int i = 0; i < n; i++) {
      into[i] = v.getLong();
    }
    return n;
  }

  private void writeOpen(long start, Bucket b) {
    ensureRecordContext();
    inner.put(key(start, b.chunks.size() - 1), encodeChunk(b.open(), b.openSize));
    b.dirty = false;
  }

  @Override
  void writeDirty() {
    for (Map.Entry<Long, Bucket> e : buckets.entrySet()) {
      if (e.getValue().dirty) {
        writeOpen(e.getKey(), e.getValue());
      }
    }
  }

  private void load() {
    if (loaded) {
      return;
    }
    try (KeyValueIterator<Bytes, byte[]> it = inner.all()) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> kv = it.next();
        ByteBuffer k = ByteBuffer.wrap(kv.key.get());
        long start = k.getLong();
        int chunk = k.getInt();
        Bucket b = buckets.computeIfAbsent(start, s -> new Bucket());
        while (b.chunks.size() <= chunk) {
          b.chunks.add(new long[CHUNK]);
        }
        long[] arr = b.chunks.get(chunk);
        int n = decodeChunk(kv.value, arr);
        for (int i = 0; i < n; i++) {
          b.ids.add(arr[i]);
        }
        if (chunk == b.chunks.size() - 1) {
          b.openSize = n;
        }
      }
    }
    loaded = true;
  }

  private void reset() {
    buckets.clear();
    lastBucket = null;
    lastStart = Long.MIN_VALUE;
    loaded = false; // rebuilt from the store on next use
  }

  @Override
  void forget() {
    reset();
  }
}
