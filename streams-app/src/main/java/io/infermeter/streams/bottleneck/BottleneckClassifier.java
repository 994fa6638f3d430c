package io.infermeter.streams.bottleneck;

import io.infermeter.avro.BottleneckLabel;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Bottleneck concern: classifies one host window from GPU utilization, memory-bandwidth utilization, host CPU
 * utilization, the queue share of e2e, PCIe traffic and QPS. Rules, first match wins (thresholds in percent):
 * no GPU samples and no requests: UNKNOWN; no requests and GPU util &lt; 5: IDLE; GPU util &gt;= 90: COMPUTE_BOUND;
 * memory util &gt;= 70 and GPU util &lt; 60: MEMORY_BOUND; CPU util &gt;= 90 and GPU util &lt; 60: CPU_BOUND;
 * queue share &gt;= 50: QUEUE_BOUND; PCIe &gt;= 1 GB/s and GPU util &lt; 60: IO_BOUND; otherwise BALANCED.
 * Stateless.
 */
public final class BottleneckClassifier {

  private BottleneckClassifier() {}

  /** The label, the reason in words, and the inputs (units in the names; NaN inputs are left out). */
  public record Result(BottleneckLabel label, String reason, Map<String, Double> inputs) {}

  public static Result classify(double gpuUtilPct, double memUtilPct, double cpuUtilPct, double queueSharePct,
      double pcieBytesPerSec, double qps, long requests) {
    Map<String, Double> in = new LinkedHashMap<>();
    put(in, "gpuUtilPct", gpuUtilPct);
    put(in, "memUtilPct", memUtilPct);
    put(in, "cpuUtilPct", cpuUtilPct);
    put(in, "queueShareOfE2ePct", queueSharePct);
    put(in, "pcieBytesPerSec", pcieBytesPerSec);
    put(in, "qps", qps);
    if (Double.isNaN(gpuUtilPct) && requests == 0) {
      return new Result(BottleneckLabel.UNKNOWN, "no GPU samples and no requests", in);
    }
    if (requests == 0 && (Double.isNaN(gpuUtilPct) || gpuUtilPct < 5)) {
      return new Result(BottleneckLabel.IDLE, "no requests and GPU utilization below 5 %", in);
    }
    if (gpuUtilPct >= 90) {
      return new Result(BottleneckLabel.COMPUTE_BOUND, "GPU utilization >= 90 %", in);
    }
    boolean gpuUnderUsed = !Double.isNaN(gpuUtilPct) && gpuUtilPct < 60;
    if (gpuUnderUsed && memUtilPct >= 70) {
      return new Result(BottleneckLabel.MEMORY_BOUND, "memory-bandwidth utilization >= 70 % with GPU utilization < 60 %", in);
    }
    if (gpuUnderUsed && cpuUtilPct >= 90) {
      return new Result(BottleneckLabel.CPU_BOUND, "host CPU >= 90 % with GPU utilization < 60 %", in);
    }
    if (queueSharePct >= 50) {
      return new Result(BottleneckLabel.QUEUE_BOUND, "queue time >= 50 % of e2e latency", in);
    }
    if (gpuUnderUsed && pcieBytesPerSec >= 1e9) {
      return new Result(BottleneckLabel.IO_BOUND, "PCIe traffic >= 1 GB/s with GPU utilization < 60 %", in);
    }
    return new Result(BottleneckLabel.BALANCED, "no resource saturated", in);
  }

  private static void put(Map<String, Double> m, String k, double v) {
    if (!Double.isNaN(v)) {
      m.put(k, v);
    }
  }
}
