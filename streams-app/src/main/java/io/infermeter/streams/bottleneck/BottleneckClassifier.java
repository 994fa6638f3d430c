package io.infermeter.streams.bottleneck;

import io.infermeter.avro.BottleneckLabel;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Bottleneck concern: classifies one host window from GPU utilization, memory-bandwidth
 * utilization, host CPU utilization, the queue share of e2e, PCIe traffic, QPS and, where serving
 * engines report it, their state (KV-cache usage, preemptions, requests waiting). Rules, first
 * match wins (thresholds in percent): no GPU samples, no requests and no engine state: UNKNOWN; no
 * requests and GPU util &lt; 5: IDLE; KV-cache usage &gt;= 95 or any preemption: KV_CACHE_BOUND;
 * GPU util &gt;= 90: COMPUTE_BOUND; memory util &gt;= 70 and GPU util &lt; 60: MEMORY_BOUND; CPU
 * util &gt;= 90 and GPU util &lt; 60: CPU_BOUND; requests waiting rose over the window by at least
 * {@value #QUEUE_GROWTH_MIN} and by at least {@value #QUEUE_GROWTH_MIN_PCT} % of the start:
 * QUEUE_GROWING; queue share &gt;= 50: QUEUE_BOUND; PCIe &gt;= 1 GB/s and GPU util &lt; 60:
 * IO_BOUND; otherwise BALANCED. The engine rules come before the generic ones they explain: a full
 * KV cache makes the engine preempt and queue requests while the GPU may look busy or not, and a
 * growing queue is a symptom whose cause (memory, CPU) is named first when it is visible.
 * Stateless.
 */
public final class BottleneckClassifier {

  private BottleneckClassifier() {}

  /**
   * The label, the reason in words, and the inputs (units in the names; NaN inputs are left out).
   */
  public record Result(BottleneckLabel label, String reason, Map<String, Double> inputs) {}

  /** KV-cache usage (percent) from which a host window is KV_CACHE_BOUND. */
  public static final double KV_CACHE_BOUND_PCT = 95;

  /** Least rise of the requests waiting over a window that counts as a growing queue. */
  public static final long QUEUE_GROWTH_MIN = 5;

  /**
   * Least rise of the requests waiting, in percent of the window's start, that counts as a growing
   * queue.
   */
  public static final long QUEUE_GROWTH_MIN_PCT = 20;

  /**
   * Serving-engine state of a host window: highest KV-cache usage of its engines (percent, NaN:
   * none reports it), preemptions in the window, requests waiting at the window's start and end
   * summed over the engines (-1: none reports a queue).
   */
  public record Engine(double kvUsageMaxPct, long preemptions, long waitingStart, long waitingEnd) {
    public static final Engine NONE = new Engine(Double.NaN, 0, -1, -1);

    boolean reported() {
      return !Double.isNaN(kvUsageMaxPct) || waitingEnd >= 0;
    }
  }

  public static Result classify(
      double gpuUtilPct,
      double memUtilPct,
      double cpuUtilPct,
      double queueSharePct,
      double pcieBytesPerSec,
      double qps,
      long requests) {
    return classify(
        gpuUtilPct,
        memUtilPct,
        cpuUtilPct,
        queueSharePct,
        pcieBytesPerSec,
        qps,
        requests,
        Engine.NONE);
  }

  public static Result classify(
      double gpuUtilPct,
      double memUtilPct,
      double cpuUtilPct,
      double queueSharePct,
      double pcieBytesPerSec,
      double qps,
      long requests,
      Engine engine) {
    Map<String, Double> in = new LinkedHashMap<>();
    put(in, "gpuUtilPct", gpuUtilPct);
    put(in, "memUtilPct", memUtilPct);
    put(in, "cpuUtilPct", cpuUtilPct);
    put(in, "queueShareOfE2ePct", queueSharePct);
    put(in, "pcieBytesPerSec", pcieBytesPerSec);
    put(in, "qps", qps);
    put(in, "kvCacheUsageMaxPct", engine.kvUsageMaxPct());
    long growth = 0;
    if (engine.reported()) {
      in.put("preemptions", (double) engine.preemptions());
    }
    if (engine.waitingStart() >= 0 && engine.waitingEnd() >= 0) {
      growth = engine.waitingEnd() - engine.waitingStart();
      in.put("requestsWaitingStart", (double) engine.waitingStart());
      in.put("requestsWaitingEnd", (double) engine.waitingEnd());
    }
    boolean engineBusy =
        engine.waitingEnd() > 0 || engine.preemptions() > 0 || engine.kvUsageMaxPct() > 0;
    if (Double.isNaN(gpuUtilPct) && requests == 0 && !engine.reported()) {
      return new Result(
          BottleneckLabel.UNKNOWN, "no GPU samples, no requests and no engine state", in);
    }
    if (requests == 0 && (Double.isNaN(gpuUtilPct) || gpuUtilPct < 5) && !engineBusy) {
      return new Result(BottleneckLabel.IDLE, "no requests and GPU utilization below 5 %", in);
    }
    if (engine.kvUsageMaxPct() >= KV_CACHE_BOUND_PCT || engine.preemptions() > 0) {
      return new Result(
          BottleneckLabel.KV_CACHE_BOUND,
          engine.preemptions() > 0
              ? "the engine preempted " + engine.preemptions() + " requests (KV cache full)"
              : "KV-cache usage >= " + (long) KV_CACHE_BOUND_PCT + " %",
          in);
    }
    if (gpuUtilPct >= 90) {
      return new Result(BottleneckLabel.COMPUTE_BOUND, "GPU utilization >= 90 %", in);
    }
    boolean gpuUnderUsed = !Double.isNaN(gpuUtilPct) && gpuUtilPct < 60;
    if (gpuUnderUsed && memUtilPct >= 70) {
      return new Result(
          BottleneckLabel.MEMORY_BOUND,
          "memory-bandwidth utilization >= 70 % with GPU utilization < 60 %",
          in);
    }
    if (gpuUnderUsed && cpuUtilPct >= 90) {
      return new Result(
          BottleneckLabel.CPU_BOUND, "host CPU >= 90 % with GPU utilization < 60 %", in);
    }
    if (growth >= QUEUE_GROWTH_MIN
        && growth * 100 >= QUEUE_GROWTH_MIN_PCT * engine.waitingStart()) {
      return new Result(
          BottleneckLabel.QUEUE_GROWING,
          "requests waiting rose from "
              + engine.waitingStart()
              + " to "
              + engine.waitingEnd()
              + " over the window",
          in);
    }
    if (queueSharePct >= 50) {
      return new Result(BottleneckLabel.QUEUE_BOUND, "queue time >= 50 % of e2e latency", in);
    }
    if (gpuUnderUsed && pcieBytesPerSec >= 1e9) {
      return new Result(
          BottleneckLabel.IO_BOUND, "PCIe traffic >= 1 GB/s with GPU utilization < 60 %", in);
    }
    return new Result(BottleneckLabel.BALANCED, "no resource saturated", in);
  }

  private static void put(Map<String, Double> m, String k, double v) {
    if (!Double.isNaN(v)) {
      m.put(k, v);
    }
  }
}
