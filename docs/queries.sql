-- infermeter: the shipped ClickHouse queries.
--
-- Each query is a parameterized view created by migration deploy/clickhouse/migrations/V002__query_views.sql (the
-- definitions live there, once); below is how to call each. Parameters use clickhouse-client's syntax, e.g.
--   clickhouse-client --param_from_ts='2026-11-23 00:00:00' --param_to_ts='2026-11-24 00:00:00' \
--     --param_window_ms=10000 --queries-file docs/queries.sql
-- or over HTTP: curl 'http://127.0.0.1:8123/?param_from_ts=...&param_to_ts=...' --data-binary @query.sql
-- Replace the database name 'infermeter' if clickhouse.database differs. Times are UTC; windows are selected by
-- window_start in [from_ts, to_ts). Every view reads its tables with FINAL (re-delivered rows never count twice).
-- Each named block is run by the sink's QueriesIT against known data on the real server.

-- name: fleet_latency_percentiles
-- Fleet p50 / p99 / p99.9 per model, metric (e2e, ttft, tpot, queue, prefill, decode, max_itl; and the per-request
-- token rates output_tps, input_tps) and cohort (warm, cold), merged exactly from the per-host HdrHistogram buckets
-- (quantilesExactWeighted over ARRAY JOIN), microseconds; milli-tokens per second for output_tps and input_tps, whose
-- slow tail is at the low quantiles (docs/METRICS.md, "Throughput and batching").
SELECT model, metric, cohort, samples, p50_us, p99_us, p999_us
FROM infermeter.fleet_latency_percentiles(from_ts = {from_ts:String}, to_ts = {to_ts:String}, window_ms = {window_ms:UInt32})
WHERE metric = 'e2e' AND cohort = 'warm'
ORDER BY model;

-- name: latency_slo_attainment
-- TTFT / TPOT SLO attainment per model: percent of requests with TTFT <= ttft_us and TPOT <= tpot_us (microseconds).
SELECT model, metric, threshold_us, requests, within_threshold, attainment_pct
FROM infermeter.latency_slo_attainment(from_ts = {from_ts:String}, to_ts = {to_ts:String}, window_ms = {window_ms:UInt32},
    ttft_us = {ttft_us:UInt64}, tpot_us = {tpot_us:UInt64})
ORDER BY model, metric;

-- name: slo_class_attainment
-- Goodput attainment per model and SLO class (requests meeting every threshold of their class), percent.
SELECT model, slo_class, requests, good, attainment_pct
FROM infermeter.slo_class_attainment(from_ts = {from_ts:String}, to_ts = {to_ts:String}, window_ms = {window_ms:UInt32})
ORDER BY model, slo_class;

-- name: cost_per_million_tokens
-- Attributed cost per 1M output tokens by model and GPU type, in the configured currency.
SELECT model, gpu_type, currency, attributed_cost, output_tokens, cost_per_1m_output_tokens
FROM infermeter.cost_per_million_tokens(from_ts = {from_ts:String}, to_ts = {to_ts:String}, window_ms = {window_ms:UInt32})
ORDER BY model, gpu_type;

-- name: energy_carbon_by_region
-- Attributed energy per 1k output tokens (joules) and carbon (gCO2e, total and idle) by region.
SELECT region, measured_energy_j, attributed_energy_j, idle_energy_j, output_tokens, energy_per_1k_output_tokens_j,
       total_carbon_g, idle_carbon_g, carbon_per_1k_output_tokens_g
FROM infermeter.energy_carbon_by_region(from_ts = {from_ts:String}, to_ts = {to_ts:String}, window_ms = {window_ms:UInt32})
ORDER BY region;

-- name: top_alerts
-- The alert rules and subjects with the most incidents (distinct dedup keys) in the range.
SELECT rule, host, model, device_id, incidents, firings, worst_severity, last_state
FROM infermeter.top_alerts(from_ts = {from_ts:String}, to_ts = {to_ts:String})
LIMIT 20;

-- name: bottleneck_share
-- Share of each bottleneck label among each host's classified windows, percent.
SELECT host, label, windows, share_pct
FROM infermeter.bottleneck_share(from_ts = {from_ts:String}, to_ts = {to_ts:String})
ORDER BY host, label;

-- name: hardware_minutely
-- Per-minute rollup of each device's hardware samples: samples, mean/max utilization %, max memory used bytes,
-- mean/max power W, max temperature C, samples with a throttle reason set, XID errors (NULL fields are skipped).
SELECT minute, host, device_id, samples, avg_utilization_pct, max_utilization_pct, max_memory_used_bytes,
       avg_power_w, max_power_w, max_temperature_c, throttled_samples
FROM infermeter.hardware_minutely(from_ts = {from_ts:String}, to_ts = {to_ts:String})
ORDER BY minute, host, device_id;

-- Drill-down into the raw requests table (deploy/clickhouse/migrations/V004__raw_requests.sql, written when
-- raw.requests.enabled=true). Plain queries, not views: copy them and change the columns at will. Times are UTC
-- strings such as '2026-11-23 14:02:00'; with raw.requests.sample.ratio below 1 they see the sample only.
-- Each is run by the sink's RawRequestQueriesIT against known data.

