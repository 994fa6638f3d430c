-- infermeter ClickHouse schema, version 3: hardware samples (Topics.HARDWARE) and their per-minute rollup.
-- Placeholders: ${database}, ${ttl_days_hardware} (retention of hardware_samples, days).
-- A field the device cannot report is NULL, never zero; the rollup's aggregates skip NULLs.

CREATE TABLE IF NOT EXISTS ${database}.hardware_samples
(
    ts                           DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    cluster                      LowCardinality(String),
    region                       LowCardinality(String),
    host                         LowCardinality(String),
    device_id                    LowCardinality(String),
    device_kind                  LowCardinality(String),
    gpu_type                     LowCardinality(String),
    source                       LowCardinality(String),
    utilization_pct              Nullable(Float64),
    memory_utilization_pct       Nullable(Float64),
    memory_used_bytes            Nullable(UInt64),
    memory_total_bytes           Nullable(UInt64),
    power_w                      Nullable(Float64),
    energy_mj                    Nullable(UInt64),
    temperature_c                Nullable(Float64),
    sm_clock_mhz                 Nullable(UInt32),
    mem_clock_mhz                Nullable(UInt32),
    throttle_reasons             Nullable(UInt64),
    pcie_rx_bytes_per_sec        Nullable(UInt64),
    pcie_tx_bytes_per_sec        Nullable(UInt64),
    xid_errors                   Nullable(UInt64),
    process_pid                  Array(Int32),
    process_name                 Array(String),
    process_used_bytes           Array(UInt64),
    kafka_partition              UInt32,
    kafka_offset                 UInt64,
    ingested_at                  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(kafka_offset)
PARTITION BY toDate(ts)
ORDER BY (host, device_id, ts)
TTL toDateTime(ts) + INTERVAL ${ttl_days_hardware} DAY;

-- Per-minute rollup per device. A view over FINAL, not a materialized view: a materialized view would aggregate a
-- re-delivered block a second time (see docs/SINK.md, "Exactly once in effect").
CREATE VIEW IF NOT EXISTS ${database}.hardware_minutely AS
SELECT
    toStartOfMinute(ts) AS minute,
    host,
    device_id,
    any(device_kind) AS device_kind,
    any(gpu_type) AS gpu_type,
    count() AS samples,
    avg(utilization_pct) AS avg_utilization_pct,
    max(utilization_pct) AS max_utilization_pct,
    max(memory_used_bytes) AS max_memory_used_bytes,
    max(memory_total_bytes) AS memory_total_bytes,
    avg(power_w) AS avg_power_w,
    max(power_w) AS max_power_w,
    max(temperature_c) AS max_temperature_c,
    countIf(throttle_reasons > 0) AS throttled_samples,
    max(xid_errors) AS xid_errors
FROM ${database}.hardware_samples FINAL
WHERE ts >= {from_ts:DateTime64(6, 'UTC')}
  AND ts < {to_ts:DateTime64(6, 'UTC')}
GROUP BY minute, host, device_id
ORDER BY minute, host, device_id;
