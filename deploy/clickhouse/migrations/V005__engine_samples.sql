-- infermeter ClickHouse schema, version 5: serving-engine state (Topics.ENGINE_STATE: vLLM, SGLang, TGI, Triton,
-- NIM; KV-cache usage, requests running and waiting, preemptions) and the pod holding each GPU on hardware_samples.
-- Placeholders: ${database}, ${ttl_days_engine} (retention of engine_samples, days).
-- A value the engine does not report is NULL, never zero. The table is ordered by (host, ts) first, as the other raw
-- tables are by host and time; instance, engine and model follow so that two instances of one host sampled at the
-- same time stay two rows while a record re-delivered by Kafka collapses to one (queries read FINAL).

CREATE TABLE IF NOT EXISTS ${database}.engine_samples
(
    ts                           DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    cluster                      LowCardinality(String),
    region                       LowCardinality(String),
    host                         LowCardinality(String),
    instance                     LowCardinality(String),
    pod                          LowCardinality(String),
    engine                       LowCardinality(String),
    model                        LowCardinality(String),
    source                       LowCardinality(String),
    kv_cache_usage               Nullable(Float64),
    requests_running             Nullable(UInt64),
    requests_waiting             Nullable(UInt64),
    preemptions_total            Nullable(UInt64),
    kafka_partition              UInt32,
    kafka_offset                 UInt64,
    ingested_at                  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(kafka_offset)
PARTITION BY toDate(ts)
ORDER BY (host, ts, instance, engine, model)
TTL toDateTime(ts) + INTERVAL ${ttl_days_engine} DAY;

-- dcgm-exporter's pod label (HardwareSample.pod); '' where no pod holds the GPU or the source cannot tell.
ALTER TABLE ${database}.hardware_samples ADD COLUMN IF NOT EXISTS pod LowCardinality(String) DEFAULT '' AFTER source;
