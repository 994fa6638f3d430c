package io.infermeter.streams.energy;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.Bottleneck;
import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.streams.StreamsLimits;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.alerts.AlertRules;
import io.infermeter.streams.alerts.Alerts;
import io.infermeter.streams.alerts.RuleState;
import io.infermeter.streams.alerts.RuleStates;
import io.infermeter.streams.bottleneck.BottleneckClassifier;
import io.infermeter.streams.engine.EngineAcc;
import io.infermeter.streams.engine.EngineLast;
import io.infermeter.streams.engine.EngineSignals;
import io.infermeter.streams.state.Codec;
import io.infermeter.streams.support.DeadLetters;
import io.infermeter.streams.support.StreamsCounters;
import io.infermeter.streams.windows.AggKey;
import io.infermeter.streams.windows.FutureClamp;
import io.infermeter.streams.windows.Occupancy;
import io.infermeter.streams.windows.WindowTable;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Per-host energy, cost, carbon, bottleneck and hardware alerts. Consumes hardware samples and
 * request-side {@link HostUsage} of the same host (one repartition topic keyed by host). Per device
 * and window: energy from energy counter deltas (a negative delta is a reset: dropped, counted) or
 * else trapezoidal integration of power; the delta or trapezoid between two consecutive samples
 * belongs to the window of the later sample (the previous sample of each device is kept across
 * windows). A window closes when stream time passes its end + grace + the energy join delay. Host
 * silence is checked by a wall-clock punctuator. Not thread-safe (one per task).
 */
public final class EnergyProcessor implements Processor<String, EnergyInput, String, Object> {

  public static final String WINDOW_STORE = "energy-window-store";
  public static final String META_STORE = "energy-window-meta";
  public static final String DEVICE_LAST_STORE = "device-last-sample";
  public static final String HOST_SEEN_STORE = "host-last-seen";
  public static final String ALERT_STORE = "hardware-alert-state";

  /**
   * Last sample of each serving-engine instance, key {@code host NUL instance} ({@link
   * EngineLast}).
   */
  public static final String ENGINE_LAST_STORE = "engine-last-sample";

  public static final String PRICE_TABLE = "price-updates-table";

  private final StreamsSettings settings;
  private final StreamsLimits limits;
  private final StreamsCounters counters;
  private final Clock clock;
  private final long alertSizeMs;
  private ProcessorContext<String, Object> context;
  private WindowTable<HostWindow> table;
  private KeyValueStore<String, byte[]> deviceLast;
  private KeyValueStore<String, byte[]> hostSeenStore;
  private RuleStates alertStates;
  private WindowEnergy windowEnergy;

  private final Map<String, HostSeen> hostSeen = new HashMap<>();
  private boolean hostSeenLoaded;
  private KeyValueStore<String, byte[]> engineLastStore;

  /** host -> engine instance -> last sample; loaded from the store once per task start. */
  private final Map<String, Map<String, EngineLast>> engineLast = new HashMap<>();

  private int engineLastCount;
  private boolean engineLastLoaded;

  public EnergyProcessor(StreamsSettings settings, StreamsCounters counters, Clock clock) {
    this.settings = settings;
    this.limits = StreamsLimits.of(settings);
    this.counters = counters;
    this.clock = clock;
    this.alertSizeMs = settings.windowSizes().get(0).toMillis();
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    List<Long> sizes = settings.windowSizesMs();
    table =
        new WindowTable<>(
            context.getStateStore(WINDOW_STORE),
            context.getStateStore(META_STORE),
            settings.grace().toMillis() + settings.energyDelay().toMillis(),
            settings.allowedLateness().toMillis(),
            sizes,
            Integer.MAX_VALUE,
            counters);
    deviceLast = context.getStateStore(DEVICE_LAST_STORE);
    hostSeenStore = context.getStateStore(HOST_SEEN_STORE);
    engineLastStore = context.getStateStore(ENGINE_LAST_STORE);
    engineLast.clear();
    engineLastCount = 0;
    engineLastLoaded = false;
    alertStates = new RuleStates(context.getStateStore(ALERT_STORE), limits, counters);
    windowEnergy =
        new WindowEnergy(
            settings,
            settings.priceUpdatesEnabled() ? context.getStateStore(PRICE_TABLE) : null,
            settings.carbonUpdatesEnabled() ? context.getStateStore(CarbonHistory.STORE) : null);
    hostSeen.clear();
    hostSeenLoaded = false;
    deviceIndex.clear();
    deviceIndexLoaded = false;
    startedMs = context.currentSystemTimeMs();
    context.schedule(
        settings.alerts().hostSilentCheck, PunctuationType.WALL_CLOCK_TIME, this::checkSilentHosts);
    context.schedule(limits.evictionInterval(), PunctuationType.WALL_CLOCK_TIME, this::evict);
    if (table.allowedLatenessMs() > 0) {
      context.schedule(
          settings.correctionInterval(), PunctuationType.WALL_CLOCK_TIME, now -> emitCorrections());
    }
  }

