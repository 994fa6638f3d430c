package io.infermeter.bench.streams;

import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.state.DedupStore;
import java.lang.reflect.Constructor;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.UUID;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.query.Position;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Memory of the de-duplication state per id held: the production {@link DedupStore} (one hash set
 * per event-time bucket plus the chunks it writes behind) fed N event ids at a fixed event rate,
 * under the dedup horizon a configuration resolves to. Reports the heap the store holds (used heap
 * after GC, before and after), the bytes it writes to its inner store (the newest value of every
 * chunk: what RocksDB and the changelog topic hold) per id, and the time per {@code firstSighting}.
 * The inner store is a stub that keeps only the size of each key's newest value; in the app it is
 * RocksDB, off the Java heap, so the heap figure is the store's own.
 *
 * <p>Usage: {@code DedupFootprintBenchmark [ids=1000000] [eventsPerSecond=10000]}; the horizon from
 * {@code -Dwindows.allowed.lateness}, {@code -Ddedup.retention}, {@code -Dwindows.grace}, {@code
 * -Dwindows.sizes}, as the app resolves it ({@link StreamsSettings#dedupRetention()}). Run with
 * e.g. {@code -Xmx2g}.
 */
public final class DedupFootprintBenchmark {

  private DedupFootprintBenchmark() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int perSecond = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    Map<String, Object> m = new HashMap<>();
    for (String k : System.getProperties().stringPropertyNames()) {
      if (k.startsWith("windows.") || k.startsWith("dedup.")) {
        m.put(k, System.getProperty(k));
      }
    }
    long retentionMs = StreamsSettings.fromMap(m).dedupRetention().toMillis();

    // ids as the collector writes them (36-character UUID text) and their event times, built before
    // measuring
    Random rnd = new Random(7);
    String[] ids = new String[n];
    long[] times = new long[n];
    long t0 = 1_700_000_040_000L;
    for (int i = 0; i < n; i++) {
      ids[i] = new UUID(rnd.nextLong(), rnd.nextLong()).toString();
      times[i] = t0 + (long) i * 1000 / perSecond;
    }

    SizeOnlyStore inner = new SizeOnlyStore();
    long before = usedAfterGc();
    DedupStore store = newStore(inner, retentionMs);
    long start = System.nanoTime();
    int fresh = 0;
    for (int i = 0; i < n; i++) {
      if (store.firstSighting(ids[i], times[i], times[i])) {
        fresh++;
      }
    }
    double nsPerId = (System.nanoTime() - start) / (double) n;
    store.flushCache(); // the write-behind of a commit: the open chunks
    long after = usedAfterGc();
    int held = store.size();

    System.out.printf(
        Locale.ROOT,
        "settings %s: dedup horizon %.1f s of event time; %d ids at %d/s (%.0f s of event "
            + "time), first sightings %d, held %d%n",
        m,
        retentionMs / 1000.0,
        n,
        perSecond,
        (double) n / perSecond,
        fresh,
        held);
    System.out.printf(
        Locale.ROOT,
        "heap held by the store: %.1f MiB = %.1f B per id held (%.1f MiB per 1M ids)%n",
        (after - before) / 1048576.0,
        (double) (after - before) / held,
        (after - before) / 1048576.0 / held * 1e6);
    System.out.printf(
        Locale.ROOT,
        "written behind (RocksDB and changelog, newest value per key): %d chunks, "
            + "%.1f MiB = %.2f B per id%n",
        inner.sizes.size(),
        inner.bytes() / 1048576.0,
        (double) inner.bytes() / held);
    System.out.printf(
        Locale.ROOT, "firstSighting: %.0f ns per id (one pass, JIT warm-up included)%n", nsPerId);
    if (store.size() < 0) {
      System.out.println(ids.length); // keeps the ids reachable until after the measurement
    }
  }

  /** The production store through its private constructor (its builder needs a running task). */
  private static DedupStore newStore(KeyValueStore<Bytes, byte[]> inner, long retentionMs)
      throws Exception {
    Constructor<DedupStore> c =
        DedupStore.class.getDeclaredConstructor(String.class, KeyValueStore.class, long.class);
    c.setAccessible(true);
    return c.newInstance("request-dedup-store", inner, retentionMs);
  }

  private static long usedAfterGc() {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 4; i++) {
      System.gc();
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return rt.totalMemory() - rt.freeMemory();
  }

  /** Keeps the size of each key's newest value only; reads as empty (a fresh task). */
  private static final class SizeOnlyStore implements KeyValueStore<Bytes, byte[]> {
    final Map<Bytes, Integer> sizes = new HashMap<>();

    long bytes() {
      return sizes.values().stream().mapToLong(Integer::longValue).sum();
    }

    @Override
    public void put(Bytes key, byte[] value) {
      sizes.put(key, value.length);
    }

    @Override
    public byte[] putIfAbsent(Bytes key, byte[] value) {
      put(key, value);
      return null;
    }

    @Override
    public void putAll(List<KeyValue<Bytes, byte[]>> entries) {
      entries.forEach(e -> put(e.key, e.value));
    }

    @Override
    public byte[] delete(Bytes key) {
      sizes.remove(key);
      return null;
    }

    @Override
    public byte[] get(Bytes key) {
      return null;
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> range(Bytes from, Bytes to) {
      return empty();
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> all() {
      return empty();
    }

    @Override
    public long approximateNumEntries() {
      return sizes.size();
    }

    @Override
    public String name() {
      return "inner";
    }

    @Override
    public void init(StateStoreContext context, StateStore root) {}

    @Override
    public void commit(Map<TopicPartition, Long> changelogOffsets) {}

    @Override
    public void close() {}

    @Override
    public boolean persistent() {
      return true;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public Position getPosition() {
      return Position.emptyPosition();
    }

    private static KeyValueIterator<Bytes, byte[]> empty() {
      Iterator<KeyValue<Bytes, byte[]>> it = Collections.emptyIterator();
      return new KeyValueIterator<>() {
        @Override
        public void close() {}

        @Override
        public Bytes peekNextKey() {
          throw new NoSuchElementException();
        }

        @Override
        public boolean hasNext() {
          return it.hasNext();
        }

        @Override
        public KeyValue<Bytes, byte[]> next() {
          return it.next();
        }
      };
    }
  }
}
