/**
 * Latency metrics of a window: the per-metric histograms (sparse buckets, HdrHistogram encoding),
 * percentiles, jitter, goodput against SLO classes, and batching statistics.
 */
package io.infermeter.streams.latency;
