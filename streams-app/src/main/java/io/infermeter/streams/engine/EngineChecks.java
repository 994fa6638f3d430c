package io.infermeter.streams.engine;

import io.infermeter.avro.EngineSample;
import io.infermeter.streams.support.ValidatingProcessor;

/**
 * What an engine sample must satisfy: a host, an instance, an engine and a positive timestamp, a
 * KV-cache usage in 0-1 when present, no negative count, and bounded dimensions. A valid sample is
 * keyed by host for the energy repartition. Stateless.
 */
public final class EngineChecks implements ValidatingProcessor.Checks<EngineSample> {

  @Override
  public String noun() {
    return "engine-state";
  }

  @Override
  public String invalid(EngineSample s) {
    if (s.getHost() == null || s.getHost().isEmpty()) {
      return "host is empty";
    }
    if (s.getInstance() == null || s.getInstance().isEmpty()) {
      return "instance is empty";
    }
    if (s.getEngine() == null || s.getEngine().isEmpty()) {
      return "engine is empty";
    }
    if (s.getTimestampUs() <= 0) {
      return "timestampUs must be positive, got " + s.getTimestampUs();
    }
    Double kv = s.getKvCacheUsage();
    if (kv != null && !(kv >= 0 && kv <= 1)) {
      return "kvCacheUsage must be a ratio in [0, 1], got " + kv;
    }
    if (negative(s.getRequestsRunning())
        || negative(s.getRequestsWaiting())
        || negative(s.getPreemptionsTotal())) {
      return "requestsRunning, requestsWaiting and preemptionsTotal must not be negative";
    }
    return null;
  }

  private static boolean negative(Long v) {
    return v != null && v < 0;
  }

  @Override
  public String[] dimensions(EngineSample s) {
    return new String[] {
      "host", s.getHost(),
      "instance", s.getInstance(),
      "pod", s.getPod(),
      "engine", s.getEngine(),
      "model", s.getModel(),
      "cluster", s.getCluster(),
      "region", s.getRegion(),
      "source", s.getSource()
    };
  }

  @Override
  public String key(EngineSample s) {
    return s.getHost();
  }

  @Override
  public Object value(EngineSample s) {
    return s;
  }
}
