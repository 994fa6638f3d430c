package io.infermeter.report.internal;

import io.infermeter.report.ReportRequest;
import io.infermeter.report.internal.BarChart.Bars;
import io.infermeter.report.internal.LineChart.Point;
import io.infermeter.report.internal.LineChart.Series;
import io.infermeter.report.internal.ReportData.AlertRequest;
import io.infermeter.report.internal.ReportData.AlertRow;
import io.infermeter.report.internal.ReportData.BottleneckRow;
import io.infermeter.report.internal.ReportData.CostRow;
import io.infermeter.report.internal.ReportData.DeadLetterRow;
import io.infermeter.report.internal.ReportData.EnergyMethodRow;
import io.infermeter.report.internal.ReportData.EnergyRow;
import io.infermeter.report.internal.ReportData.LatencyPoint;
import io.infermeter.report.internal.ReportData.Percentiles;
import io.infermeter.report.internal.ReportData.SloClassRow;
import io.infermeter.report.internal.ReportData.SloRow;
import io.infermeter.report.internal.ReportData.TopAlertRow;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Renders {@link ReportData} as one self-contained HTML page: inline CSS, inline SVG charts, no
 * script, no external resource of any kind (the page must open offline). Every database string is
 * escaped. Numeric table cells carry the exact value in {@code data-value} (latencies in
 * microseconds) next to the rounded display. Stateless and thread-safe.
 */
public final class HtmlReport {

  private static final String CSS =
      """
      body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}
      h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}
      table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
      th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}td.num{text-align:right}
      th{background:#f2f2f2}figure{margin:12px 0}.no-data-message{color:#777;font-style:italic}
      .banner{background:#fff4ce;border:1px solid #e0b000;padding:8px;margin:8px 0}
      .meta{color:#555;font-size:13px}
      """;

  private HtmlReport() {}

  /** One table cell: display text and, for numbers, the exact value. */
  record Cell(String text, String value, boolean numeric, String href) {
    Cell(String text, String value, boolean numeric) {
      this(text, value, numeric, null);
    }

    static Cell text(String s) {
      return new Cell(s, null, false);
    }

    /** A link within the page ({@code #id}). */
    static Cell link(String s, String href) {
      return new Cell(s, null, false, href);
    }

    static Cell num(double v) {
      return new Cell(Html.number(v), Html.number(v, 12), true);
    }

    static Cell count(long v) {
      return new Cell(Long.toString(v), Long.toString(v), true);
    }

    static Cell micros(long us) {
      return new Cell(Html.microsAsMillis(us), Long.toString(us), true);
    }

    /** A token rate given in milli-tokens per second, shown in tokens/s. */
    static Cell milliTokensPerSec(long v) {
      return new Cell(Html.microsAsMillis(v), Long.toString(v), true);
    }
  }

