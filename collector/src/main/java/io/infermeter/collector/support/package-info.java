/** Small shared pieces of the collector: its Prometheus metrics and byte scanning helpers. */
package io.infermeter.collector.support;
