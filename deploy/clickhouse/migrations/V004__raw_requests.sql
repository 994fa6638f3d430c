-- infermeter ClickHouse schema, version 4: one row per request event (Topics.REQUESTS), for drilling down from a
-- window aggregate to the requests behind it. Written by the sink with client-v2's RowBinary insert when
-- raw.requests.enabled=true (docs/SINK.md, "Raw requests").
-- Placeholders: ${database}, ${ttl_days_requests} (retention of requests, days; default 7).
--
-- Re-delivery is harmless: the sorting key ends with event_id, so a record read twice from Kafka, or re-sent by a
-- collector with the same event id (and so the same completion time), collapses to one row; queries read FINAL.
-- window_starts maps each configured window size (ms) to the start of the request's window of that size (the event
-- time is the completion, windows are tumbling and aligned to the epoch, as in the streams app), so a request joins
-- window_aggregates / window_latency on (window_size_ms, window_start, host, model).
-- Durations follow io.infermeter.schemas.RequestTimings; NULL when the event lacks the timestamps they need.
-- Codecs were chosen by measurement: docs/BENCHMARKS.md, "Raw request table: bytes per row".

CREATE TABLE IF NOT EXISTS ${database}.requests
(
    completed_at                 DateTime64(6, 'UTC') CODEC(ZSTD(1)),
    event_id                     String CODEC(ZSTD(1)),
    request_id                   String CODEC(ZSTD(1)),
    source                       LowCardinality(String) CODEC(ZSTD(1)),
    cluster                      LowCardinality(String) CODEC(ZSTD(1)),
    region                       LowCardinality(String) CODEC(ZSTD(1)),
    host                         LowCardinality(String) CODEC(ZSTD(1)),
    device_id                    LowCardinality(String) CODEC(ZSTD(1)),
    gpu_type                     LowCardinality(String) CODEC(ZSTD(1)),
    model                        LowCardinality(String) CODEC(ZSTD(1)),
    model_version                LowCardinality(String) CODEC(ZSTD(1)),
    engine                       LowCardinality(String) CODEC(ZSTD(1)),
    operation                    LowCardinality(String) CODEC(ZSTD(1)),
    status                       LowCardinality(String) CODEC(ZSTD(1)),
    error_type                   LowCardinality(String) CODEC(ZSTD(1)),
    slo_class                    LowCardinality(String) CODEC(ZSTD(1)),
    cold_start                   Bool,
    e2e_us                       UInt64 CODEC(T64, ZSTD(1)),
    queue_us                     Nullable(UInt64) CODEC(T64, ZSTD(1)),
    ttft_us                      Nullable(UInt64) CODEC(T64, ZSTD(1)),
    prefill_us                   Nullable(UInt64) CODEC(T64, ZSTD(1)),
    decode_us                    Nullable(UInt64) CODEC(T64, ZSTD(1)),
    tpot_us                      Nullable(UInt64) CODEC(T64, ZSTD(1)),
    input_tokens                 Nullable(UInt32) CODEC(T64, ZSTD(1)),
    output_tokens                Nullable(UInt32) CODEC(T64, ZSTD(1)),
    cached_tokens                Nullable(UInt32) CODEC(T64, ZSTD(1)),
    batch_size                   Nullable(UInt32) CODEC(T64, ZSTD(1)),
    max_batch_size               Nullable(UInt32) CODEC(T64, ZSTD(1)),
    max_inter_token_gap_us       Nullable(UInt64) CODEC(T64, ZSTD(1)),
    window_starts                Map(UInt32, DateTime64(6, 'UTC')) CODEC(ZSTD(1)),
    attributes                   Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    kafka_partition              UInt32 CODEC(T64, ZSTD(1)),
    kafka_offset                 UInt64 CODEC(Delta, ZSTD(1)),
    ingested_at                  DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(DoubleDelta, ZSTD(1))
)
ENGINE = ReplacingMergeTree(kafka_offset)
PARTITION BY toDate(completed_at)
ORDER BY (model, host, completed_at, event_id)
TTL toDateTime(completed_at) + INTERVAL ${ttl_days_requests} DAY;
