package io.infermeter.collector.ingest.http;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Locale;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/**
 * The HTTP server's limit counters and gauges in a collector's {@link PrometheusRegistry}: {@code
 * infermeter_collector_http_limited_total{reason}} (one reason per {@link Limit}), {@code
 * infermeter_collector_http_connections} and {@code infermeter_collector_http_inflight_body_bytes}
 * (summed over the servers of one registry). One instance per registry ({@link #of}). Thread-safe.
 */
public final class HttpLimitMetrics {

  /** Why a connection or request was refused or cut; the label value of the counter. */
  public enum Limit {
    /** 503 on connect: http.max.connections reached. */
    CONNECTIONS_TOTAL,
    /** 503 on connect: http.max.connections.per.client reached for the client's IP address. */
    CONNECTIONS_PER_CLIENT,
    /** 408: the request head took longer than http.head.timeout. */
    HEAD_TIMEOUT,
    /** 408: the body took longer than http.body.timeout. */
    BODY_TIMEOUT,
    /** 408: the body arrived slower than http.min.body.rate.bytes. */
    BODY_TOO_SLOW,
    /** Closed: a kept-alive connection idle for http.idle.timeout. */
    IDLE_TIMEOUT,
    /** Closed: the client did not read its responses for http.write.timeout. */
    WRITE_TIMEOUT,
    /** 503 + Retry-After: http.max.inflight.body.bytes in use by other requests. */
    INFLIGHT_BUDGET,
    /** 431: request line and headers over http.max.header.bytes. */
    HEAD_TOO_LARGE,
    /** 431: more header fields than http.max.headers. */
    TOO_MANY_HEADERS,
    /** 431: more trailer fields than http.max.trailers. */
    TOO_MANY_TRAILERS,
    /** 413: body on the wire over http.max.body.bytes. */
    BODY_TOO_LARGE,
    /** 413: body after decompression over http.max.body.bytes. */
    DECOMPRESSED_TOO_LARGE,
    /**
     * 400 and close: Content-Length with Transfer-Encoding, several lengths, or a coding other than
     * chunked.
     */
    AMBIGUOUS_LENGTH,
    /** 400 and close: an invalid chunk size or chunk framing. */
    BAD_CHUNK,
    /** 400 and close: an unparsable request line or header. */
    MALFORMED_HEAD,
    /** 417: an Expect value other than 100-continue. */
    EXPECTATION,
    /** 401: missing or unknown bearer token. */
    UNAUTHORIZED,
    /** 403: an event claims a host, cluster or region its token is not bound to. */
    IDENTITY_MISMATCH;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private static final Map<PrometheusRegistry, HttpLimitMetrics> BY_REGISTRY = new WeakHashMap<>();

  private final Counter limited;
  private final CopyOnWriteArrayList<LongSupplier> connections = new CopyOnWriteArrayList<>();
  private final CopyOnWriteArrayList<LongSupplier> inflight = new CopyOnWriteArrayList<>();

  private HttpLimitMetrics(PrometheusRegistry registry) {
    limited =
        Counter.builder()
            .name("infermeter_collector_http_limited")
            .help(
                "HTTP connections or requests refused or closed by a limit of the ingest server, by reason")
            .labelNames("reason")
            .register(registry);
    for (Limit l : Limit.values()) {
      limited.labelValues(l.label()); // every reason exported from the start, at 0
    }
    GaugeWithCallback.builder()
        .name("infermeter_collector_http_connections")
        .help("Open connections of the ingest server")
        .callback(cb -> cb.call(sum(connections)))
        .register(registry);
    GaugeWithCallback.builder()
        .name("infermeter_collector_http_inflight_body_bytes")
        .help(
            "Body bytes held by requests in progress (the budget http.max.inflight.body.bytes), bytes")
        .callback(cb -> cb.call(sum(inflight)))
        .register(registry);
  }

  /** The instance of {@code registry}, registering the metrics on first use. */
  public static HttpLimitMetrics of(PrometheusRegistry registry) {
    synchronized (BY_REGISTRY) {
      return BY_REGISTRY.computeIfAbsent(registry, HttpLimitMetrics::new);
    }
  }

  private static double sum(CopyOnWriteArrayList<LongSupplier> l) {
    long s = 0;
    for (LongSupplier x : l) {
      s += x.getAsLong();
    }
    return s;
  }

  public void count(Limit limit) {
    limited.labelValues(limit.label()).inc();
  }

  public void count(Limit limit, long n) {
    if (n > 0) {
      limited.labelValues(limit.label()).inc(n);
    }
  }

  /** The count so far, for tests and the benchmark driver. */
  public double countOf(Limit limit) {
    return limited.labelValues(limit.label()).get();
  }

  void register(LongSupplier openConnections, LongSupplier inflightBytes) {
    connections.add(openConnections);
    inflight.add(inflightBytes);
  }

  void unregister(LongSupplier openConnections, LongSupplier inflightBytes) {
    connections.remove(openConnections);
    inflight.remove(inflightBytes);
  }
}
