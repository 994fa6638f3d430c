package io.infermeter.streams.alerts;

import io.infermeter.avro.Severity;
import io.infermeter.streams.StreamsSettings.AlertSettings;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The alert rule engine: plain functions from (rule state, one window's figures) to a {@link
 * Decision}. No Kafka here, so every rule is unit-testable alone; the processors keep {@link
 * RuleState} in a named store and turn state changes into Alert records ({@link Alerts}).
 * Hysteresis: {@link #transition} fires once when the condition starts holding and resolves once
 * when it stops. Every threshold rule goes through {@link #hold}: it fires when its value reaches
 * the threshold, and once firing it resolves only after {@code alerts.resolve.windows} consecutive
 * windows below the threshold minus the deadband ({@code alerts.deadband.pct} of the threshold), so
 * a value flapping around the threshold is one incident. Stateless (state is passed in);
 * thread-safe.
 */
public final class AlertRules {

  public static final String LATENCY_REGRESSION = "latency_regression";
  public static final String SLO_BURN = "slo_burn";
  public static final String GPU_MEMORY_HIGH = "gpu_memory_high";
  public static final String THROTTLING = "throttling";
  public static final String MEMORY_LEAK = "memory_leak";
  public static final String ERROR_SPIKE = "error_spike";
  public static final String COLD_START_STORM = "cold_start_storm";
  public static final String QUEUE_BUILDUP = "queue_buildup";
  public static final String HOST_SILENT = "host_silent";

  private AlertRules() {}

  /**
   * One rule's verdict on one window.
   *
   * @param condition whether the alert condition holds now
   */
  public record Decision(
      String rule,
      Severity severity,
      boolean condition,
      double observed,
      double threshold,
      Double baseline,
      String unit,
      String summary,
      Map<String, String> evidence) {}

  /**
   * The shared hysteresis of the threshold rules: while not firing, the alert condition is {@code
   * fire}; while firing, it stays true until {@code clear} held in {@code alerts.resolve.windows}
   * consecutive windows (a window neither firing nor clear, inside the deadband, restarts the
   * count). Updates {@code s.quiet}.
   */
  static boolean hold(RuleState s, boolean fire, boolean clear, AlertSettings cfg) {
    if (!s.firing) {
      s.quiet = 0;
      return fire;
    }
    s.quiet = clear ? s.quiet + 1 : 0;
    return s.quiet < cfg.resolveWindows;
  }

  /** The value below which a firing rule of {@code threshold} counts a window as clear. */
  static double clearLevel(double threshold, AlertSettings cfg) {
    return threshold * (1 - cfg.deadbandPct / 100.0);
  }

  /** {@link #hold} of "value >= threshold", clear below {@link #clearLevel}. */
  static boolean above(RuleState s, double value, double threshold, AlertSettings cfg) {
    return hold(s, value >= threshold, value < clearLevel(threshold, cfg), cfg);
  }

  /** Evidence every threshold rule carries: where it resolves and after how many windows. */
  static Map<String, String> resolveEvidence(double threshold, AlertSettings cfg) {
    Map<String, String> ev = new LinkedHashMap<>();
    ev.put("resolveBelow", fmt(clearLevel(threshold, cfg)));
    ev.put("resolveWindows", String.valueOf(cfg.resolveWindows));
    return ev;
  }

  /**
   * The state change implied by {@code condition}: FIRING, RESOLVED or none (null). Updates {@code
   * state}.
   */
  public static io.infermeter.avro.AlertState transition(
      RuleState state, boolean condition, long nowUs) {
    if (condition && !state.firing) {
      state.firing = true;
      state.firstSeenUs = nowUs;
      return io.infermeter.avro.AlertState.FIRING;
    }
    if (!condition && state.firing) {
      state.firing = false;
      return io.infermeter.avro.AlertState.RESOLVED;
    }
    return null;
  }

  /**
   * p99 (warm e2e) above the EWMA baseline by more than pct for N consecutive windows. The baseline
   * learns only from windows that are not over the threshold, so a sustained regression does not
   * become the new normal. A window with fewer than {@code alerts.latency.regression.min.requests}
   * values is skipped (state unchanged): the p99 of a few dozen requests is just the slowest one or
   * two, and would make the rule fire on noise. The baseline starts as the median p99 of a key's
   * first {@code alerts.latency.regression.warmup.windows} judged windows (no alert before): a
   * key's first windows after a start hold mostly the short requests (the long ones have not
   * completed yet), and a baseline taken from the first window alone was so low that normal windows
   * stayed "over" it, and since the baseline does not learn while over, the alert could fire and
   * never resolve.
   */
  public static Decision latencyRegression(
      RuleState s, double p99Us, long count, AlertSettings cfg) {
    if (count < cfg.latencyRegressionMinRequests) {
      return new Decision(
          LATENCY_REGRESSION,
          Severity.WARNING,
          s.firing,
          p99Us,
          Double.NaN,
          s.baseline,
          "us",
          "too few requests to judge p99 ("
              + count
              + " < "
              + cfg.latencyRegressionMinRequests
              + ")",
          Map.of("requests", String.valueOf(count)));
    }
    if (Double.isNaN(s.baseline)) {
      int warmup = cfg.latencyRegressionWarmupWindows;
      s.push(
          p99Us, count,
          warmup); // the history holds the warm-up windows' p99 until the baseline exists
      if (s.history.size() < warmup) {
        return new Decision(
            LATENCY_REGRESSION,
            Severity.WARNING,
            false,
            p99Us,
            Double.NaN,
            Double.NaN,
            "us",
            "baseline warming up (" + s.history.size() + " of " + warmup + " windows)",
            Map.of());
      }
      double[] seen = s.history.stream().mapToDouble(h -> h[0]).sorted().toArray();
      s.history.clear();
      int n = seen.length;
      s.baseline = n % 2 == 1 ? seen[n / 2] : (seen[n / 2 - 1] + seen[n / 2]) / 2;
      return new Decision(
          LATENCY_REGRESSION,
          Severity.WARNING,
          false,
          p99Us,
          s.baseline,
          s.baseline,
          "us",
          "baseline initialised: median p99 of the first " + n + " windows",
          Map.of());
    }
    double threshold = s.baseline * (1 + cfg.latencyRegressionPct / 100.0);
    boolean over = p99Us > threshold;
    double baselineUsed = s.baseline;
    if (over) {
      s.streak++;
    } else {
      s.streak = 0;
      s.baseline = cfg.ewmaAlpha * p99Us + (1 - cfg.ewmaAlpha) * s.baseline;
    }
    boolean condition =
        hold(s, s.streak >= cfg.latencyRegressionWindows, p99Us < clearLevel(threshold, cfg), cfg);
    Map<String, String> ev = resolveEvidence(threshold, cfg);
    ev.put("p99E2eUs", fmt(p99Us));
    ev.put("ewmaBaselineUs", fmt(baselineUsed));
    ev.put("consecutiveWindowsOver", String.valueOf(s.streak));
    ev.put("requiredWindows", String.valueOf(cfg.latencyRegressionWindows));
    return new Decision(
        LATENCY_REGRESSION,
        Severity.WARNING,
        condition,
        p99Us,
        threshold,
        baselineUsed,
        "us",
        String.format(
            Locale.ROOT,
            "p99 e2e %.0f us is more than %.0f %% above its EWMA baseline %.0f us for %d windows",
            p99Us,
            cfg.latencyRegressionPct,
            baselineUsed,
            s.streak),
        ev);
  }

  /**
   * SLO burn: burn rate = (1 - attainment) / (1 - target) over the current window (short) and over
   * the last L windows (long); fires when both reach the configured burn rate (multi-window
   * burn-rate alerting).
   */
  public static Decision sloBurn(RuleState s, long good, long total, AlertSettings cfg) {
    s.push(good, total, cfg.sloLongWindows);
    // burn = bad share / error budget, written as bad x 100 / (total x (100 - target)) to avoid
    // rounding at the threshold
    double budgetPct = 100.0 - cfg.sloTargetPct;
    double shortBurn = total == 0 ? 0 : (total - good) * 100.0 / (total * budgetPct);
    double g = 0;
    double t = 0;
    for (double[] h : s.history) {
      g += h[0];
      t += h[1];
    }
    double longBurn = t == 0 ? 0 : (t - g) * 100.0 / (t * budgetPct);
    boolean condition =
        hold(
            s,
            shortBurn >= cfg.sloBurnRate && longBurn >= cfg.sloBurnRate,
            shortBurn < clearLevel(cfg.sloBurnRate, cfg),
            cfg);
    Map<String, String> ev = resolveEvidence(cfg.sloBurnRate, cfg);
    ev.put("shortBurnRate", fmt(shortBurn));
    ev.put("longBurnRate", fmt(longBurn));
    ev.put("longWindows", String.valueOf(s.history.size()));
    ev.put("attainmentPct", fmt(total == 0 ? 100 : 100.0 * good / total));
    ev.put("targetPct", fmt(cfg.sloTargetPct));
    return new Decision(
        SLO_BURN,
        Severity.CRITICAL,
        condition,
        shortBurn,
        cfg.sloBurnRate,
        longBurn,
        "ratio",
        String.format(
            Locale.ROOT,
            "SLO error budget burning at %.1fx (short) and %.1fx (long window)",
            shortBurn,
            longBurn),
        ev);
  }

  public static Decision errorSpike(RuleState s, long errors, long requests, AlertSettings cfg) {
    double pct = requests == 0 ? 0 : 100.0 * errors / requests;
    boolean condition =
        hold(
            s,
            requests >= cfg.errorSpikeMinRequests && pct >= cfg.errorSpikePct,
            pct < clearLevel(cfg.errorSpikePct, cfg),
            cfg);
    Map<String, String> ev = resolveEvidence(cfg.errorSpikePct, cfg);
    ev.put("failedRequests", String.valueOf(errors));
    ev.put("requests", String.valueOf(requests));
    return new Decision(
        ERROR_SPIKE,
        Severity.CRITICAL,
        condition,
        pct,
        cfg.errorSpikePct,
        null,
        "pct",
        String.format(Locale.ROOT, "%.1f %% of %d requests failed", pct, requests),
        ev);
  }

  public static Decision coldStartStorm(
      RuleState s, long coldStarts, long requests, AlertSettings cfg) {
    boolean condition = above(s, coldStarts, cfg.coldStartStormCount, cfg);
    Map<String, String> ev = resolveEvidence(cfg.coldStartStormCount, cfg);
    ev.put("coldStarts", String.valueOf(coldStarts));
    ev.put("requests", String.valueOf(requests));
    return new Decision(
        COLD_START_STORM,
        Severity.WARNING,
        condition,
        coldStarts,
        cfg.coldStartStormCount,
        null,
        "count",
        coldStarts + " cold starts in one window",
        ev);
  }

  public static Decision queueBuildup(
      RuleState s, double queueSharePct, long queueSumUs, long e2eSumUs, AlertSettings cfg) {
    boolean condition =
        above(s, Double.isNaN(queueSharePct) ? 0 : queueSharePct, cfg.queueSharePct, cfg);
    Map<String, String> ev = resolveEvidence(cfg.queueSharePct, cfg);
    ev.put("queueTimeSumUs", String.valueOf(queueSumUs));
    ev.put("e2eSumUs", String.valueOf(e2eSumUs));
    return new Decision(
        QUEUE_BUILDUP,
        Severity.WARNING,
        condition,
        Double.isNaN(queueSharePct) ? 0 : queueSharePct,
        cfg.queueSharePct,
        null,
        "pct",
        String.format(Locale.ROOT, "queue time is %.1f %% of e2e latency", queueSharePct),
        ev);
  }

  /**
   * Memory pressure of a GPU judged on device memory (no engine reporting KV-cache usage covers it
   * in this window): max used / total against {@code alerts.gpu.memory.high.pct}, with the
   * deadband. Engine-aware: when an engine reporting KV usage covered the device within {@code
   * alerts.gpu.memory.engine.hold} (its samples stopped, or went older than {@code
   * engine.state.max.age}), the device holds that engine's pre-allocation (vLLM: 90 %), so the
   * threshold is {@code alerts.gpu.memory.engine.high.pct} (device memory actually full) instead.
   * {@code s.epoch} is the end (ms) of the last window an engine covered the device ({@link
   * #kvCacheHigh}).
   */
  public static Decision gpuMemoryHigh(
      RuleState s, long usedBytes, long totalBytes, long windowEndMs, AlertSettings cfg) {
    double pct = totalBytes <= 0 ? 0 : 100.0 * usedBytes / totalBytes;
    boolean engineAware =
        s.epoch > 0 && windowEndMs - s.epoch <= cfg.gpuMemoryEngineHold.toMillis();
    double threshold = engineAware ? cfg.gpuMemoryEngineHighPct : cfg.gpuMemoryHighPct;
    boolean condition = above(s, pct, threshold, cfg);
    Map<String, String> ev = resolveEvidence(threshold, cfg);
    ev.put("basis", engineAware ? "device_memory_engine_preallocated" : "device_memory");
    ev.put("memoryUsedBytes", String.valueOf(usedBytes));
    ev.put("memoryTotalBytes", String.valueOf(totalBytes));
    return new Decision(
        GPU_MEMORY_HIGH,
        Severity.WARNING,
        condition,
        pct,
        threshold,
        null,
        "pct",
        String.format(
            Locale.ROOT,
            "device memory %.1f %% used%s",
            pct,
            engineAware
                ? " (a serving engine pre-allocated it; its KV usage is not reported)"
                : ""),
        ev);
  }

  /**
   * Memory pressure of a GPU whose serving engine reports KV-cache usage: the engine pre-allocates
   * most of the device memory at start (vLLM {@code --gpu-memory-utilization}, default 0.9), so
   * device memory says nothing there and the KV cache's usage is what runs out. Same rule name and
   * key as {@link #gpuMemoryHigh}, so it is the same alert whichever input judged it; {@code
   * evidence.basis} says which. Records {@code windowEndMs} in {@code s.epoch}: the device holds an
   * engine's pre-allocation ({@link #gpuMemoryHigh}).
   */
  public static Decision kvCacheHigh(
      RuleState s,
      long windowEndMs,
      double kvUsagePct,
      long preemptions,
      String engine,
      String instance,
      long usedBytes,
      long totalBytes,
      AlertSettings cfg) {
    s.epoch = windowEndMs;
    boolean condition = above(s, kvUsagePct, cfg.kvCacheHighPct, cfg);
    double vramPct = totalBytes <= 0 || usedBytes < 0 ? Double.NaN : 100.0 * usedBytes / totalBytes;
    Map<String, String> ev = new LinkedHashMap<>();
    ev.put("basis", "kv_cache");
    ev.putAll(resolveEvidence(cfg.kvCacheHighPct, cfg));
    ev.put("kvCacheUsagePct", fmt(kvUsagePct));
    ev.put("preemptions", String.valueOf(preemptions));
    ev.put("engine", engine);
    ev.put("engineInstance", instance);
    if (!Double.isNaN(vramPct)) {
      ev.put("memoryUsedBytes", String.valueOf(usedBytes));
      ev.put("memoryTotalBytes", String.valueOf(totalBytes));
    }
    return new Decision(
        GPU_MEMORY_HIGH,
        Severity.WARNING,
        condition,
        kvUsagePct,
        cfg.kvCacheHighPct,
        null,
        "pct",
        String.format(
            Locale.ROOT,
            "KV cache %.1f %% used (%s %s, %d preemptions)%s",
            kvUsagePct,
            engine,
            instance,
            preemptions,
            Double.isNaN(vramPct)
                ? ""
                : String.format(
                    Locale.ROOT,
                    "; device memory %.1f %% used, mostly the engine's pre-allocation",
                    vramPct)),
        ev);
  }

  /**
   * Clocks held down by a counted throttle reason ({@code alerts.throttle.reasons.mask}: thermal,
   * power brake and HW slowdown by default; idle, application-clock, sync-boost, display and SW
   * power-cap bits never start a run) continuously for at least {@code alerts.throttle.min}. The
   * run and {@code countedReasons} come from the filtered mask, so the reasons are named in words.
   */
  public static Decision throttling(
      RuleState s, double throttledRunSeconds, long countedReasons, AlertSettings cfg) {
    double min = cfg.throttleMin.toMillis() / 1000.0;
    boolean condition = above(s, throttledRunSeconds, min, cfg);
    String words = ThrottleReasons.describe(countedReasons);
    Map<String, String> ev = resolveEvidence(min, cfg);
    ev.put("throttledSeconds", fmt(throttledRunSeconds));
    ev.put("throttleReasons", words);
    ev.put("throttleReasonsMask", "0x" + Long.toHexString(countedReasons));
    ev.put("countedReasonsMask", "0x" + Long.toHexString(cfg.throttleReasonsMask));
    return new Decision(
        THROTTLING,
        Severity.WARNING,
        condition,
        throttledRunSeconds,
        min,
        null,
        "s",
        countedReasons == 0
            ? String.format(Locale.ROOT, "clocks not throttled (run %.1f s)", throttledRunSeconds)
            : String.format(
                Locale.ROOT,
                "clocks throttled for %.1f s: %s (0x%x)",
                throttledRunSeconds,
                words,
                countedReasons),
        ev);
  }

  /**
   * Memory leak: device memory at the end of each of the last K windows strictly rising while load
   * (mean GPU utilization, percent) does not rise by more than 5 %.
   */
  public static Decision memoryLeak(
      RuleState s, long memoryUsedBytes, double load, AlertSettings cfg) {
    s.push(memoryUsedBytes, load, cfg.memoryLeakWindows);
    boolean rising = s.history.size() >= cfg.memoryLeakWindows && cfg.memoryLeakWindows >= 2;
    double prev = Double.NaN;
    for (double[] h : s.history) {
      if (!Double.isNaN(prev) && h[0] <= prev) {
        rising = false;
      }
      prev = h[0];
    }
    double firstLoad = s.history.isEmpty() ? 0 : s.history.peekFirst()[1];
    double lastLoad = s.history.isEmpty() ? 0 : s.history.peekLast()[1];
    boolean loadFlat = lastLoad <= firstLoad * 1.05 + 1e-9;
    boolean condition = hold(s, rising && loadFlat, !(rising && loadFlat), cfg);
    double firstMem = s.history.isEmpty() ? 0 : s.history.peekFirst()[0];
    return new Decision(
        MEMORY_LEAK,
        Severity.WARNING,
        condition,
        memoryUsedBytes - firstMem,
        0,
        firstMem,
        "bytes",
        String.format(
            Locale.ROOT,
            "device memory rose in each of %d windows while load stayed flat",
            s.history.size()),
        Map.of(
            "memoryUsedFirstBytes",
            fmt(firstMem),
            "memoryUsedLastBytes",
            String.valueOf(memoryUsedBytes),
            "loadFirstPct",
            fmt(firstLoad),
            "loadLastPct",
            fmt(lastLoad)));
  }

  public static Decision hostSilent(double silentSeconds, AlertSettings cfg) {
    double limit = cfg.hostSilent.toMillis() / 1000.0;
    return new Decision(
        HOST_SILENT,
        Severity.CRITICAL,
        silentSeconds > limit,
        silentSeconds,
        limit,
        null,
        "s",
        String.format(Locale.ROOT, "no samples or requests for %.0f s", silentSeconds),
        Map.of("silentSeconds", fmt(silentSeconds)));
  }

  static String fmt(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }
}
