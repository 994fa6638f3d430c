-- infermeter ClickHouse schema, version 1: one table per sink output.
--
-- Placeholders substituted by the sink's migration runner (./infermeter sink migrate):
--   ${database}                      target database (created if missing)
--   ${ttl_days_window_aggregates}    retention of window_aggregates and window_latency, days
--   ${ttl_days_energy}               retention of device_energy and energy_attribution, days
--   ${ttl_days_bottlenecks}          retention of bottlenecks, days
--   ${ttl_days_alerts}               retention of alerts, days
--   ${ttl_days_dead_letters}         retention of dead_letters, days
--
-- Re-delivery is harmless by design: every table is a ReplacingMergeTree whose ORDER BY is the record's natural key,
-- with the Kafka offset as version (a later record for the same key replaces an earlier one). Queries read with FINAL.
-- Times are DateTime64(6, 'UTC') (the wire carries epoch microseconds); dimensions are LowCardinality(String).
-- Statements end with ';' at the end of a line (the runner splits on that).

CREATE TABLE IF NOT EXISTS ${database}.window_aggregates
(
    window_start                 DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    window_end                   DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    window_size_ms               UInt32,
    scope                        LowCardinality(String),
    cluster                      LowCardinality(String),
    region                       LowCardinality(String),
    host                         LowCardinality(String),
    model                        LowCardinality(String),
    model_version                LowCardinality(String),
    gpu_type                     LowCardinality(String),
    requests                     UInt64 CODEC(T64, ZSTD(1)),
    ok                           UInt64 CODEC(T64, ZSTD(1)),
    errors                       UInt64 CODEC(T64, ZSTD(1)),
    timeouts                     UInt64 CODEC(T64, ZSTD(1)),
    cancelled                    UInt64 CODEC(T64, ZSTD(1)),
    cold_starts                  UInt64 CODEC(T64, ZSTD(1)),
    errors_by_type               Map(LowCardinality(String), UInt64),
    qps                          Float64 CODEC(ZSTD(1)),
    input_tokens                 UInt64 CODEC(T64, ZSTD(1)),
    output_tokens                UInt64 CODEC(T64, ZSTD(1)),
    output_tokens_per_sec        Float64 CODEC(ZSTD(1)),
    busy_time_us                 UInt64 CODEC(T64, ZSTD(1)),
    output_tokens_per_busy_sec   Nullable(Float64),
    -- jitter of warm e2e/ttft/tpot: parallel arrays, one element per metric
    jitter_metric                Array(LowCardinality(String)),
    jitter_stddev_us             Array(Float64),
    jitter_cv                    Array(Float64),
    jitter_p99_over_p50          Array(Float64),
    jitter_iqr_us                Array(UInt64),
    jitter_mean_abs_consecutive_diff_us Array(Float64),
    -- goodput per SLO class: parallel arrays, one element per class
    slo_class                    Array(LowCardinality(String)),
    slo_requests                 Array(UInt64),
    slo_good                     Array(UInt64),
    slo_goodput_rps              Array(Float64),
    slo_attainment_pct           Array(Float64),
    -- batching; NULL when no request of the window reported a batch size
    batch_requests_with_size     Nullable(UInt64),
    batch_mean_size              Nullable(Float64),
    batch_max_size               Nullable(UInt32),
    batch_efficiency             Nullable(Float64),
    batch_size_one_share         Nullable(Float64),
    batch_p50_size               Nullable(UInt64),
    batch_p90_size               Nullable(UInt64),
    batch_p99_size               Nullable(UInt64),
    batch_tokens_per_batch       Nullable(Float64),
    kafka_partition              UInt32,
    kafka_offset                 UInt64,
    ingested_at                  DateTime64(3, 'UTC') DEFAULT now64(3),
    CONSTRAINT window_is_ordered CHECK window_end > window_start
)
ENGINE = ReplacingMergeTree(kafka_offset)
PARTITION BY toDate(window_start)
ORDER BY (window_size_ms, scope, model, window_start, cluster, region, host, model_version, gpu_type)
TTL toDateTime(window_start) + INTERVAL ${ttl_days_window_aggregates} DAY;

