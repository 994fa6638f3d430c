package io.infermeter.streams.energy;

import io.infermeter.avro.CarbonIntensityUpdate;
import io.infermeter.streams.support.StreamsCounters;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Grid carbon intensity as a time series per region, from the carbon-intensity topic: every update
 * is kept under (region, effective-from) in a global in-memory store, so a window takes the values
 * in force during it, weighted by the time each was in force, whatever order the updates and the
 * data arrived in (a backfill of last week's requests is priced at last week's intensities).
 *
 * <p>Store key: the region, a NUL character, and the effective-from time in microseconds as 19
 * zero-padded decimal digits, so the store's byte order is (region, time) order. Value: format
 * version 1, grams per kWh (IEEE double), the source's length (2 bytes) and its UTF-8 bytes (at
 * most 64). An update with a region and time already held replaces that entry (a re-delivered
 * update is harmless). Entries more than {@code carbon.history.retention} older than the newest
 * update of their region are dropped, except the newest of them, which is the value in force at the
 * cut. The store is rebuilt from the topic at start (Kafka Streams replays a global store's topic
 * through this processor): the topic's retention bounds the history a restarted app knows.
 */
public final class CarbonHistory {

  public static final String STORE = "carbon-intensity-history";

  /** gCO2e/kWh above which an update is refused: no grid is dirtier than about 1,200. */
  static final double MAX_GRAMS_PER_KWH = 5_000;

  static final int MAX_SOURCE_BYTES = 64;

  private static final byte VERSION = 1;
  private static final char SEP = '\u0000';
  private static final Logger LOG = LoggerFactory.getLogger(CarbonHistory.class);

  private CarbonHistory() {}

  /** One entry of a region's series. */
  public record Point(long effectiveFromUs, double gramsPerKwh, String source) {}

  /** The global store holding the series (in memory, rebuilt from the topic at start). */
  public static StoreBuilder<KeyValueStore<String, byte[]>> store() {
    return Stores.keyValueStoreBuilder(
            Stores.inMemoryKeyValueStore(STORE), Serdes.String(), Serdes.ByteArray())
        .withLoggingDisabled()
        .withCachingDisabled();
  }

  /** The global store's update processor: validates, inserts and trims. */
  public static ProcessorSupplier<String, CarbonIntensityUpdate, Void, Void> updater(
      long retentionUs, StreamsCounters counters) {
    return () -> new Updater(retentionUs, counters);
  }

  static String key(String region, long effectiveFromUs) {
    return region + SEP + String.format("%019d", effectiveFromUs);
  }

  static byte[] encode(double gramsPerKwh, String source) {
    byte[] s = truncate(source == null ? "" : source);
    ByteBuffer b = ByteBuffer.allocate(1 + 8 + 2 + s.length);
    b.put(VERSION).putDouble(gramsPerKwh).putShort((short) s.length).put(s);
    return b.array();
  }

  static Point decode(String key, byte[] value) {
    ByteBuffer b = ByteBuffer.wrap(value);
    byte version = b.get();
    if (version != VERSION) {
      throw new IllegalStateException("carbon history entry of unknown format " + version);
    }
    double grams = b.getDouble();
    byte[] s = new byte[b.getShort()];
    b.get(s);
    long from = Long.parseLong(key.substring(key.lastIndexOf(SEP) + 1));
    return new Point(from, grams, new String(s, StandardCharsets.UTF_8));
  }

  private static byte[] truncate(String source) {
    byte[] s = source.getBytes(StandardCharsets.UTF_8);
    if (s.length <= MAX_SOURCE_BYTES) {
      return s;
    }
    int n = MAX_SOURCE_BYTES;
    while (n > 0 && (s[n] & 0xC0) == 0x80) {
      n--;
    }
    return Arrays.copyOf(s, n);
  }

  /** Why {@code u} cannot enter the series, or null when it can. */
  static String invalid(CarbonIntensityUpdate u) {
    if (u == null || u.getRegion() == null || u.getRegion().isEmpty()) {
      return "no region";
    }
    if (u.getRegion().indexOf(SEP) >= 0 || u.getRegion().length() > 256) {
      return "region with a NUL character or over 256 characters";
    }
    double g = u.getGramsPerKwh();
    if (!(g >= 0 && g <= MAX_GRAMS_PER_KWH)) {
      return "gramsPerKwh " + g + " outside 0.." + MAX_GRAMS_PER_KWH;
    }
    if (u.getEffectiveFromUs() < 0) {
      return "negative effectiveFromUs";
    }
    return null;
  }

