package io.infermeter.sink.internal;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The sink's own Prometheus metrics. Thread-safe (the Prometheus client is). Names carry their
 * units.
 */
public final class SinkMetrics {

  final Counter rowsWritten;
  final Counter recordsConsumed;
  final Counter batches;
  final Counter retries;
  final Counter deadLetters;
  final Counter commitFailures;
  final Counter splits;
  final Gauge consumerLag;
  final Gauge paused;
  final Histogram insertLatency;

  public SinkMetrics(PrometheusRegistry registry) {
    rowsWritten =
        Counter.builder()
            .name("infermeter_sink_rows_written_total")
            .help("Rows acknowledged by ClickHouse, per table")
            .labelNames("table")
            .register(registry);
    recordsConsumed =
        Counter.builder()
            .name("infermeter_sink_records_consumed_total")
            .help("Kafka records read, per topic")
            .labelNames("topic")
            .register(registry);
    batches =
        Counter.builder()
            .name("infermeter_sink_batches_total")
            .help("Batches written and committed")
            .register(registry);
    retries =
        Counter.builder()
            .name("infermeter_sink_retries_total")
            .help(
                "Failed batch attempts that will be retried (ClickHouse or dead-letter topic unavailable)")
            .register(registry);
    deadLetters =
        Counter.builder()
            .name("infermeter_sink_dead_letters_total")
            .help("Records sent to the dead-letter topic, per reason")
            .labelNames("reason")
            .register(registry);
    commitFailures =
        Counter.builder()
            .name("infermeter_sink_commit_failures_total")
            .help(
                "Offset commits that failed after a successful insert (records re-delivered, harmless)")
            .register(registry);
    splits =
        Counter.builder()
            .name("infermeter_sink_batch_splits_total")
            .help("Inserts split in halves because ClickHouse answered MEMORY_LIMIT_EXCEEDED")
            .register(registry);
    consumerLag =
        Gauge.builder()
            .name("infermeter_sink_consumer_lag_records")
            .help("Records behind the end of each assigned partition")
            .labelNames("topic", "partition")
            .register(registry);
    paused =
        Gauge.builder()
            .name("infermeter_sink_paused")
            .help("1 while consumption is paused because ClickHouse is unavailable")
            .register(registry);
    insertLatency =
        Histogram.builder()
            .name("infermeter_sink_insert_latency_seconds")
            .help("Duration of one batch insert into one table, seconds")
            .labelNames("table")
            .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
            .register(registry);
  }

  public double rowsWritten(String table) {
    return rowsWritten.labelValues(table).get();
  }

  public double retries() {
    return retries.get();
  }

  public double deadLetters(String reason) {
    return deadLetters.labelValues(reason).get();
  }

  /** Records read from Kafka, all topics. */
  public double recordsConsumedTotal() {
    return recordsConsumed.collect().getDataPoints().stream().mapToDouble(d -> d.getValue()).sum();
  }

  /** Seconds spent in batch inserts, all tables. */
  public double insertSecondsTotal() {
    return insertLatency.collect().getDataPoints().stream().mapToDouble(d -> d.getSum()).sum();
  }

  public double splits() {
    return splits.get();
  }

  public double batches() {
    return batches.get();
  }

  public boolean isPaused() {
    return paused.get() > 0;
  }
}
