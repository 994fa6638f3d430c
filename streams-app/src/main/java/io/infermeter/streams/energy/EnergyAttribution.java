package io.infermeter.streams.energy;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Energy attribution concern. A device's measured window energy E is split by busy time: the device
 * busy fraction is f = min(1, sum of request busy time / window length) (with batching the busy
 * times of concurrent requests overlap and can sum past the window length, hence the cap); the busy
 * energy f x E is split among models by their shares of the summed busy time; the rest is idle.
 * Parts are rounded to multiples of ulp(E) (exact, 1e-16 relative) and idle is E minus their sum,
 * so attributed + idle = measured holds bit for bit in floating point, in any summation order. The
 * same split applies to cost and carbon. Stateless.
 */
public final class EnergyAttribution {

  private EnergyAttribution() {}

  /**
   * The result: each model's share (0..1) of the device window, and the amounts split by those
   * shares.
   */
  public record Split(Map<String, Double> shares, Map<String, Double> amounts, double idle) {}

  /** Device busy fraction min(1, busy / window). */
  public static double busyFraction(long sumBusyUs, long windowUs) {
    if (windowUs <= 0 || sumBusyUs <= 0) {
      return 0;
    }
    return Math.min(1.0, (double) sumBusyUs / windowUs);
  }

  /** Shares of each model: busy fraction x (model busy / sum busy). */
  public static Map<String, Double> shares(Map<String, Long> busyUsByModel, long windowUs) {
    long sum = 0;
    for (long b : busyUsByModel.values()) {
      sum += b;
    }
    double f = busyFraction(sum, windowUs);
    Map<String, Double> out = new LinkedHashMap<>();
    for (Map.Entry<String, Long> e : busyUsByModel.entrySet()) {
      out.put(e.getKey(), sum == 0 ? 0.0 : f * e.getValue() / sum);
    }
    return out;
  }

  /** Splits {@code total} by {@code shares}; idle = total - sum(parts) exactly. */
  public static Split split(double total, Map<String, Double> shares) {
    // Every part is rounded to a multiple of q = ulp(total) (a power of two, so this is exact and
    // moves a part by at
    // most q/2, i.e. 1e-16 relative). Sums of multiples of q that stay <= total are exact in
    // floating point, in any
    // order, so sum(parts) + idle == total holds bit for bit for every consumer.
    double q = Math.ulp(total);
    Map<String, Double> amounts = new LinkedHashMap<>();
    double attributed = 0;
    String last = null;
    for (Map.Entry<String, Double> e : shares.entrySet()) {
      double part = total == 0 ? 0 : Math.rint(total * e.getValue() / q) * q;
      amounts.put(e.getKey(), part);
      attributed += part;
      last = e.getKey();
    }
    if (attributed > total && last != null) {
      // rounding up of several parts overshot by a few q: take it from the last part (exact)
      amounts.put(last, amounts.get(last) - (attributed - total));
      attributed = total;
    }
    return new Split(shares, amounts, total - attributed);
  }
}
