package io.infermeter.streams.alerts;

import io.infermeter.avro.Severity;
import io.infermeter.streams.StreamsSettings.AlertSettings;
import io.infermeter.streams.latency.LatencyAccumulator;
import io.infermeter.streams.latency.LatencyPercentiles;
import io.infermeter.streams.state.Codec;
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
  public static final String P99_JITTER = "p99_jitter";

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
   * Latency regression of one warm latency metric ({@code e2e} or {@code ttft}) of one key, on
   * pooled consecutive windows: the window's histogram is merged into the pool kept in {@code
   * s.pool} (its first window's start, ms, in {@code s.epoch}) until it holds at least {@code
   * alerts.latency.regression.min.requests} values; the pool's p99 is then judged by {@link
   * #latencyRegression(RuleState, String, double, long, int, AlertSettings)} and the pool emptied.
   * At 5 requests/s per key (50 per 10 s window) eight windows make one judged p99 of 400 values. A
   * pool is only extended while it spans fewer than {@code
   * alerts.latency.regression.max.pool.windows} windows of time (windows without requests count): a
   * later window starts a new pool, so a key too slow to reach the count in that span is never
   * judged, and a pool never mixes requests from far apart. While the pool fills, nothing changes:
   * the decision repeats the firing state.
   */
  public static Decision latencyRegression(
      RuleState s,
      String metric,
      LatencyAccumulator window,
      long windowStartMs,
      long windowSizeMs,
      AlertSettings cfg) {
    Pool p =
        pool(
            s,
            window,
            windowStartMs,
            windowSizeMs,
            cfg.latencyRegressionMinRequests,
            cfg.latencyRegressionMaxPoolWindows);
    if (p.filling()) {
      return pooling(LATENCY_REGRESSION, s, metric, p, cfg.latencyRegressionMinRequests, "us");
    }
    return latencyRegression(
        s,
        metric,
        LatencyPercentiles.percentile(p.values(), 99),
        p.values().count,
        p.windows(),
        cfg);
  }

  /**
   * The window merged into the pool of {@code s} ({@code s.pool}, its first window's start in
   * {@code s.epoch}).
   *
   * @param values the pooled values
   * @param windows windows of time the pool spans
   * @param filling whether the pool is still short of its count (kept in {@code s}); otherwise it
   *     is complete and {@code s} no longer holds it
   * @param dropped whether an earlier pool was too old to extend and was dropped
   */
  private record Pool(LatencyAccumulator values, int windows, boolean filling, boolean dropped) {}

  /**
   * Pools consecutive windows until {@code minCount} values: the pool is extended only while it
   * spans fewer than {@code maxWindows} windows of time (windows without requests count), so it
   * never mixes requests from far apart; a later window starts a new pool.
   */
  private static Pool pool(
      RuleState s,
      LatencyAccumulator window,
      long windowStartMs,
      long windowSizeMs,
      long minCount,
      int maxWindows) {
    LatencyAccumulator pooled = window;
    long firstMs = windowStartMs;
    boolean dropped = false;
    if (s.pool.length > 0) {
      long spanMs = windowStartMs - s.epoch;
      if (spanMs > 0 && spanMs < maxWindows * windowSizeMs) {
        pooled = readPool(s.pool);
        pooled.merge(window);
        firstMs = s.epoch;
      } else {
        dropped = true;
      }
    }
    int windows = (int) ((windowStartMs - firstMs) / Math.max(1, windowSizeMs)) + 1;
    if (pooled.count < minCount) {
      LatencyAccumulator keep = pooled;
      s.pool = Codec.encode(out -> keep.write(out, false));
      s.epoch = firstMs;
      return new Pool(pooled, windows, true, dropped);
    }
    s.pool = new byte[0];
    s.epoch = 0;
    return new Pool(pooled, windows, false, dropped);
  }

  /** The decision while a pool fills: nothing changes, the firing state repeats. */
  private static Decision pooling(
      String rule, RuleState s, String metric, Pool p, long minCount, String unit) {
    Map<String, String> ev = new LinkedHashMap<>();
    ev.put("metric", metric);
    ev.put("pooledRequests", String.valueOf(p.values().count));
    ev.put("pooledWindows", String.valueOf(p.windows()));
    return new Decision(
        rule,
        Severity.WARNING,
        s.firing,
        Double.NaN,
        Double.NaN,
        null,
        unit,
        String.format(
            Locale.ROOT,
            "pooling: %d %s values in %d windows (< %d)%s",
            p.values().count,
            metric,
            p.windows(),
            minCount,
            p.dropped() ? "; the pool before was too old to extend and was dropped" : ""),
        ev);
  }

  /**
   * Over-the-threshold flags of the latest judgments, newest in bit 0 (latency rule: {@code
   * s.counts[0]}).
   */
  private static long overBits(RuleState s) {
    return s.counts.length >= 1 ? s.counts[0] : 0;
  }

  private static LatencyAccumulator readPool(byte[] bytes) {
    return Codec.decode(bytes, "latency pool", in -> LatencyAccumulator.read(in, false, 3));
  }

  /** {@link #latencyRegression(RuleState, String, double, long, int, AlertSettings)} of e2e. */
  public static Decision latencyRegression(
      RuleState s, double p99Us, long count, AlertSettings cfg) {
    return latencyRegression(s, "e2e", p99Us, count, 1, cfg);
  }

  /**
   * One judged p99 ({@code windows} pooled windows) over the key's normal for {@code
   * alerts.latency.regression.windows} consecutive judgments. Normal is the last {@code
   * alerts.latency.regression.baseline.windows} judged p99 values taken while not firing (in {@code
   * s.history}): threshold = their 90th percentile x (1 + {@code alerts.latency.regression.pct})
   * (at least the median x (1 + pct)), so the threshold sits above the key's own spread of p99
   * values, by a margin: 3 judgments in a row over the bare 90th percentile happen by chance. All
   * judgments while not firing are kept, those over the threshold too: an EWMA that learns only
   * from windows under the threshold is censored, drifts below the typical p99 and leaves noisy
   * keys "over" half the time. The median barely moves for the few windows of a streak, and nothing
   * is learned while firing, so a sustained regression does not become the new normal. No alert
   * before {@code alerts.latency.regression.warmup.windows} judgments. A p99 of fewer than {@code
   * alerts.latency.regression.min.requests} values is skipped (state unchanged). Resolves when a
   * judgment is not over the threshold and at most one of the last {@code alerts.resolve.windows}
   * judgments was (the margin over the median is the deadband; with the noise of a p99, 3 in a row
   * under it can take many windows after latency is back to normal).
   */
  public static Decision latencyRegression(
      RuleState s, String metric, double p99Us, long count, int windows, AlertSettings cfg) {
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
          Map.of("metric", metric, "requests", String.valueOf(count)));
    }
    int keep = Math.max(cfg.latencyRegressionBaselineWindows, cfg.latencyRegressionWarmupWindows);
    int max = keep + cfg.latencyRegressionWindows; // normal values plus the pending streak
    if (!s.firing && s.history.size() < cfg.latencyRegressionWarmupWindows) {
      s.push(p99Us, count, max);
      return new Decision(
          LATENCY_REGRESSION,
          Severity.WARNING,
          false,
          p99Us,
          Double.NaN,
          Double.NaN,
          "us",
          "baseline warming up ("
              + s.history.size()
              + " of "
              + cfg.latencyRegressionWarmupWindows
              + " judged windows)",
          Map.of("metric", metric));
    }
    // history: (p99, count) of normal judgments; count < 0 marks a pending one, over the threshold
    // in the current streak: it joins the normal ones if the streak breaks before firing, and is
    // dropped if it fires
    double[] seen =
        s.history.stream().filter(h -> h[1] > 0).mapToDouble(h -> h[0]).sorted().toArray();
    int n = seen.length;
    double median = n == 0 ? p99Us : n % 2 == 1 ? seen[n / 2] : (seen[n / 2 - 1] + seen[n / 2]) / 2;
    double spread = n == 0 ? 0 : seen[Math.max(0, (int) Math.ceil(0.9 * n) - 1)];
    // the margin sits on top of the spread: 3 judgments in a row over the bare 90th percentile
    // happen by chance (a p99 of a few hundred requests with a heavy tail varies by tens of
    // percent from one judgment to the next): AlertRulesTest#aSteadyHeavyTailedP99RarelyFires
    double threshold = Math.max(median, spread) * (1 + cfg.latencyRegressionPct / 100.0);
    s.baseline = median;
    boolean over = p99Us > threshold;
    s.streak = over ? s.streak + 1 : 0;
    int last = Math.min(62, cfg.resolveWindows);
    long bits = ((overBits(s) << 1) | (over ? 1 : 0)) & ((1L << last) - 1);
    s.counts = new long[] {bits};
    // fires on N consecutive judgments over; resolves when this judgment is not over and at most
    // one of the last alerts.resolve.windows was: a p99 of a few hundred requests is noisy, and
    // even with latency back to normal, three in a row under the threshold can take many windows
    boolean condition =
        s.firing ? over || Long.bitCount(bits) > 1 : s.streak >= cfg.latencyRegressionWindows;
    if (over && condition) {
      s.history.removeIf(h -> h[1] < 0);
    } else if (over) {
      s.push(p99Us, -count, max);
    } else {
      s.history.forEach(h -> h[1] = Math.abs(h[1]));
      if (!condition) {
        s.push(p99Us, count, max);
      }
    }
    long normal = s.history.stream().filter(h -> h[1] > 0).count();
    for (java.util.Iterator<double[]> it = s.history.iterator(); it.hasNext() && normal > keep; ) {
      if (it.next()[1] > 0) {
        it.remove();
        normal--;
      }
    }
    Map<String, String> ev = new LinkedHashMap<>();
    ev.put("metric", metric);
    ev.put("p99Us", fmt(p99Us));
    ev.put("baselineMedianUs", fmt(median));
    ev.put("baselineP90Us", fmt(spread));
    ev.put("baselineWindows", String.valueOf(n));
    ev.put("requests", String.valueOf(count));
    ev.put("pooledWindows", String.valueOf(windows));
    ev.put("consecutiveWindowsOver", String.valueOf(s.streak));
    ev.put("requiredWindows", String.valueOf(cfg.latencyRegressionWindows));
    ev.put("resolveBelow", fmt(threshold));
    ev.put("resolveWindows", String.valueOf(cfg.resolveWindows));
    return new Decision(
        LATENCY_REGRESSION,
        Severity.WARNING,
        condition,
        p99Us,
        threshold,
        median,
        "us",
        String.format(
            Locale.ROOT,
            "p99 %s %.0f us over the threshold %.0f us (90th percentile of the last %d judged p99"
                + " %.0f us + %.0f %%, median %.0f us) for %d judged windows (%d requests in %d"
                + " windows)",
            metric,
            p99Us,
            threshold,
            n,
            spread,
            cfg.latencyRegressionPct,
            median,
            s.streak,
            count,
            windows),
        ev);
  }

  /**
   * P99 jitter of token streaming: the p99 / p50 ratio of warm TPOT (each request's mean
   * inter-token latency), judged on pooled consecutive windows of at least {@code
   * alerts.jitter.min.requests} values (as {@link #latencyRegression(RuleState, String,
   * LatencyAccumulator, long, long, AlertSettings)} pools, at most {@code
   * alerts.latency.regression.max.pool.windows} windows), at or above {@code
   * alerts.jitter.p99.ratio} in {@code alerts.jitter.windows} consecutive judgments. The ratio says
   * how much slower the slowest 1 % of streams emit tokens than the typical one (stalls from
   * preemption, prefill interference, swapping) whatever the model's absolute speed, so one
   * threshold fits every model. The p99 of a few hundred values is set by a handful of requests (a
   * few timed-out streams), hence the pool. Resolves after {@code alerts.resolve.windows} judgments
   * under the threshold minus the deadband.
   */
  public static Decision p99Jitter(
      RuleState s,
      LatencyAccumulator window,
      long windowStartMs,
      long windowSizeMs,
      AlertSettings cfg) {
    double threshold = cfg.jitterP99Ratio;
    Pool p =
        pool(
            s,
            window,
            windowStartMs,
            windowSizeMs,
            cfg.jitterMinRequests,
            cfg.latencyRegressionMaxPoolWindows);
    if (p.filling()) {
      return pooling(P99_JITTER, s, "tpot", p, cfg.jitterMinRequests, "ratio");
    }
    LatencyAccumulator tpot = p.values();
    long p50 = LatencyPercentiles.percentile(tpot, 50);
    long p99 = LatencyPercentiles.percentile(tpot, 99);
    double ratio = p50 <= 0 ? 0 : (double) p99 / p50;
    boolean over = ratio >= threshold;
    s.streak = over ? s.streak + 1 : 0;
    boolean condition =
        hold(s, s.streak >= cfg.jitterWindows, ratio < clearLevel(threshold, cfg), cfg);
    Map<String, String> ev = resolveEvidence(threshold, cfg);
    ev.put("metric", "tpot");
    ev.put("p99OverP50", fmt(ratio));
    ev.put("p50Us", String.valueOf(p50));
    ev.put("p99Us", String.valueOf(p99));
    ev.put("requests", String.valueOf(tpot.count));
    ev.put("pooledWindows", String.valueOf(p.windows()));
    ev.put("consecutiveWindowsOver", String.valueOf(s.streak));
    return new Decision(
        P99_JITTER,
        Severity.WARNING,
        condition,
        ratio,
        threshold,
        null,
        "ratio",
        String.format(
            Locale.ROOT,
            "TPOT p99 %d us is %.1fx its p50 %d us (%d requests in %d windows; %d judgments in a"
                + " row >= %.1fx)",
            p99,
            ratio,
            p50,
            tpot.count,
            p.windows(),
            s.streak,
            threshold),
        ev);
  }

  /**
   * SLO burn, multi-window multi-burn-rate as in the Google SRE workbook ("Alerting on SLOs"): burn
   * rate = bad share / error budget (1 - target). Fires when the fast pair holds (burn over the
   * last {@code alerts.slo.burn.fast.long} (1 h) AND over the last {@code
   * alerts.slo.burn.fast.short} (5 min) >= {@code alerts.slo.burn.fast.rate} (14.4: 2 % of a 30-day
   * budget in an hour), severity CRITICAL) or the slow pair holds (6 h and 30 min >= 6: 5 % of the
   * budget in 6 h, WARNING). The long window proves the burn is significant, the short one that it
   * is still going on, so the alert resolves soon after the burn stops. A pair needs {@code
   * alerts.slo.burn.min.requests} (100) requests in its long window: at low traffic one failure is
   * a huge bad share, and history covering its long window (a 6 h burn rate from 1 h of data is an
   * hourly one; a new key failing outright is what error_spike is for). Counts are kept in a ring
   * of buckets ({@link #sloBucketMs}) in {@code s.counts} as (good, total) pairs, {@code s.epoch}
   * the newest bucket's index, {@code s.baseline} the start (ms) of the first window counted; a
   * window counts in the bucket of its start, and the oldest bucket of a range counts by the share
   * of it inside the range. Resolves after {@code alerts.resolve.windows} windows in which neither
   * pair holds at the rates minus the deadband.
   */
  public static Decision sloBurn(
      RuleState s, long windowStartMs, long windowEndMs, long good, long total, AlertSettings cfg) {
    long bucketMs = sloBucketMs(cfg);
    int buckets =
        (int) (Math.max(cfg.sloFastLong.toMillis(), cfg.sloSlowLong.toMillis()) / bucketMs) + 2;
    long index = Math.floorDiv(windowStartMs, bucketMs);
    if (s.counts.length != 2 * buckets || Double.isNaN(s.baseline)) {
      s.history.clear(); // per-window pairs of a version-2 state
      s.counts = new long[2 * buckets];
      s.epoch = index;
      s.baseline = windowStartMs; // the first counted window: how much history the ring covers
    }
    long coveredMs = windowEndMs - (long) s.baseline;
    if (index > s.epoch) {
      for (long b = Math.max(s.epoch + 1, index - buckets + 1); b <= index; b++) {
        int at = (int) Math.floorMod(b, (long) buckets);
        s.counts[2 * at] = 0;
        s.counts[2 * at + 1] = 0;
      }
      s.epoch = index;
    }
    if (index > s.epoch - buckets) { // older than the ring: too late to count
      int at = (int) Math.floorMod(index, (long) buckets);
      s.counts[2 * at] += Math.max(0, good);
      s.counts[2 * at + 1] += Math.max(0, total);
    }
    double budget = (100.0 - cfg.sloTargetPct) / 100.0;
    double[] fastLong = sloRange(s, buckets, bucketMs, windowEndMs, cfg.sloFastLong.toMillis());
    double[] fastShort = sloRange(s, buckets, bucketMs, windowEndMs, cfg.sloFastShort.toMillis());
    double[] slowLong = sloRange(s, buckets, bucketMs, windowEndMs, cfg.sloSlowLong.toMillis());
    double[] slowShort = sloRange(s, buckets, bucketMs, windowEndMs, cfg.sloSlowShort.toMillis());
    double fl = burn(fastLong, budget);
    double fs = burn(fastShort, budget);
    double sl = burn(slowLong, budget);
    double ss = burn(slowShort, budget);
    boolean fastCounted =
        fastLong[1] >= cfg.sloBurnMinRequests && coveredMs >= cfg.sloFastLong.toMillis();
    boolean slowCounted =
        slowLong[1] >= cfg.sloBurnMinRequests && coveredMs >= cfg.sloSlowLong.toMillis();
    boolean fast = fastCounted && fl >= cfg.sloFastRate && fs >= cfg.sloFastRate;
    boolean slow = slowCounted && sl >= cfg.sloSlowRate && ss >= cfg.sloSlowRate;
    double fastClear = clearLevel(cfg.sloFastRate, cfg);
    double slowClear = clearLevel(cfg.sloSlowRate, cfg);
    boolean stillBurning =
        (fastCounted && fl >= fastClear && fs >= fastClear)
            || (slowCounted && sl >= slowClear && ss >= slowClear);
    boolean condition = hold(s, fast || slow, !stillBurning, cfg);
    // the pair shown in observed/threshold/severity: the one that holds (fast first), else the one
    // closer to its rate
    boolean fastShown = fast || (!slow && fl / cfg.sloFastRate >= sl / cfg.sloSlowRate);
    Map<String, String> ev = new LinkedHashMap<>();
    ev.put("pair", fastShown ? "fast" : "slow");
    ev.put("fastLongBurnRate", fmt(fl));
    ev.put("fastShortBurnRate", fmt(fs));
    ev.put("fastRate", fmt(cfg.sloFastRate));
    ev.put("slowLongBurnRate", fmt(sl));
    ev.put("slowShortBurnRate", fmt(ss));
    ev.put("slowRate", fmt(cfg.sloSlowRate));
    ev.put("fastLongRequests", fmt(fastLong[1]));
    ev.put("slowLongRequests", fmt(slowLong[1]));
    ev.put("minRequests", String.valueOf(cfg.sloBurnMinRequests));
    ev.put("historyMinutes", fmt(coveredMs / 60_000.0));
    ev.put("attainmentPct", fmt(total == 0 ? 100 : 100.0 * good / total));
    ev.put("targetPct", fmt(cfg.sloTargetPct));
    ev.put("resolveWindows", String.valueOf(cfg.resolveWindows));
    return new Decision(
        SLO_BURN,
        fastShown ? Severity.CRITICAL : Severity.WARNING,
        condition,
        fastShown ? fl : sl,
        fastShown ? cfg.sloFastRate : cfg.sloSlowRate,
        fastShown ? fs : ss,
        "ratio",
        String.format(
            Locale.ROOT,
            "SLO error budget burning at %.1fx over %s and %.1fx over %s (fast pair, >= %.1fx);"
                + " %.1fx over %s and %.1fx over %s (slow pair, >= %.1fx)",
            fl,
            human(cfg.sloFastLong),
            fs,
            human(cfg.sloFastShort),
            cfg.sloFastRate,
            sl,
            human(cfg.sloSlowLong),
            ss,
            human(cfg.sloSlowShort),
            cfg.sloSlowRate),
        ev);
  }

  /**
   * Width of the SLO burn rule's count buckets: the shorter short window, at most 5 min (a 6 h
   * window is then 72 buckets).
   */
  static long sloBucketMs(AlertSettings cfg) {
    return Math.max(
        1, Math.min(300_000L, Math.min(cfg.sloFastShort.toMillis(), cfg.sloSlowShort.toMillis())));
  }

  /** (good, total) over [endMs - lengthMs, endMs), the oldest bucket by its share inside. */
  private static double[] sloRange(
      RuleState s, int buckets, long bucketMs, long endMs, long lengthMs) {
    long fromMs = endMs - lengthMs;
    double g = 0;
    double t = 0;
    for (long b = s.epoch; b > s.epoch - buckets; b--) {
      long bStart = b * bucketMs;
      long bEnd = bStart + bucketMs;
      if (bEnd <= fromMs) {
        break;
      }
      if (bStart >= endMs) {
        continue; // after the judged window (a late window judged after later ones)
      }
      double share =
          bStart >= fromMs ? 1 : (double) (bEnd - fromMs) / bucketMs; // partly inside the range
      int at = (int) Math.floorMod(b, (long) buckets);
      g += share * s.counts[2 * at];
      t += share * s.counts[2 * at + 1];
    }
    return new double[] {g, t};
  }

  private static double burn(double[] goodTotal, double budget) {
    return goodTotal[1] <= 0 ? 0 : (goodTotal[1] - goodTotal[0]) / goodTotal[1] / budget;
  }

  private static String human(java.time.Duration d) {
    long s = d.toSeconds();
    return s % 3600 == 0 ? s / 3600 + " h" : s % 60 == 0 ? s / 60 + " min" : s + " s";
  }

  /**
   * One-sided 99 % normal quantile: {@link #errorSpike} fires when the failure share is at least
   * its threshold with this confidence.
   */
  static final double ERROR_SPIKE_Z = 2.326;

  /**
   * Error spike of one window: fires when the lower bound of the failure share's one-sided 99 %
   * Wilson score interval reaches {@code alerts.error.spike.pct}, with at least {@code
   * alerts.error.spike.min.requests} requests. The share itself is noisy in a window of few
   * requests: at a normal 1.3 % failure rate, 1 failure in 20 requests (5 %) is common; the bound
   * asks for 4 of 20, 13 of 136 or 67 of 1,000. Resolves on the share itself, below the deadband.
   */
  public static Decision errorSpike(RuleState s, long errors, long requests, AlertSettings cfg) {
    double pct = requests == 0 ? 0 : 100.0 * errors / requests;
    double lowerPct = 100.0 * wilsonLower(errors, requests, ERROR_SPIKE_Z);
    boolean condition =
        hold(
            s,
            requests >= cfg.errorSpikeMinRequests && lowerPct >= cfg.errorSpikePct,
            pct < clearLevel(cfg.errorSpikePct, cfg),
            cfg);
    Map<String, String> ev = resolveEvidence(cfg.errorSpikePct, cfg);
    ev.put("failedRequests", String.valueOf(errors));
    ev.put("requests", String.valueOf(requests));
    ev.put("lowerBoundPct", fmt(lowerPct));
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

  /**
   * The lower bound of the Wilson score interval of {@code k} successes in {@code n} at {@code z}.
   */
  static double wilsonLower(long k, long n, double z) {
    if (n <= 0) {
      return 0;
    }
    double p = (double) k / n;
    double z2n = z * z / n;
    double centre = p + z2n / 2;
    double spread = z * Math.sqrt(p * (1 - p) / n + z2n / (4.0 * n));
    return Math.max(0, (centre - spread) / (1 + z2n));
  }

  /**
   * Queue build-up of one window: summed queue time / summed e2e latency at least {@code
   * alerts.queue.share.pct}, judged with at least {@code alerts.queue.min.requests} requests (in a
   * window of a few requests, one request that waited for a model load or in a long queue is most
   * of the sum).
   */
  public static Decision queueBuildup(
      RuleState s,
      double queueSharePct,
      long requests,
      long queueSumUs,
      long e2eSumUs,
      AlertSettings cfg) {
    double share = Double.isNaN(queueSharePct) ? 0 : queueSharePct;
    boolean condition =
        hold(
            s,
            requests >= cfg.queueMinRequests && share >= cfg.queueSharePct,
            share < clearLevel(cfg.queueSharePct, cfg),
            cfg);
    Map<String, String> ev = resolveEvidence(cfg.queueSharePct, cfg);
    ev.put("queueTimeSumUs", String.valueOf(queueSumUs));
    ev.put("e2eSumUs", String.valueOf(e2eSumUs));
    ev.put("requests", String.valueOf(requests));
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
   * Memory leak: the slope of device memory over the last {@code alerts.memory.leak.horizon}
   * (default 30 min), Theil-Sen (the median of the slopes of all pairs of points, robust to
   * outliers), at or above {@code alerts.memory.leak.rate} (MiB/min) over the whole horizon AND
   * over its most recent third (memory keeps rising), with at least 90 % of the horizon covered and
   * load (mean GPU utilization) in the recent third not more than 10 points above the first third's
   * (memory that grows with traffic is a cache, not a leak). A model load, one large step then
   * flat, cannot satisfy both: a pair slope is positive only across the step, so the median is
   * positive over a range only when the step sits near its middle, and the step cannot be near the
   * middle of the horizon and of its last third at once. Points (window end, memory, load) are kept
   * one per horizon/60 in {@code s.counts} as (seconds after {@code s.epoch}, MiB, load x 10 + 1; 0
   * = unknown).
   */
  public static Decision memoryLeak(
      RuleState s, long windowEndMs, long memoryUsedBytes, double loadPct, AlertSettings cfg) {
    s.history.clear(); // per-window pairs of a version-2 state
    long horizonMs = cfg.memoryLeakHorizon.toMillis();
    long stepMs = Math.max(1, horizonMs / 60);
    long nowS = windowEndMs / 1000;
    long[] c = s.counts.length % 3 == 0 ? s.counts : new long[0];
    int n = c.length / 3;
    long lastS = n == 0 ? Long.MIN_VALUE : s.epoch + c[3 * (n - 1)];
    if (n == 0 || (nowS - lastS) * 1000 >= stepMs) {
      long load = Double.isNaN(loadPct) ? 0 : Math.round(Math.max(0, loadPct) * 10) + 1;
      long cutS = nowS - horizonMs / 1000;
      int keepFrom = 0;
      while (keepFrom < n && s.epoch + c[3 * keepFrom] < cutS) {
        keepFrom++;
      }
      long epoch = keepFrom < n ? s.epoch + c[3 * keepFrom] : nowS;
      long[] next = new long[3 * (n - keepFrom + 1)];
      for (int i = keepFrom, j = 0; i < n; i++, j++) {
        next[3 * j] = s.epoch + c[3 * i] - epoch;
        next[3 * j + 1] = c[3 * i + 1];
        next[3 * j + 2] = c[3 * i + 2];
      }
      next[next.length - 3] = nowS - epoch;
      next[next.length - 2] = Math.max(0, memoryUsedBytes) >> 20;
      next[next.length - 1] = load;
      s.epoch = epoch;
      s.counts = next;
      c = next;
      n = next.length / 3;
    }
    double[] tMin = new double[n];
    double[] mib = new double[n];
    for (int i = 0; i < n; i++) {
      tMin[i] = c[3 * i] / 60.0;
      mib[i] = c[3 * i + 1];
    }
    double spanMin = n == 0 ? 0 : tMin[n - 1] - tMin[0];
    boolean covered = n >= 3 && spanMin * 60_000 >= 0.9 * horizonMs;
    double slope = theilSen(tMin, mib, 0, n);
    int recentFrom = 0;
    double thirdMin = horizonMs / 3.0 / 60_000;
    while (recentFrom < n && tMin[recentFrom] < tMin[n - 1] - thirdMin) {
      recentFrom++;
    }
    double recentSlope = theilSen(tMin, mib, recentFrom, n);
    double firstLoad = meanLoad(c, 0, n, tMin, tMin.length == 0 ? 0 : tMin[0] + thirdMin, true);
    double lastLoad = meanLoad(c, recentFrom, n, tMin, 0, false);
    boolean loadFlat =
        Double.isNaN(firstLoad) || Double.isNaN(lastLoad) || lastLoad <= firstLoad + 10;
    double rate = cfg.memoryLeakRateMibPerMin;
    boolean fire = covered && slope >= rate && recentSlope >= rate && loadFlat;
    boolean clear =
        !covered || slope < clearLevel(rate, cfg) || recentSlope < clearLevel(rate, cfg);
    boolean condition = hold(s, fire, clear, cfg);
    Map<String, String> ev = resolveEvidence(rate, cfg);
    ev.put("slopeMibPerMin", fmt(slope));
    ev.put("recentSlopeMibPerMin", fmt(recentSlope));
    ev.put("horizonMinutes", fmt(horizonMs / 60_000.0));
    ev.put("coveredMinutes", fmt(spanMin));
    ev.put("points", String.valueOf(n));
    ev.put("memoryUsedFirstMib", n == 0 ? "" : String.valueOf(c[1]));
    ev.put("memoryUsedLastMib", n == 0 ? "" : String.valueOf(c[3 * (n - 1) + 1]));
    ev.put("loadFirstPct", fmt(firstLoad));
    ev.put("loadLastPct", fmt(lastLoad));
    return new Decision(
        MEMORY_LEAK,
        Severity.WARNING,
        condition,
        slope,
        rate,
        null,
        "MiB/min",
        String.format(
            Locale.ROOT,
            "device memory rising %.1f MiB/min over %.0f min (%.1f MiB/min in the last third)"
                + " while load stayed flat",
            slope,
            spanMin,
            recentSlope),
        ev);
  }

  /** Theil-Sen slope of points [from, to): the median of all pair slopes; 0 with fewer than 2. */
  static double theilSen(double[] x, double[] y, int from, int to) {
    int n = to - from;
    if (n < 2) {
      return 0;
    }
    double[] slopes = new double[n * (n - 1) / 2];
    int k = 0;
    for (int i = from; i < to; i++) {
      for (int j = i + 1; j < to; j++) {
        double dx = x[j] - x[i];
        if (dx > 0) {
          slopes[k++] = (y[j] - y[i]) / dx;
        }
      }
    }
    if (k == 0) {
      return 0;
    }
    java.util.Arrays.sort(slopes, 0, k);
    return k % 2 == 1 ? slopes[k / 2] : (slopes[k / 2 - 1] + slopes[k / 2]) / 2;
  }

  /**
   * Mean load (percent) of points [from, to), those before {@code untilMin} when {@code bounded};
   * NaN when none is known.
   */
  private static double meanLoad(
      long[] c, int from, int to, double[] tMin, double untilMin, boolean bounded) {
    double sum = 0;
    int m = 0;
    for (int i = from; i < to; i++) {
      if (bounded && tMin[i] > untilMin) {
        break;
      }
      if (c[3 * i + 2] > 0) {
        sum += (c[3 * i + 2] - 1) / 10.0;
        m++;
      }
    }
    return m == 0 ? Double.NaN : sum / m;
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
