/**
 * Hardware and energy sampling on the host: NVML through JNA, OSHI for CPU and memory, RAPL energy
 * counters, the estimated power model where no counter exists, and the loop that samples each
 * source on its interval. Scraped sources (dcgm-exporter, serving engines' /metrics) are in {@code
 * prometheus}.
 */
package io.infermeter.collector.sampling;
