package io.infermeter.collector.sampling.prometheus;

import io.infermeter.avro.HardwareSample;
import io.infermeter.collector.internal.CollectorMetrics;
import io.infermeter.collector.internal.HardwareSamples;
import io.infermeter.collector.internal.Sampler;
import io.prometheus.metrics.core.metrics.Counter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scrapes dcgm-exporter {@code /metrics} targets (Prometheus text format 0.0.4) every {@code scrape.interval} on its
 * own daemon thread and turns each scrape into hardware samples ({@link DcgmMapping}, source {@code dcgm}). As a
 * {@link Sampler} it only hands over what the scrape thread produced since the last call, so a slow or dead target
 * never delays the other samplers of the loop.
 *
 * <p>Each target's scrape (connect, headers, body) is bounded by {@code scrape.timeout}; a body over
 * {@code scrape.max.body.bytes} is abandoned as it arrives and nothing of it is used; a status other than 200 fails
 * the scrape. A failure is never fatal: it is counted in {@code infermeter_collector_scrape_errors_total{target,reason}}
 * (reason: timeout, connect, status, too_large, io) and logged once per streak of failures of that target (and once
 * more when it recovers). Malformed lines and duplicate series are skipped and counted in
 * {@code infermeter_collector_scrape_malformed_lines_total{target}} and
 * {@code infermeter_collector_scrape_duplicate_series_total{target}}. At most {@value #BACKLOG} samples wait for the
 * sampler loop; beyond, new ones are dropped and counted in {@code infermeter_collector_dropped_total{reason=
 * "scrape_backlog"}}. Thread-safe.
 */
public final class DcgmScraper implements Sampler {

  private static final Logger LOG = LoggerFactory.getLogger(DcgmScraper.class);
  static final int BACKLOG = 4096;

  private final ScrapeSettings settings;
  private final DcgmMapping mapping;
  private final CollectorMetrics metrics;
  private final Clock clock;
  private final HttpClient client;
  private final Counter errors;
  private final Counter malformed;
  private final Counter duplicates;
  private final Map<URI, Integer> streaks = new HashMap<>();
  private final BlockingQueue<HardwareSample> ready = new ArrayBlockingQueue<>(BACKLOG);
  private final Map<String, DcgmMapping.GpuState> latest = new ConcurrentHashMap<>();
  private final ScheduledExecutorService executor;

  /**
   * @param factory the collector's identity (the node), stamped on every sample
   * @param gpuTypeOverride the configured gpu.type, or null to use dcgm's modelName label
   */
  public DcgmScraper(ScrapeSettings settings, HardwareSamples factory, String gpuTypeOverride,
      CollectorMetrics metrics, Clock clock) {
    this.settings = settings;
    this.mapping = new DcgmMapping(factory, gpuTypeOverride);
    this.metrics = metrics;
    this.clock = clock;
    this.client = HttpClient.newBuilder().connectTimeout(settings.timeout())
        .followRedirects(HttpClient.Redirect.NEVER).version(HttpClient.Version.HTTP_1_1).build();
    this.errors = Counter.builder().name("infermeter_collector_scrape_errors")
        .help("Failed scrapes of a Prometheus target, by target and reason").labelNames("target", "reason")
        .register(metrics.registry());
    this.malformed = Counter.builder().name("infermeter_collector_scrape_malformed_lines")
        .help("Lines of scraped bodies skipped because they break the text format").labelNames("target")
        .register(metrics.registry());
    this.duplicates = Counter.builder().name("infermeter_collector_scrape_duplicate_series")
        .help("Samples of scraped bodies skipped because their series occurred before").labelNames("target")
        .register(metrics.registry());
    this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "infermeter-dcgm-scrape");
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts scraping every {@code scrape.interval}, the first scrape at once. */
  public void start() {
    executor.scheduleWithFixedDelay(this::scrapeAll, 0, settings.interval().toNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public String name() {
    return "dcgm";
  }

  /** The samples scraped since the last call ({@code timestampUs} is unused: each sample carries its scrape time). */
  @Override
  public List<HardwareSample> sample(long timestampUs) {
    List<HardwareSample> out = new ArrayList<>(ready.size());
    ready.drainTo(out);
    return out;
  }

  /**
   * The latest state of every GPU seen, by device id: the sample plus what the schema has no field for (pods holding
   * the GPU, dcgm's Hostname, SM/DRAM/tensor activity ratios), for attributing a pod's requests to its GPUs.
   */
  public Map<String, DcgmMapping.GpuState> latest() {
    return Map.copyOf(latest);
  }

  /** Failed scrapes of {@code target} for {@code reason} so far (tests, diagnostics). */
  double errorCount(URI target, String reason) {
    return errors.labelValues(ScrapeSettings.label(target), reason).get();
  }

  /** Malformed lines skipped in the bodies of {@code target} so far. */
  double malformedCount(URI target) {
    return malformed.labelValues(ScrapeSettings.label(target)).get();
  }

  /** Duplicate series skipped in the bodies of {@code target} so far. */
  double duplicateCount(URI target) {
    return duplicates.labelValues(ScrapeSettings.label(target)).get();
  }

  /** One round over all targets (also called by tests). Never throws. */
  public synchronized void scrapeAll() {
    for (URI target : settings.dcgmTargets()) {
      try {
        scrape(target);
      } catch (RuntimeException e) {
        failed(target, "io", e);
      }
    }
  }

  private void scrape(URI target) {
    String label = ScrapeSettings.label(target);
    String body;
    try {
      body = fetch(target);
    } catch (TooLargeException e) {
      failed(target, "too_large", e);
      return;
    } catch (HttpTimeoutException | TimeoutException e) {
      failed(target, "timeout", e);
      return;
    } catch (ConnectException e) {
      failed(target, "connect", e);
      return;
    } catch (StatusException e) {
      failed(target, "status", e);
      return;
    } catch (IOException e) {
      failed(target, "io", e);
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    Instant now = clock.instant();
    long ts = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    PrometheusText.Parsed parsed = PrometheusText.parse(body);
    if (parsed.malformedLines() > 0) {
      malformed.labelValues(label).inc(parsed.malformedLines());
      LOG.debug("{}: {} malformed lines skipped, first: {}", label, parsed.malformedLines(), parsed.firstError());
    }
    if (parsed.duplicateSeries() > 0) {
      duplicates.labelValues(label).inc(parsed.duplicateSeries());
    }
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
    Integer streak = streaks.remove(target);
    if (streak != null) {
      LOG.info("scrape of {} works again after {} failures ({} GPUs)", label, streak, states.size());
    }
  }

  private String fetch(URI target) throws IOException, InterruptedException, TimeoutException {
    HttpRequest req = HttpRequest.newBuilder(target).timeout(settings.timeout())
        .header("Accept", "text/plain;version=0.0.4").GET().build();
    long max = settings.maxBodyBytes();
    CompletableFuture<HttpResponse<byte[]>> f = client.sendAsync(req, info -> info.statusCode() == 200
        ? new CappedBody(max) : HttpResponse.BodySubscribers.replacing(new byte[0]));
    HttpResponse<byte[]> resp;
    try {
      resp = f.get(settings.timeout().toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      throw e;
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof IOException io) {
        throw io;
      }
      if (c instanceof TooLargeException tl) {
        throw tl;
      }
      throw new IOException(c);
    }
    if (resp.statusCode() != 200) {
      throw new StatusException("HTTP " + resp.statusCode());
    }
    return new String(resp.body(), StandardCharsets.UTF_8);
  }

  private void failed(URI target, String reason, Exception e) {
    String label = ScrapeSettings.label(target);
    errors.labelValues(label, reason).inc();
    int n = streaks.merge(target, 1, Integer::sum);
    if (n == 1) {
      LOG.warn("scrape of {} failed ({}: {}); retrying every {}, logging again when it works", label, reason,
          e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), settings.interval());
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
  }

  static final class TooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    TooLargeException(long max) {
      super("body over scrape.max.body.bytes (" + max + ")");
    }
  }

  static final class StatusException extends IOException {
    private static final long serialVersionUID = 1L;

    StatusException(String message) {
      super(message);
    }
  }

  /** Collects a body up to {@code max} bytes; cancels the transfer and fails as soon as it is larger. */
  static final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final long max;
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
    private Flow.Subscription subscription;
    private long received;

    CappedBody(long max) {
      this.max = max;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (result.isDone()) {
        return;
      }
      for (ByteBuffer b : items) {
        received += b.remaining();
        if (received > max) {
          subscription.cancel();
          result.completeExceptionally(new TooLargeException(max));
          return;
        }
        byte[] chunk = new byte[b.remaining()];
        b.get(chunk);
        buf.writeBytes(chunk);
      }
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      result.complete(buf.toByteArray());
    }
  }
}
