package io.infermeter.streams.energy;

import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EnergyMethod;
import io.infermeter.avro.ModelAttribution;
import io.infermeter.avro.PriceUpdate;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.windows.Occupancy;
import io.infermeter.streams.windows.RequestAccumulator;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ValueAndTimestamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The energy, cost and carbon of one closed host window, per device, attributed to models: which
 * requests kept which device busy ({@link #busyByDevice}, {@link #busySlotsByDevice}), what each
 * device measured (its own samples, or its share of its parent GPU for a MIG instance, {@link
 * MigShares}), its price (table or price topic, by whole-word GPU type) and the window's carbon
 * intensity ({@link CarbonHistory}), split by {@link EnergyAttribution}. One per energy task; not
 * thread-safe (it remembers which GPU types it warned about).
 */
final class WindowEnergy {

  private static final Logger LOG = LoggerFactory.getLogger(WindowEnergy.class);

  private final StreamsSettings settings;

  /** The price topic's table, or null when the topic is off. */
  private final KeyValueStore<String, ValueAndTimestamp<PriceUpdate>> prices;

  /** The carbon-intensity series, or null when the topic is off. */
  private final KeyValueStore<String, byte[]> intensities;

  /** GPU types already warned about (default price, foreign currency), so each is said once. */
  private final Set<String> pricesWarned = new HashSet<>();

  WindowEnergy(
      StreamsSettings settings,
      KeyValueStore<String, ValueAndTimestamp<PriceUpdate>> prices,
      KeyValueStore<String, byte[]> intensities) {
    this.settings = settings;
    this.prices = prices;
    this.intensities = intensities;
  }

  /**
   * In-flight request time, requests and output tokens of each (model key) on each GPU device, and
   * the in-flight request time on each CPU package and DRAM device ({@link #hostWide}). Requests
   * without a device id but with a pod ({@link RequestAccumulator#POD_DEVICE_PREFIX}) are split
   * evenly over the GPUs that pod holds (dcgm-exporter's pod label); host-level requests, and those
   * of a pod no GPU names, are split evenly over all the host's GPUs.
   */
  static Map<String, Map<String, long[]>> busyByDevice(HostWindow w) {
    List<String> gpus = new ArrayList<>();
    w.devices.forEach(
        (id, d) -> {
          if (d.isGpu()) {
            gpus.add(id);
          }
        });
    List<String> splitGpus = splitTargets(w, gpus);
    Map<String, Map<String, long[]>> out = new TreeMap<>();
    hostWide(w, out);
    for (String g : gpus) {
      out.put(g, new TreeMap<>());
    }
    if (gpus.isEmpty()) {
      return out;
    }
    w.usage.forEach(
        (model, byDevice) ->
            byDevice.forEach(
                (dev, v) -> {
                  if (out.containsKey(dev)) {
                    add(out.get(dev).computeIfAbsent(model, k -> new long[3]), v[0], v[1], v[2]);
                  } else {
                    List<String> targets = targets(w, splitGpus, dev);
                    int n = targets.size();
                    for (int i = 0; i < n; i++) {
                      // Even split; integer remainders go to the first devices so per-device sums
                      // equal the host totals.
                      add(
                          out.get(targets.get(i)).computeIfAbsent(model, k -> new long[3]),
                          share(v[0], n, i),
                          share(v[1], n, i),
                          share(v[2], n, i));
                    }
                  }
                }));
    return out;
  }

  /**
   * Whether a device serves every request of its host: a CPU package or DRAM (RAPL domains), which
   * tokenizes, schedules and holds the host side of every request whatever GPU runs it.
   */
  private static boolean hostWideDevice(HostWindow.DeviceAcc d) {
    return d.kind.equals("CPU_PACKAGE") || d.kind.equals("DRAM");
  }

  /**
   * The host-wide devices' usage: each model's in-flight request time on the host (all its usage
   * keys), with 0 requests and 0 tokens, so a model's requests and tokens are counted once, on its
   * GPUs, while its energy per token includes the CPU and DRAM share (CPU + RAM + GPU, as
   * CodeCarbon counts a workload).
   */
  private static void hostWide(HostWindow w, Map<String, Map<String, long[]>> out) {
    w.devices.forEach(
        (id, d) -> {
          if (!hostWideDevice(d)) {
            return;
          }
          Map<String, long[]> models = new TreeMap<>();
          w.usage.forEach(
              (model, byDevice) ->
                  byDevice.forEach(
                      (dev, v) ->
                          add(models.computeIfAbsent(model, k -> new long[3]), v[0], 0, 0)));
          out.put(id, models);
        });
  }

  /**
   * The GPUs a usage key that is not a GPU of the window stands for: a pod's GPUs (dcgm-exporter's
   * pod label), else all of the host's GPUs.
   */
  private static List<String> targets(HostWindow w, List<String> gpus, String dev) {
    if (dev.startsWith(RequestAccumulator.POD_DEVICE_PREFIX)) {
      String pod = dev.substring(RequestAccumulator.POD_DEVICE_PREFIX.length());
      List<String> held = new ArrayList<>();
      for (String g : gpus) {
        if (pod.equals(w.devices.get(g).pod)) {
          held.add(g);
        }
      }
      if (!held.isEmpty()) {
        return held;
      }
    }
    return gpus;
  }

  /**
   * The GPUs a request without a device id is split over: every GPU and MIG instance of the window
   * except a GPU whose MIG instances are in it (the instances run the requests; the parent keeps
   * only its free slices' energy, which a request never occupies).
   */
  static List<String> splitTargets(HostWindow w, List<String> gpus) {
    List<String> out = new ArrayList<>(gpus.size());
    for (String g : gpus) {
      boolean migParent = false;
      for (HostWindow.DeviceAcc d : w.devices.values()) {
        if (d.kind.equals("MIG") && d.parent.equals(g)) {
          migParent = true;
          break;
        }
      }
      if (!migParent) {
        out.add(g);
      }
    }
    return out.isEmpty() ? gpus : out;
  }

  /**
   * The busy slots of each GPU device: the OR of the occupancy of its own usage key and of every
   * usage key standing for it; of a CPU package or DRAM, the OR of all the host's usage keys (a
   * request that names no GPU occupies all the GPUs it is split over: a model served across a
   * host's or pod's GPUs, as with tensor parallelism, keeps all of them busy while it runs).
   */
  static Map<String, long[]> busySlotsByDevice(HostWindow w) {
    List<String> gpus = new ArrayList<>();
    w.devices.forEach(
        (id, d) -> {
          if (d.isGpu()) {
            gpus.add(id);
          }
        });
    Map<String, long[]> out = new TreeMap<>();
    w.devices.forEach(
        (id, d) -> {
          if (hostWideDevice(d)) {
            // busy while any request of the host is in flight
            w.occupancy.forEach(
                (dev, bits) ->
                    Occupancy.or(out.computeIfAbsent(id, k -> new long[bits.length]), bits));
          }
        });
    w.occupancy.forEach(
        (dev, bits) -> {
          List<String> targets =
              gpus.contains(dev)
                  ? List.of(dev)
                  : gpus.isEmpty() ? List.of() : targets(w, splitTargets(w, gpus), dev);
          for (String g : targets) {
            Occupancy.or(out.computeIfAbsent(g, k -> new long[bits.length]), bits);
          }
        });
    return out;
  }

  private static long share(long total, int n, int i) {
    return total / n + (i < total % n ? 1 : 0);
  }

  private static void add(long[] t, long a, long b, long c) {
    t[0] += a;
    t[1] += b;
    t[2] += c;
  }

  List<DeviceWindowEnergy> energy(HostWindow w) {
    long windowUs = w.sizeMs * 1000;
    long startUs = w.startMs * 1000;
    Map<String, Map<String, long[]>> busy = busyByDevice(w);
    Map<String, long[]> slots = busySlotsByDevice(w);
    CostCarbon.Intensity intensity =
        CarbonHistory.over(
            intensities,
            w.region,
            startUs,
            startUs + windowUs,
            CostCarbon.fallback(settings, w.region));
    Map<String, Double> migShares = MigShares.of(w);
    List<DeviceWindowEnergy> out = new ArrayList<>();
    for (Map.Entry<String, HostWindow.DeviceAcc> de : w.devices.entrySet()) {
      HostWindow.DeviceAcc d = de.getValue();
      Measured own = measured(d);
      double measuredJ = own.joules();
      EnergyMethod method = own.method();
      double price = d.isGpu() ? price(d.gpuType, startUs) : 0.0;
      HostWindow.DeviceAcc energySource = d;
      Double migShare = migShares.get(de.getKey());
      if (d.kind.equals("MIG")) {
        // a MIG instance has no energy reading of its own: it takes its slices' share of its
        // parent GPU's energy and price, and none when its share is unknown
        HostWindow.DeviceAcc parent = w.devices.get(d.parent);
        double f = migShare == null ? 0 : migShare;
        if (parent != null) {
          Measured p = measured(parent);
          measuredJ = p.joules() * f;
          method = p.method();
          price = price(parent.gpuType, startUs) * f;
          energySource = parent;
        } else {
          measuredJ *= f;
          price *= f;
        }
      } else if (MigShares.isParent(migShares, w, de.getKey())) {
        // a GPU in MIG mode keeps what its instances do not take: its free slices' part
        double takenJ = 0;
        double takenShare = 0;
        for (Map.Entry<String, Double> c : migShares.entrySet()) {
          if (w.devices.get(c.getKey()).parent.equals(de.getKey())) {
            takenJ += measuredJ * c.getValue();
            takenShare += c.getValue();
          }
        }
        measuredJ -= takenJ;
        price *= Math.max(0, 1 - takenShare);
      }
      double cost = CostCarbon.cost(price, w.sizeMs);
      double carbon = CostCarbon.carbonG(measuredJ, settings.pue(), intensity.gramsPerKwh());
      Map<String, long[]> models = busy.getOrDefault(de.getKey(), Map.of());
      Map<String, Long> requestUsByModel = new LinkedHashMap<>();
      for (Map.Entry<String, long[]> m : models.entrySet()) {
        requestUsByModel.put(m.getKey(), m.getValue()[0]);
      }
      long[] deviceSlots = slots.get(de.getKey());
      long deviceBusyUs = deviceSlots == null ? 0 : Occupancy.busyUs(deviceSlots, windowUs);
      // the measured energy covers the sampled part of the window: a window sampled only in part
      // (a collector's first or last minute) judges its busy share against that part, where the
      // whole window length called the unsampled time idle
      long coverageUs =
          energySource.coveredUs > 0 ? Math.min(windowUs, energySource.coveredUs) : windowUs;
      Map<String, Double> shares =
          EnergyAttribution.shares(
              requestUsByModel, Math.min(deviceBusyUs, coverageUs), coverageUs);
      EnergyAttribution.Split energySplit = EnergyAttribution.split(measuredJ, shares);
      EnergyAttribution.Split costSplit = EnergyAttribution.split(cost, shares);
      EnergyAttribution.Split carbonSplit = EnergyAttribution.split(carbon, shares);
      List<ModelAttribution> attributions = new ArrayList<>();
      for (Map.Entry<String, long[]> m : models.entrySet()) {
        String[] mv = m.getKey().split("\u0000", -1);
        long requests = m.getValue()[1];
        long tokens = m.getValue()[2];
        double ej = energySplit.amounts().get(m.getKey());
        double c = costSplit.amounts().get(m.getKey());
        attributions.add(
            ModelAttribution.newBuilder()
                .setModel(mv[0])
                .setModelVersion(mv.length > 1 ? mv[1] : "")
                .setRequests(requests)
                .setOutputTokens(tokens)
                .setBusyTimeUs(m.getValue()[0])
                .setShare(shares.get(m.getKey()))
                .setEnergyJ(ej)
                .setCarbonG(carbonSplit.amounts().get(m.getKey()))
                .setCost(c)
                .setEnergyPerRequestJ(requests == 0 ? null : ej / requests)
                .setEnergyPer1kOutputTokensJ(tokens == 0 ? null : ej / tokens * 1000)
                .setCostPer1MOutputTokens(tokens == 0 ? null : c / tokens * 1e6)
                .setCostPerRequest(requests == 0 ? null : c / requests)
                .setInferencesPerJoule(ej == 0 ? null : requests / ej)
                .build());
      }
      out.add(
          DeviceWindowEnergy.newBuilder()
              .setWindowStartUs(startUs)
              .setWindowEndUs(startUs + windowUs)
              .setWindowSizeMs(w.sizeMs)
              .setCluster(w.cluster)
              .setRegion(w.region)
              .setHost(w.host)
              .setDeviceId(de.getKey())
              .setDeviceKind(d.kind)
              .setGpuType(d.gpuType)
              .setMethod(method)
              .setSamples(d.samples)
              .setCounterResets(d.resets)
              .setMeasuredEnergyJ(measuredJ)
              .setBusyTimeUs(deviceBusyUs)
              .setIdleEnergyJ(energySplit.idle())
              .setPue(settings.pue())
              .setFacilityEnergyKwh(CostCarbon.facilityKwh(measuredJ, settings.pue()))
              .setCarbonIntensityGPerKwh(intensity.gramsPerKwh())
              .setCarbonIntensitySource(intensity.source())
              .setCarbonG(carbon)
              .setIdleCarbonG(carbonSplit.idle())
              .setCurrency(settings.currency())
              .setPricePerHour(price)
              .setCost(cost)
              .setIdleCost(costSplit.idle())
              .setAttributions(attributions)
              .build());
    }
    return out;
  }

  /** The energy a device's own samples measured in a window, and how. */
  private record Measured(double joules, EnergyMethod method) {}

  private static Measured measured(HostWindow.DeviceAcc d) {
    boolean estimated = "estimated".equals(d.source);
    if (d.counterDeltas > 0) {
      return new Measured(
          d.counterDeltaMj / 1000.0, estimated ? EnergyMethod.ESTIMATED : EnergyMethod.COUNTER);
    }
    if (d.powerIntervals > 0) {
      return new Measured(
          d.powerIntegralJ, estimated ? EnergyMethod.ESTIMATED : EnergyMethod.POWER_INTEGRATION);
    }
    return new Measured(0, EnergyMethod.NONE);
  }

  /**
   * Price per device-hour of a GPU type: the price topic's entry under the type's exact name, else
   * under the configured table key that names it ({@link StreamsSettings#tableKey}), else the
   * table; says once per type when the default price or another currency's update is used.
   */
  private double price(String gpuType, long windowStartUs) {
    Optional<PriceUpdate> update = latest(prices, gpuType);
    String key = settings.priceKey(gpuType);
    if (update.isEmpty() && key != null) {
      update = latest(prices, key);
    }
    if (update.isPresent()
        && !settings.currency().equalsIgnoreCase(update.get().getCurrency())
        && warnOnce("currency:" + gpuType)) {
      LOG.warn(
          "price update for {} is in {}, not cost.currency {}: ignored, the table price is used",
          gpuType,
          update.get().getCurrency(),
          settings.currency());
    }
    if (key == null
        && !CostCarbon.usable(settings, update, windowStartUs)
        && warnOnce("default:" + gpuType)) {
      LOG.warn(
          "no cost.price.per.hour.<type> names GPU type '{}': priced at cost.default.price.per.hour;"
              + " set cost.price.per.hour.<a word of the name, e.g. L40S>=<price per device-hour>",
          gpuType);
    }
    return CostCarbon.pricePerHour(settings, gpuType, update, windowStartUs);
  }

  /** True the first time {@code what} is seen (at most 1,000 remembered: GPU types are few). */
  private boolean warnOnce(String what) {
    return pricesWarned.size() < 1_000 && pricesWarned.add(what);
  }

  private static <V> Optional<V> latest(
      KeyValueStore<String, ValueAndTimestamp<V>> store, String key) {
    if (store == null || key == null || key.isEmpty()) {
      return Optional.empty();
    }
    ValueAndTimestamp<V> v = store.get(key);
    return v == null ? Optional.empty() : Optional.ofNullable(v.value());
  }
}
