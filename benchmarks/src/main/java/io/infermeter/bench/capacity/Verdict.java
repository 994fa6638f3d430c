package io.infermeter.bench.capacity;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The capacity benchmark's conclusion from its steps: the highest rate the pipeline sustained and
 * the stage that saturated first, each from the measurements.
 */
final class Verdict {

  /** Driver threads sending more than this share of their time wait on the ingest side. */
  static final double SENDING_SHARE = 0.5;

  /** Below this share of the target rate the input side did not keep up. */
  static final double ACHIEVED_SHARE = 0.95;

  /** The freshness bound's slack after window and grace, seconds. */
  static final double STREAMS_SLACK_SECONDS = 5.0;

  /** More than this share of the expected windows missing fails freshness. */
  static final double MISSING_SHARE = 0.01;

  /**
   * One measured step.
   *
   * @param targetRate the requested rate, requests/s
   * @param achievedRate requests/s accepted over the steady part
   * @param cpuPercent stage -> CPU over the steady part, % of one core (absent: not run)
   * @param machinePercent the whole machine's busy time, % of all cores
   * @param streamsLag the streams app's lag on the requests topic at the end, records
   * @param streamsLagGrew whether that lag grew over the steady part
   * @param sinkLag the sink's lag on its input topics at the end, records
   * @param sinkLagGrew whether that lag grew over the steady part
   * @param streamsPeakLagSeconds the streams app's highest lag sampled in the steady part, in
   *     seconds of the accepted rate (the delay it adds to closing windows)
   * @param sendingShare share (0-1) of the driver threads' time spent sending: near 1, they waited
   *     for the collector (or the publisher); well below, the driver had time left
   * @param windows host windows that end in the step and are in ClickHouse
   * @param missingWindows expected windows not in ClickHouse when queried
   * @param p50Ms freshness p50, ms (NaN: no window)
   * @param p99Ms freshness p99, ms (NaN: no window)
   */
  record Step(
      int targetRate,
      double achievedRate,
      Map<String, Double> cpuPercent,
      double machinePercent,
      long streamsLag,
      boolean streamsLagGrew,
      long sinkLag,
      boolean sinkLagGrew,
      double streamsPeakLagSeconds,
      double sendingShare,
      int windows,
      long missingWindows,
      double p50Ms,
      double p99Ms) {

    boolean inputKeptUp() {
      return achievedRate >= ACHIEVED_SHARE * targetRate;
    }

    boolean freshWithin(long boundMs) {
      long expected = windows + missingWindows;
      return windows > 0 && p99Ms <= boundMs && missingWindows <= MISSING_SHARE * expected;
    }

    boolean sustained(long boundMs) {
      return inputKeptUp() && !streamsLagGrew && !sinkLagGrew && freshWithin(boundMs);
    }

    /** The stage with the most CPU in this step and its %. */
    Map.Entry<String, Double> busiest() {
      return cpuPercent.entrySet().stream()
          .filter(e -> !e.getValue().isNaN())
          .max(Map.Entry.comparingByValue())
          .orElse(Map.entry("-", Double.NaN));
    }
  }

  private Verdict() {}

  /** The highest target rate that was sustained (see {@link Step#sustained}). */
  static Optional<Step> highestSustained(List<Step> steps, long boundMs) {
    return steps.stream()
        .filter(s -> s.sustained(boundMs))
        .max(Comparator.comparingInt(Step::targetRate));
  }

  /**
   * The first (lowest-rate) step that was not sustained, and every stage that gave out there, in
   * pipeline order: the input side when the accepted rate fell short (the collector when the
   * driver's threads spent most of their time waiting for its answers, else the driver), the
   * streams app when its lag grew or peaked above the freshness bound's slack, the sink (or
   * ClickHouse, if it used more CPU than the sink) when its lag grew; the sink side when only
   * freshness failed. Empty when every step was sustained.
   */
  static Optional<String> firstSaturated(List<Step> steps, long boundMs, boolean direct) {
    return steps.stream()
        .sorted(Comparator.comparingInt(Step::targetRate))
        .filter(s -> !s.sustained(boundMs))
        .findFirst()
        .map(s -> explain(s, boundMs, direct));
  }

  static String explain(Step s, long boundMs, boolean direct) {
    Map<String, Double> cpu = s.cpuPercent();
    List<String> stages = new ArrayList<>();
    List<String> why = new ArrayList<>();
    if (!s.inputKeptUp()) {
      stages.add(
          s.sendingShare() > SENDING_SHARE
              ? (direct ? "Kafka producer path (publisher)" : "collector (HTTP ingest)")
              : "load driver");
      why.add(
          String.format(
              "accepted %.0f of %d requests/s (%.0f %%), driver threads sending %.0f %% of the time",
              s.achievedRate(),
              s.targetRate(),
              100 * s.achievedRate() / s.targetRate(),
              100 * s.sendingShare()));
    }
    if (s.streamsLagGrew() || s.streamsPeakLagSeconds() > STREAMS_SLACK_SECONDS) {
      // a streams backlog of more than the bound's slack (bound - window - grace) delays every
      // window's close by as much
      stages.add("streams app");
      why.add(
          String.format(
              "its lag on the requests topic %s %,d records (peak %.1f s of input)",
              s.streamsLagGrew() ? "grew to" : "stood at",
              s.streamsLag(),
              s.streamsPeakLagSeconds()));
    }
    if (s.sinkLagGrew()) {
      double sink = cpu.getOrDefault("sink", Double.NaN);
      double clickhouse = cpu.getOrDefault("clickhouse", Double.NaN);
      stages.add(clickhouse > sink ? "ClickHouse (behind the sink)" : "sink");
      why.add(String.format("the sink's lag grew to %,d records", s.sinkLag()));
    }
    if (stages.isEmpty()) {
      stages.add("sink / ClickHouse (freshness)");
    }
    if (!s.freshWithin(boundMs)) {
      why.add(
          String.format(
              "freshness p99 %.1f s against the bound of %.1f s (%d of %d windows missing)",
              s.p99Ms() / 1000,
              boundMs / 1000.0,
              s.missingWindows(),
              s.windows() + s.missingWindows()));
    }
    Map<String, Double> ranked = new LinkedHashMap<>();
    cpu.entrySet().stream()
        .filter(e -> !e.getValue().isNaN())
        .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
        .forEach(e -> ranked.put(e.getKey(), e.getValue()));
    StringBuilder text = new StringBuilder(String.join("; ", why));
    text.append(String.format("; machine %.0f %% busy; CPU, %% of one core: ", s.machinePercent()));
    ranked.forEach((k, v) -> text.append(String.format("%s %.0f, ", k, v)));
    text.setLength(text.length() - 2);
    return String.format(
        "%s at %,d requests/s: %s", String.join(" and ", stages), s.targetRate(), text);
  }
}
