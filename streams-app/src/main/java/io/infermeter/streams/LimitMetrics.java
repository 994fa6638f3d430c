package io.infermeter.streams;

import io.infermeter.streams.support.StreamsCounters;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.atomic.LongAdder;

/**
 * Exports the counters of the {@link StreamsLimits} on /metrics (names in docs/STREAMS.md).
 * Stateless.
 */
final class LimitMetrics {

  private LimitMetrics() {}

  static void register(PrometheusRegistry registry, StreamsCounters c) {
    counter(
        registry,
        "infermeter_streams_map_entries_folded_total",
        "Requests and samples whose new error type or device was counted under 'other' by the per-window caps",
        c.mapEntriesFolded);
    counter(
        registry,
        "infermeter_streams_error_types_truncated_total",
        "Error types cut to limits.error.type.max.bytes",
        c.errorTypesTruncated);
    counter(
        registry,
        "infermeter_streams_dead_letters_truncated_total",
        "Dead letters whose payload, key or message was cut to its limit",
        c.deadLettersTruncated);
    counter(
        registry,
        "infermeter_streams_dead_letter_send_failures_total",
        "Dead letters that could not be built or sent (dropped and logged, never dead-lettered again)",
        c.deadLetterSendFailures);
    counter(
        registry,
        "infermeter_streams_records_skipped_after_retries_total",
        "Records given up after limits.failure.max.attempts failures on the same source record",
        c.recordsSkippedAfterRetries);
    counter(
        registry,
        "infermeter_streams_state_encode_failures_total",
        "State entries that could not be encoded at commit (dropped, logged)",
        c.stateEncodeFailures);
    counter(
        registry,
        "infermeter_streams_state_evicted_total",
        "Rule states, host-last-seen and device entries forgotten after state.inactive.expiry",
        c.stateEvicted);
    counter(
        registry,
        "infermeter_streams_state_keys_refused_total",
        "New rule-state, host or device keys refused by state.max.keys.per.task",
        c.stateKeysRefused);
  }

  private static void counter(
      PrometheusRegistry registry, String name, String help, LongAdder value) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .callback(cb -> cb.call(value.sum()))
        .register(registry);
  }
}
