-- infermeter ClickHouse schema, version 2: the shipped queries as parameterized views.
-- Call them with every parameter named, e.g.
--   SELECT * FROM infermeter.fleet_latency_percentiles(from_ts = '2026-11-23 00:00:00', to_ts = '2026-11-24 00:00:00', window_ms = 10000)
-- Time ranges select windows by window_start in [from_ts, to_ts). Only host-scope rows are merged: the fleet
-- rollup rows ('*') describe the same requests again. window_ms picks one window size (10 s and 1 min windows
-- describe the same requests too). Every view reads with FINAL, so re-delivered rows never count twice.
-- docs/queries.sql shows each call; docs/SINK.md defines each column.

-- Fleet percentiles per model, metric and cohort, merged exactly from the per-host HdrHistogram buckets
-- (never by averaging percentiles). Precision: that of the histograms (3 significant digits, <= 0.1 %).
CREATE VIEW IF NOT EXISTS ${database}.fleet_latency_percentiles AS
SELECT
    model,
    metric,
    cohort,
    sum(c) AS samples,
    quantilesExactWeighted(0.5, 0.99, 0.999)(v, c) AS q,
    q[1] AS p50_us,
    q[2] AS p99_us,
    q[3] AS p999_us
FROM ${database}.window_latency FINAL
ARRAY JOIN bucket_values_us AS v, bucket_counts AS c
WHERE scope = 'host'
  AND window_size_ms = {window_ms:UInt32}
  AND window_start >= {from_ts:DateTime64(6, 'UTC')}
  AND window_start < {to_ts:DateTime64(6, 'UTC')}
GROUP BY model, metric, cohort
ORDER BY model, metric, cohort;

-- TTFT and TPOT SLO attainment per model against thresholds given in microseconds: the share of requests
-- (warm and cold) whose value is at most the threshold, counted from the merged histogram buckets.
CREATE VIEW IF NOT EXISTS ${database}.latency_slo_attainment AS
SELECT
    model,
    metric,
    if(metric = 'ttft', {ttft_us:UInt64}, {tpot_us:UInt64}) AS threshold_us,
    sum(c) AS requests,
    sumIf(c, v <= threshold_us) AS within_threshold,
    within_threshold / requests * 100 AS attainment_pct
FROM ${database}.window_latency FINAL
ARRAY JOIN bucket_values_us AS v, bucket_counts AS c
WHERE scope = 'host'
  AND metric IN ('ttft', 'tpot')
  AND window_size_ms = {window_ms:UInt32}
  AND window_start >= {from_ts:DateTime64(6, 'UTC')}
  AND window_start < {to_ts:DateTime64(6, 'UTC')}
GROUP BY model, metric
ORDER BY model, metric;

-- Goodput SLO attainment per model and SLO class as the streams app judged it (every threshold of the class met).
CREATE VIEW IF NOT EXISTS ${database}.slo_class_attainment AS
SELECT
    model,
    cls AS slo_class,
    sum(req) AS requests,
    sum(good) AS good,
    good / requests * 100 AS attainment_pct
FROM ${database}.window_aggregates FINAL
ARRAY JOIN slo_class AS cls, slo_requests AS req, slo_good AS good
WHERE scope = 'host'
  AND window_size_ms = {window_ms:UInt32}
  AND window_start >= {from_ts:DateTime64(6, 'UTC')}
  AND window_start < {to_ts:DateTime64(6, 'UTC')}
GROUP BY model, slo_class
ORDER BY model, slo_class;

-- Cost per 1M output tokens by model and GPU type (attributed cost; idle cost is reported by energy_carbon_by_region).
CREATE VIEW IF NOT EXISTS ${database}.cost_per_million_tokens AS
SELECT
    model,
    gpu_type,
    currency,
    sum(cost) AS attributed_cost,
    sum(output_tokens) AS output_tokens,
    attributed_cost / output_tokens * 1000000 AS cost_per_1m_output_tokens
FROM ${database}.energy_attribution FINAL
WHERE is_idle = 0
  AND window_size_ms = {window_ms:UInt32}
  AND window_start >= {from_ts:DateTime64(6, 'UTC')}
  AND window_start < {to_ts:DateTime64(6, 'UTC')}
GROUP BY model, gpu_type, currency
HAVING output_tokens > 0
ORDER BY model, gpu_type, currency;

-- Energy per 1k output tokens (attributed IT energy) and carbon (gCO2e, facility energy) by region;
-- idle energy and carbon are shown separately, never hidden.
CREATE VIEW IF NOT EXISTS ${database}.energy_carbon_by_region AS
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
FROM ${database}.energy_attribution FINAL
WHERE window_size_ms = {window_ms:UInt32}
  AND window_start >= {from_ts:DateTime64(6, 'UTC')}
  AND window_start < {to_ts:DateTime64(6, 'UTC')}
GROUP BY region
ORDER BY region;

-- Top alerts: incidents (distinct dedup keys) per rule and subject, worst severity, and the latest state.
CREATE VIEW IF NOT EXISTS ${database}.top_alerts AS
SELECT
    rule,
    host,
    model,
    device_id,
    uniqExact(dedup_key) AS incidents,
    countIf(state = 'FIRING') AS firings,
    arrayElement(['INFO', 'WARNING', 'CRITICAL'],
        max(multiIf(severity = 'CRITICAL', 3, severity = 'WARNING', 2, 1))) AS worst_severity,
    argMax(state, emitted) AS last_state,
    max(emitted) AS last_emitted
FROM ${database}.alerts FINAL
WHERE emitted >= {from_ts:DateTime64(6, 'UTC')}
  AND emitted < {to_ts:DateTime64(6, 'UTC')}
GROUP BY rule, host, model, device_id
ORDER BY incidents DESC, firings DESC, rule, host, model, device_id;

-- Share of each bottleneck label among a host's classified windows, percent.
CREATE VIEW IF NOT EXISTS ${database}.bottleneck_share AS
SELECT
    host,
    label,
    count() AS windows,
    windows / sum(windows) OVER (PARTITION BY host) * 100 AS share_pct
FROM ${database}.bottlenecks FINAL
WHERE window_start >= {from_ts:DateTime64(6, 'UTC')}
  AND window_start < {to_ts:DateTime64(6, 'UTC')}
GROUP BY host, label
ORDER BY host, share_pct DESC, label;
