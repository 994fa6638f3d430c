package io.infermeter.report.internal;

import java.util.List;

/**
 * Everything one report shows, as read from ClickHouse. Latencies in microseconds, energy in
 * joules, carbon in grams CO2e, money in the row's currency, shares and attainment in percent; NaN
 * where the source has no value. Immutable.
 */
public record ReportData(
    List<LatencyPoint> latencyOverTime,
    List<Percentiles> percentiles,
    List<SloRow> slo,
    List<SloClassRow> sloClasses,
    List<CostRow> cost,
    List<EnergyRow> energy,
    List<EnergyMethodRow> energyMethods,
    List<TopAlertRow> topAlerts,
    List<AlertRow> alerts,
    long alertsFiring,
    long alertsResolved,
    List<BottleneckRow> bottlenecks,
    List<DeadLetterRow> deadLetters,
    List<WorstWindow> worstWindows) {

  public ReportData {
    latencyOverTime = List.copyOf(latencyOverTime);
    percentiles = List.copyOf(percentiles);
    slo = List.copyOf(slo);
    sloClasses = List.copyOf(sloClasses);
    cost = List.copyOf(cost);
    energy = List.copyOf(energy);
    energyMethods = List.copyOf(energyMethods);
    topAlerts = List.copyOf(topAlerts);
    alerts = List.copyOf(alerts);
    bottlenecks = List.copyOf(bottlenecks);
    deadLetters = List.copyOf(deadLetters);
    worstWindows = List.copyOf(worstWindows);
  }

  /** A report without worst windows. */
  public ReportData(
      List<LatencyPoint> latencyOverTime,
      List<Percentiles> percentiles,
      List<SloRow> slo,
      List<SloClassRow> sloClasses,
      List<CostRow> cost,
      List<EnergyRow> energy,
      List<EnergyMethodRow> energyMethods,
      List<TopAlertRow> topAlerts,
      List<AlertRow> alerts,
      long alertsFiring,
      long alertsResolved,
      List<BottleneckRow> bottlenecks,
      List<DeadLetterRow> deadLetters) {
    this(
        latencyOverTime,
        percentiles,
        slo,
        sloClasses,
        cost,
        energy,
        energyMethods,
        topAlerts,
        alerts,
        alertsFiring,
        alertsResolved,
        bottlenecks,
        deadLetters,
        List.of());
  }

  /** This report with {@code worst} as its worst windows. */
  public ReportData withWorstWindows(List<WorstWindow> worst) {
    return new ReportData(
        latencyOverTime,
        percentiles,
        slo,
        sloClasses,
        cost,
        energy,
        energyMethods,
        topAlerts,
        alerts,
        alertsFiring,
        alertsResolved,
        bottlenecks,
        deadLetters,
        worst);
  }

  /** An empty report (no rows anywhere). */
  public static ReportData empty() {
    return new ReportData(
        List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
        List.of(), 0, 0, List.of(), List.of());
  }

  /**
   * Fleet percentiles of one model and metric (warm cohort) in one time step, merged from the host
   * histograms.
   */
  public record LatencyPoint(
      String metric,
      String model,
      long stepStartMicros,
      long samples,
      long p50Us,
      long p99Us,
      long p999Us) {}

  /** Fleet percentiles over the whole range (view fleet_latency_percentiles). */
  public record Percentiles(
      String model,
      String metric,
      String cohort,
      long samples,
      long p50Us,
      long p99Us,
      long p999Us) {}

  /** View latency_slo_attainment. */
  public record SloRow(
      String model,
      String metric,
      long thresholdUs,
      long requests,
      long withinThreshold,
      double attainmentPct) {}

  /** View slo_class_attainment. */
  public record SloClassRow(
      String model, String sloClass, long requests, long good, double attainmentPct) {}

  /** View cost_per_million_tokens. */
  public record CostRow(
      String model,
      String gpuType,
      String currency,
      double attributedCost,
      long outputTokens,
      double costPer1mOutputTokens) {}

  /** View energy_carbon_by_region. */
  public record EnergyRow(
      String region,
      double measuredEnergyJ,
      double attributedEnergyJ,
      double idleEnergyJ,
      long outputTokens,
      double energyPer1kOutputTokensJ,
      double totalCarbonG,
      double idleCarbonG,
      double carbonPer1kOutputTokensG) {}

  /**
   * How device energy was obtained (device_energy.method): COUNTER, POWER_INTEGRATION, ESTIMATED,
   * NONE.
   */
  public record EnergyMethodRow(String method, long deviceWindows, double measuredEnergyJ) {}

  /** View top_alerts. */
  public record TopAlertRow(
      String rule,
      String host,
      String model,
      String deviceId,
      long incidents,
      long firings,
      String worstSeverity,
      String lastState) {}

  /**
   * One alert record (FIRING or RESOLVED), newest first, with the slowest requests behind it (view
   * requests_behind_alert; empty when none were stored or the alert is not among those the report
   * looks up).
   */
  public record AlertRow(
      long emittedMicros,
      String rule,
      String severity,
      String state,
      String host,
      String model,
      String deviceId,
      double observed,
      double threshold,
      String unit,
      String summary,
      String alertId,
      List<AlertRequest> requests) {

    public AlertRow {
      requests = List.copyOf(requests);
    }

    /** An alert without its id and requests. */
    public AlertRow(
        long emittedMicros,
        String rule,
        String severity,
        String state,
        String host,
        String model,
        String deviceId,
        double observed,
        double threshold,
        String unit,
        String summary) {
      this(
          emittedMicros,
          rule,
          severity,
          state,
          host,
          model,
          deviceId,
          observed,
          threshold,
          unit,
          summary,
          "",
          List.of());
    }

    public AlertRow withRequests(List<AlertRequest> behind) {
      return new AlertRow(
          emittedMicros,
          rule,
          severity,
          state,
          host,
          model,
          deviceId,
          observed,
          threshold,
          unit,
          summary,
          alertId,
          behind);
    }
  }

  /**
   * One request behind an alert (raw requests table); TTFT -1 when the request had no first token.
   */
  public record AlertRequest(
      long completedMicros,
      String host,
      String model,
      String eventId,
      String requestId,
      String status,
      long e2eUs,
      long ttftUs) {}

  /**
   * Dead letters (records no stage could process) per stage and reason, with the latest detection
   * time.
   */
  public record DeadLetterRow(String stage, String reason, long count, long lastDetectedMicros) {}

  /**
   * The window of one model with the highest fleet p99 of one latency metric (warm cohort, merged
   * from the host histograms as the time-series charts are), with its exemplars: the slowest
   * successful requests of the window over every host, slowest first (at most 3; empty when the
   * window's rows carry none).
   */
  public record WorstWindow(
      String model,
      String metric,
      long windowStartMicros,
      long p99Us,
      long samples,
      List<Exemplar> exemplars) {

    public WorstWindow {
      exemplars = List.copyOf(exemplars);
    }
  }

  /**
   * One exemplar of a worst window: its value (microseconds), ids and host from window_latency,
   * and, when the raw requests table holds the request ({@code stored}), its status, TTFT and
   * tokens; -1 for a value the stored request lacks (no first token, no token counts).
   */
  public record Exemplar(
      long valueUs,
      String requestId,
      String eventId,
      String host,
      boolean stored,
      String status,
      long ttftUs,
      long inputTokens,
      long outputTokens) {}

  /** View bottleneck_share. */
  public record BottleneckRow(String host, String label, long windows, double sharePct) {}
}
