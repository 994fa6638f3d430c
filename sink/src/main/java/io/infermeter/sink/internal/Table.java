package io.infermeter.sink.internal;

import java.util.List;

/**
 * A ClickHouse table the sink writes: its name and the columns it sets, in the order of the row arrays the
 * {@link RowMapper}s produce. Columns with defaults ({@code ingested_at}) are left to ClickHouse. Immutable.
 */
public enum Table {
  WINDOW_AGGREGATES("window_aggregates", "window_start", "window_end", "window_size_ms", "scope", "cluster", "region",
      "host", "model", "model_version", "gpu_type", "requests", "ok", "errors", "timeouts", "cancelled", "cold_starts",
      "errors_by_type", "qps", "input_tokens", "output_tokens", "output_tokens_per_sec", "busy_time_us",
      "output_tokens_per_busy_sec", "jitter_metric", "jitter_stddev_us", "jitter_cv", "jitter_p99_over_p50",
      "jitter_iqr_us", "jitter_mean_abs_consecutive_diff_us", "slo_class", "slo_requests", "slo_good",
      "slo_goodput_rps", "slo_attainment_pct", "batch_requests_with_size", "batch_mean_size", "batch_max_size",
      "batch_efficiency", "batch_size_one_share", "batch_p50_size", "batch_p90_size", "batch_p99_size",
      "batch_tokens_per_batch", "kafka_partition", "kafka_offset"),
  WINDOW_LATENCY("window_latency", "window_start", "window_end", "window_size_ms", "scope", "cluster", "region", "host",
      "model", "model_version", "gpu_type", "metric", "cohort", "count", "min_us", "max_us", "mean_us", "stddev_us",
      "p50_us", "p90_us", "p95_us", "p99_us", "p999_us", "bucket_values_us", "bucket_counts", "kafka_partition",
      "kafka_offset"),
  DEVICE_ENERGY("device_energy", "window_start", "window_end", "window_size_ms", "cluster", "region", "host",
      "device_id", "device_kind", "gpu_type", "method", "samples", "counter_resets", "measured_energy_j",
      "busy_time_us", "idle_energy_j", "pue", "facility_energy_kwh", "carbon_intensity_g_per_kwh",
      "carbon_intensity_source", "carbon_g", "idle_carbon_g", "currency", "price_per_hour", "cost", "idle_cost",
      "kafka_partition", "kafka_offset"),
  ENERGY_ATTRIBUTION("energy_attribution", "window_start", "window_end", "window_size_ms", "cluster", "region", "host",
      "device_id", "device_kind", "gpu_type", "model", "model_version", "is_idle", "requests", "output_tokens",
      "busy_time_us", "share", "energy_j", "carbon_g", "cost", "currency", "pue", "carbon_intensity_g_per_kwh",
      "kafka_partition", "kafka_offset"),
  BOTTLENECKS("bottlenecks", "window_start", "window_end", "cluster", "region", "host", "label", "reason", "inputs",
      "kafka_partition", "kafka_offset"),
  ALERTS("alerts", "emitted", "alert_id", "dedup_key", "rule", "severity", "state", "cluster", "region", "host",
      "model", "device_id", "key", "window_start", "window_end", "observed", "threshold", "baseline", "unit",
      "summary", "evidence", "first_seen", "kafka_partition", "kafka_offset"),
  HARDWARE_SAMPLES("hardware_samples", "ts", "cluster", "region", "host", "device_id", "device_kind", "gpu_type",
      "source", "pod", "utilization_pct", "memory_utilization_pct", "memory_used_bytes", "memory_total_bytes", "power_w",
      "energy_mj", "temperature_c", "sm_clock_mhz", "mem_clock_mhz", "throttle_reasons", "pcie_rx_bytes_per_sec",
      "pcie_tx_bytes_per_sec", "xid_errors", "process_pid", "process_name", "process_used_bytes", "kafka_partition",
      "kafka_offset"),
  ENGINE_SAMPLES("engine_samples", "ts", "cluster", "region", "host", "instance", "pod", "engine", "model", "source",
      "kv_cache_usage", "requests_running", "requests_waiting", "preemptions_total", "kafka_partition",
      "kafka_offset"),
  /** Written by {@link RawRequestWriter} (RowBinary), not the JDBC writer. */
  REQUESTS("requests", "completed_at", "event_id", "request_id", "source", "cluster", "region", "host", "device_id",
      "gpu_type", "model", "model_version", "engine", "operation", "status", "error_type", "slo_class", "cold_start",
      "e2e_us", "queue_us", "ttft_us", "prefill_us", "decode_us", "tpot_us", "input_tokens", "output_tokens",
      "cached_tokens", "batch_size", "max_batch_size", "max_inter_token_gap_us", "window_starts", "attributes",
      "kafka_partition", "kafka_offset"),
  DEAD_LETTERS("dead_letters", "detected", "stage", "reason", "message", "error_class", "source_topic",
      "source_partition", "source_offset", "record_timestamp", "key_base64", "payload_base64", "kafka_partition",
      "kafka_offset");

  private final String tableName;
  private final List<String> columns;

  Table(String tableName, String... columns) {
    this.tableName = tableName;
    this.columns = List.of(columns);
  }

  public String tableName() {
    return tableName;
  }

  public List<String> columns() {
    return columns;
  }

  /** {@code INSERT INTO db.table (c1, ...) VALUES (?, ...)}. */
  String insertSql(String database) {
    return "INSERT INTO " + database + "." + tableName + " (" + String.join(", ", columns) + ") VALUES ("
        + String.join(", ", java.util.Collections.nCopies(columns.size(), "?")) + ")";
  }
}
