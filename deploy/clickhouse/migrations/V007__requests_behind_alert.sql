-- infermeter ClickHouse schema, version 7: the requests behind an alert, as a parameterized view so that the HTML
-- report (./infermeter report, docs/REPORT.md) and docs/queries.sql call one definition.
-- Placeholders: ${database}.
--
-- The alert is named by its alert_id (one FIRING or RESOLVED record of the alerts table). Its requests are those of
-- its subject that completed in the alert's window [window_start, window_end): on its host, and of its model when
-- the alert names one ('' = any: a device or host alert covers every model of the host; a fleet alert without a
-- host covers every host). Slowest first; the caller adds a LIMIT. The alert is read by a scalar subquery, so its
-- host, model and window are constants when the requests table's primary key and partitions are chosen (a join
-- would scan the table). An unknown alert id gives no rows. With raw.requests.sample.ratio below 1 only the
-- sampled requests are there.

CREATE VIEW IF NOT EXISTS ${database}.requests_behind_alert AS
WITH
    (
        SELECT (host, model, window_start, window_end)
        FROM ${database}.alerts FINAL
        WHERE alert_id = {alert_id:String}
        ORDER BY emitted DESC
        LIMIT 1
    ) AS alert
SELECT
    completed_at,
    host,
    model,
    event_id,
    request_id,
    status,
    e2e_us,
    ttft_us,
    tpot_us,
    input_tokens,
    output_tokens
FROM ${database}.requests FINAL
WHERE (alert.1 = '' OR host = alert.1)
  AND (alert.2 = '' OR model = alert.2)
  AND completed_at >= alert.3
  AND completed_at < alert.4
ORDER BY e2e_us DESC, event_id;
