package io.infermeter.demo.sim;

/**
 * A scripted incident of the simulated fleet, active for event times in [fromUs, toUs).
 *
 * @param kind what goes wrong
 * @param target the model (LATENCY_REGRESSION), device id (MEMORY_LEAK, THERMAL_THROTTLE,
 *     KV_SATURATION) or host (SILENT_HOST)
 * @param fromUs start, epoch microseconds
 * @param toUs end, epoch microseconds
 * @param magnitude kind-specific strength: latency multiplier, leaked bytes per second, requests
 *     queued per second (KV_SATURATION), unused otherwise
 */
public record Incident(Kind kind, String target, long fromUs, long toUs, double magnitude) {

  /** The incidents the demo scripts, one per alert family it must show. */
  public enum Kind {
    LATENCY_REGRESSION,
    MEMORY_LEAK,
    THERMAL_THROTTLE,
    SILENT_HOST,
    /**
     * The GPU's vLLM KV cache runs full: usage near 100 %, preemptions, a growing queue
     * (memory-pressure alert).
     */
    KV_SATURATION
  }

  boolean activeAt(long tUs) {
    return tUs >= fromUs && tUs < toUs;
  }
}