-- name: slowest_requests
-- The n slowest requests (end to end) of one model in a time range (completion in [from_ts, to_ts)), with the ids
-- that find them in the inference server's logs.
SELECT completed_at, host, event_id, request_id, e2e_us, ttft_us, input_tokens, output_tokens, status
FROM infermeter.requests FINAL
WHERE model = {model:String}
  AND completed_at >= toDateTime64({from_ts:String}, 6, 'UTC') AND completed_at < toDateTime64({to_ts:String}, 6, 'UTC')
ORDER BY e2e_us DESC, event_id
LIMIT {n:UInt32};

-- name: requests_behind_window_p99
-- The requests behind one host window's warm end-to-end p99: the window's warm requests (cold_start = false, the
-- window's warm histogram) whose e2e is at or above the p99 stored in window_latency, joined by the window key
-- (window_starts[size] = window_start), slowest first. window_ms must be one of raw.requests.window.sizes.
SELECT r.completed_at, r.event_id, r.request_id, r.e2e_us, l.p99_us AS window_p99_us, r.input_tokens, r.status
FROM infermeter.requests AS r FINAL
INNER JOIN
(
    SELECT window_start, host, model, p99_us
    FROM infermeter.window_latency FINAL
    WHERE scope = 'host' AND metric = 'e2e' AND cohort = 'warm' AND window_size_ms = {window_ms:UInt32}
      AND window_start = toDateTime64({window_start:String}, 6, 'UTC') AND host = {host:String}
      AND model = {model:String}
) AS l ON r.host = l.host AND r.model = l.model AND r.window_starts[{window_ms:UInt32}] = l.window_start
WHERE r.model = {model:String} AND r.host = {host:String} AND NOT r.cold_start
  AND r.completed_at >= toDateTime64({window_start:String}, 6, 'UTC')
  AND r.completed_at < toDateTime64({window_start:String}, 6, 'UTC') + toIntervalMillisecond({window_ms:UInt32})
  AND r.e2e_us >= l.p99_us
ORDER BY r.e2e_us DESC, r.event_id;

-- name: window_exemplars
-- The exemplars of one window_latency row (a window's p99 of one metric and cohort) in the raw requests table: the
-- row's slowest successful requests (exemplar_event_ids, at most 3, slowest first; for output_tps and input_tps the
-- lowest rates), each joined by event id to its request among those of the window's model and host that completed in
-- the window; host = '*' for a fleet row (every host). rank 1 is the window's slowest request. An exemplar missing
-- from the requests table (raw.requests.enabled off, sampled out, past its TTL) is left out; its ids stay in
-- window_latency.
SELECT x.rank, x.value_us AS exemplar_value_us, x.p99_us AS window_p99_us, r.completed_at, r.host, r.event_id,
       r.request_id, r.status, r.e2e_us, r.ttft_us, r.tpot_us, r.input_tokens, r.output_tokens
FROM
(
    SELECT arrayJoin(arrayEnumerate(exemplar_event_ids)) AS rank, exemplar_event_ids[rank] AS event_id,
           exemplar_values_us[rank] AS value_us, p99_us
    FROM infermeter.window_latency FINAL
    WHERE window_size_ms = {window_ms:UInt32} AND window_start = toDateTime64({window_start:String}, 6, 'UTC')
      AND host = {host:String} AND model = {model:String} AND metric = {metric:String} AND cohort = {cohort:String}
) AS x
INNER JOIN
(
    SELECT completed_at, host, event_id, request_id, status, e2e_us, ttft_us, tpot_us, input_tokens, output_tokens
    FROM infermeter.requests FINAL
    WHERE model = {model:String} AND ({host:String} = '*' OR host = {host:String})
      AND completed_at >= toDateTime64({window_start:String}, 6, 'UTC')
      AND completed_at < toDateTime64({window_start:String}, 6, 'UTC') + toIntervalMillisecond({window_ms:UInt32})
) AS r ON r.event_id = x.event_id
ORDER BY x.rank;

-- name: requests_behind_alert
-- The requests behind one alert (alert_id from the alerts table): the requests of the alert's host, and of its model
-- when it names one, that completed in the alert's window, slowest first. A parameterized view (migration V007) so
-- that the HTML report, which lists these requests under each alert, and this file call one definition.
SELECT completed_at, host, model, event_id, request_id, status, e2e_us, ttft_us, input_tokens, output_tokens
FROM infermeter.requests_behind_alert(alert_id = {alert_id:String})
LIMIT {n:UInt32};

-- name: prompt_length_ttft
-- TTFT percentiles by prompt length of one model, prompt lengths bucketed by powers of two (bucket = the largest
-- power of two <= input_tokens; 0 for an empty prompt); requests without a first token or prompt length are left out.
SELECT if(input_tokens = 0, 0, toUInt32(exp2(floor(log2(input_tokens))))) AS prompt_tokens_from,
       count() AS requests,
       quantileExact(0.5)(ttft_us) AS ttft_p50_us,
       quantileExact(0.9)(ttft_us) AS ttft_p90_us,
       quantileExact(0.99)(ttft_us) AS ttft_p99_us
FROM infermeter.requests FINAL
WHERE model = {model:String} AND ttft_us IS NOT NULL AND input_tokens IS NOT NULL
  AND completed_at >= toDateTime64({from_ts:String}, 6, 'UTC') AND completed_at < toDateTime64({to_ts:String}, 6, 'UTC')
GROUP BY prompt_tokens_from
ORDER BY prompt_tokens_from;
