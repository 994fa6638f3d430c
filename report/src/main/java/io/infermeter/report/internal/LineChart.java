package io.infermeter.report.internal;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * A time-series line chart as inline SVG: x is time (UTC), y a linear {@link NiceScale} from zero.
 * One path per series ({@code <path class="series" data-series="...">}), point markers when there
 * are few points (a single point draws no line), a legend, axis titles with units and a {@code
 * <title>}. Stateless and thread-safe.
 */
public final class LineChart {

  /** One point: time in epoch milliseconds and a value in the unit of the chart's y axis. */
  public record Point(long epochMillis, double value) {}

  /** A named series of points in time order. */
  public record Series(String name, List<Point> points) {
    public Series {
      points = List.copyOf(points);
    }
  }

  static final int WIDTH = 960;
  static final int HEIGHT = 340;
  private static final int LEFT = 80;
  private static final int RIGHT = 170;
  private static final int TOP = 36;
  private static final int BOTTOM = 56;
  private static final int MARKER_LIMIT = 80;
  private static final long[] TIME_STEPS_MS = {
    1_000,
    5_000,
    10_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    604_800_000
  };
  private static final DateTimeFormatter HMS =
      DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter HM =
      DateTimeFormatter.ofPattern("HH:mm").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter DHM =
      DateTimeFormatter.ofPattern("MM-dd HH:mm").withZone(ZoneOffset.UTC);

  private LineChart() {}

