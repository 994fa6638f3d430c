package io.infermeter.collector.sampling.prometheus;

import io.infermeter.avro.EngineSample;
import io.infermeter.collector.support.CollectorMetrics;
import io.prometheus.metrics.core.metrics.Counter;
import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scrapes serving-engine {@code /metrics} targets ({@code scrape.engine.targets}: vLLM, SGLang,
 * TGI, Triton, NIM) every {@code scrape.interval} on its own daemon thread and hands one {@link
 * EngineSample} per (engine, model) of each target to the sink (the publisher, topic {@code
 * infermeter-engine-state}), source {@code scrape}, instance the target's host:port. Fetching,
 * bounds and failure accounting are the {@link ScrapeClient}'s; the mapping is {@link
 * EngineMapping}'s. A value an engine reports that cannot be true (not finite, negative, KV-cache
 * usage above 1) is left out and counted in {@code
 * infermeter_collector_engine_values_refused_total{target}}; a failed scrape is never fatal.
 * Thread-safe.
 */
public final class EngineScraper implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EngineScraper.class);

  private final ScrapeClient client;
  private final EngineMapping mapping;
  private final Consumer<EngineSample> sink;
  private final Clock clock;
  private final Counter refused;
  private final ScheduledExecutorService executor;

  /**
   * @param client the collector's scrape client (its settings name the targets)
   * @param mapping stamps the collector's identity (the node) on every sample
   * @param sink where samples go (the publisher); must not block for long
   */
  public EngineScraper(
      ScrapeClient client,
      EngineMapping mapping,
      Consumer<EngineSample> sink,
      CollectorMetrics metrics,
      Clock clock) {
    this.client = client;
    this.mapping = mapping;
    this.sink = sink;
    this.clock = clock;
    this.refused =
        Counter.builder()
            .name("infermeter_collector_engine_values_refused")
            .help(
                "Values of serving-engine metrics left out because they cannot be true (not finite, negative, "
                    + "KV-cache usage above 1), by scrape target")
            .labelNames("target")
            .register(metrics.registry());
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "infermeter-engine-scrape");
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

  /** One round over all targets (also called by tests). Never throws. */
  public synchronized void scrapeAll() {
    for (URI target : client.settings().engineTargets()) {
      try {
        scrape(target);
      } catch (RuntimeException e) {
        client.failed(target, "io", e);
      }
    }
  }

  /** Values refused in the bodies of {@code target} so far (tests, diagnostics). */
  double refusedCount(URI target) {
    return refused.labelValues(ScrapeSettings.label(target)).get();
  }

  private void scrape(URI target) {
    PrometheusText.Parsed parsed = client.scrape(target);
    if (parsed == null) {
      return;
    }
    Instant now = clock.instant();
    long ts = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    String instance = target.getHost() + (target.getPort() >= 0 ? ":" + target.getPort() : "");
    EngineMapping.Result r = mapping.map(parsed.samples(), instance, null, "scrape", ts);
    if (!r.invalid().isEmpty()) {
      refused.labelValues(ScrapeSettings.label(target)).inc(r.invalid().size());
      LOG.debug(
          "{}: {} engine values refused, first: {}",
          ScrapeSettings.label(target),
          r.invalid().size(),
          r.invalid().get(0));
    }
    List<EngineSample> samples = r.samples();
    for (EngineSample s : samples) {
      sink.accept(s);
    }
    client.succeeded(target, samples.size() + " engine samples");
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
