package io.infermeter.report.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.report.ReportRequest;
import io.infermeter.report.internal.ReportData.AlertRow;
import io.infermeter.report.internal.ReportData.EnergyMethodRow;
import io.infermeter.report.internal.ReportData.Exemplar;
import io.infermeter.report.internal.ReportData.LatencyPoint;
import io.infermeter.report.internal.ReportData.Percentiles;
import io.infermeter.report.internal.ReportData.WorstWindow;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class HtmlReportTest {

  private static final Instant FROM = Instant.parse("2026-11-23T13:00:00Z");
  private static final ReportRequest REQUEST =
      new ReportRequest(
          "infermeter",
          FROM,
          FROM.plusSeconds(3600),
          10_000,
          500_000,
          50_000,
          List.of("e2e", "ttft"),
          360,
          FROM.plusSeconds(3700));

  @Test
  void emptyDataGivesANoDataMessageForEveryChartAndTable() {
    String html = HtmlReport.render(ReportData.empty(), REQUEST);
    assertThat(html).doesNotContain("<svg", "<table");
    assertThat(html)
        .contains(
            "data-chart-empty=\"chart-latency-e2e\"",
            "data-chart-empty=\"chart-latency-ttft\"",
            "data-chart-empty=\"chart-e2e-percentiles\"",
            "data-chart-empty=\"chart-slo\"",
            "data-chart-empty=\"chart-cost\"",
            "data-chart-empty=\"chart-energy\"",
            "data-chart-empty=\"chart-carbon\"",
            "data-chart-empty=\"chart-bottlenecks\"",
            "data-table-empty=\"table-alerts\"",
            "data-table-empty=\"table-dead-letters\"",
            "data-table-empty=\"exemplars\"",
            "data-firing=\"0\" data-resolved=\"0\"");
  }

  @Test
  void pageIsSelfContainedAndEscapesDatabaseStrings() {
    String evil = "m<script>alert('x')</script>";
    ReportData data =
        new ReportData(
            List.of(new LatencyPoint("e2e", evil, 1_795_000_000_000_000L, 10, 1000, 2000, 3000)),
            List.of(new Percentiles(evil, "e2e", "warm", 10, 1000, 2000, 3000)),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(
                new AlertRow(
                    1_795_000_000_000_000L,
                    "rule\"><img src=x>",
                    "WARNING",
                    "FIRING",
                    "h",
                    evil,
                    "",
                    1.5,
                    1.0,
                    "ratio",
                    "<b>bold</b>")),
            1,
            0,
            List.of(),
            List.of());
    String html = HtmlReport.render(data, REQUEST);
    assertThat(html)
        .doesNotContain("<script", "<img", "<b>bold", "url(", "@import", "<link")
        .doesNotContainPattern("<[^>]*\\s(src|href|xlink:href)\\s*=");
    assertThat(html)
        .contains(
            "m&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", "rule&quot;&gt;&lt;img src=x&gt;");
    assertThat(html)
        .startsWith("<!DOCTYPE html>")
        .contains("<meta charset=\"utf-8\">", "<title>infermeter report");
  }

  @Test
  void latencyCellsShowMillisecondsAndCarryExactMicroseconds() {
    ReportData data =
        new ReportData(
            List.of(),
            List.of(new Percentiles("m", "e2e", "warm", 3, 1_234_567, 2_000_001, 9)),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            0,
            0,
            List.of(),
            List.of());
    String html = HtmlReport.render(data, REQUEST);
    assertThat(html)
        .contains(
            "<td class=\"num\" data-value=\"1234567\">1234.567</td>",
            "<td class=\"num\" data-value=\"2000001\">2000.001</td>",
            "<th>p99 (ms)</th>");
  }

  @Test
  void tokenRatesAreShownInTokensPerSecondApartFromTheLatencies() {
    ReportRequest request =
        new ReportRequest(
            "infermeter",
            FROM,
            FROM.plusSeconds(3600),
            10_000,
            500_000,
            50_000,
            List.of("output_tps"),
            360,
            FROM.plusSeconds(3700));
    ReportData data =
        new ReportData(
            List.of(
                new LatencyPoint("output_tps", "m", 1_795_000_000_000_000L, 3, 50_015, 90_047, 1)),
            List.of(
                new Percentiles("m", "e2e", "warm", 3, 1_234_567, 2_000_001, 9),
                new Percentiles("m", "output_tps", "warm", 3, 50_015, 90_047, 100_031)),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            0,
            0,
            List.of(),
            List.of());
    String html = HtmlReport.render(data, request);
    String latencies =
        html.substring(html.indexOf("id=\"table-percentiles\""), html.indexOf("</table>"));
    assertThat(latencies).contains("e2e").doesNotContain("output_tps");
    String rates = html.substring(html.indexOf("id=\"table-token-rates\""));
    rates = rates.substring(0, rates.indexOf("</table>"));
    // 50,015 milli-tokens per second: 50.015 tokens/s
    assertThat(rates)
        .contains(
            "<th>p50 (tokens/s)</th>",
            "<td class=\"num\" data-value=\"50015\">50.015</td>",
            "<td class=\"num\" data-value=\"100031\">100.031</td>");
    assertThat(html).contains("output_tps (tokens/s per request)");
  }

  @Test
  void estimatedEnergyIsLabelled() {
    ReportData data =
        new ReportData(
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(
                new EnergyMethodRow("COUNTER", 4, 100), new EnergyMethodRow("ESTIMATED", 2, 50)),
            List.of(),
            List.of(),
            0,
            0,
            List.of(),
            List.of());
    assertThat(HtmlReport.render(data, REQUEST))
        .contains("id=\"estimated-energy\"", "Estimated data: 2 device windows");
    ReportData measured =
        new ReportData(
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(new EnergyMethodRow("COUNTER", 4, 100)),
            List.of(),
            List.of(),
            0,
            0,
            List.of(),
            List.of());
    assertThat(HtmlReport.render(measured, REQUEST)).doesNotContain("estimated-energy");
  }

  @Test
  void worstWindowListsItsExemplarsEscapedWithWhatTheRawTableHolds() {
    String evil = "r<script>x</script>";
    ReportData data =
        ReportData.empty()
            .withWorstWindows(
                List.of(
                    new WorstWindow(
                        "m\"<b>",
                        "e2e",
                        1_795_000_020_000_000L,
                        2_000_001,
                        123,
                        List.of(
                            new Exemplar(
                                2_500_123, evil, "ev-1", "h<1>", true, "OK", 400_000, 512, 128),
                            new Exemplar(2_400_000, "", "ev-2", "h2", true, "OK", -1, -1, -1),
                            new Exemplar(
                                2_300_000, "req-3", "ev'3", "h2", false, "", -1, -1, -1)))));
    String html = HtmlReport.render(data, REQUEST);
    assertThat(html).doesNotContain("<script", "<b>", "<1>").doesNotContain("exemplars-empty");
    int at = html.indexOf("<table id=\"exemplars-1\">");
    assertThat(at).isNotNegative();
    String table = html.substring(at, html.indexOf("</table>", at));
    assertThat(table)
        .contains(
            "<caption>Model m&quot;&lt;b&gt;: window starting "
                + Html.utc(Instant.ofEpochSecond(1_795_000_020L))
                + ", p99 e2e 2000.001 ms over 123 requests",
            "<th>e2e (ms)</th><th>request id</th><th>event id</th><th>host</th><th>status</th>"
                + "<th>TTFT (ms)</th>",
            "<tr><td class=\"num\" data-value=\"1\">1</td>"
                + "<td class=\"num\" data-value=\"2500123\">2500.123</td>"
                + "<td>r&lt;script&gt;x&lt;/script&gt;</td><td>ev-1</td><td>h&lt;1&gt;</td>"
                + "<td>OK</td><td class=\"num\" data-value=\"400000\">400</td>"
                + "<td class=\"num\" data-value=\"512\">512</td>"
                + "<td class=\"num\" data-value=\"128\">128</td></tr>",
            // no request id; stored without first token or token counts
            "<td>-</td><td>ev-2</td><td>h2</td><td>OK</td><td>-</td><td>-</td><td>-</td></tr>",
            // not in the raw requests table
            "<td>req-3</td><td>ev&#39;3</td><td>h2</td><td>not stored</td><td>-</td>");
  }

  @Test
  void aWorstWindowWithoutExemplarsSaysSoInsteadOfAnEmptyTable() {
    ReportData data =
        ReportData.empty()
            .withWorstWindows(
                List.of(new WorstWindow("m", "ttft", 1_795_000_000_000_000L, 1000, 5, List.of())));
    String html = HtmlReport.render(data, REQUEST);
    assertThat(html)
        .doesNotContain("<table id=\"exemplars-1\"")
        .contains(
            "data-table-empty=\"exemplars-1\">Model m: window starting "
                + Html.utc(Instant.ofEpochSecond(1_795_000_000L))
                + ", p99 ttft 1 ms over 5 requests (the highest window p99 of the range): its rows"
                + " carry no exemplars");
  }
}
