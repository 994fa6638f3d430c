-- Synthetic fleet, the tables written once (not per window size): bottlenecks of the smallest window
-- (${smallest_ms} ms), alerts and the sampled raw requests. Run by io.infermeter.bench.sink.QueryLatencyAtScaleBenchmark
-- after fleet_per_window_size.sql; same fleet layout and placeholders.

-- bottlenecks: one row per host and smallest window
INSERT INTO ${database}.bottlenecks
    (window_start, window_end, cluster, region, host, label, reason, inputs, kafka_partition, kafka_offset)
WITH
    intDiv(number, ${hosts}) AS w,
    number % ${hosts} AS h,
    toDateTime64('${from}', 6, 'UTC') + toIntervalMillisecond(w * ${smallest_ms}) AS ws,
    toUInt8(randCanonical(number) * 8) AS l
SELECT ws, ws + toIntervalMillisecond(${smallest_ms}),
       concat('cluster-', toString(h % 4)), ['us-east-1', 'eu-west-1', 'ap-south-1'][h % 3 + 1],
       concat('host-', leftPad(toString(h), 4, '0')),
       ['COMPUTE_BOUND', 'MEMORY_BOUND', 'CPU_BOUND', 'QUEUE_BOUND', 'IO_BOUND', 'IDLE', 'BALANCED', 'KV_CACHE_BOUND'][l + 1],
       'gpu utilization above 85 % with the queue empty',
       map('gpu_util_pct', round(100 * randCanonical(number + 1), 1), 'queue_depth', toFloat64(l)), h % 4, w
FROM numbers(toUInt64(${hours} * 3600000 / ${smallest_ms}) * ${hosts});

-- alerts: ${alerts_per_host} incidents per host over the range, each FIRING, FIRING again two windows later, RESOLVED
INSERT INTO ${database}.alerts
    (emitted, alert_id, dedup_key, rule, severity, state, cluster, region, host, model, device_id, key, window_start,
     window_end, observed, threshold, baseline, unit, summary, evidence, first_seen, kafka_partition, kafka_offset)
WITH
    ['latency_regression', 'slo_burn', 'gpu_memory_high', 'throttling', 'memory_leak', 'error_spike',
     'cold_start_storm', 'queue_buildup', 'host_silent'] AS rules,
    intDiv(number, 3) AS incident,
    number % 3 AS step,
    incident % ${hosts} AS h,
    rules[incident % 9 + 1] AS rule,
    rule IN ('gpu_memory_high', 'throttling', 'memory_leak') AS device_rule,
    concat('host-', leftPad(toString(h), 4, '0')) AS host_name,
    concat('model-', leftPad(toString(h % ${models}), 2, '0')) AS model_name,
    toDateTime64('${from}', 6, 'UTC')
        + toIntervalMillisecond(intDiv(toUInt64(randCanonical(incident) * (${hours} * 3600000 - 600000)), ${smallest_ms}) * ${smallest_ms}) AS first_ws,
    first_ws + toIntervalMillisecond(step * 2 * ${smallest_ms}) AS ws,
    concat(rule, '|host=', host_name, if(device_rule, '|device=gpu0', concat('|model=', model_name)), '|',
           toString(toUnixTimestamp64Micro(first_ws))) AS dedup
SELECT ws + toIntervalMillisecond(${smallest_ms} + 2000), concat(dedup, '|', toString(step)), dedup, rule,
       ['WARNING', 'CRITICAL'][incident % 2 + 1], if(step = 2, 'RESOLVED', 'FIRING'),
       concat('cluster-', toString(h % 4)), ['us-east-1', 'eu-west-1', 'ap-south-1'][h % 3 + 1], host_name,
       if(device_rule, '', model_name), if(device_rule, 'gpu0', ''),
       if(device_rule, map('host', host_name, 'device_id', 'gpu0'), map('host', host_name, 'model', model_name)),
       ws, ws + toIntervalMillisecond(${smallest_ms}), 2500000 * (1 + randCanonical(number)), 2000000, 1200000, 'us',
       concat(rule, ' on ', host_name), map('window_ms', toString(${smallest_ms})), first_ws, h % 4, number
FROM numbers(${hosts} * ${alerts_per_host} * 3);

-- requests: the raw table as the sink writes it with raw.requests.sample.ratio = ${sample_ratio}: that share of the
-- fleet's ${rate} requests/s per host, spread uniformly over the range
INSERT INTO ${database}.requests
    (completed_at, event_id, request_id, source, cluster, region, host, device_id, gpu_type, model, model_version, engine,
     operation, status, error_type, slo_class, cold_start, e2e_us, queue_us, ttft_us, prefill_us, decode_us, tpot_us,
     input_tokens, output_tokens, cached_tokens, batch_size, max_batch_size, max_inter_token_gap_us, window_starts,
     attributes, kafka_partition, kafka_offset)
WITH
    number % ${hosts} AS h,
    toDateTime64('${from}', 6, 'UTC') + toIntervalMicrosecond(toUInt64(randCanonical(number) * ${hours} * 3600000000)) AS done,
    toUInt64(900000 * (1 + (h % ${models}) / 10) * exp(0.4 * randNormal(0, 1, number))) AS e2e,
    toUInt32(exp2(4 + 9 * randCanonical(number + 1))) AS prompt,
    toUInt32(50 + 1500 * randCanonical(number + 2)) AS completion,
    toUInt64(e2e * 0.01) AS queue,
    toUInt64(e2e * 0.2) AS ttft,
    randCanonical(number + 3) < 0.01 AS failed,
    toUnixTimestamp64Milli(done) AS done_ms
SELECT done, toString(generateUUIDv4(number)), concat('req-', hex(number)), 'simulated',
       concat('cluster-', toString(h % 4)), ['us-east-1', 'eu-west-1', 'ap-south-1'][h % 3 + 1],
       concat('host-', leftPad(toString(h), 4, '0')), 'gpu0', ['H100', 'A100', 'L40S'][intDiv(h, 20) % 3 + 1],
       concat('model-', leftPad(toString(h % ${models}), 2, '0')), 'v1', 'vllm', 'chat',
       if(failed, 'ERROR', 'OK'), if(failed, 'http_500', ''), 'default', randCanonical(number + 4) < 0.002,
       e2e, queue, ttft, ttft - queue, e2e - ttft, intDiv(e2e - ttft, completion - 1), prompt, completion,
       intDiv(prompt, 4), toUInt32(1 + 15 * randCanonical(number + 5)), 32, intDiv(e2e - ttft, completion - 1) * 4,
       mapFromArrays([${sizes_ms}], arrayMap(s -> toDateTime64(fromUnixTimestamp64Milli(toInt64(intDiv(done_ms, s) * s), 'UTC'), 6, 'UTC'), [${sizes_ms}])),
       map('http.route', '/v1/chat/completions', 'tenant', concat('tenant-', toString(number % 37))),
       number % 8, intDiv(number, 8)
FROM numbers(toUInt64(${hosts} * ${rate} * ${hours} * 3600 * ${sample_ratio}));