  /**
   * Forgets device last samples and hardware rule states idle for state.inactive.expiry (wall
   * clock).
   */
  private void evict(long nowMs) {
    long t0 = System.nanoTime();
    try {
      loadDeviceIndex(nowMs);
      long cutoff = nowMs - limits.inactiveExpiry().toMillis();
      java.util.Iterator<Map.Entry<String, Long>> it = deviceIndex.entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<String, Long> e = it.next();
        if (e.getValue() > cutoff) {
          break; // access order: every later device was seen more recently
        }
        deviceLast.delete(e.getKey());
        it.remove();
        counters.stateEvicted.increment();
      }
      evictEngines(cutoff);
      List<Alert> out = new ArrayList<>(0);
      alertStates.evict(out, nowMs);
      for (Alert a : out) {
        context.forward(new Record<>(a.getDedupKey(), a, nowMs));
      }
    } finally {
      counters.punctuationNanos.add(System.nanoTime() - t0);
    }
  }

  /**
   * device key -> last sample (wall clock, ms), least recently seen first; rebuilt from the store
   * per task start.
   */
  private final LinkedHashMap<String, Long> deviceIndex = new LinkedHashMap<>(16, 0.75f, true);

  private boolean deviceIndexLoaded;

  private void loadDeviceIndex(long nowMs) {
    if (deviceIndexLoaded) {
      return;
    }
    List<Map.Entry<String, Long>> all = new ArrayList<>();
    try (KeyValueIterator<String, byte[]> it = deviceLast.all()) {
      while (it.hasNext()) {
        KeyValue<String, byte[]> kv = it.next();
        DeviceLast d = DeviceLast.read(kv.value);
        all.add(Map.entry(kv.key, d.touchedMs() > 0 ? d.touchedMs() : nowMs));
      }
    }
    all.sort(Map.Entry.comparingByValue());
    all.forEach(e -> deviceIndex.put(e.getKey(), e.getValue()));
    deviceIndexLoaded = true;
  }

  @Override
  public void process(Record<String, EnergyInput> record) {
    EnergyInput in = record.value();
    if (in == null) {
      return;
    }
    if (in.sample() != null) {
      processSample(record, in.sample());
    } else if (in.usage() != null) {
      processUsage(record, in.usage());
    } else if (in.engine() != null) {
      processEngine(record, in.engine());
    }
  }

  // ---- serving-engine state ----

  private void loadEngineLast() {
    if (engineLastLoaded) {
      return;
    }
    try (KeyValueIterator<String, byte[]> it = engineLastStore.all()) {
      while (it.hasNext()) {
        KeyValue<String, byte[]> kv = it.next();
        int sep = kv.key.indexOf('\u0000');
        engineLast
            .computeIfAbsent(kv.key.substring(0, sep), h -> new HashMap<>())
            .put(kv.key.substring(sep + 1), EngineLast.read(kv.value));
        engineLastCount++;
      }
    }
    engineLastLoaded = true;
  }

  /** The last sample of each engine instance of {@code host} (live map; empty when none). */
  private Map<String, EngineLast> engineLasts(String host) {
    loadEngineLast();
    return engineLast.getOrDefault(host, Map.of());
  }

  /** Forgets engine instances not heard from since {@code cutoffMs} (wall clock). */
  private void evictEngines(long cutoffMs) {
    loadEngineLast();
    for (java.util.Iterator<Map.Entry<String, Map<String, EngineLast>>> h =
            engineLast.entrySet().iterator();
        h.hasNext(); ) {
      Map.Entry<String, Map<String, EngineLast>> host = h.next();
      for (java.util.Iterator<Map.Entry<String, EngineLast>> it =
              host.getValue().entrySet().iterator();
          it.hasNext(); ) {
        Map.Entry<String, EngineLast> e = it.next();
        if (e.getValue().touchedMs() <= cutoffMs) {
          engineLastStore.delete(host.getKey() + '\u0000' + e.getKey());
          it.remove();
          engineLastCount--;
          counters.stateEvicted.increment();
        }
      }
      if (host.getValue().isEmpty()) {
        h.remove();
      }
    }
  }

  /**
   * An engine sample goes into every window size it falls in (per instance: KV-cache usage, the
   * waiting queue's start and end, preemptions from the counter's delta to the instance's previous
   * sample), like a hardware sample: late within the allowed lateness corrects a closed window,
   * later is dead-lettered.
   */
  private void processEngine(Record<String, EnergyInput> record, EngineSample s) {
    seen(s.getHost(), s.getCluster(), s.getRegion(), record);
    long t = s.getTimestampUs();
    long tMs = t / 1000;
    Map<String, EngineLast> lasts = engineLasts(s.getHost());
    EngineLast prev = lasts.get(s.getInstance());
    boolean ordered = prev == null || t > prev.tsUs();
    StringBuilder late = null;
    boolean corrected = false;
    for (long size : table.sizes()) {
      long start = Math.floorDiv(tMs, size) * size;
      if (table.isTooLate(start + size)) {
        late =
            (late == null ? new StringBuilder() : late.append(", "))
                .append(size)
                .append(" ms window");
        continue;
      }
      corrected |= table.isLate(start + size);
      HostWindow w = window(s.getHost(), start, size);
      w.cluster = s.getCluster();
      w.region = s.getRegion();
      EngineAcc a = w.engine(s.getInstance(), limits.devicesPerWindow());
      if (a == null) {
        counters.mapEntriesFolded
            .increment(); // past the per-window cap: this instance is left out of the window
        continue;
      }
      a.add(s, ordered ? prev : null, start * 1000, size * 1000);
    }
    if (ordered) {
      if (prev == null && engineLastCount >= limits.maxKeysPerTask()) {
        counters.stateKeysRefused.increment(); // judged without its previous sample: no deltas
      } else {
        EngineLast next = EngineLast.of(s, context.currentSystemTimeMs());
        engineLast.computeIfAbsent(s.getHost(), h -> new HashMap<>()).put(s.getInstance(), next);
        engineLastStore.put(s.getHost() + '\u0000' + s.getInstance(), next.toBytes());
        if (prev == null) {
          engineLastCount++;
        }
      }
    }
    if (corrected) {
      counters.lateCorrected.increment();
    }
    if (late != null) {
      counters.lateRecords.increment();
      deadLetter(
          record,
          "late",
          "engine sample at "
              + tMs
              + " ms is past window end + grace + energy delay + "
              + "allowed lateness at stream time "
              + table.streamTime()
              + " ms for "
              + late);
    }
    advance(tMs);
  }

  /**
   * The engine instances of a window: its own samples, and recent last samples of instances silent
   * in it.
   */
  private List<EngineSignals.View> engineViews(HostWindow w) {
    return EngineSignals.views(
        w.engines,
        engineLasts(w.host),
        (w.startMs + w.sizeMs) * 1000,
        settings.alerts().engineStateMaxAge.toMillis() * 1000);
  }

  static AggKey hostKey(String host) {
    return new AggKey(AggKey.HOST_SCOPE, "", "", host, "", "", "");
  }

  private void processUsage(Record<String, EnergyInput> record, HostUsage u) {
    if (u.windowSizeMs() == alertSizeMs) {
      // Only the smallest window's usage says the host was heard from recently: a 1 min window
      // closes up to a minute
      // after its requests and would keep a host that went dark looking alive.
      seen(u.host(), u.cluster(), u.region(), record);
    }
    long end = u.windowStartMs() + u.windowSizeMs();
    if (!table.sizes().contains(u.windowSizeMs())) {
      return;
    }
    if (table.isTooLate(end)) {
      counters.lateRecords.increment();
      deadLetter(
          record,
          "late-usage",
          "request usage of host "
              + u.host()
              + " window ["
              + u.windowStartMs()
              + ", "
              + end
              + ") ms arrived after the energy window closed and its allowed lateness ("
              + table.allowedLatenessMs()
              + " ms) passed (stream time "
              + table.streamTime()
              + " ms)");
      return;
    }
    boolean late = table.isLate(end);
    window(u.host(), u.windowStartMs(), u.windowSizeMs()).addUsage(u);
    addEarlierInFlight(u);
    if (late) {
      counters.lateCorrected.increment();
      return;
    }
    advance(end);
  }

  /**
   * Adds the in-flight time of {@code u}'s requests in the windows before {@code u}'s own (requests
   * that began before it): each part into its energy window of the same size, as a correction when
   * that window has closed; a part past the allowed lateness is dropped and counted.
   */
  private void addEarlierInFlight(HostUsage u) {
    String modelKey = u.model() + '\u0000' + u.modelVersion();
    long size = u.windowSizeMs();
    for (Map.Entry<String, Occupancy> d : u.occupancy().entrySet()) {
      for (Map.Entry<Long, Occupancy.Part> p :
          d.getValue().parts.headMap(u.windowStartMs(), false).entrySet()) {
        long start = p.getKey();
        if (table.isTooLate(start + size)) {
          counters.inFlightDropped.increment();
          continue;
        }
        HostWindow w = window(u.host(), start, size);
        w.cluster = u.cluster();
        w.region = u.region();
        w.addInFlight(modelKey, d.getKey(), p.getValue());
      }
    }
  }

  /**
   * The host's window at ({@code startMs}, {@code sizeMs}): the open one (created when missing),
   * or, when it has closed within the allowed lateness, its retained state registered for a
   * corrected re-emit. Callers check {@link WindowTable#isTooLate} first.
   */
  private HostWindow window(String host, long startMs, long sizeMs) {
    return table.isLate(startMs + sizeMs)
        ? table.correct(hostKey(host), startMs, sizeMs, EnergyProcessor::newWindow, false).full()
        : table.getOrCreate(hostKey(host), k -> null, startMs, sizeMs, EnergyProcessor::newWindow);
  }

  private static HostWindow newWindow(AggKey k, long startMs, long sizeMs) {
    return new HostWindow(k.host(), startMs, sizeMs);
  }

  private void advance(long eventTimeMs) {
    List<HostWindow> closed =
        table.advance(
            FutureClamp.clockTime(
                eventTimeMs, clock.millis(), settings.maxFuture().toMillis(), counters));
    if (!closed.isEmpty()) {
      emitCorrections();
      emit(closed);
    }
  }

  /**
   * Re-emits the energy, attribution and bottleneck of the windows late usage or samples changed
   * (same record keys: the sink keeps the newest); hardware alerts are not evaluated again.
   */
  private void emitCorrections() {
    if (table.pendingCorrections() == 0) {
      return;
    }
    for (WindowTable.Correction<HostWindow> c : table.drainCorrections()) {
      counters.correctionsEmitted.increment();
      emitWindow(c.full());
    }
  }

  private void processSample(Record<String, EnergyInput> record, HardwareSample s) {
    seen(s.getHost(), s.getCluster(), s.getRegion(), record);
    long t = s.getTimestampUs();
    long tMs = t / 1000;
    String devKey = s.getHost() + '/' + s.getDeviceId();
    long nowMs = context.currentSystemTimeMs();
    loadDeviceIndex(nowMs);
    boolean tracked = deviceIndex.get(devKey) != null;
    if (!tracked && deviceIndex.size() >= limits.maxKeysPerTask()) {
      counters.stateKeysRefused
          .increment(); // sampled without the previous sample: no delta, no trapezoid
    }
    DeviceLast last = tracked ? DeviceLast.read(deviceLast.get(devKey)) : null;
    boolean ordered = last == null || t > last.tsUs;
    Long deltaMj = null;
    boolean reset = false;
    double trapezoidJ = Double.NaN;
    if (ordered && last != null) {
      if (s.getEnergyMj() != null && last.energyMj != Long.MIN_VALUE) {
        long d = s.getEnergyMj() - last.energyMj;
        if (d < 0) {
          // the counter restarted (driver reload; a collector restart for RAPL totals): its value
          // is the energy since the restart, the part before it is unknown
          reset = true;
          counters.counterResets.increment();
          deltaMj = s.getEnergyMj() >= 0 ? s.getEnergyMj() : null;
        } else {
          deltaMj = d;
        }
      }
      if (s.getPowerW() != null && !Double.isNaN(last.powerW)) {
        trapezoidJ = (s.getPowerW() + last.powerW) / 2.0 * (t - last.tsUs) / 1e6;
      }
    }
    // A long interval (a sampling gap) is spread over the windows it spans by time, instead of
    // landing in the later sample's window as a spike.
    long gapFromUs =
        ordered && last != null && t - last.tsUs > settings.energyGapSpread().toNanos() / 1000
            ? last.tsUs
            : -1;
    if (gapFromUs >= 0 && (deltaMj != null || !Double.isNaN(trapezoidJ))) {
      counters.energyGapsSpread.increment();
    }
    // only the counted reasons (thermal, power brake, HW slowdown by default) start or extend a
    // throttle run: an idle GPU (0x1) or pinned application clocks (0x2) are not throttled
    long reasons =
        s.getThrottleReasons() == null
            ? 0
            : s.getThrottleReasons() & settings.alerts().throttleReasonsMask;
    long throttleSince = -1;
    long runUs = 0;
    if (reasons != 0) {
      throttleSince = last != null && last.throttleSinceUs >= 0 ? last.throttleSinceUs : t;
      runUs = t - throttleSince;
    }
    StringBuilder late = null;
    boolean corrected = false;
    for (long size : table.sizes()) {
      long start = Math.floorDiv(tMs, size) * size;
      if (table.isTooLate(start + size)) {
        late =
            (late == null ? new StringBuilder() : late.append(", "))
                .append(size)
                .append(" ms window");
        continue;
      }
      corrected |= table.isLate(start + size);
      HostWindow w = window(s.getHost(), start, size);
      HostWindow.DeviceAcc d = device(w, s);
      d.samples++;
      if (gapFromUs >= 0) {
        spreadGap(s, gapFromUs, t, deltaMj, trapezoidJ, start, size, d);
      } else {
        if (deltaMj != null) {
          d.counterDeltaMj += deltaMj;
          d.counterDeltas++;
        }
        if (!Double.isNaN(trapezoidJ)) {
          d.powerIntegralJ += trapezoidJ;
          d.powerIntervals++;
        }
        if (deltaMj != null || !Double.isNaN(trapezoidJ)) {
          d.coveredUs += t - last.tsUs;
        }
      }
      if (reset) {
        d.resets++;
      }
      if (s.getUtilizationPct() != null) {
        d.utilSum += s.getUtilizationPct();
        d.utilN++;
      }
      if (s.getMemoryUtilizationPct() != null) {
        d.memUtilSum += s.getMemoryUtilizationPct();
        d.memUtilN++;
      }
      if (s.getMemoryUsedBytes() != null) {
        d.memUsedMax = Math.max(d.memUsedMax, s.getMemoryUsedBytes());
        if (t >= d.memUsedLastTs) {
          d.memUsedLast = s.getMemoryUsedBytes();
          d.memUsedLastTs = t;
        }
      }
      if (s.getMemoryTotalBytes() != null) {
        d.memTotal = s.getMemoryTotalBytes();
      }
      if (runUs > d.throttleRunMaxUs) {
        d.throttleRunMaxUs = runUs;
      }
      d.throttleReasons |= reasons;
      if (s.getPcieRxBytesPerSec() != null || s.getPcieTxBytesPerSec() != null) {
        d.pcieSum +=
            (s.getPcieRxBytesPerSec() == null ? 0 : s.getPcieRxBytesPerSec())
                + (s.getPcieTxBytesPerSec() == null ? 0 : s.getPcieTxBytesPerSec());
        d.pcieN++;
      }
    }
    if (ordered && (tracked || deviceIndex.size() < limits.maxKeysPerTask())) {
      DeviceLast next =
          new DeviceLast(
              t,
              s.getEnergyMj() != null ? s.getEnergyMj() : Long.MIN_VALUE,
              s.getPowerW() != null ? s.getPowerW() : Double.NaN,
              throttleSince,
              nowMs);
      deviceLast.put(devKey, next.toBytes());
      deviceIndex.put(devKey, nowMs);
    } else if (tracked) {
      deviceIndex.put(devKey, nowMs);
    }
    if (corrected) {
      counters.lateCorrected.increment();
    }
    if (late != null) {
      counters.lateRecords.increment();
      deadLetter(
          record,
          "late",
          "hardware sample at "
              + tMs
              + " ms is past window end + grace + energy delay + "
              + "allowed lateness at stream time "
              + table.streamTime()
              + " ms for "
              + late);
    }
    advance(tMs);
  }

  /**
   * The sample's device in window {@code w}, described by the sample (kind, GPU type, source, pod);
   * past the per-window device cap the shared fold entry, which is neither priced nor a GPU.
   */
  private HostWindow.DeviceAcc device(HostWindow w, HardwareSample s) {
    w.cluster = s.getCluster();
    w.region = s.getRegion();
    boolean[] folded = {false};
    HostWindow.DeviceAcc d = w.device(s.getDeviceId(), limits.devicesPerWindow(), folded);
    if (folded[0]) {
      counters.mapEntriesFolded.increment();
      d.kind = "OTHER";
      d.gpuType = "";
    } else {
      d.kind = s.getDeviceKind().name();
      d.gpuType = s.getGpuType() == null ? "" : s.getGpuType();
    }
    d.source = s.getSource();
    if (s.getPod() != null) {
      d.pod = s.getPod();
    }
    if (!folded[0] && s.getDeviceKind() == DeviceKind.MIG) {
      String parent = s.getParentDeviceId();
      Integer slices = s.getMigSlices();
      Integer total = s.getMigSlicesTotal();
      d.parent = parent == null || parent.equals(s.getDeviceId()) ? "" : parent;
      // a profile the collector could not read, or an absurd one, leaves the share unknown
      boolean valid =
          slices != null && total != null && slices >= 1 && slices <= total && total <= 8;
      d.migSlices = valid ? slices : 0;
      d.migSlicesTotal = valid ? total : 0;
    }
    return d;
  }

  /**
   * Books the energy of the interval (fromUs, toUs] of one device over the windows of {@code
   * sizeMs} it overlaps, by time: {@code current} (the window of the later sample, starting at
   * {@code currentStartMs}) takes its part, each earlier window its own (created if it has no
   * state; corrected if closed; past the allowed lateness the part is dropped and counted). Counter
   * millijoules are split so the parts add up to the delta exactly.
   */
  private void spreadGap(
      HardwareSample s,
      long fromUs,
      long toUs,
      Long deltaMj,
      double trapezoidJ,
      long currentStartMs,
      long sizeMs,
      HostWindow.DeviceAcc current) {
    long lenUs = toUs - fromUs;
    for (long ws = Math.floorDiv(fromUs / 1000, sizeMs) * sizeMs;
        ws <= currentStartMs;
        ws += sizeMs) {
      long a = Math.max(fromUs, ws * 1000) - fromUs;
      long b = Math.min(toUs, (ws + sizeMs) * 1000) - fromUs;
      if (b <= a) {
        continue;
      }
      HostWindow.DeviceAcc d = current;
      if (ws != currentStartMs) {
        if (table.isTooLate(ws + sizeMs)) {
          counters.energyGapPartsDropped.increment();
          continue;
        }
        d = device(window(s.getHost(), ws, sizeMs), s);
      }
      if (deltaMj != null) {
        d.counterDeltaMj += upTo(deltaMj, b, lenUs) - upTo(deltaMj, a, lenUs);
        d.counterDeltas++;
      }
      if (!Double.isNaN(trapezoidJ)) {
        d.powerIntegralJ += trapezoidJ * (b - a) / lenUs;
        d.powerIntervals++;
      }
      if (deltaMj != null || !Double.isNaN(trapezoidJ)) {
        d.coveredUs += b - a;
      }
    }
  }

  /** floor(total x part / whole), exactly total at part == whole: parts by differences add up. */
  static long upTo(long total, long part, long whole) {
    return part >= whole ? total : (long) Math.floor(total * ((double) part / whole));
  }

  /** Energy, attribution and bottleneck of one window (also of a corrected one). */
  private void emitWindow(HostWindow w) {
    long endMs = w.startMs + w.sizeMs;
    for (DeviceWindowEnergy e : windowEnergy.energy(w)) {
      context.forward(
          new Record<>(
              w.host + '/' + e.getDeviceId() + '/' + w.sizeMs + '/' + w.startMs, e, endMs));
    }
    context.forward(new Record<>(w.host + '/' + w.sizeMs + '/' + w.startMs, bottleneck(w), endMs));
  }

  private void emit(List<HostWindow> closed) {
    for (HostWindow w : closed) {
      long endMs = w.startMs + w.sizeMs;
      emitWindow(w);
      if (w.sizeMs == alertSizeMs) {
        for (Alert a : hardwareAlerts(w)) {
          context.forward(new Record<>(a.getDedupKey(), a, endMs));
        }
      }
    }
  }

  Bottleneck bottleneck(HostWindow w) {
    double gpu = 0;
    int gpuN = 0;
    double mem = 0;
    int memN = 0;
    double cpu = 0;
    int cpuN = 0;
    double pcie = 0;
    for (HostWindow.DeviceAcc d : w.devices.values()) {
      if (d.isGpu()) {
        if (d.utilN > 0) {
          gpu += d.utilMean();
          gpuN++;
        }
        if (d.memUtilN > 0) {
          mem += d.memUtilMean();
          memN++;
        }
        if (d.pcieN > 0) {
          pcie += d.pcieSum / d.pcieN;
        }
      } else if ((d.kind.equals("CPU_PACKAGE") || d.kind.equals("HOST")) && d.utilN > 0) {
        cpu += d.utilMean();
        cpuN++;
      }
    }
    double queueShare = w.e2eSumUs == 0 ? Double.NaN : 100.0 * w.queueSumUs / w.e2eSumUs;
    EngineSignals.HostEngines eng = EngineSignals.host(engineViews(w));
    BottleneckClassifier.Result r =
        BottleneckClassifier.classify(
            gpuN == 0 ? Double.NaN : gpu / gpuN,
            memN == 0 ? Double.NaN : mem / memN,
            cpuN == 0 ? Double.NaN : cpu / cpuN,
            queueShare,
            pcie,
            w.requests / (w.sizeMs / 1000.0),
            w.requests,
            new BottleneckClassifier.Engine(
                eng.kvUsageMaxPct(), eng.preemptions(), eng.waitingStart(), eng.waitingEnd()));
    return Bottleneck.newBuilder()
        .setWindowStartUs(w.startMs * 1000)
        .setWindowEndUs((w.startMs + w.sizeMs) * 1000)
        .setCluster(w.cluster)
        .setRegion(w.region)
        .setHost(w.host)
        .setLabel(r.label())
        .setReason(r.reason())
        .setInputs(new LinkedHashMap<>(r.inputs()))
        .build();
  }

  private List<Alert> hardwareAlerts(HostWindow w) {
    List<Alert> out = new ArrayList<>(0);
    long startUs = w.startMs * 1000;
    long endUs = (w.startMs + w.sizeMs) * 1000;
    List<EngineSignals.View> engines = engineViews(w);
    Set<String> pods = new TreeSet<>();
    w.devices
        .values()
        .forEach(
            d -> {
              if (d.isGpu() && !d.pod.isEmpty()) {
                pods.add(d.pod);
              }
            });
    for (Map.Entry<String, HostWindow.DeviceAcc> e : w.devices.entrySet()) {
      HostWindow.DeviceAcc d = e.getValue();
      if (!d.isGpu()) {
        continue;
      }
      String key = w.host + '/' + e.getKey();
      Alerts.Subject subject = new Alerts.Subject(key, w.cluster, w.region, w.host, "", e.getKey());
      // Where the GPU's engine reports KV-cache usage, that is its memory pressure: the engine
      // pre-allocates the
      // device memory (vLLM 90 % by default), so device memory alone would always be "high".
      EngineSignals.View kv =
          engines.isEmpty() ? null : EngineSignals.coveringEngine(d.pod, pods, engines);
      if (kv != null) {
        apply(
            out,
            AlertRules.GPU_MEMORY_HIGH,
            key,
            s ->
                AlertRules.kvCacheHigh(
                    s,
                    w.startMs + w.sizeMs,
                    kv.kvUsagePct(),
                    kv.preemptions(),
                    kv.engine(),
                    kv.instance(),
                    d.memUsedMax,
                    d.memTotal,
                    settings.alerts()),
            subject,
            startUs,
            endUs);
      } else if (d.memTotal > 0 && d.memUsedMax >= 0) {
        apply(
            out,
            AlertRules.GPU_MEMORY_HIGH,
            key,
            s ->
                AlertRules.gpuMemoryHigh(
                    s, d.memUsedMax, d.memTotal, w.startMs + w.sizeMs, settings.alerts()),
            subject,
            startUs,
            endUs);
      }
      apply(
          out,
          AlertRules.THROTTLING,
          key,
          s ->
              AlertRules.throttling(
                  s, d.throttleRunMaxUs / 1e6, d.throttleReasons, settings.alerts()),
          subject,
          startUs,
          endUs);
      if (d.memUsedLast >= 0) {
        double load = d.utilMean(); // NaN: unknown
        apply(
            out,
            AlertRules.MEMORY_LEAK,
            key,
            s ->
                AlertRules.memoryLeak(
                    s, w.startMs + w.sizeMs, d.memUsedLast, load, settings.alerts()),
            subject,
            startUs,
            endUs);
      }
    }
    return out;
  }

  private void apply(
      List<Alert> out,
      String rule,
      String key,
      java.util.function.Function<RuleState, AlertRules.Decision> eval,
      Alerts.Subject subject,
      long startUs,
      long endUs) {
    alertStates.evaluate(
        out, rule, key, eval, subject, startUs, endUs, context.currentSystemTimeMs());
  }

  // ---- host silence ----

  private void loadHostSeen() {
    if (hostSeenLoaded) {
      return;
    }
    try (KeyValueIterator<String, byte[]> it = hostSeenStore.all()) {
      while (it.hasNext()) {
        KeyValue<String, byte[]> kv = it.next();
        hostSeen.put(kv.key, HostSeen.read(kv.value));
      }
    }
    hostSeenLoaded = true;
  }

  /** Wall-clock time this task was (re)initialized, ms. */
  private long startedMs;

  private void seen(
      String host, String cluster, String region, Record<String, EnergyInput> record) {
    loadHostSeen();
    long now = context.currentSystemTimeMs();
    HostSeen h = hostSeen.get(host);
    boolean write = false;
    if (h == null && hostSeen.size() >= limits.maxKeysPerTask()) {
      counters.stateKeysRefused.increment(); // not watched for silence
      return;
    }
    if (h == null) {
      h = new HostSeen(now, cluster, region, new RuleState());
      hostSeen.put(host, h);
      write = true;
    } else {
      if (now - h.lastSeenMs >= 1000) {
        write = true;
      }
      h.lastSeenMs = now;
    }
    if (h.rule.firing) {
      double silentS = 0;
      AlertRules.Decision d = AlertRules.hostSilent(silentS, settings.alerts());
      AlertState t = AlertRules.transition(h.rule, false, now * 1000);
      if (t != null) {
        Alert a =
            Alerts.build(
                d,
                t,
                h.rule,
                new Alerts.Subject(host, h.cluster, h.region, host, "", ""),
                now * 1000,
                now * 1000,
                now * 1000);
        context.forward(new Record<>(a.getDedupKey(), a, record.timestamp()));
      }
      write = true;
    }
    if (write) {
      hostSeenStore.put(host, h.toBytes());
    }
  }

  private void checkSilentHosts(long nowMs) {
    if (nowMs - startedMs < settings.alerts().hostSilent.toMillis()) {
      // Just (re)started: every known host looks silent for as long as this task was not running.
      // Give each the
      // same chance to be heard as a host that just went quiet before judging it.
      return;
    }
    long t0 = System.nanoTime();
    try {
      loadHostSeen();
      long expiryMs = limits.inactiveExpiry().toMillis();
      java.util.Iterator<Map.Entry<String, HostSeen>> it = hostSeen.entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<String, HostSeen> e = it.next();
        HostSeen h = e.getValue();
        if (nowMs - h.lastSeenMs > expiryMs) {
          // decommissioned (or renamed): resolve its host_silent alert as stale and forget it
          if (h.rule.firing) {
            Alert a =
                RuleStates.stale(
                    AlertRules.HOST_SILENT,
                    h.rule,
                    new Alerts.Subject(e.getKey(), h.cluster, h.region, e.getKey(), "", ""),
                    h.lastSeenMs,
                    nowMs,
                    limits);
            context.forward(new Record<>(a.getDedupKey(), a, nowMs));
          }
          hostSeenStore.delete(e.getKey());
          it.remove();
          counters.stateEvicted.increment();
          continue;
        }
        double silentS = (nowMs - h.lastSeenMs) / 1000.0;
        AlertRules.Decision d = AlertRules.hostSilent(silentS, settings.alerts());
        if (d.condition() && !h.rule.firing) {
          AlertState t = AlertRules.transition(h.rule, true, nowMs * 1000);
          Alert a =
              Alerts.build(
                  d,
                  t,
                  h.rule,
                  new Alerts.Subject(e.getKey(), h.cluster, h.region, e.getKey(), "", ""),
                  h.lastSeenMs * 1000,
                  nowMs * 1000,
                  nowMs * 1000);
          context.forward(new Record<>(a.getDedupKey(), a, nowMs));
          hostSeenStore.put(e.getKey(), h.toBytes());
        }
      }
    } finally {
      counters.punctuationNanos.add(System.nanoTime() - t0);
    }
  }

  private void deadLetter(Record<String, EnergyInput> record, String reason, String message) {
    byte[] payload = EnergyInput.serde().serializer().serialize(null, record.value());
    DeadLetters.forward(context, counters, limits, clock, record, null, reason, message, payload);
  }

  /**
   * The previous sample of a device: time (us), energy counter (mJ, MIN_VALUE when absent), power
   * (W, NaN), when its throttling run started (us, -1: none) and when this entry was written (wall
   * clock, ms; 0: unknown). Format: {@link Codec#FORMAT_MARK}, version 2, five 8-byte fields; the
   * 32-byte layout before it (no mark, no write time) is still read.
   */
  public record DeviceLast(
      long tsUs, long energyMj, double powerW, long throttleSinceUs, long touchedMs) {
    static final int VERSION = 2;
    private static final int LEGACY_SIZE = 32;

    public byte[] toBytes() {
      return ByteBuffer.allocate(42)
          .put((byte) Codec.FORMAT_MARK)
          .put((byte) VERSION)
          .putLong(tsUs)
          .putLong(energyMj)
          .putDouble(powerW)
          .putLong(throttleSinceUs)
          .putLong(touchedMs)
          .array();
    }

    public static DeviceLast read(byte[] b) {
      if (b == null) {
        return null;
      }
      ByteBuffer buf = ByteBuffer.wrap(b);
      if (b.length == LEGACY_SIZE) {
        return new DeviceLast(buf.getLong(), buf.getLong(), buf.getDouble(), buf.getLong(), 0);
      }
      if (b.length != 42 || (b[0] & 0xFF) != Codec.FORMAT_MARK || b[1] != VERSION) {
        throw new IllegalArgumentException(
            "corrupt device last sample: " + b.length + " bytes, unknown format");
      }
      buf.position(2);
      return new DeviceLast(
          buf.getLong(), buf.getLong(), buf.getDouble(), buf.getLong(), buf.getLong());
    }
  }

  /** Last time (wall clock, ms) a host was heard from, and its silence rule state. */
  public static final class HostSeen {
    public long lastSeenMs;
    public final String cluster;
    public final String region;
    public final RuleState rule;

    public HostSeen(long lastSeenMs, String cluster, String region, RuleState rule) {
      this.lastSeenMs = lastSeenMs;
      this.cluster = cluster;
      this.region = region;
      this.rule = rule;
    }

    /**
     * Format version after {@link Codec#FORMAT_MARK}: 2 has varint strings; without the mark,
     * version 1.
     */
    static final int VERSION = 2;

    public byte[] toBytes() {
      byte[] r = rule.toBytes();
      return Codec.encode(
          out -> {
            Codec.writeHeader(out, VERSION);
            out.writeLong(lastSeenMs);
            Codec.writeString(out, cluster);
            Codec.writeString(out, region);
            out.writeInt(r.length);
            out.write(r);
          });
    }

    public static HostSeen read(byte[] b) {
      return Codec.decode(
          b,
          "host-last-seen entry",
          in -> {
            int version = 1;
            if (Codec.hasHeader(b)) {
              in.readUnsignedByte();
              version = in.readUnsignedByte();
              if (version != VERSION) {
                throw new java.io.IOException("unknown host-last-seen version " + version);
              }
            }
            long t = in.readLong();
            String c = Codec.readString(in, version, 2);
            String r = Codec.readString(in, version, 2);
            byte[] rb = new byte[in.readInt()];
            in.readFully(rb);
            return new HostSeen(t, c, r, RuleState.fromBytes(rb));
          });
    }
  }
}
