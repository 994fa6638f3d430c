package io.infermeter.collector.sampling.prometheus;

import io.infermeter.collector.support.CollectorMetrics;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches and parses one Prometheus {@code /metrics} target for the scrapers of this package
 * (dcgm-exporter, serving engines), with the bounds and the failure accounting they share: the
 * whole scrape (connect, headers, body) within {@code scrape.timeout}; a body over {@code
 * scrape.max.body.bytes} abandoned as it arrives; a status other than 200 fails. Failures are
 * counted in {@code infermeter_collector_scrape_errors_total{target,reason}} (reason: timeout,
 * connect, status, too_large, io) and logged once per streak of failures of a target (and once when
 * it recovers); malformed lines and duplicate series in {@code
 * infermeter_collector_scrape_malformed_lines_total{target}} and {@code
 * infermeter_collector_scrape_duplicate_series_total{target}}. One instance per collector registers
 * the counters once; thread-safe.
 */
public final class ScrapeClient {

  private static final Logger LOG = LoggerFactory.getLogger(ScrapeClient.class);

  private final ScrapeSettings settings;
  private final HttpClient client;
  private final Counter errors;
  private final Counter malformed;
  private final Counter duplicates;
  private final Map<URI, Integer> streaks = new ConcurrentHashMap<>();

  public ScrapeClient(ScrapeSettings settings, CollectorMetrics metrics) {
    this.settings = settings;
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(settings.timeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    this.errors =
        Counter.builder()
            .name("infermeter_collector_scrape_errors")
            .help("Failed scrapes of a Prometheus target, by target and reason")
            .labelNames("target", "reason")
            .register(metrics.registry());
    this.malformed =
        Counter.builder()
            .name("infermeter_collector_scrape_malformed_lines")
            .help("Lines of scraped bodies skipped because they break the text format")
            .labelNames("target")
            .register(metrics.registry());
    this.duplicates =
        Counter.builder()
            .name("infermeter_collector_scrape_duplicate_series")
            .help("Samples of scraped bodies skipped because their series occurred before")
            .labelNames("target")
            .register(metrics.registry());
  }

  public ScrapeSettings settings() {
    return settings;
  }

  /**
   * Scrapes {@code target} once: the parsed body, or null when the scrape failed (counted and
   * logged). Never throws; an interrupt is restored and answered with null.
   */
  public PrometheusText.Parsed scrape(URI target) {
    String label = ScrapeSettings.label(target);
    String body;
    try {
      body = fetch(target);
    } catch (TooLargeException e) {
      return failed(target, "too_large", e);
    } catch (HttpTimeoutException | TimeoutException e) {
      return failed(target, "timeout", e);
    } catch (ConnectException e) {
      return failed(target, "connect", e);
    } catch (StatusException e) {
      return failed(target, "status", e);
    } catch (IOException | RuntimeException e) {
      return failed(target, "io", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
    PrometheusText.Parsed parsed = PrometheusText.parse(body);
    if (parsed.malformedLines() > 0) {
      malformed.labelValues(label).inc(parsed.malformedLines());
      LOG.debug(
          "{}: {} malformed lines skipped, first: {}",
          label,
          parsed.malformedLines(),
          parsed.firstError());
    }
    if (parsed.duplicateSeries() > 0) {
      duplicates.labelValues(label).inc(parsed.duplicateSeries());
    }
    return parsed;
  }

  /**
   * Logs the recovery of a target after a streak of failures; {@code what} says what the scrape
   * produced.
   */
  public void succeeded(URI target, String what) {
    Integer streak = streaks.remove(target);
    if (streak != null) {
      LOG.info(
          "scrape of {} works again after {} failures ({})",
          ScrapeSettings.label(target),
          streak,
          what);
    }
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

  private String fetch(URI target) throws IOException, InterruptedException, TimeoutException {
    HttpRequest req =
        HttpRequest.newBuilder(target)
            .timeout(settings.timeout())
            .header("Accept", "text/plain;version=0.0.4")
            .GET()
            .build();
    long max = settings.maxBodyBytes();
    CompletableFuture<HttpResponse<byte[]>> f =
        client.sendAsync(
            req,
            info ->
                info.statusCode() == 200
                    ? new CappedBody(max)
                    : HttpResponse.BodySubscribers.replacing(new byte[0]));
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
      throw new IOException(c);
    }
    if (resp.statusCode() != 200) {
      throw new StatusException("HTTP " + resp.statusCode());
    }
    return new String(resp.body(), StandardCharsets.UTF_8);
  }

  /** Counts and (once per streak) logs a failed scrape; returns null for {@link #scrape}. */
  PrometheusText.Parsed failed(URI target, String reason, Exception e) {
    String label = ScrapeSettings.label(target);
    errors.labelValues(label, reason).inc();
    int n = streaks.merge(target, 1, Integer::sum);
    if (n == 1) {
      LOG.warn(
          "scrape of {} failed ({}: {}); retrying every {}, logging again when it works",
          label,
          reason,
          e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(),
          settings.interval());
    }
    return null;
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

  /**
   * Collects a body up to {@code max} bytes; cancels the transfer and fails as soon as it is
   * larger.
   */
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
