package io.infermeter.report.internal;

import java.util.Locale;

/**
 * Shared pieces of the SVG charts: palette, coordinate formatting, the "no data" block. Stateless.
 */
final class Svg {

  /**
   * Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), then a few
   * more.
   */
  static final String[] PALETTE = {
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
    "#999999", "#8C564B"
  };

  static final String FONT = "font-family=\"sans-serif\" font-size=\"12\"";

  private Svg() {}

  static String color(int i) {
    return PALETTE[Math.floorMod(i, PALETTE.length)];
  }

  /** A pixel coordinate with one decimal, locale-independent (a German locale would write 1,5). */
  static String px(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  /**
   * The block shown instead of a chart when there is nothing to draw: an empty axis would look like
   * "all zero". Carries {@code data-chart-empty} with the chart id so a test can tell "no data"
   * from "chart missing".
   */
  static String noData(String id, String title, String why) {
    return "<figure class=\"chart no-data\" id=\""
        + Html.escape(id)
        + "\" data-chart-empty=\""
        + Html.escape(id)
        + "\">"
        + "<figcaption>"
        + Html.escape(title)
        + "</figcaption>"
        + "<p class=\"no-data-message\">No data: "
        + Html.escape(why)
        + "</p></figure>\n";
  }
}
