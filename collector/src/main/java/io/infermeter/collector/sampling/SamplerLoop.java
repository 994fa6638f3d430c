package io.infermeter.collector.sampling;

import io.infermeter.avro.HardwareSample;
import io.infermeter.collector.support.CollectorMetrics;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs every hardware {@link Sampler} once per period on one daemon thread and hands the samples
 * on. A failing sampler is logged (first failure and then every 60th) and counted in {@code
 * sampler_errors_total{sampler}}; the loop keeps going. The wall time of each sampler run is
 * observed in {@code sample_duration_seconds{sampler}} (the sampler's own cost). Thread-safe:
 * {@link #runOnce()} is also called by tests.
 */
public final class SamplerLoop implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SamplerLoop.class);

  private final List<Sampler> samplers;
  private final Consumer<HardwareSample> sink;
  private final CollectorMetrics metrics;
  private final Clock clock;
  private final CounterDataPoint received;
  private final Map<String, DistributionDataPoint> durations = new HashMap<>();
  private final Map<String, Long> failures = new HashMap<>();
  private final ScheduledExecutorService executor;

  public SamplerLoop(
      List<Sampler> samplers,
      Consumer<HardwareSample> sink,
      CollectorMetrics metrics,
      Clock clock) {
    this.samplers = samplers;
    this.sink = sink;
    this.metrics = metrics;
    this.clock = clock;
    this.received = metrics.received("hardware");
    for (Sampler s : samplers) {
      durations.put(s.name(), metrics.sampleDuration(s.name()));
    }
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "infermeter-sampler");
              t.setDaemon(true);
              return t;
            });
  }

  public void start(Duration period) {
    // runOnce never throws, so the schedule only ends with close(): its future has nothing to
    // report
    ScheduledFuture<?> unused =
        executor.scheduleAtFixedRate(this::runOnce, 0, period.toNanos(), TimeUnit.NANOSECONDS);
  }

  public List<String> samplerNames() {
    return samplers.stream().map(Sampler::name).toList();
  }

  /** One round over all samplers. Never throws. */
  public synchronized void runOnce() {
    Instant now = clock.instant();
    long ts = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    for (Sampler s : samplers) {
      long start = System.nanoTime();
      try {
        List<HardwareSample> samples = s.sample(ts);
        durations.get(s.name()).observe((System.nanoTime() - start) / 1e9);
        for (HardwareSample hs : samples) {
          sink.accept(hs);
        }
        received.inc(samples.size());
      } catch (Exception | LinkageError e) {
        metrics.samplerError(s.name());
        long n = failures.merge(s.name(), 1L, Long::sum);
        if (n == 1 || n % 60 == 0) {
          LOG.warn("hardware sampler {} failed ({} times so far); continuing", s.name(), n, e);
        }
      }
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Sampler s : samplers) {
      try {
        s.close();
      } catch (RuntimeException e) {
        LOG.warn("closing sampler {} failed", s.name(), e);
      }
    }
  }
}
