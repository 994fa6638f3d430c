/**
 * Tumbling windows of request events: the per-key accumulator, the in-memory window table
 * (lateness, closing, eviction), the upstream watermark, and the processors that close request and
 * fleet windows into window aggregates.
 */
package io.infermeter.streams.windows;
