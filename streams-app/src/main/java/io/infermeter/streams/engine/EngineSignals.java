package io.infermeter.streams.engine;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a host window's engine state says, as plain functions (no Kafka): which engine instances
 * were there, the KV-cache usage that applies to a GPU, and the host's queue growth. Stateless;
 * thread-safe.
 */
public final class EngineSignals {

  private EngineSignals() {}

  /**
   * One engine instance as seen by one host window: from the window's own samples, or, when the
   * instance sent none in the window (a scrape interval as long as the window leaves some windows
   * empty), from its last sample if that is recent. Units: KV-cache usage in percent (NaN: not
   * reported), counts (-1: not reported).
   */
  public record View(
      String instance,
      String engine,
      String model,
      String pod,
      double kvUsagePct,
      long preemptions,
      long waitingStart,
      long waitingEnd,
      boolean fromWindow) {

    public long waitingGrowth() {
      return waitingStart < 0 || waitingEnd < 0 ? 0 : waitingEnd - waitingStart;
    }
  }

  /**
   * The instances of a host window: every instance with samples in the window (KV usage: the
   * window's highest), plus every instance in {@code lasts} whose last sample is at most {@code
   * maxAgeUs} before {@code windowEndUs} (KV usage: that sample's; no preemptions; a flat queue).
   */
  public static List<View> views(
      Map<String, EngineAcc> window,
      Map<String, EngineLast> lasts,
      long windowEndUs,
      long maxAgeUs) {
    List<View> out = new ArrayList<>(window.size() + (lasts == null ? 0 : lasts.size()));
    window.forEach(
        (instance, a) ->
            out.add(
                new View(
                    instance,
                    a.engine,
                    a.model,
                    a.pod,
                    pct(a.kvMax),
                    a.preemptions,
                    a.waitingStart,
                    a.waitingEnd,
                    true)));
    if (lasts != null) {
      lasts.forEach(
          (instance, l) -> {
            if (!window.containsKey(instance)
                && l.tsUs() >= windowEndUs - maxAgeUs
                && l.tsUs() < windowEndUs + maxAgeUs) {
              out.add(
                  new View(
                      instance,
                      l.engine(),
                      l.model(),
                      l.pod(),
                      pct(l.kvCacheUsage()),
                      0,
                      l.waiting(),
                      l.waiting(),
                      false));
            }
          });
    }
    return out;
  }

  /**
   * The engine whose KV-cache usage stands for a GPU's memory pressure, or null when no engine
   * reporting KV usage covers it (then device memory is judged as before). An engine covers the GPU
   * when its pod is the GPU's pod (dcgm-exporter's pod label); when none matches that way, the
   * engines that cannot be placed (no pod, or a pod none of the host's GPUs names) cover every GPU
   * of the host whose pod no engine claims. Of several, the one with the highest usage (the most
   * pressed cache).
   *
   * @param devicePod the GPU's pod, "" when unknown
   * @param hostDevicePods the pods of all GPUs of the host in the window ("" left out)
   */
  public static View coveringEngine(
      String devicePod, Set<String> hostDevicePods, Collection<View> engines) {
    View best = null;
    if (!devicePod.isEmpty()) {
      for (View v : engines) {
        if (!Double.isNaN(v.kvUsagePct())
            && v.pod().equals(devicePod)
            && (best == null || v.kvUsagePct() > best.kvUsagePct())) {
          best = v;
        }
      }
      if (best != null) {
        return best;
      }
      for (View v : engines) {
        if (v.pod().equals(devicePod)) {
          return null; // the GPU's own engine reports no KV usage (TGI, Triton): device memory it
          // is
        }
      }
    }
    for (View v : engines) {
      boolean unplaced = v.pod().isEmpty() || !hostDevicePods.contains(v.pod());
      if (unplaced
          && !Double.isNaN(v.kvUsagePct())
          && (best == null || v.kvUsagePct() > best.kvUsagePct())) {
        best = v;
      }
    }
    return best;
  }

  /**
   * Host-wide engine figures for the bottleneck classifier. Units: percent, counts; NaN/-1 when not
   * reported.
   */
  public record HostEngines(
      double kvUsageMaxPct, long preemptions, long waitingStart, long waitingEnd, int instances) {
    public static final HostEngines NONE = new HostEngines(Double.NaN, 0, -1, -1, 0);

    public long waitingGrowth() {
      return waitingStart < 0 || waitingEnd < 0 ? 0 : waitingEnd - waitingStart;
    }
  }

  /**
   * Sums the host's queues (start and end), adds its preemptions, takes its highest KV-cache usage.
   */
  public static HostEngines host(Collection<View> engines) {
    if (engines.isEmpty()) {
      return HostEngines.NONE;
    }
    double kv = Double.NaN;
    long preemptions = 0;
    long start = -1;
    long end = -1;
    for (View v : engines) {
      if (!Double.isNaN(v.kvUsagePct())) {
        kv = Double.isNaN(kv) ? v.kvUsagePct() : Math.max(kv, v.kvUsagePct());
      }
      preemptions += v.preemptions();
      if (v.waitingStart() >= 0 && v.waitingEnd() >= 0) {
        start = Math.max(start, 0) + v.waitingStart();
        end = Math.max(end, 0) + v.waitingEnd();
      }
    }
    return new HostEngines(kv, preemptions, start, end, engines.size());
  }

  private static double pct(double ratio) {
    return Double.isNaN(ratio) ? Double.NaN : ratio * 100.0;
  }
}