  /**
   * The chart as a {@code <figure>} holding the SVG, or a "no data" block when no series has a
   * finite point.
   *
   * @param id element id, unique in the page
   * @param title chart title (escaped here)
   * @param yTitle y axis title including its unit, e.g. "latency (ms)"
   */
  public static String render(String id, String title, String yTitle, List<Series> series) {
    double yMax = Double.NEGATIVE_INFINITY;
    double yMin = Double.POSITIVE_INFINITY;
    long tMin = Long.MAX_VALUE;
    long tMax = Long.MIN_VALUE;
    int points = 0;
    for (Series s : series) {
      for (Point p : s.points()) {
        if (Double.isFinite(p.value())) {
          yMax = Math.max(yMax, p.value());
          yMin = Math.min(yMin, p.value());
          tMin = Math.min(tMin, p.epochMillis());
          tMax = Math.max(tMax, p.epochMillis());
          points++;
        }
      }
    }
    if (points == 0) {
      return Svg.noData(id, title, "no rows in the selected time range");
    }
    if (tMax == tMin) {
      tMin -= 30_000;
      tMax += 30_000;
    }
    NiceScale y = NiceScale.of(yMin, yMax, 6);
    double x0 = LEFT;
    double x1 = WIDTH - RIGHT;
    double y0 = HEIGHT - BOTTOM;
    double y1 = TOP;
    StringBuilder sb = new StringBuilder(4096);
    sb.append("<figure class=\"chart\" id=\"").append(Html.escape(id)).append("\">\n");
    sb.append(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart-svg\" data-chart=\"line\" data-chart-id=\"")
        .append(Html.escape(id))
        .append("\" data-series-count=\"")
        .append(series.size())
        .append("\" width=\"")
        .append(WIDTH)
        .append("\" height=\"")
        .append(HEIGHT)
        .append("\" viewBox=\"0 0 ")
        .append(WIDTH)
        .append(' ')
        .append(HEIGHT)
        .append("\" role=\"img\" ")
        .append(Svg.FONT)
        .append(">\n");
    sb.append("<title>").append(Html.escape(title)).append("</title>\n");
    sb.append("<text x=\"")
        .append(LEFT)
        .append("\" y=\"20\" font-size=\"14\" font-weight=\"bold\">")
        .append(Html.escape(title))
        .append("</text>\n");
    // y grid and labels
    for (double t : y.ticks()) {
      String py = Svg.px(y.map(t, y0, y1));
      sb.append("<line class=\"grid\" x1=\"")
          .append(Svg.px(x0))
          .append("\" x2=\"")
          .append(Svg.px(x1))
          .append("\" y1=\"")
          .append(py)
          .append("\" y2=\"")
          .append(py)
          .append("\" stroke=\"#ddd\"/>")
          .append("<text x=\"")
          .append(Svg.px(x0 - 6))
          .append("\" y=\"")
          .append(py)
          .append("\" text-anchor=\"end\" dominant-baseline=\"middle\">")
          .append(Html.number(t, 6))
          .append("</text>\n");
    }
    // x ticks
    long span = tMax - tMin;
    long step = TIME_STEPS_MS[TIME_STEPS_MS.length - 1];
    for (long s : TIME_STEPS_MS) {
      if (span / s <= 7) {
        step = s;
        break;
      }
    }
    DateTimeFormatter fmt = span >= 86_400_000L ? DHM : step < 60_000 ? HMS : HM;
    for (long t = Math.floorDiv(tMin + step - 1, step) * step; t <= tMax; t += step) {
      String px = Svg.px(x0 + (double) (t - tMin) / (tMax - tMin) * (x1 - x0));
      sb.append("<line x1=\"")
          .append(px)
          .append("\" x2=\"")
          .append(px)
          .append("\" y1=\"")
          .append(Svg.px(y0))
          .append("\" y2=\"")
          .append(Svg.px(y0 + 5))
          .append("\" stroke=\"#333\"/>")
          .append("<text x=\"")
          .append(px)
          .append("\" y=\"")
          .append(Svg.px(y0 + 18))
          .append("\" text-anchor=\"middle\">")
          .append(fmt.format(Instant.ofEpochMilli(t)))
          .append("</text>\n");
    }
    // axes and titles
    sb.append("<line class=\"axis\" x1=\"")
        .append(Svg.px(x0))
        .append("\" x2=\"")
        .append(Svg.px(x1))
        .append("\" y1=\"")
        .append(Svg.px(y0))
        .append("\" y2=\"")
        .append(Svg.px(y0))
        .append("\" stroke=\"#333\"/>\n");
    sb.append("<line class=\"axis\" x1=\"")
        .append(Svg.px(x0))
        .append("\" x2=\"")
        .append(Svg.px(x0))
        .append("\" y1=\"")
        .append(Svg.px(y0))
        .append("\" y2=\"")
        .append(Svg.px(y1))
        .append("\" stroke=\"#333\"/>\n");
    sb.append("<text class=\"axis-title x-title\" x=\"")
        .append(Svg.px((x0 + x1) / 2))
        .append("\" y=\"")
        .append(HEIGHT - 10)
        .append("\" text-anchor=\"middle\">time (UTC)</text>\n");
    sb.append("<text class=\"axis-title y-title\" transform=\"translate(16 ")
        .append(Svg.px((y0 + y1) / 2))
        .append(") rotate(-90)\" text-anchor=\"middle\">")
        .append(Html.escape(yTitle))
        .append("</text>\n");
    // series
    for (int i = 0; i < series.size(); i++) {
      Series s = series.get(i);
      String color = Svg.color(i);
      StringBuilder d = new StringBuilder();
      StringBuilder markers = new StringBuilder();
      boolean penDown = false;
      int finite = 0;
      for (Point p : s.points()) {
        if (!Double.isFinite(p.value())) {
          penDown = false; // a missing value breaks the line rather than drawing through it
          continue;
        }
        finite++;
        String px = Svg.px(x0 + (double) (p.epochMillis() - tMin) / (tMax - tMin) * (x1 - x0));
        String py = Svg.px(y.map(p.value(), y0, y1));
        d.append(penDown ? " L" : (d.length() == 0 ? "M" : " M")).append(px).append(' ').append(py);
        penDown = true;
        markers
            .append("<circle cx=\"")
            .append(px)
            .append("\" cy=\"")
            .append(py)
            .append("\" r=\"2.5\" fill=\"")
            .append(color)
            .append("\"><title>")
            .append(Html.escape(s.name()))
            .append(' ')
            .append(HMS.format(Instant.ofEpochMilli(p.epochMillis())))
            .append(": ")
            .append(Html.number(p.value(), 9))
            .append("</title></circle>");
      }
      if (finite == 0) {
        continue;
      }
      sb.append("<path class=\"series\" data-series=\"")
          .append(Html.escape(s.name()))
          .append("\" data-points=\"")
          .append(finite)
          .append("\" d=\"")
          .append(d)
          .append("\" fill=\"none\" stroke=\"")
          .append(color)
          .append("\" stroke-width=\"2\"/>\n");
      if (finite <= MARKER_LIMIT) {
        sb.append("<g class=\"markers\">").append(markers).append("</g>\n");
      }
    }
    appendLegend(sb, series.stream().map(Series::name).toList(), WIDTH - RIGHT + 16, TOP, true);
    sb.append("</svg>\n</figure>\n");
    return sb.toString();
  }

  static void appendLegend(StringBuilder sb, List<String> names, int x, int y, boolean lines) {
    sb.append("<g class=\"legend\">");
    for (int i = 0; i < names.size(); i++) {
      int yy = y + i * 20;
      if (lines) {
        sb.append("<line x1=\"")
            .append(x)
            .append("\" x2=\"")
            .append(x + 18)
            .append("\" y1=\"")
            .append(yy + 6)
            .append("\" y2=\"")
            .append(yy + 6)
            .append("\" stroke=\"")
            .append(Svg.color(i))
            .append("\" stroke-width=\"3\"/>");
      } else {
        sb.append("<rect class=\"legend-swatch\" x=\"")
            .append(x)
            .append("\" y=\"")
            .append(yy)
            .append("\" width=\"14\" height=\"12\" fill=\"")
            .append(Svg.color(i))
            .append("\"/>");
      }
      sb.append("<text x=\"")
          .append(x + 24)
          .append("\" y=\"")
          .append(yy + 10)
          .append("\">")
          .append(Html.escape(names.get(i)))
          .append("</text>");
    }
    sb.append("</g>\n");
  }
}