  /** The page. */
  public static String render(ReportData d, ReportRequest r) {
    StringBuilder sb = new StringBuilder(64 * 1024);
    sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta name=\"generator\" content=\"infermeter report\">\n")
        .append("<title>infermeter report ")
        .append(Html.escape(Html.utc(r.from())))
        .append(" to ")
        .append(Html.escape(Html.utc(r.to())))
        .append("</title>\n<style>")
        .append(CSS)
        .append("</style>\n</head>\n<body>\n");
    sb.append(
            "<h1>infermeter fleet report</h1>\n<p class=\"meta\" id=\"report-meta\">Database <code>")
        .append(Html.escape(r.database()))
        .append("</code>; windows starting in [")
        .append(Html.escape(Html.utc(r.from())))
        .append(", ")
        .append(Html.escape(Html.utc(r.to())))
        .append("); window size ")
        .append(Html.number(r.windowMs() / 1000.0, 9))
        .append(" s; time-series step ")
        .append(Html.number(r.stepMicros() / 1e6, 6))
        .append(" s; generated ")
        .append(Html.escape(Html.utc(r.generatedAt())))
        .append(
            ". Percentiles are merged exactly from the per-host "
                + "HdrHistogram buckets (3 significant digits), never averaged.</p>\n");
    appendProvenance(sb, d);
    appendLatency(sb, d, r);
    appendSlo(sb, d, r);
    appendCost(sb, d);
    appendEnergy(sb, d);
    appendAlerts(sb, d);
    appendBottlenecks(sb, d);
    appendDeadLetters(sb, d);
    sb.append("</body>\n</html>\n");
    return sb.toString();
  }

  private static void appendProvenance(StringBuilder sb, ReportData d) {
    for (EnergyMethodRow m : d.energyMethods()) {
      if ("ESTIMATED".equals(m.method()) && m.deviceWindows() > 0) {
        sb.append("<p class=\"banner\" id=\"estimated-energy\">Estimated data: ")
            .append(m.deviceWindows())
            .append(" device windows (")
            .append(Html.number(m.measuredEnergyJ()))
            .append(
                " J) come from an estimated "
                    + "or simulated power source, not from a measurement; energy, carbon and cost that depend on them are "
                    + "estimates.</p>\n");
      }
    }
  }

  private static void appendLatency(StringBuilder sb, ReportData d, ReportRequest r) {
    sb.append("<h2 id=\"latency\">Fleet latency percentiles (warm requests)</h2>\n");
    for (String metric : r.latencyMetrics()) {
      Map<String, List<LatencyPoint>> byModel = new LinkedHashMap<>();
      for (LatencyPoint p : d.latencyOverTime()) {
        if (p.metric().equals(metric)) {
          byModel.computeIfAbsent(p.model(), k -> new ArrayList<>()).add(p);
        }
      }
      String title = metric.toUpperCase(java.util.Locale.ROOT) + " p50 / p99 / p99.9 over time";
      if (byModel.isEmpty()) {
        sb.append(
            Svg.noData(
                "chart-latency-" + metric,
                title,
                "no " + metric + " histograms in the selected range"));
        continue;
      }
      int i = 0;
      for (Map.Entry<String, List<LatencyPoint>> e : byModel.entrySet()) {
        List<LatencyPoint> pts = e.getValue();
        List<Series> series =
            List.of(
                new Series("p50", map(pts, p -> p.p50Us())),
                new Series("p99", map(pts, p -> p.p99Us())),
                new Series("p99.9", map(pts, p -> p.p999Us())));
        sb.append(
            LineChart.render(
                "chart-latency-" + metric + "-" + (++i),
                "Model " + e.getKey() + ": " + title,
                ReportRequest.isTokenRate(metric)
                    ? metric + " (tokens/s per request)"
                    : metric + " latency (ms)",
                series));
      }
    }
    // whole range
    List<Percentiles> e2e =
        d.percentiles().stream()
            .filter(p -> p.metric().equals("e2e") && p.cohort().equals("warm"))
            .toList();
    List<String> models = e2e.stream().map(Percentiles::model).toList();
    sb.append(
        BarChart.render(
            "chart-e2e-percentiles",
            "E2E latency percentiles over the whole range (warm)",
            "e2e latency (ms)",
            models,
            List.of(
                new Bars("p50", e2e.stream().map(p -> p.p50Us() / 1000.0).toList()),
                new Bars("p99", e2e.stream().map(p -> p.p99Us() / 1000.0).toList()),
                new Bars("p99.9", e2e.stream().map(p -> p.p999Us() / 1000.0).toList()))));
    List<List<Cell>> rows = new ArrayList<>();
    List<List<Cell>> rates = new ArrayList<>();
    for (Percentiles p : d.percentiles()) {
      if (ReportRequest.isTokenRate(p.metric())) {
        rates.add(
            List.of(
                Cell.text(p.model()),
                Cell.text(p.metric()),
                Cell.text(p.cohort()),
                Cell.count(p.samples()),
                Cell.milliTokensPerSec(p.p50Us()),
                Cell.milliTokensPerSec(p.p99Us()),
                Cell.milliTokensPerSec(p.p999Us())));
        continue;
      }
      rows.add(
          List.of(
              Cell.text(p.model()),
              Cell.text(p.metric()),
              Cell.text(p.cohort()),
              Cell.count(p.samples()),
              Cell.micros(p.p50Us()),
              Cell.micros(p.p99Us()),
              Cell.micros(p.p999Us())));
    }
    table(
        sb,
        "table-percentiles",
        "Fleet percentiles over the whole range, every latency metric and cohort",
        List.of(
            "model", "metric", "cohort", "requests (count)", "p50 (ms)", "p99 (ms)", "p99.9 (ms)"),
        rows);
    // a rate's high percentiles are its fastest requests; its slow tail is at the low ones
    table(
        sb,
        "table-token-rates",
        "Per-request token rates over the whole range (output tokens/s after the first token,"
            + " input tokens/s of prefill); p99 is the fastest 1 %",
        List.of(
            "model",
            "metric",
            "cohort",
            "requests (count)",
            "p50 (tokens/s)",
            "p99 (tokens/s)",
            "p99.9 (tokens/s)"),
        rates);
    appendExemplars(sb, d);
  }

  /**
   * Under the latency charts, per model, the window with the highest fleet p99 of the report's
   * first latency metric and its exemplars (the window's slowest successful requests), with what
   * the raw requests table holds of each, so that the worst point of a chart leads to request ids.
   */
  private static void appendExemplars(StringBuilder sb, ReportData d) {
    sb.append(
        "<h3 id=\"exemplars\">Slowest requests of the worst window per model (exemplars)</h3>\n"
            + "<p>For each model, the window with the highest p99 of the metric below (warm requests, merged"
            + " over the hosts as in the charts) and its exemplars: the slowest successful requests of that"
            + " window over every host, slowest first (at most "
            + ClickHouseSource.EXEMPLARS_PER_WINDOW
            + "; window_latency.exemplar_*). Status, TTFT and tokens come from the raw requests table;"
            + " \"not stored\" means it does not hold the request (raw requests off, sampled out or"
            + " expired). Times in ms.</p>\n");
    if (d.worstWindows().isEmpty()) {
      sb.append(
          "<p class=\"no-data-message\" id=\"exemplars-empty\" data-table-empty=\"exemplars\">No"
              + " latency windows in the selected time range, so no slowest requests to show.</p>\n");
      return;
    }
    for (int i = 0; i < d.worstWindows().size(); i++) {
      ReportData.WorstWindow w = d.worstWindows().get(i);
      String caption =
          "Model "
              + w.model()
              + ": window starting "
              + Html.utc(micros(w.windowStartMicros()))
              + ", p99 "
              + w.metric()
              + " "
              + Html.microsAsMillis(w.p99Us())
              + " ms over "
              + w.samples()
              + " requests (the highest window p99 of the range)";
      if (w.exemplars().isEmpty()) {
        sb.append("<p class=\"no-data-message\" id=\"exemplars-")
            .append(i + 1)
            .append("\" data-table-empty=\"exemplars-")
            .append(i + 1)
            .append("\">")
            .append(Html.escape(caption))
            .append(
                ": its rows carry no exemplars (no successful request of the metric, or written by"
                    + " a streams app that does not keep exemplars).</p>\n");
        continue;
      }
      List<List<Cell>> rows = new ArrayList<>();
      int rank = 0;
      for (ReportData.Exemplar x : w.exemplars()) {
        rows.add(
            List.of(
                Cell.count(++rank),
                Cell.micros(x.valueUs()),
                Cell.text(x.requestId().isEmpty() ? "-" : x.requestId()),
                Cell.text(x.eventId()),
                Cell.text(x.host()),
                Cell.text(x.stored() ? x.status() : "not stored"),
                x.ttftUs() < 0 ? Cell.text("-") : Cell.micros(x.ttftUs()),
                x.inputTokens() < 0 ? Cell.text("-") : Cell.count(x.inputTokens()),
                x.outputTokens() < 0 ? Cell.text("-") : Cell.count(x.outputTokens())));
      }
      table(
          sb,
          "exemplars-" + (i + 1),
          caption,
          List.of(
              "rank",
              w.metric() + " (ms)",
              "request id",
              "event id",
              "host",
              "status",
              "TTFT (ms)",
              "input tokens (count)",
              "output tokens (count)"),
          rows);
    }
  }

  private static List<Point> map(List<LatencyPoint> pts, Function<LatencyPoint, Long> f) {
    return pts.stream()
        .map(p -> new Point(Math.floorDiv(p.stepStartMicros(), 1000L), f.apply(p) / 1000.0))
        .toList();
  }

  private static void appendSlo(StringBuilder sb, ReportData d, ReportRequest r) {
    sb.append("<h2 id=\"slo\">SLO attainment</h2>\n");
    Set<String> models = new LinkedHashSet<>();
    d.slo().forEach(s -> models.add(s.model()));
    List<String> cats = List.copyOf(models);
    String ttftName = "TTFT <= " + Html.microsAsMillis(r.ttftThresholdUs()) + " ms";
    String tpotName = "TPOT <= " + Html.microsAsMillis(r.tpotThresholdUs()) + " ms";
    sb.append(
        BarChart.render(
            "chart-slo",
            "TTFT / TPOT SLO attainment by model",
            "requests within threshold (%)",
            cats,
            List.of(
                new Bars(ttftName, sloValues(d, cats, "ttft")),
                new Bars(tpotName, sloValues(d, cats, "tpot"))),
            NiceScale.fixed(0, 100, 20)));
    List<List<Cell>> rows = new ArrayList<>();
    for (SloRow s : d.slo()) {
      rows.add(
          List.of(
              Cell.text(s.model()),
              Cell.text(s.metric()),
              Cell.micros(s.thresholdUs()),
              Cell.count(s.requests()),
              Cell.count(s.withinThreshold()),
              Cell.num(s.attainmentPct())));
    }
    table(
        sb,
        "table-slo",
        "TTFT / TPOT attainment",
        List.of(
            "model",
            "metric",
            "threshold (ms)",
            "requests (count)",
            "within threshold (count)",
            "attainment (%)"),
        rows);
    rows = new ArrayList<>();
    for (SloClassRow s : d.sloClasses()) {
      rows.add(
          List.of(
              Cell.text(s.model()),
              Cell.text(s.sloClass()),
              Cell.count(s.requests()),
              Cell.count(s.good()),
              Cell.num(s.attainmentPct())));
    }
    table(
        sb,
        "table-slo-class",
        "Goodput attainment per SLO class (every threshold of the class met)",
        List.of("model", "SLO class", "requests (count)", "good (count)", "attainment (%)"),
        rows);
  }

  private static List<Double> sloValues(ReportData d, List<String> models, String metric) {
    List<Double> out = new ArrayList<>();
    for (String m : models) {
      out.add(
          d.slo().stream()
              .filter(s -> s.model().equals(m) && s.metric().equals(metric))
              .mapToDouble(SloRow::attainmentPct)
              .findFirst()
              .orElse(Double.NaN));
    }
    return out;
  }

  private static void appendCost(StringBuilder sb, ReportData d) {
    sb.append("<h2 id=\"cost\">Cost per 1M output tokens</h2>\n");
    Set<String> currencies = new LinkedHashSet<>();
    d.cost().forEach(c -> currencies.add(c.currency()));
    Set<String> catSet = new LinkedHashSet<>();
    d.cost().forEach(c -> catSet.add(c.model() + " / " + c.gpuType()));
    List<String> cats = List.copyOf(catSet);
    List<Bars> bars = new ArrayList<>();
    for (String cur : currencies) {
      List<Double> vals = new ArrayList<>();
      for (String cat : cats) {
        vals.add(
            d.cost().stream()
                .filter(
                    c -> c.currency().equals(cur) && (c.model() + " / " + c.gpuType()).equals(cat))
                .mapToDouble(CostRow::costPer1mOutputTokens)
                .findFirst()
                .orElse(Double.NaN));
      }
      bars.add(new Bars(cur, vals));
    }
    String unit = currencies.size() == 1 ? currencies.iterator().next() : "currency per series";
    sb.append(
        BarChart.render(
            "chart-cost",
            "Attributed cost per 1M output tokens by model / GPU type",
            "cost per 1M output tokens (" + unit + ")",
            cats,
            bars));
    List<List<Cell>> rows = new ArrayList<>();
    for (CostRow c : d.cost()) {
      rows.add(
          List.of(
              Cell.text(c.model()),
              Cell.text(c.gpuType()),
              Cell.text(c.currency()),
              Cell.num(c.attributedCost()),
              Cell.count(c.outputTokens()),
              Cell.num(c.costPer1mOutputTokens())));
    }
    table(
        sb,
        "table-cost",
        "Cost (idle cost is in the energy table's regions, not attributed to models)",
        List.of(
            "model",
            "GPU type",
            "currency",
            "attributed cost (currency)",
            "output tokens (count)",
            "cost per 1M output tokens (currency)"),
        rows);
  }

  private static void appendEnergy(StringBuilder sb, ReportData d) {
    sb.append("<h2 id=\"energy\">Energy and carbon by region</h2>\n");
    List<String> regions = d.energy().stream().map(EnergyRow::region).toList();
    sb.append(
        BarChart.render(
            "chart-energy",
            "Attributed IT energy per 1k output tokens by region",
            "energy per 1k output tokens (J)",
            regions,
            List.of(
                new Bars(
                    "J / 1k output tokens",
                    d.energy().stream().map(EnergyRow::energyPer1kOutputTokensJ).toList()))));
    sb.append(
        BarChart.render(
            "chart-carbon",
            "Carbon by region (facility energy x grid intensity)",
            "carbon (gCO2e)",
            regions,
            List.of(
                new Bars("total gCO2e", d.energy().stream().map(EnergyRow::totalCarbonG).toList()),
                new Bars("idle gCO2e", d.energy().stream().map(EnergyRow::idleCarbonG).toList()))));
    List<List<Cell>> rows = new ArrayList<>();
    for (EnergyRow e : d.energy()) {
      rows.add(
          List.of(
              Cell.text(e.region()),
              Cell.num(e.measuredEnergyJ()),
              Cell.num(e.attributedEnergyJ()),
              Cell.num(e.idleEnergyJ()),
              Cell.count(e.outputTokens()),
              Cell.num(e.energyPer1kOutputTokensJ()),
              Cell.num(e.totalCarbonG()),
              Cell.num(e.idleCarbonG()),
              Cell.num(e.carbonPer1kOutputTokensG())));
    }
    table(
        sb,
        "table-energy",
        "Energy and carbon",
        List.of(
            "region",
            "measured energy (J)",
            "attributed energy (J)",
            "idle energy (J)",
            "output tokens (count)",
            "energy per 1k output tokens (J)",
            "total carbon (gCO2e)",
            "idle carbon (gCO2e)",
            "carbon per 1k output tokens (gCO2e)"),
        rows);
    rows = new ArrayList<>();
    for (EnergyMethodRow m : d.energyMethods()) {
      rows.add(
          List.of(
              Cell.text(m.method()), Cell.count(m.deviceWindows()), Cell.num(m.measuredEnergyJ())));
    }
    table(
        sb,
        "table-energy-method",
        "How device energy was obtained (COUNTER, POWER_INTEGRATION: measured; "
            + "ESTIMATED: modelled)",
        List.of("method", "device windows (count)", "energy (J)"),
        rows);
  }

  private static void appendAlerts(StringBuilder sb, ReportData d) {
    sb.append("<h2 id=\"alerts\">Alerts</h2>\n<p id=\"alert-counts\" data-firing=\"")
        .append(d.alertsFiring())
        .append("\" data-resolved=\"")
        .append(d.alertsResolved())
        .append("\">")
        .append(d.alertsFiring())
        .append(" FIRING and ")
        .append(d.alertsResolved())
        .append(" RESOLVED alert records in the range.</p>\n");
    List<List<Cell>> rows = new ArrayList<>();
    for (TopAlertRow a : d.topAlerts()) {
      rows.add(
          List.of(
              Cell.text(a.rule()),
              Cell.text(a.host()),
              Cell.text(a.model()),
              Cell.text(a.deviceId()),
              Cell.count(a.incidents()),
              Cell.count(a.firings()),
              Cell.text(a.worstSeverity()),
              Cell.text(a.lastState())));
    }
    table(
        sb,
        "table-top-alerts",
        "Top alerts (incidents = distinct de-duplication keys)",
        List.of(
            "rule",
            "host",
            "model",
            "device",
            "incidents (count)",
            "firings (count)",
            "worst severity",
            "last state"),
        rows);
    rows = new ArrayList<>();
    List<Integer> withRequests = new ArrayList<>();
    for (int i = 0; i < d.alerts().size(); i++) {
      AlertRow a = d.alerts().get(i);
      Cell requests =
          a.requests().isEmpty()
              ? Cell.text("")
              : Cell.link(a.requests().size() + " slowest", "#alert-requests-" + i);
      if (!a.requests().isEmpty()) {
        withRequests.add(i);
      }
      rows.add(
          List.of(
              Cell.text(Html.utc(micros(a.emittedMicros()))),
              Cell.text(a.rule()),
              Cell.text(a.severity()),
              Cell.text(a.state()),
              Cell.text(a.host()),
              Cell.text(a.model()),
              Cell.text(a.deviceId()),
              Cell.num(a.observed()),
              Cell.num(a.threshold()),
              Cell.text(a.unit()),
              Cell.text(a.summary()),
              requests));
    }
    table(
        sb,
        "table-alerts",
        "Alerts fired and resolved, newest first (at most 500)",
        List.of(
            "emitted (UTC)",
            "rule",
            "severity",
            "state",
            "host",
            "model",
            "device",
            "observed (unit)",
            "threshold (unit)",
            "unit",
            "summary",
            "requests behind it"),
        rows);
    appendAlertRequests(sb, d, withRequests);
  }

  /**
   * Under each of the newest FIRING alerts, the slowest requests of its subject in its window (view
   * requests_behind_alert), so that an alert leads to request and event ids without leaving the
   * page.
   */
  private static void appendAlertRequests(
      StringBuilder sb, ReportData d, List<Integer> withRequests) {
    sb.append(
            "<h3 id=\"alert-requests\">Requests behind the alerts</h3>\n<p>The slowest stored requests (at most ")
        .append(ClickHouseSource.REQUESTS_PER_ALERT)
        .append(") of each of the newest ")
        .append(ClickHouseSource.ALERTS_WITH_REQUESTS)
        .append(
            " FIRING alerts: the alert's host, and its model when it"
                + " names one, completed in the alert's window (docs/queries.sql, requests_behind_alert).</p>\n");
    if (withRequests.isEmpty()) {
      sb.append(
          "<p class=\"no-data-message\" data-table-empty=\"alert-requests\">No stored requests behind the"
              + " alerts in the selected time range (the raw requests table is empty, sampled, or expired).</p>\n");
      return;
    }
    for (int i : withRequests) {
      AlertRow a = d.alerts().get(i);
      List<List<Cell>> rows = new ArrayList<>();
      for (AlertRequest r : a.requests()) {
        rows.add(
            List.of(
                Cell.text(Html.utc(micros(r.completedMicros()))),
                Cell.text(r.host()),
                Cell.text(r.model()),
                Cell.text(r.eventId()),
                Cell.text(r.requestId()),
                Cell.text(r.status()),
                Cell.micros(r.e2eUs()),
                r.ttftUs() < 0 ? Cell.text("-") : Cell.micros(r.ttftUs())));
      }
      table(
          sb,
          "alert-requests-" + i,
          a.rule()
              + " "
              + a.state()
              + " at "
              + Html.utc(micros(a.emittedMicros()))
              + " on "
              + (a.host().isEmpty() ? "the fleet" : a.host())
              + (a.model().isEmpty() ? "" : " / " + a.model())
              + " (alert "
              + a.alertId()
              + ")",
          List.of(
              "completed (UTC)",
              "host",
              "model",
              "event id",
              "request id",
              "status",
              "e2e (ms)",
              "TTFT (ms)"),
          rows);
    }
  }

  private static Instant micros(long us) {
    return Instant.ofEpochSecond(
        Math.floorDiv(us, 1_000_000L), Math.floorMod(us, 1_000_000L) * 1000L);
  }

  private static void appendBottlenecks(StringBuilder sb, ReportData d) {
    sb.append("<h2 id=\"bottlenecks\">Bottleneck share per host</h2>\n");
    Set<String> hosts = new LinkedHashSet<>();
    Set<String> labels = new LinkedHashSet<>();
    d.bottlenecks()
        .forEach(
            b -> {
              hosts.add(b.host());
              labels.add(b.label());
            });
    List<String> hostList = List.copyOf(hosts);
    List<Bars> bars = new ArrayList<>();
    for (String label : labels) {
      List<Double> vals = new ArrayList<>();
      for (String h : hostList) {
        vals.add(
            d.bottlenecks().stream()
                .filter(b -> b.host().equals(h) && b.label().equals(label))
                .mapToDouble(BottleneckRow::sharePct)
                .findFirst()
                .orElse(0.0)); // classified, never with this label
      }
      bars.add(new Bars(label, vals));
    }
    sb.append(
        BarChart.render(
            "chart-bottlenecks",
            "Share of classified windows per bottleneck label",
            "share of host's windows (%)",
            hostList,
            bars,
            NiceScale.fixed(0, 100, 20)));
    List<List<Cell>> rows = new ArrayList<>();
    for (BottleneckRow b : d.bottlenecks()) {
      rows.add(
          List.of(
              Cell.text(b.host()),
              Cell.text(b.label()),
              Cell.count(b.windows()),
              Cell.num(b.sharePct())));
    }
    table(
        sb,
        "table-bottlenecks",
        "Bottleneck share",
        List.of("host", "label", "windows (count)", "share (%)"),
        rows);
  }

  private static void appendDeadLetters(StringBuilder sb, ReportData d) {
    sb.append("<h2 id=\"dead-letters\">Dead letters</h2>\n");
    List<List<Cell>> rows = new ArrayList<>();
    for (DeadLetterRow r : d.deadLetters()) {
      rows.add(
          List.of(
              Cell.text(r.stage()),
              Cell.text(r.reason()),
              Cell.count(r.count()),
              Cell.text(
                  Html.utc(
                      Instant.ofEpochSecond(
                          Math.floorDiv(r.lastDetectedMicros(), 1_000_000L),
                          Math.floorMod(r.lastDetectedMicros(), 1_000_000L) * 1000L)))));
    }
    table(
        sb,
        "table-dead-letters",
        "Records a stage could not process, kept in the dead-letter topic (by stage and reason)",
        List.of("stage", "reason", "records (count)", "last detected (UTC)"),
        rows);
  }

  static void table(
      StringBuilder sb, String id, String caption, List<String> headers, List<List<Cell>> rows) {
    if (rows.isEmpty()) {
      sb.append("<p class=\"no-data-message\" id=\"")
          .append(Html.escape(id))
          .append("\" data-table-empty=\"")
          .append(Html.escape(id))
          .append("\">")
          .append(Html.escape(caption))
          .append(": no data in the selected time range.</p>\n");
      return;
    }
    sb.append("<table id=\"")
        .append(Html.escape(id))
        .append("\">\n<caption>")
        .append(Html.escape(caption))
        .append("</caption>\n<thead><tr>");
    for (String h : headers) {
      sb.append("<th>").append(Html.escape(h)).append("</th>");
    }
    sb.append("</tr></thead>\n<tbody>\n");
    for (List<Cell> row : rows) {
      sb.append("<tr>");
      for (Cell c : row) {
        if (c.numeric()) {
          sb.append("<td class=\"num\" data-value=\"")
              .append(Html.escape(c.value()))
              .append("\">")
              .append(Html.escape(c.text()))
              .append("</td>");
        } else if (c.href() != null) {
          sb.append("<td><a href=\"")
              .append(Html.escape(c.href()))
              .append("\">")
              .append(Html.escape(c.text()))
              .append("</a></td>");
        } else {
          sb.append("<td>").append(Html.escape(c.text())).append("</td>");
        }
      }
      sb.append("</tr>\n");
    }
    sb.append("</tbody>\n</table>\n");
  }
}
