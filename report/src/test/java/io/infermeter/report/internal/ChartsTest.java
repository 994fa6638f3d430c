package io.infermeter.report.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.infermeter.report.internal.BarChart.Bars;
import io.infermeter.report.internal.LineChart.Point;
import io.infermeter.report.internal.LineChart.Series;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ChartsTest {

  private static final long T = 1_795_000_000_000L;

  @Test
  void lineChartDrawsOnePathPerSeriesWithTitleAxisTitlesAndLegend() {
    String svg =
        LineChart.render(
            "c1",
            "Model a: E2E",
            "e2e latency (ms)",
            List.of(
                new Series(
                    "p50",
                    List.of(
                        new Point(T, 10), new Point(T + 10_000, 20), new Point(T + 20_000, 15))),
                new Series(
                    "p99",
                    List.of(
                        new Point(T, 40), new Point(T + 10_000, 80), new Point(T + 20_000, 60)))));
    assertThat(svg)
        .contains(
            "id=\"c1\"",
            "data-chart=\"line\"",
            "<title>Model a: E2E</title>",
            "e2e latency (ms)",
            "time (UTC)",
            "class=\"legend\"");
    assertThat(count(svg, "<path class=\"series\"")).isEqualTo(2);
    assertThat(svg).contains("data-series=\"p50\" data-points=\"3\"");
  }

  @Test
  void lineChartMapsValuesOntoTheYAxisLinearly() {
    // scale 0..100 (nice), plot from y=HEIGHT-56 (value 0) to y=36 (value 100)
    String svg =
        LineChart.render(
            "c",
            "t",
            "y (ms)",
            List.of(
                new Series(
                    "s",
                    List.of(new Point(T, 0), new Point(T + 1000, 50), new Point(T + 2000, 100)))));
    List<double[]> pts = pathPoints(svg);
    assertThat(pts).hasSize(3);
    double bottom = LineChart.HEIGHT - 56;
    assertThat(pts.get(0)[1]).isCloseTo(bottom, within(0.06));
    assertThat(pts.get(2)[1]).isCloseTo(36, within(0.06));
    assertThat(pts.get(1)[1]).isCloseTo((bottom + 36) / 2, within(0.06));
    assertThat(pts.get(1)[0]).isCloseTo((pts.get(0)[0] + pts.get(2)[0]) / 2, within(0.06));
  }

  @Test
  void aSinglePointIsStillVisibleAsAMarker() {
    String svg =
        LineChart.render("c", "t", "y (ms)", List.of(new Series("s", List.of(new Point(T, 5)))));
    assertThat(svg).contains("<circle").contains("data-points=\"1\"");
  }

  @Test
  void aMissingValueBreaksTheLineInsteadOfDrawingThroughZero() {
    String svg =
        LineChart.render(
            "c",
            "t",
            "y (ms)",
            List.of(
                new Series(
                    "s",
                    List.of(
                        new Point(T, 5),
                        new Point(T + 1000, Double.NaN),
                        new Point(T + 2000, 7)))));
    Matcher m = Pattern.compile(" d=\"([^\"]*)\"").matcher(svg);
    assertThat(m.find()).isTrue();
    assertThat(m.group(1)).startsWith("M").contains(" M").doesNotContain(" L");
  }

  @Test
  void emptyOrAllMissingDataGivesANoDataMessageNotAnEmptyAxis() {
    for (List<Series> series :
        List.of(
            List.<Series>of(),
            List.of(new Series("s", List.of())),
            List.of(new Series("s", List.of(new Point(T, Double.NaN)))))) {
      String html = LineChart.render("lat", "Latency", "y (ms)", series);
      assertThat(html).doesNotContain("<svg").contains("data-chart-empty=\"lat\"", "No data");
    }
  }

  @Test
  void chartTextIsEscaped() {
    String svg =
        LineChart.render(
            "c",
            "Model <b>&",
            "y (ms)",
            List.of(new Series("<img onerror=x>", List.of(new Point(T, 1)))));
    assertThat(svg)
        .doesNotContain("<b>", "<img")
        .contains("Model &lt;b&gt;&amp;", "&lt;img onerror=x&gt;");
    String bars =
        BarChart.render(
            "b", "t", "v (J)", List.of("r\"<x>"), List.of(new Bars("s'", List.of(1.0))));
    assertThat(bars).doesNotContain("<x>").contains("r&quot;&lt;x&gt;", "data-series=\"s&#39;\"");
  }

  @Test
  void barLengthsAreProportionalToValues() {
    String svg =
        BarChart.render(
            "b",
            "Attainment",
            "requests within threshold (%)",
            List.of("m1", "m2"),
            List.of(new Bars("ttft", List.of(100.0, 25.0))),
            NiceScale.fixed(0, 100, 20));
    List<Double> widths = attr(svg, "<rect class=\"bar\"[^>]*width=\"([0-9.]+)\"");
    assertThat(widths).hasSize(2);
    assertThat(widths.get(1) / widths.get(0)).isCloseTo(0.25, within(0.001));
    assertThat(svg)
        .contains(
            "data-chart=\"bar\"",
            "<title>Attainment</title>",
            "requests within threshold (%)",
            "data-category=\"m2\" data-value=\"25\"");
  }

  @Test
  void barChartSkipsMissingValuesAndSaysNoDataWhenNothingIsLeft() {
    String svg =
        BarChart.render(
            "b", "t", "v (J)", List.of("a", "b"), List.of(new Bars("s", List.of(Double.NaN, 3.0))));
    assertThat(count(svg, "<rect class=\"bar\"")).isEqualTo(1);
    assertThat(BarChart.render("b", "t", "v (J)", List.of(), List.of(new Bars("s", List.of()))))
        .doesNotContain("<svg")
        .contains("data-chart-empty=\"b\"");
    assertThat(
            BarChart.render(
                "b", "t", "v (J)", List.of("a"), List.of(new Bars("s", List.of(Double.NaN)))))
        .doesNotContain("<svg")
        .contains("data-chart-empty=\"b\"");
  }

  @Test
  void barChartRejectsASeriesOfTheWrongLength() {
    assertThatThrownBy(
            () ->
                BarChart.render(
                    "b", "t", "v", List.of("a", "b"), List.of(new Bars("s", List.of(1.0)))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'s' has 1 values for 2 categories");
  }

  @Test
  void negativeBarsGrowLeftFromZero() {
    String svg =
        BarChart.render(
            "b", "t", "v", List.of("a", "b"), List.of(new Bars("s", List.of(-10.0, 10.0))));
    List<Double> xs = attr(svg, "<rect class=\"bar\"[^>]* x=\"([0-9.]+)\"");
    List<Double> widths = attr(svg, "<rect class=\"bar\"[^>]*width=\"([0-9.]+)\"");
    assertThat(xs.get(0) + widths.get(0)).isCloseTo(xs.get(1), within(0.11));
    assertThat(widths.get(0)).isCloseTo(widths.get(1), within(0.11));
  }

  private static int count(String s, String needle) {
    int n = 0;
    for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  private static List<Double> attr(String svg, String regex) {
    List<Double> out = new ArrayList<>();
    Matcher m = Pattern.compile(regex).matcher(svg);
    while (m.find()) {
      out.add(Double.parseDouble(m.group(1)));
    }
    return out;
  }

  private static List<double[]> pathPoints(String svg) {
    Matcher d = Pattern.compile("<path class=\"series\"[^>]* d=\"([^\"]*)\"").matcher(svg);
    assertThat(d.find()).isTrue();
    List<double[]> out = new ArrayList<>();
    Matcher p = Pattern.compile("[ML]([0-9.]+) ([0-9.]+)").matcher(d.group(1));
    while (p.find()) {
      out.add(new double[] {Double.parseDouble(p.group(1)), Double.parseDouble(p.group(2))});
    }
    return out;
  }
}
