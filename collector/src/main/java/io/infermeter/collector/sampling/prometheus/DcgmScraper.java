package io.infermeter.collector.sampling.prometheus;

import io.infermeter.avro.HardwareSample;
import io.infermeter.collector.sampling.HardwareSamples;
import io.infermeter.collector.sampling.Sampler;
import io.infermeter.collector.support.CollectorMetrics;
import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Scrapes dcgm-exporter {@code /metrics} targets (Prometheus text format 0.0.4) every {@code
 * scrape.interval} on its own daemon thread and turns each scrape into hardware samples ({@link
 * DcgmMapping}, source {@code dcgm}). As a {@link Sampler} it only hands over what the scrape
 * thread produced since the last call, so a slow or dead target never delays the other samplers of
 * the loop.
 *
 * <p>Each target is fetched and parsed by a {@link ScrapeClient} (its bounds, and the failure
 * counters shared with the engine scraper); a failure is never fatal. At most {@value #BACKLOG}
 * samples wait for the sampler loop; beyond, new ones are dropped and counted in {@code
 * infermeter_collector_dropped_total{reason= "scrape_backlog"}}. Thread-safe.
 */
public final class DcgmScraper implements Sampler {

  static final int BACKLOG = 4096;

  private final ScrapeClient client;
  private final DcgmMapping mapping;
  private final CollectorMetrics metrics;
  private final Clock clock;
  private final BlockingQueue<HardwareSample> ready = new ArrayBlockingQueue<>(BACKLOG);
  private final Map<String, DcgmMapping.GpuState> latest = new ConcurrentHashMap<>();
  private final ScheduledExecutorService executor;

  /**
   * @param factory the collector's identity (the node), stamped on every sample
   * @param gpuTypeOverride the configured gpu.type, or null to use dcgm's modelName label
   */
  public DcgmScraper(
      ScrapeSettings settings,
      HardwareSamples factory,
      String gpuTypeOverride,
      CollectorMetrics metrics,
      Clock clock) {
    this(new ScrapeClient(settings, metrics), factory, gpuTypeOverride, metrics, clock);
  }

  /** As above, with the collector's one {@link ScrapeClient} (shared with the engine scraper). */
  public DcgmScraper(
      ScrapeClient client,
      HardwareSamples factory,
      String gpuTypeOverride,
      CollectorMetrics metrics,
      Clock clock) {
    this.client = client;
    this.mapping = new DcgmMapping(factory, gpuTypeOverride);
    this.metrics = metrics;
    this.clock = clock;
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "infermeter-dcgm-scrape");
              t.setDaemon(true);
              return t;
            });
  }

  /** Starts scraping every {@code scrape.interval}, the first scrape at once. */
  public void start() {
    // scrapeAll never throws, so the schedule only ends with close(): its future has nothing to
    // report
    ScheduledFuture<?> unused =
        executor.scheduleWithFixedDelay(
            this::scrapeAll, 0, client.settings().interval().toNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public String name() {
    return "dcgm";
  }

  /**
   * The samples scraped since the last call ({@code timestampUs} is unused: each sample carries its
   * scrape time).
   */
  @Override
  public List<HardwareSample> sample(long timestampUs) {
    List<HardwareSample> out = new ArrayList<>(ready.size());
    ready.drainTo(out);
    return out;
  }

  /**
   * The latest state of every GPU seen, by device id: the sample plus what the schema has no field
   * for (pods holding the GPU, dcgm's Hostname, SM/DRAM/tensor activity ratios), for attributing a
   * pod's requests to its GPUs.
   */
  public Map<String, DcgmMapping.GpuState> latest() {
    return Map.copyOf(latest);
  }

  /** Failed scrapes of {@code target} for {@code reason} so far (tests, diagnostics). */
  double errorCount(URI target, String reason) {
    return client.errorCount(target, reason);
  }

  /** Malformed lines skipped in the bodies of {@code target} so far. */
  double malformedCount(URI target) {
    return client.malformedCount(target);
  }

  /** Duplicate series skipped in the bodies of {@code target} so far. */
  double duplicateCount(URI target) {
    return client.duplicateCount(target);
  }

  /** One round over all targets (also called by tests). Never throws. */
  public synchronized void scrapeAll() {
    for (URI target : client.settings().dcgmTargets()) {
      try {
        scrape(target);
      } catch (RuntimeException e) {
        client.failed(target, "io", e);
      }
    }
  }

  private void scrape(URI target) {
    PrometheusText.Parsed parsed = client.scrape(target);
    if (parsed == null) {
      return;
    }
    Instant now = clock.instant();
    long ts = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    List<DcgmMapping.GpuState> states = mapping.map(parsed.samples(), ts);
    long dropped = 0;
    for (DcgmMapping.GpuState st : states) {
      latest.put(st.sample().getDeviceId(), st);
      if (!ready.offer(st.sample())) {
        dropped++;
      }
    }
    if (dropped > 0) {
      metrics.dropped("scrape_backlog", dropped);
    }
    client.succeeded(target, states.size() + " GPUs");
  }

  @Override
  public void close() {
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
