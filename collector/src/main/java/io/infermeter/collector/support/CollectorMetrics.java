package io.infermeter.collector.support;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Locale;
import java.util.function.DoubleSupplier;

/**
 * The collector's own health metrics, registered in one {@link PrometheusRegistry} per collector
 * instance (so tests and benchmarks can run several collectors in one JVM). Names carry their unit
 * ({@code _seconds}, {@code _bytes}) and counters get {@code _total} in the exposition. Thread-safe
 * (Prometheus data points are lock-free).
 */
public final class CollectorMetrics {

  /**
   * Why an incoming request event was rejected; the label value of {@code rejected_total{reason}}.
   */
  public enum RejectReason {
    MALFORMED,
    MISSING_FIELD,
    INVALID_VALUE,
    NEGATIVE_DURATION,
    ABSURD_DURATION,
    FUTURE_TIMESTAMP,
    STALE_TIMESTAMP,
    /** A dimension over validation.max.dimension.bytes, or too many attributes. */
    TOO_LONG;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final PrometheusRegistry registry;
  private final Counter received;
  private final Counter rejected;
  private final Counter sent;
  private final Counter spooled;
  private final Counter dropped;
  private final Counter samplerErrors;
  private final Counter ignoredSpans;
  private final Counter truncated;
  private final Counter httpRequests;
  private final Histogram sendLatency;
  private final Histogram sampleDuration;
  private final CounterDataPoint spooledPoint;

  public CollectorMetrics() {
    this(new PrometheusRegistry());
  }

  public CollectorMetrics(PrometheusRegistry registry) {
    this.registry = registry;
    received =
        Counter.builder()
            .name("infermeter_collector_received")
            .help(
                "Request events accepted at ingest, by source (otlp, jsonl, java-api) and hardware samples (hardware)")
            .labelNames("source")
            .register(registry);
    rejected =
        Counter.builder()
            .name("infermeter_collector_rejected")
            .help("Request events rejected at ingest, by source and reason")
            .labelNames("source", "reason")
            .register(registry);
    sent =
        Counter.builder()
            .name("infermeter_collector_sent")
            .help("Events acknowledged by Kafka, by topic")
            .labelNames("topic")
            .withoutExemplars() // incremented per event on the producer's I/O thread: no exemplar
            // sampling there
            .register(registry);
    spooled =
        Counter.builder()
            .name("infermeter_collector_spooled")
            .help(
                "Events written to the local disk spool because Kafka was unreachable or the buffer was full")
            .register(registry);
    spooledPoint = spooled.labelValues();
    dropped =
        Counter.builder()
            .name("infermeter_collector_dropped")
            .help(
                "Events lost, by reason (spool_full and spool_disk_full drop oldest first, spool_corrupt, spool_error, "
                    + "kafka_rejected, recorder_full, serialization)")
            .labelNames("reason")
            .register(registry);
    samplerErrors =
        Counter.builder()
            .name("infermeter_collector_sampler_errors")
            .help("Failed hardware sampler runs, by sampler")
            .labelNames("sampler")
            .register(registry);
    ignoredSpans =
        Counter.builder()
            .name("infermeter_collector_ignored_spans")
            .help(
                "OTLP spans that are not inference requests (no gen_ai.* attribute, or agent and tool spans), skipped")
            .register(registry);
    truncated =
        Counter.builder()
            .name("infermeter_collector_truncated")
            .help(
                "Free-text values of accepted events cut to validation.max.message.bytes, by field")
            .labelNames("field")
            .register(registry);
    httpRequests =
        Counter.builder()
            .name("infermeter_collector_http_requests")
            .help("HTTP requests answered, by path and status code")
            .labelNames("path", "code")
            .register(registry);
    sendLatency =
        Histogram.builder()
            .name("infermeter_collector_send_latency_seconds")
            .help(
                "Time from handing an event to the Kafka producer to its acknowledgement, seconds; observed for a random "
                    + "1 in 16 events (the count is the sample's size)")
            .classicOnly()
            .withoutExemplars() // observed on the acknowledgement path: exemplar sampling was the
            // costliest part of it
            .classicUpperBounds(
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
            .register(registry);
    sampleDuration =
        Histogram.builder()
            .name("infermeter_collector_sample_duration_seconds")
            .help(
                "Wall time of one hardware sampler run (the sampler's own cost), seconds, by sampler")
            .classicOnly()
            .withoutExemplars()
            .classicUpperBounds(
                0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1)
            .labelNames("sampler")
            .register(registry);
  }

  public PrometheusRegistry registry() {
    return registry;
  }

  public CounterDataPoint received(String source) {
    return received.labelValues(source);
  }

  public void rejected(String source, RejectReason reason) {
    rejected.labelValues(source, reason.label()).inc();
  }

  public CounterDataPoint sent(String topic) {
    return sent.labelValues(topic);
  }

  public void spooled(long n) {
    spooledPoint.inc(n);
  }

  public void dropped(String reason, long n) {
    if (n > 0) {
      dropped.labelValues(reason).inc(n);
    }
  }

  public void samplerError(String sampler) {
    samplerErrors.labelValues(sampler).inc();
  }

  public void ignoredSpans(long n) {
    if (n > 0) {
      ignoredSpans.inc(n);
    }
  }

  /** One free-text value of {@code field} cut to the limit. */
  public void truncated(String field) {
    truncated.labelValues(field).inc();
  }

  public double truncatedCount(String field) {
    return truncated.labelValues(field).get();
  }

  public void httpRequest(String path, int code) {
    httpRequests.labelValues(path, String.valueOf(code)).inc();
  }

  public DistributionDataPoint sendLatency() {
    return sendLatency;
  }

  public DistributionDataPoint sampleDuration(String sampler) {
    return sampleDuration.labelValues(sampler);
  }

  /** Registers a gauge read at scrape time (buffer and spool sizes). */
  public void gauge(String name, String help, DoubleSupplier value) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .callback(cb -> cb.call(value.getAsDouble()))
        .register(registry);
  }

  // Read-backs for tests and the benchmark driver.
  public double receivedCount(String source) {
    return received.labelValues(source).get();
  }

  public double rejectedCount(String source, RejectReason reason) {
    return rejected.labelValues(source, reason.label()).get();
  }

  public double sentCount(String topic) {
    return sent.labelValues(topic).get();
  }

  public double spooledCount() {
    return spooledPoint.get();
  }

  public double droppedCount(String reason) {
    return dropped.labelValues(reason).get();
  }

  /** Mean duration of one run of {@code sampler} so far, seconds (NaN before the first run). */
  public double meanSampleSeconds(String sampler) {
    for (var dp : sampleDuration.collect().getDataPoints()) {
      if (sampler.equals(dp.getLabels().get("sampler"))) {
        return dp.getCount() == 0 ? Double.NaN : dp.getSum() / dp.getCount();
      }
    }
    return Double.NaN;
  }

  public double samplerErrorCount(String sampler) {
    return samplerErrors.labelValues(sampler).get();
  }
}