-- One row per (window key, latency metric, cohort): the summary and the HdrHistogram buckets (highest equivalent
-- value of each non-empty bucket, ascending, and its count) from which percentiles are merged exactly in SQL.
CREATE TABLE IF NOT EXISTS ${database}.window_latency
(
    window_start                 DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    window_end                   DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    window_size_ms               UInt32,
    scope                        LowCardinality(String),
    cluster                      LowCardinality(String),
    region                       LowCardinality(String),
    host                         LowCardinality(String),
    model                        LowCardinality(String),
    model_version                LowCardinality(String),
    gpu_type                     LowCardinality(String),
    metric                       LowCardinality(String),
    cohort                       LowCardinality(String),
    count                        UInt64 CODEC(T64, ZSTD(1)),
    min_us                       UInt64 CODEC(T64, ZSTD(1)),
    max_us                       UInt64 CODEC(T64, ZSTD(1)),
    mean_us                      Float64 CODEC(ZSTD(1)),
    stddev_us                    Float64 CODEC(ZSTD(1)),
    p50_us                       UInt64 CODEC(T64, ZSTD(1)),
    p90_us                       UInt64 CODEC(T64, ZSTD(1)),
    p95_us                       UInt64 CODEC(T64, ZSTD(1)),
    p99_us                       UInt64 CODEC(T64, ZSTD(1)),
    p999_us                      UInt64 CODEC(T64, ZSTD(1)),
    bucket_values_us             Array(UInt64) CODEC(Delta, ZSTD(3)),
    bucket_counts                Array(UInt64) CODEC(ZSTD(3)),
    kafka_partition              UInt32,
    kafka_offset                 UInt64,
    ingested_at                  DateTime64(3, 'UTC') DEFAULT now64(3),
    CONSTRAINT buckets_are_parallel CHECK length(bucket_values_us) = length(bucket_counts)
)
ENGINE = ReplacingMergeTree(kafka_offset)
PARTITION BY toDate(window_start)
ORDER BY (window_size_ms, scope, metric, cohort, model, window_start, cluster, region, host, model_version, gpu_type)
TTL toDateTime(window_start) + INTERVAL ${ttl_days_window_aggregates} DAY;

-- Device totals of DeviceWindowEnergy: one row per device and window.
CREATE TABLE IF NOT EXISTS ${database}.device_energy
(
    window_start                 DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    window_end                   DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    window_size_ms               UInt32,
    cluster                      LowCardinality(String),
    region                       LowCardinality(String),
    host                         LowCardinality(String),
    device_id                    LowCardinality(String),
    device_kind                  LowCardinality(String),
    gpu_type                     LowCardinality(String),
    method                       LowCardinality(String),
    samples                      UInt32,
    counter_resets               UInt32,
    measured_energy_j            Float64 CODEC(ZSTD(1)),
    busy_time_us                 UInt64 CODEC(T64, ZSTD(1)),
    idle_energy_j                Float64 CODEC(ZSTD(1)),
    pue                          Float64 CODEC(ZSTD(1)),
    facility_energy_kwh          Float64 CODEC(ZSTD(1)),
    carbon_intensity_g_per_kwh   Float64 CODEC(ZSTD(1)),
    carbon_intensity_source      LowCardinality(String),
    carbon_g                     Float64 CODEC(ZSTD(1)),
    idle_carbon_g                Float64 CODEC(ZSTD(1)),
    currency                     LowCardinality(String),
    price_per_hour               Float64 CODEC(ZSTD(1)),
    cost                         Float64 CODEC(ZSTD(1)),
    idle_cost                    Float64 CODEC(ZSTD(1)),
    kafka_partition              UInt32,
    kafka_offset                 UInt64,
    ingested_at                  DateTime64(3, 'UTC') DEFAULT now64(3),
    CONSTRAINT energy_window_is_ordered CHECK window_end > window_start
)
ENGINE = ReplacingMergeTree(kafka_offset)
PARTITION BY toDate(window_start)
ORDER BY (window_size_ms, host, device_id, window_start)
TTL toDateTime(window_start) + INTERVAL ${ttl_days_energy} DAY;

