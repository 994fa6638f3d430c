package io.infermeter.report.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * A linear axis with "nice" bounds and tick steps (1, 2, 5 x 10^n, Heckbert's "Nice numbers for
 * graph labels"), covering the data and zero. Immutable.
 *
 * @param lo lower bound of the axis (a multiple of step, at most min(0, data minimum))
 * @param hi upper bound of the axis (a multiple of step, at least the data maximum; hi > lo)
 * @param step distance between ticks (> 0)
 */
public record NiceScale(double lo, double hi, double step) {

  /**
   * A scale covering [min(dataMin, 0), max(dataMax, 0)] with about {@code targetTicks} ticks.
   * Non-finite inputs are ignored; an empty or zero-width range becomes [0, 1].
   */
  public static NiceScale of(double dataMin, double dataMax, int targetTicks) {
    if (targetTicks < 2) {
      throw new IllegalArgumentException("targetTicks must be >= 2, got " + targetTicks);
    }
    double min = Double.isFinite(dataMin) ? Math.min(dataMin, 0) : 0;
    double max = Double.isFinite(dataMax) ? Math.max(dataMax, 0) : 0;
    if (max - min <= 0) {
      max = min + 1;
    }
    double range = niceNum(max - min, false);
    double step = niceNum(range / (targetTicks - 1), true);
    double lo = Math.floor(min / step) * step;
    double hi = Math.ceil(max / step) * step;
    return new NiceScale(lo, hi, step);
  }

  /** A fixed scale, e.g. 0-100 % for attainment. */
  public static NiceScale fixed(double lo, double hi, double step) {
    if (!(hi > lo) || !(step > 0)) {
      throw new IllegalArgumentException(
          "need lo < hi and step > 0, got " + lo + ", " + hi + ", " + step);
    }
    return new NiceScale(lo, hi, step);
  }

  /** The tick values from lo to hi inclusive. */
  public List<Double> ticks() {
    List<Double> out = new ArrayList<>();
    long n = Math.round((hi - lo) / step);
    for (long i = 0; i <= n; i++) {
      // multiply rather than accumulate: repeated addition of 0.1 drifts into 0.30000000000000004
      out.add(lo + i * step);
    }
    return out;
  }

  /** Maps a value linearly from [lo, hi] to [pixelLo, pixelHi] (either direction). */
  public double map(double value, double pixelLo, double pixelHi) {
    return pixelLo + (value - lo) / (hi - lo) * (pixelHi - pixelLo);
  }

  static double niceNum(double x, boolean round) {
    double exp = Math.floor(Math.log10(x));
    double f = x / Math.pow(10, exp);
    double nf;
    if (round) {
      nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    } else {
      nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    }
    return nf * Math.pow(10, exp);
  }
}
