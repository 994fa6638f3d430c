package io.infermeter.report.internal;

import java.util.List;

/**
 * A horizontal grouped bar chart as inline SVG for comparisons: one band per category (model,
 * region, host...), one bar per series inside the band ({@code <rect class="bar" data-series="..."
 * data-category="..." data-value="...">}), value axis from zero with a {@link NiceScale} (or a
 * fixed scale, e.g. 0-100 %), legend, axis title with the unit and a {@code <title>}. A missing
 * value (NaN) draws no bar and is not taken as zero. Stateless and thread-safe.
 */
public final class BarChart {

  /**
   * A named series: one value per category, in category order; NaN where the category has no value.
   */
  public record Bars(String name, List<Double> values) {
    public Bars {
      values = List.copyOf(values);
    }
  }

  static final int WIDTH = 960;
  private static final int LEFT = 230;
  private static final int RIGHT = 220;
  private static final int TOP = 36;
  private static final int BOTTOM = 50;
  private static final int BAR = 16;
  private static final int GAP = 12;

  private BarChart() {}

  /** Renders with a scale fitted to the data. */
  public static String render(
      String id, String title, String valueTitle, List<String> categories, List<Bars> series) {
    return render(id, title, valueTitle, categories, series, null);
  }

  /**
   * Renders the chart, or a "no data" block when there is no category or no finite value.
   *
   * @param valueTitle value axis title including its unit, e.g. "cost per 1M output tokens (USD)"
   * @param fixedScale a scale to use instead of one fitted to the data (null: fit)
   * @throws IllegalArgumentException when a series has not one value per category
   */
  public static String render(
      String id,
      String title,
      String valueTitle,
      List<String> categories,
      List<Bars> series,
      NiceScale fixedScale) {
    double max = Double.NEGATIVE_INFINITY;
    double min = Double.POSITIVE_INFINITY;
    for (Bars b : series) {
      if (b.values().size() != categories.size()) {
        throw new IllegalArgumentException(
            "series '"
                + b.name()
                + "' has "
                + b.values().size()
                + " values for "
                + categories.size()
                + " categories");
      }
      for (double v : b.values()) {
        if (Double.isFinite(v)) {
          max = Math.max(max, v);
          min = Math.min(min, v);
        }
      }
    }
    if (categories.isEmpty() || max == Double.NEGATIVE_INFINITY) {
      return Svg.noData(id, title, "no rows in the selected time range");
    }
    NiceScale scale = fixedScale != null ? fixedScale : NiceScale.of(min, max, 6);
    int band = series.size() * BAR + GAP;
    int height = TOP + categories.size() * band + BOTTOM;
    double x0 = LEFT;
    double x1 = WIDTH - RIGHT;
    double yAxis = height - BOTTOM;
    StringBuilder sb = new StringBuilder(4096);
    sb.append("<figure class=\"chart\" id=\"").append(Html.escape(id)).append("\">\n");
    sb.append(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart-svg\" data-chart=\"bar\" data-chart-id=\"")
        .append(Html.escape(id))
        .append("\" data-series-count=\"")
        .append(series.size())
        .append("\" width=\"")
        .append(WIDTH)
        .append("\" height=\"")
        .append(height)
        .append("\" viewBox=\"0 0 ")
        .append(WIDTH)
        .append(' ')
        .append(height)
        .append("\" role=\"img\" ")
        .append(Svg.FONT)
        .append(">\n");
    sb.append("<title>").append(Html.escape(title)).append("</title>\n");
    sb.append("<text x=\"")
        .append(LEFT)
        .append("\" y=\"20\" font-size=\"14\" font-weight=\"bold\">")
        .append(Html.escape(title))
        .append("</text>\n");
    for (double t : scale.ticks()) {
      String px = Svg.px(scale.map(t, x0, x1));
      sb.append("<line class=\"grid\" x1=\"")
          .append(px)
          .append("\" x2=\"")
          .append(px)
          .append("\" y1=\"")
          .append(TOP)
          .append("\" y2=\"")
          .append(Svg.px(yAxis))
          .append("\" stroke=\"#ddd\"/>")
          .append("<text x=\"")
          .append(px)
          .append("\" y=\"")
          .append(Svg.px(yAxis + 16))
          .append("\" text-anchor=\"middle\">")
          .append(Html.number(t, 6))
          .append("</text>\n");
    }
    double zero = scale.map(Math.max(scale.lo(), Math.min(0, scale.hi())), x0, x1);
    for (int c = 0; c < categories.size(); c++) {
      int bandTop = TOP + c * band + GAP / 2;
      sb.append("<text class=\"category\" x=\"")
          .append(Svg.px(x0 - 8))
          .append("\" y=\"")
          .append(Svg.px(bandTop + series.size() * BAR / 2.0))
          .append("\" text-anchor=\"end\" dominant-baseline=\"middle\">")
          .append(Html.escape(categories.get(c)))
          .append("</text>\n");
      for (int s = 0; s < series.size(); s++) {
        double v = series.get(s).values().get(c);
        if (!Double.isFinite(v)) {
          continue;
        }
        double clamped = Math.max(scale.lo(), Math.min(scale.hi(), v));
        double end = scale.map(clamped, x0, x1);
        double left = Math.min(zero, end);
        double w = Math.max(Math.abs(end - zero), 0.5); // a true zero stays visible as a hairline
        sb.append("<rect class=\"bar\" data-series=\"")
            .append(Html.escape(series.get(s).name()))
            .append("\" data-category=\"")
            .append(Html.escape(categories.get(c)))
            .append("\" data-value=\"")
            .append(Html.number(v, 10))
            .append("\" x=\"")
            .append(Svg.px(left))
            .append("\" y=\"")
            .append(bandTop + s * BAR)
            .append("\" width=\"")
            .append(Svg.px(w))
            .append("\" height=\"")
            .append(BAR - 2)
            .append("\" fill=\"")
            .append(Svg.color(s))
            .append("\"><title>")
            .append(Html.escape(categories.get(c)))
            .append(", ")
            .append(Html.escape(series.get(s).name()))
            .append(": ")
            .append(Html.number(v))
            .append("</title></rect>");
        // the value at the bar's end: a 0 % bar is a hairline, and exact figures should not need
        // the tooltip
        boolean negative = v < 0;
        sb.append("<text class=\"bar-label\" x=\"")
            .append(Svg.px(negative ? left - 4 : left + w + 4))
            .append("\" y=\"")
            .append(Svg.px(bandTop + s * BAR + (BAR - 2) / 2.0))
            .append("\" dominant-baseline=\"middle\" font-size=\"11\"")
            .append(negative ? " text-anchor=\"end\"" : "")
            .append('>')
            .append(Html.number(v))
            .append("</text>\n");
      }
    }
    sb.append("<line class=\"axis\" x1=\"")
        .append(Svg.px(x0))
        .append("\" x2=\"")
        .append(Svg.px(x1))
        .append("\" y1=\"")
        .append(Svg.px(yAxis))
        .append("\" y2=\"")
        .append(Svg.px(yAxis))
        .append("\" stroke=\"#333\"/>\n");
    sb.append("<line class=\"axis\" x1=\"")
        .append(Svg.px(zero))
        .append("\" x2=\"")
        .append(Svg.px(zero))
        .append("\" y1=\"")
        .append(TOP)
        .append("\" y2=\"")
        .append(Svg.px(yAxis))
        .append("\" stroke=\"#333\"/>\n");
    sb.append("<text class=\"axis-title x-title\" x=\"")
        .append(Svg.px((x0 + x1) / 2))
        .append("\" y=\"")
        .append(height - 10)
        .append("\" text-anchor=\"middle\">")
        .append(Html.escape(valueTitle))
        .append("</text>\n");
    LineChart.appendLegend(
        sb, series.stream().map(Bars::name).toList(), WIDTH - RIGHT + 56, TOP, false);
    sb.append("</svg>\n</figure>\n");
    return sb.toString();
  }
}
