-- infermeter ClickHouse schema, version 6: hourly rollups behind the range views, so that a day of a 1,000-host
-- fleet answers in well under a second (docs/BENCHMARKS.md, "Query latency at scale"; docs/SINK.md, "Hourly rollups").
-- Placeholders: ${database}, ${ttl_days_window_aggregates}, ${ttl_days_energy}, ${ttl_days_bottlenecks}.
--
-- Not materialized views: a materialized view sees every inserted block, a re-delivered one and every later version
-- of a window included, and would count them again. The sink fills these tables itself (io.infermeter.sink.internal
-- .Rollups): every rollup.interval it rolls each settled hour (older than rollup.settle) with INSERT ... SELECT ...
-- FINAL of that hour, records the hour and the newest ingested_at it saw in rollup_hours, and rolls an hour again
-- when rows arrived for it later (a correction, a late record, a re-delivery). A second roll of an hour replaces the
-- first (ReplacingMergeTree by the rollup's key, version rolled_up_at); the views read FINAL.
--
-- The views of V002 are replaced with the same names, parameters and columns: each reads the rollup for the whole
-- hours of its range that rollup_hours lists, and the source table for the rest (the partial hours at either end,
-- the recent hours not yet settled). The rollups keep only the dimensions the views group by.

CREATE TABLE IF NOT EXISTS ${database}.rollup_hours
(
    source                       LowCardinality(String),
    hour                         DateTime('UTC'),
    source_ingested_max          DateTime64(3, 'UTC'),
    rolled_up_at                 DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(rolled_up_at)
ORDER BY (source, hour)
TTL hour + INTERVAL ${ttl_days_window_aggregates} DAY;

-- Host-scope histograms merged per hour, model, metric and cohort (bucket arrays as in window_latency).
CREATE TABLE IF NOT EXISTS ${database}.window_latency_hourly
(
    hour                         DateTime('UTC') CODEC(Delta, ZSTD(1)),
    window_size_ms               UInt32,
    metric                       LowCardinality(String),
    cohort                       LowCardinality(String),
    model                        LowCardinality(String),
    windows                      UInt64 CODEC(T64, ZSTD(1)),
    count                        UInt64 CODEC(T64, ZSTD(1)),
    bucket_values_us             Array(UInt64) CODEC(Delta, ZSTD(3)),
    bucket_counts                Array(UInt64) CODEC(ZSTD(3)),
    rolled_up_at                 DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(rolled_up_at)
PARTITION BY toDate(hour)
ORDER BY (window_size_ms, metric, cohort, model, hour)
TTL hour + INTERVAL ${ttl_days_window_aggregates} DAY;

-- Host-scope goodput per hour, model and SLO class.
CREATE TABLE IF NOT EXISTS ${database}.slo_class_hourly
(
    hour                         DateTime('UTC') CODEC(Delta, ZSTD(1)),
    window_size_ms               UInt32,
    model                        LowCardinality(String),
    slo_class                    LowCardinality(String),
    requests                     UInt64 CODEC(T64, ZSTD(1)),
    good                         UInt64 CODEC(T64, ZSTD(1)),
    rolled_up_at                 DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(rolled_up_at)
PARTITION BY toDate(hour)
ORDER BY (window_size_ms, model, slo_class, hour)
TTL hour + INTERVAL ${ttl_days_window_aggregates} DAY;

-- energy_attribution summed per hour, region, model, GPU type, currency and idle flag.
CREATE TABLE IF NOT EXISTS ${database}.energy_attribution_hourly
(
    hour                         DateTime('UTC') CODEC(Delta, ZSTD(1)),
    window_size_ms               UInt32,
    region                       LowCardinality(String),
    model                        LowCardinality(String),
    gpu_type                     LowCardinality(String),
    currency                     LowCardinality(String),
    is_idle                      UInt8,
    output_tokens                UInt64 CODEC(T64, ZSTD(1)),
    energy_j                     Float64 CODEC(ZSTD(1)),
    carbon_g                     Float64 CODEC(ZSTD(1)),
    cost                         Float64 CODEC(ZSTD(1)),
    rolled_up_at                 DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(rolled_up_at)
PARTITION BY toDate(hour)
ORDER BY (window_size_ms, hour, region, model, gpu_type, currency, is_idle)
TTL hour + INTERVAL ${ttl_days_energy} DAY;

-- Classified windows per hour, host and bottleneck label.
CREATE TABLE IF NOT EXISTS ${database}.bottlenecks_hourly
(
    hour                         DateTime('UTC') CODEC(Delta, ZSTD(1)),
    host                         LowCardinality(String),
    label                        LowCardinality(String),
    windows                      UInt64 CODEC(T64, ZSTD(1)),
    rolled_up_at                 DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(rolled_up_at)
PARTITION BY toDate(hour)
ORDER BY (hour, host, label)
TTL hour + INTERVAL ${ttl_days_bottlenecks} DAY;

-- The views. In each: the rolled hours of the range are [lo, hi), lo = the first whole hour at or after from_ts (not
-- before the first rolled hour), hi = the last whole hour boundary at or before to_ts (not after the last rolled
-- hour's end). The rollup answers for window starts in [lo, hi), the source table for the rest of [from_ts, to_ts).
-- An hour inside [lo, hi) that rollup_hours does not list had no rows when the hours around it were rolled; rows
-- that arrive for it later are rolled within rollup.interval.

CREATE OR REPLACE VIEW ${database}.fleet_latency_percentiles AS
SELECT
    model,
    metric,
    cohort,
    sum(c) AS samples,
    quantilesExactWeighted(0.5, 0.99, 0.999)(v, c) AS q,
    q[1] AS p50_us,
    q[2] AS p99_us,
    q[3] AS p999_us
FROM
(
    WITH
        (SELECT min(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'window_latency') AS rolled_from,
        (SELECT max(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'window_latency') AS rolled_last,
        toStartOfHour({from_ts:DateTime64(6, 'UTC')}) AS from_hour,
        greatest(rolled_from, if(from_hour < {from_ts:DateTime64(6, 'UTC')}, from_hour + INTERVAL 1 HOUR, from_hour)) AS lo,
        least(rolled_last + INTERVAL 1 HOUR, toStartOfHour({to_ts:DateTime64(6, 'UTC')})) AS hi
    SELECT model, metric, cohort, bucket_values_us, bucket_counts
    FROM ${database}.window_latency_hourly FINAL
    WHERE window_size_ms = {window_ms:UInt32} AND hour >= lo AND hour < hi
    UNION ALL
    SELECT model, metric, cohort, bucket_values_us, bucket_counts
    FROM ${database}.window_latency FINAL
    WHERE scope = 'host'
      AND window_size_ms = {window_ms:UInt32}
      AND window_start >= {from_ts:DateTime64(6, 'UTC')}
      AND window_start < {to_ts:DateTime64(6, 'UTC')}
      AND (window_start < lo OR window_start >= hi)
)
ARRAY JOIN bucket_values_us AS v, bucket_counts AS c
GROUP BY model, metric, cohort
ORDER BY model, metric, cohort;

CREATE OR REPLACE VIEW ${database}.latency_slo_attainment AS
SELECT
    model,
    metric,
    if(metric = 'ttft', {ttft_us:UInt64}, {tpot_us:UInt64}) AS threshold_us,
    sum(c) AS requests,
    sumIf(c, v <= threshold_us) AS within_threshold,
    within_threshold / requests * 100 AS attainment_pct
FROM
(
    WITH
        (SELECT min(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'window_latency') AS rolled_from,
        (SELECT max(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'window_latency') AS rolled_last,
        toStartOfHour({from_ts:DateTime64(6, 'UTC')}) AS from_hour,
        greatest(rolled_from, if(from_hour < {from_ts:DateTime64(6, 'UTC')}, from_hour + INTERVAL 1 HOUR, from_hour)) AS lo,
        least(rolled_last + INTERVAL 1 HOUR, toStartOfHour({to_ts:DateTime64(6, 'UTC')})) AS hi
    SELECT model, metric, bucket_values_us, bucket_counts
    FROM ${database}.window_latency_hourly FINAL
    WHERE metric IN ('ttft', 'tpot') AND window_size_ms = {window_ms:UInt32} AND hour >= lo AND hour < hi
    UNION ALL
    SELECT model, metric, bucket_values_us, bucket_counts
    FROM ${database}.window_latency FINAL
    WHERE scope = 'host'
      AND metric IN ('ttft', 'tpot')
      AND window_size_ms = {window_ms:UInt32}
      AND window_start >= {from_ts:DateTime64(6, 'UTC')}
      AND window_start < {to_ts:DateTime64(6, 'UTC')}
      AND (window_start < lo OR window_start >= hi)
)
ARRAY JOIN bucket_values_us AS v, bucket_counts AS c
GROUP BY model, metric
ORDER BY model, metric;

CREATE OR REPLACE VIEW ${database}.slo_class_attainment AS
SELECT
    model,
    cls AS slo_class,
    sum(req) AS requests,
    sum(ok) AS good,
    good / requests * 100 AS attainment_pct
FROM
(
    WITH
        (SELECT min(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'window_aggregates') AS rolled_from,
        (SELECT max(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'window_aggregates') AS rolled_last,
        toStartOfHour({from_ts:DateTime64(6, 'UTC')}) AS from_hour,
        greatest(rolled_from, if(from_hour < {from_ts:DateTime64(6, 'UTC')}, from_hour + INTERVAL 1 HOUR, from_hour)) AS lo,
        least(rolled_last + INTERVAL 1 HOUR, toStartOfHour({to_ts:DateTime64(6, 'UTC')})) AS hi
    SELECT model, slo_class AS cls, requests AS req, good AS ok
    FROM ${database}.slo_class_hourly FINAL
    WHERE window_size_ms = {window_ms:UInt32} AND hour >= lo AND hour < hi
    UNION ALL
    SELECT model, cls, req, ok
    FROM ${database}.window_aggregates FINAL
    ARRAY JOIN slo_class AS cls, slo_requests AS req, slo_good AS ok
    WHERE scope = 'host'
      AND window_size_ms = {window_ms:UInt32}
      AND window_start >= {from_ts:DateTime64(6, 'UTC')}
      AND window_start < {to_ts:DateTime64(6, 'UTC')}
      AND (window_start < lo OR window_start >= hi)
)
GROUP BY model, slo_class
ORDER BY model, slo_class;

CREATE OR REPLACE VIEW ${database}.cost_per_million_tokens AS
SELECT
    model,
    gpu_type,
    currency,
    sum(cost) AS attributed_cost,
    sum(output_tokens) AS output_tokens,
    attributed_cost / output_tokens * 1000000 AS cost_per_1m_output_tokens
FROM
(
    WITH
        (SELECT min(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'energy_attribution') AS rolled_from,
        (SELECT max(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'energy_attribution') AS rolled_last,
        toStartOfHour({from_ts:DateTime64(6, 'UTC')}) AS from_hour,
        greatest(rolled_from, if(from_hour < {from_ts:DateTime64(6, 'UTC')}, from_hour + INTERVAL 1 HOUR, from_hour)) AS lo,
        least(rolled_last + INTERVAL 1 HOUR, toStartOfHour({to_ts:DateTime64(6, 'UTC')})) AS hi
    SELECT model, gpu_type, currency, cost, output_tokens
    FROM ${database}.energy_attribution_hourly FINAL
    WHERE is_idle = 0 AND window_size_ms = {window_ms:UInt32} AND hour >= lo AND hour < hi
    UNION ALL
    SELECT model, gpu_type, currency, cost, output_tokens
    FROM ${database}.energy_attribution FINAL
    WHERE is_idle = 0
      AND window_size_ms = {window_ms:UInt32}
      AND window_start >= {from_ts:DateTime64(6, 'UTC')}
      AND window_start < {to_ts:DateTime64(6, 'UTC')}
      AND (window_start < lo OR window_start >= hi)
)
GROUP BY model, gpu_type, currency
HAVING output_tokens > 0
ORDER BY model, gpu_type, currency;

CREATE OR REPLACE VIEW ${database}.energy_carbon_by_region AS
SELECT
    region,
    sum(energy_j) AS measured_energy_j,
    sumIf(energy_j, is_idle = 0) AS attributed_energy_j,
    sumIf(energy_j, is_idle = 1) AS idle_energy_j,
    sum(output_tokens) AS output_tokens,
    if(output_tokens = 0, NULL, attributed_energy_j / output_tokens * 1000) AS energy_per_1k_output_tokens_j,
    sum(carbon_g) AS total_carbon_g,
    sumIf(carbon_g, is_idle = 1) AS idle_carbon_g,
    if(output_tokens = 0, NULL, sumIf(carbon_g, is_idle = 0) / output_tokens * 1000) AS carbon_per_1k_output_tokens_g
FROM
(
    WITH
        (SELECT min(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'energy_attribution') AS rolled_from,
        (SELECT max(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'energy_attribution') AS rolled_last,
        toStartOfHour({from_ts:DateTime64(6, 'UTC')}) AS from_hour,
        greatest(rolled_from, if(from_hour < {from_ts:DateTime64(6, 'UTC')}, from_hour + INTERVAL 1 HOUR, from_hour)) AS lo,
        least(rolled_last + INTERVAL 1 HOUR, toStartOfHour({to_ts:DateTime64(6, 'UTC')})) AS hi
    SELECT region, is_idle, energy_j, carbon_g, output_tokens
    FROM ${database}.energy_attribution_hourly FINAL
    WHERE window_size_ms = {window_ms:UInt32} AND hour >= lo AND hour < hi
    UNION ALL
    SELECT region, is_idle, energy_j, carbon_g, output_tokens
    FROM ${database}.energy_attribution FINAL
    WHERE window_size_ms = {window_ms:UInt32}
      AND window_start >= {from_ts:DateTime64(6, 'UTC')}
      AND window_start < {to_ts:DateTime64(6, 'UTC')}
      AND (window_start < lo OR window_start >= hi)
)
GROUP BY region
ORDER BY region;

CREATE OR REPLACE VIEW ${database}.bottleneck_share AS
SELECT
    host,
    label,
    sum(n) AS windows,
    windows / sum(windows) OVER (PARTITION BY host) * 100 AS share_pct
FROM
(
    WITH
        (SELECT min(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'bottlenecks') AS rolled_from,
        (SELECT max(hour) FROM ${database}.rollup_hours FINAL WHERE source = 'bottlenecks') AS rolled_last,
        toStartOfHour({from_ts:DateTime64(6, 'UTC')}) AS from_hour,
        greatest(rolled_from, if(from_hour < {from_ts:DateTime64(6, 'UTC')}, from_hour + INTERVAL 1 HOUR, from_hour)) AS lo,
        least(rolled_last + INTERVAL 1 HOUR, toStartOfHour({to_ts:DateTime64(6, 'UTC')})) AS hi
    SELECT host, label, windows AS n
    FROM ${database}.bottlenecks_hourly FINAL
    WHERE hour >= lo AND hour < hi
    UNION ALL
    SELECT host, label, toUInt64(1) AS n
    FROM ${database}.bottlenecks FINAL
    WHERE window_start >= {from_ts:DateTime64(6, 'UTC')}
      AND window_start < {to_ts:DateTime64(6, 'UTC')}
      AND (window_start < lo OR window_start >= hi)
)
GROUP BY host, label
ORDER BY host, share_pct DESC, label;
