package io.infermeter.collector.sampling;

/**
 * The CPU power model used when the host has no RAPL counters: P = idle + (TDP - idle) x
 * utilization, with the configured TDP ({@code power.cpu.tdp.watts}, default 85 W, CodeCarbon's
 * fallback for an unknown CPU) and idle power ({@code power.cpu.idle.watts}, default 30 % of TDP).
 * Samples built from it carry source {@code estimated}, never {@code rapl}: it is a model, not a
 * measurement. Thread-safe (immutable).
 *
 * @param tdpWatts power at 100 % utilization, watts
 * @param idleWatts power at 0 % utilization, watts
 */
public record EstimatedPowerModel(double tdpWatts, double idleWatts) {

  /** Estimated power in watts at {@code utilization} (0..1; clamped). */
  public double watts(double utilization) {
    double u = Double.isNaN(utilization) ? 0 : Math.max(0, Math.min(1, utilization));
    return idleWatts + (tdpWatts - idleWatts) * u;
  }
}