  /**
   * The region's points that bear on {@code [startUs, endUs)}: the last one in force at {@code
   * startUs} (if any) and every one that starts inside the range, in time order.
   */
  static List<Point> during(
      KeyValueStore<String, byte[]> store, String region, long startUs, long endUs) {
    List<Point> out = new ArrayList<>();
    if (store == null || region == null || region.isEmpty() || region.indexOf(SEP) >= 0) {
      return out;
    }
    try (KeyValueIterator<String, byte[]> it =
        store.reverseRange(key(region, 0), key(region, Math.max(0, startUs)))) {
      if (it.hasNext()) {
        KeyValue<String, byte[]> kv = it.next();
        out.add(decode(kv.key, kv.value));
      }
    }
    if (endUs > startUs + 1) {
      try (KeyValueIterator<String, byte[]> it =
          store.range(key(region, Math.max(0, startUs + 1)), key(region, endUs - 1))) {
        while (it.hasNext()) {
          KeyValue<String, byte[]> kv = it.next();
          out.add(decode(kv.key, kv.value));
        }
      }
    }
    return out;
  }

  /**
   * The time-weighted mean intensity over {@code [startUs, endUs)}: each moment takes the newest
   * point in force then, or {@code fallback} before the first point. The source is the topic's
   * ({@code topic}) when points cover the whole range, the fallback's when none does, and {@code
   * topic+<fallback source>} when both share it.
   */
  public static CostCarbon.Intensity over(
      KeyValueStore<String, byte[]> store,
      String region,
      long startUs,
      long endUs,
      CostCarbon.Intensity fallback) {
    List<Point> points = during(store, region, startUs, endUs);
    if (points.isEmpty() || endUs <= startUs) {
      return fallback;
    }
    double weighted = 0;
    long fallbackUs = 0;
    long t = startUs;
    double current = fallback.gramsPerKwh();
    boolean fromTopic = false;
    for (Point p : points) {
      long from = Math.max(startUs, p.effectiveFromUs());
      if (from > t) {
        weighted += current * (from - t);
        if (!fromTopic) {
          fallbackUs += from - t;
        }
        t = from;
      }
      current = p.gramsPerKwh();
      fromTopic = true;
    }
    weighted += current * (endUs - t);
    double mean = weighted / (endUs - startUs);
    if (fallbackUs == 0) {
      return new CostCarbon.Intensity(mean, "topic");
    }
    return new CostCarbon.Intensity(mean, "topic+" + fallback.source());
  }

  private static final class Updater
      implements Processor<String, CarbonIntensityUpdate, Void, Void> {

    private final long retentionUs;
    private final StreamsCounters counters;
    private KeyValueStore<String, byte[]> store;
    private long lastWarnMs = Long.MIN_VALUE;

    Updater(long retentionUs, StreamsCounters counters) {
      this.retentionUs = retentionUs;
      this.counters = counters;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
      store = context.getStateStore(STORE);
    }

    @Override
    public void process(Record<String, CarbonIntensityUpdate> r) {
      CarbonIntensityUpdate u = r.value();
      String why = invalid(u);
      if (why != null) {
        if (counters != null) {
          counters.carbonUpdatesRefused.increment();
        }
        long now = System.currentTimeMillis();
        if (now - lastWarnMs > 60_000) {
          lastWarnMs = now;
          String region = u == null || u.getRegion() == null ? "" : u.getRegion();
          LOG.warn(
              "carbon intensity update for region '{}' at {} us refused ({}): the windows keep the"
                  + " values in force before it; fix the feed's record (infermeter_streams_carbon_"
                  + "updates_refused_total counts them; further refusals this minute are not logged)",
              region.length() > 64 ? region.substring(0, 64) + "..." : region,
              u == null ? "?" : u.getEffectiveFromUs(),
              why);
        }
        return;
      }
      String region = u.getRegion();
      store.put(
          key(region, u.getEffectiveFromUs()),
          encode(u.getGramsPerKwh(), u.getSource() == null ? "" : u.getSource().toString()));
      trim(region);
    }

    /** Drops the region's points older than the cut, keeping the last one before it. */
    private void trim(String region) {
      long newest;
      try (KeyValueIterator<String, byte[]> it =
          store.reverseRange(key(region, 0), key(region, Long.MAX_VALUE))) {
        if (!it.hasNext()) {
          return;
        }
        String k = it.next().key;
        newest = Long.parseLong(k.substring(k.lastIndexOf(SEP) + 1));
      }
      long cut = newest - retentionUs;
      if (cut <= 0) {
        return;
      }
      List<String> old = new ArrayList<>();
      try (KeyValueIterator<String, byte[]> it = store.range(key(region, 0), key(region, cut))) {
        while (it.hasNext()) {
          old.add(it.next().key);
        }
      }
      for (int i = 0; i < old.size() - 1; i++) {
        store.delete(old.get(i));
      }
    }
  }
}
