package io.infermeter.streams.windows;

import io.infermeter.avro.WindowAggregate;
import io.infermeter.streams.latency.Batching;
import io.infermeter.streams.latency.Goodput;
import io.infermeter.streams.latency.Jitter;
import io.infermeter.streams.latency.LatencyPercentiles;
import java.util.HashMap;

/**
 * Assembles a {@link WindowAggregate} from an accumulator, one concern class per part. Stateless.
 */
public final class WindowAggregates {

  private WindowAggregates() {}

  /**
   * The aggregate with the compressed HdrHistogram of every latency (see {@link
   * #of(RequestAccumulator, boolean)}).
   */
  public static WindowAggregate of(RequestAccumulator a) {
    return of(a, true);
  }

  /**
   * {@code withHdrHistogram}: also fill each LatencyStats' {@code hdrHistogram} (setting
   * output.hdr.histogram).
   */
  public static WindowAggregate of(RequestAccumulator a, boolean withHdrHistogram) {
    double seconds = a.windowSizeMs / 1000.0;
    AggKey k = a.key;
    return WindowAggregate.newBuilder()
        .setWindowStartUs(a.windowStartMs * 1000)
        .setWindowEndUs((a.windowStartMs + a.windowSizeMs) * 1000)
        .setWindowSizeMs(a.windowSizeMs)
        .setScope(k.scope())
        .setCluster(k.cluster())
        .setRegion(k.region())
        .setHost(k.host())
        .setModel(k.model())
        .setModelVersion(k.modelVersion())
        .setGpuType(k.gpuType())
        .setRequests(a.requests)
        .setOk(a.ok)
        .setErrors(a.errors)
        .setTimeouts(a.timeouts)
        .setCancelled(a.cancelled)
        .setColdStarts(a.coldStarts)
        .setErrorsByType(new HashMap<>(a.errorsByType))
        .setQps(a.requests / seconds)
        .setInputTokens(a.inputTokens)
        .setOutputTokens(a.outputTokens)
        .setOutputTokensPerSec(a.outputTokens / seconds)
        .setBusyTimeUs(a.busyUs)
        .setOutputTokensPerBusySec(a.busyUs == 0 ? null : a.outputTokens / (a.busyUs / 1e6))
        .setLatencies(LatencyPercentiles.stats(a, withHdrHistogram))
        .setJitter(Jitter.stats(a))
        .setSlo(Goodput.stats(a))
        .setBatching(Batching.stats(a))
        .build();
  }

  /** Record key of an aggregate: the key's text form, window size and start. */
  public static String recordKey(RequestAccumulator a) {
    return a.key.asString() + '|' + a.windowSizeMs + '|' + a.windowStartMs;
  }
}
