package io.infermeter.streams.energy;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Energy attribution concern. A device's measured window energy E is split by device time: the
 * device busy fraction is f = device busy time / window length, where busy time is the union of the
 * intervals in which at least one request was in flight on the device ({@link
 * io.infermeter.streams.windows.Occupancy}; with continuous batching concurrent requests overlap,
 * so their summed time says nothing about how long the device was busy); the busy energy f x E is
 * split among models by their shares of the in-flight request time within the window; the rest, the
 * energy of the time with no request in flight, is idle. Parts are rounded to multiples of ulp(E)
 * (exact, 1e-16 relative) and idle is E minus their sum, so attributed + idle = measured holds bit
 * for bit in floating point, in any summation order, and no part is negative. The same split
 * applies to cost and carbon. Stateless, thread-safe.
 */
public final class EnergyAttribution {

  private EnergyAttribution() {}

  /**
   * The result: each model's share (0..1) of the device window, and the amounts split by those
   * shares.
   */
  public record Split(Map<String, Double> shares, Map<String, Double> amounts, double idle) {}

  /** Device busy fraction busy / window, clamped to [0, 1]. */
  public static double busyFraction(long deviceBusyUs, long windowUs) {
    if (windowUs <= 0 || deviceBusyUs <= 0) {
      return 0;
    }
    return Math.min(1.0, (double) deviceBusyUs / windowUs);
  }

  /**
   * Shares of each model: device busy fraction x (model request time / sum of request time). All
   * zero when no model has request time.
   */
  public static Map<String, Double> shares(
      Map<String, Long> requestUsByModel, long deviceBusyUs, long windowUs) {
    long sum = 0;
    for (long b : requestUsByModel.values()) {
      sum += Math.max(0, b);
    }
    double f = busyFraction(deviceBusyUs, windowUs);
    Map<String, Double> out = new LinkedHashMap<>();
    for (Map.Entry<String, Long> e : requestUsByModel.entrySet()) {
      out.put(e.getKey(), sum == 0 ? 0.0 : f * Math.max(0, e.getValue()) / sum);
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
    String largest = null;
    for (Map.Entry<String, Double> e : shares.entrySet()) {
      double part = total == 0 ? 0 : Math.rint(total * e.getValue() / q) * q;
      amounts.put(e.getKey(), part);
      attributed += part;
      if (largest == null || part > amounts.get(largest)) {
        largest = e.getKey();
      }
    }
    if (attributed > total && largest != null) {
      // rounding up of several parts overshot by a few q: take it from the largest part (exact,
      // and it stays non-negative: the largest part is at least the overshoot)
      amounts.put(largest, amounts.get(largest) - (attributed - total));
      attributed = total;
    }
    return new Split(shares, amounts, total - attributed);
  }
}