-- DeviceWindowEnergy flattened: one row per (device, window, model) plus one idle row (is_idle = 1, model = '')
-- carrying the unattributed energy, carbon and cost, so sum over a device window = measured (conservation).
CREATE TABLE IF NOT EXISTS ${database}.energy_attribution
(
    window_start                 DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    window_end                   DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    window_size_ms               UInt32,
    cluster                      LowCardinality(String),
    region                       LowCardinality(String),
    host                         LowCardinality(String),
    device_id                    LowCardinality(String),
    device_kind                  LowCardinality(String),
    gpu_type                     LowCardinality(String),
    model                        LowCardinality(String),
    model_version                LowCardinality(String),
    is_idle                      UInt8,
    requests                     UInt64 CODEC(T64, ZSTD(1)),
    output_tokens                UInt64 CODEC(T64, ZSTD(1)),
    busy_time_us                 UInt64 CODEC(T64, ZSTD(1)),
    share                        Float64 CODEC(ZSTD(1)),
    energy_j                     Float64 CODEC(ZSTD(1)),
    carbon_g                     Float64 CODEC(ZSTD(1)),
    cost                         Float64 CODEC(ZSTD(1)),
    currency                     LowCardinality(String),
    pue                          Float64 CODEC(ZSTD(1)),
    carbon_intensity_g_per_kwh   Float64 CODEC(ZSTD(1)),
    kafka_partition              UInt32,
    kafka_offset                 UInt64,
    ingested_at                  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(kafka_offset)
PARTITION BY toDate(window_start)
ORDER BY (window_size_ms, model, gpu_type, region, window_start, host, device_id, model_version, is_idle)
TTL toDateTime(window_start) + INTERVAL ${ttl_days_energy} DAY;

CREATE TABLE IF NOT EXISTS ${database}.bottlenecks
(
    window_start                 DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    window_end                   DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    cluster                      LowCardinality(String),
    region                       LowCardinality(String),
    host                         LowCardinality(String),
    label                        LowCardinality(String),
    reason                       String CODEC(ZSTD(3)),
    inputs                       Map(LowCardinality(String), Float64),
    kafka_partition              UInt32,
    kafka_offset                 UInt64,
    ingested_at                  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(kafka_offset)
PARTITION BY toDate(window_start)
ORDER BY (host, window_start, window_end)
TTL toDateTime(window_start) + INTERVAL ${ttl_days_bottlenecks} DAY;

CREATE TABLE IF NOT EXISTS ${database}.alerts
(
    emitted                      DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    alert_id                     String,
    dedup_key                    String,
    rule                         LowCardinality(String),
    severity                     LowCardinality(String),
    state                        LowCardinality(String),
    cluster                      LowCardinality(String),
    region                       LowCardinality(String),
    host                         LowCardinality(String),
    model                        LowCardinality(String),
    device_id                    LowCardinality(String),
    key                          Map(LowCardinality(String), String),
    window_start                 DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    window_end                   DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    observed                     Float64,
    threshold                    Float64,
    baseline                     Nullable(Float64),
    unit                         LowCardinality(String),
    summary                      String CODEC(ZSTD(3)),
    evidence                     Map(LowCardinality(String), String),
    first_seen                   DateTime64(6, 'UTC'),
    kafka_partition              UInt32,
    kafka_offset                 UInt64,
    ingested_at                  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(kafka_offset)
PARTITION BY toDate(emitted)
ORDER BY (rule, dedup_key, alert_id)
TTL toDateTime(emitted) + INTERVAL ${ttl_days_alerts} DAY;

-- Dead letters of every stage (collector, streams, sink). key and payload are the raw bytes, base64-encoded.
-- Natural key: the dead letter's own position in the dead-letter topic.
CREATE TABLE IF NOT EXISTS ${database}.dead_letters
(
    detected                     DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    stage                        LowCardinality(String),
    reason                       LowCardinality(String),
    message                      String CODEC(ZSTD(3)),
    error_class                  LowCardinality(String),
    source_topic                 LowCardinality(String),
    source_partition             Nullable(Int32),
    source_offset                Nullable(Int64),
    record_timestamp             Nullable(DateTime64(6, 'UTC')),
    key_base64                   String CODEC(ZSTD(3)),
    payload_base64               String CODEC(ZSTD(3)),
    kafka_partition              UInt32,
    kafka_offset                 UInt64,
    ingested_at                  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(kafka_offset)
PARTITION BY toDate(detected)
ORDER BY (stage, reason, detected, kafka_partition, kafka_offset)
TTL toDateTime(detected) + INTERVAL ${ttl_days_dead_letters} DAY;
