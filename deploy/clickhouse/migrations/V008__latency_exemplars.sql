-- infermeter ClickHouse schema, version 8: the exemplars of each window_latency row, the slowest successful
-- requests of its metric and cohort (LatencyStats.exemplars, at most 3, slowest first: the largest values, for the
-- token rates output_tps and input_tps the lowest). The three arrays are parallel; a request without a request id has
-- '' in exemplar_request_ids. docs/queries.sql, "window_exemplars", joins them to the raw requests table by event id.
-- Placeholders: ${database}.
--
-- With clickhouse.cluster set, the window_latency_all Distributed table does not get the columns by itself: add them
-- there by hand (docs/SINK.md, "Migrations").

ALTER TABLE ${database}.window_latency ADD COLUMN IF NOT EXISTS exemplar_values_us Array(UInt64) CODEC(ZSTD(1)) AFTER bucket_counts;
ALTER TABLE ${database}.window_latency ADD COLUMN IF NOT EXISTS exemplar_event_ids Array(String) CODEC(ZSTD(1)) AFTER exemplar_values_us;
ALTER TABLE ${database}.window_latency ADD COLUMN IF NOT EXISTS exemplar_request_ids Array(String) CODEC(ZSTD(1)) AFTER exemplar_event_ids;
