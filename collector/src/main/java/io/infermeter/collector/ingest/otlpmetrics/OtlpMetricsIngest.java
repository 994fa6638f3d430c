package io.infermeter.collector.ingest.otlpmetrics;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.collector.ingest.http.NettyHttpServer.Response;
import io.infermeter.collector.sampling.prometheus.DcgmMapping;
import io.infermeter.collector.sampling.prometheus.EngineMapping;
import io.infermeter.collector.sampling.prometheus.PrometheusText;
import io.infermeter.collector.support.CollectorMetrics;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.prometheus.metrics.core.metrics.Counter;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OTLP metrics in, shared by OTLP/HTTP ({@code POST /v1/metrics}, protobuf or JSON, with the
 * limits, gzip and bearer tokens of {@code /v1/traces}) and OTLP/gRPC ({@code
 * MetricsService/Export}). Per resource, the gauge and sum data points are read as Prometheus
 * series (metric name, data point attributes as labels, value):
 *
 * <ul>
 *   <li>serving-engine metric names ({@link EngineMapping}: vLLM, SGLang, TGI, Triton, NIM) become
 *       engine samples, source {@code otlp}, instance the resource's {@code service.instance.id}
 *       (an OpenTelemetry Collector's Prometheus receiver sets it to the scraped host:port), else
 *       {@code k8s.pod.name}, else {@code host.name}, else {@value #UNKNOWN_INSTANCE}; pod the
 *       resource's {@code k8s.pod.name};
 *   <li>dcgm-exporter names ({@code DCGM_FI_*}, as an OpenTelemetry Collector scraping
 *       dcgm-exporter forwards them, labels as attributes) become hardware samples through {@link
 *       DcgmMapping}, as a direct scrape does;
 *   <li>every other metric, histograms and summaries, delta-temporality monotonic sums (not totals)
 *       and points flagged "no recorded value" are ignored and counted in {@code
 *       infermeter_collector_otlp_metric_points_dropped_total{reason}} (unknown_metric,
 *       unsupported_type, no_recorded_value).
 * </ul>
 *
 * <p>A value of an engine metric that cannot be true (not finite, negative, KV-cache usage above 1)
 * is rejected: left out, counted ({@code reason="invalid_value"}) and reported in {@code
 * partial_success} (rejected_data_points, error_message) with a 200 / OK answer, so an exporter
 * does not retry it; when every data point of the request was rejected, the answer is 400 /
 * INVALID_ARGUMENT with a google.rpc.Status. A body that is not an ExportMetricsServiceRequest is
 * answered 400 / INVALID_ARGUMENT ({@code reason="malformed"}). The samples' time is the latest
 * data point time of the resource when it lies within {@link #MAX_POINT_AGE_US} before and {@link
 * #MAX_POINT_SKEW_US} after the collector's clock, else the time of receipt. Used points are
 * counted in {@code infermeter_collector_otlp_metric_points_used_total{kind}} (engine, hardware).
 *
 * <p>Thread-safe: the dcgm mapping (which keeps XID state per GPU) is used under a lock; the rest
 * is stateless.
 */
public final class OtlpMetricsIngest {

  private static final Logger LOG = LoggerFactory.getLogger(OtlpMetricsIngest.class);
  private static final JsonFormat.Parser JSON_PARSER = JsonFormat.parser().ignoringUnknownFields();
  private static final JsonFormat.Printer JSON =
      JsonFormat.printer().omittingInsignificantWhitespace();

  static final String UNKNOWN_INSTANCE = "unknown";

  /**
   * Oldest data point time taken as the sample's time (1 h); older ones are stamped with the time
   * of receipt.
   */
  static final long MAX_POINT_AGE_US = 3_600_000_000L;

  /** Latest data point time taken, ahead of the collector's clock (1 min). */
  static final long MAX_POINT_SKEW_US = 60_000_000L;

  /** Reasons quoted in an error message at most. */
  static final int MAX_MESSAGES = 20;

  /**
   * What one export request gave.
   *
   * @param engine data points that fed engine samples
   * @param hardware data points of dcgm-exporter metrics (hardware samples)
   * @param ignored data points left alone (not an engine or dcgm metric, or of an unsupported type)
   * @param rejected data points refused (invalid values)
   * @param messages the first reasons for rejected points
   */
  public record Outcome(
      long engine, long hardware, long ignored, long rejected, List<String> messages) {

    /** Points that were not rejected. */
    public long kept() {
      return engine + hardware + ignored;
    }

    /** One line: what was rejected of how many, and the first reasons. */
    public String summary() {
      StringBuilder sb =
          new StringBuilder()
              .append("rejected ")
              .append(rejected)
              .append(" of ")
              .append(kept() + rejected)
              .append(" data points: ")
              .append(String.join("; ", messages));
      if (rejected > messages.size()) {
        sb.append("; ... and ").append(rejected - messages.size()).append(" more");
      }
      return sb.toString();
    }
  }

  private final EngineMapping engineMapping;
  private final DcgmMapping dcgmMapping;
  private final Consumer<EngineSample> engineSink;
  private final Consumer<HardwareSample> hardwareSink;
  private final Clock clock;
  private final Counter used;
  private final Counter dropped;

  /**
   * @param engineMapping carries the collector's identity (the node) for engine samples
   * @param dcgmMapping carries it for hardware samples
   * @param engineSink where engine samples go (the publisher)
   * @param hardwareSink where hardware samples go (the publisher)
   */
  public OtlpMetricsIngest(
      EngineMapping engineMapping,
      DcgmMapping dcgmMapping,
      Consumer<EngineSample> engineSink,
      Consumer<HardwareSample> hardwareSink,
      CollectorMetrics metrics,
      Clock clock) {
    this.engineMapping = engineMapping;
    this.dcgmMapping = dcgmMapping;
    this.engineSink = engineSink;
    this.hardwareSink = hardwareSink;
    this.clock = clock;
    this.used =
        Counter.builder()
            .name("infermeter_collector_otlp_metric_points_used")
            .help("OTLP metric data points turned into samples, by kind (engine, hardware)")
            .labelNames("kind")
            .register(metrics.registry());
    this.dropped =
        Counter.builder()
            .name("infermeter_collector_otlp_metric_points_dropped")
            .help(
                "OTLP metric data points not used, by reason (unknown_metric, unsupported_type, no_recorded_value, "
                    + "invalid_value, malformed)")
            .labelNames("reason")
            .register(metrics.registry());
  }

  /** Decodes a request body: protobuf, or OTLP JSON when {@code json}. */
  static ExportMetricsServiceRequest parse(byte[] body, int length, boolean json)
      throws InvalidProtocolBufferException {
    if (!json) {
      return ExportMetricsServiceRequest.parseFrom(java.nio.ByteBuffer.wrap(body, 0, length));
    }
    ExportMetricsServiceRequest.Builder b = ExportMetricsServiceRequest.newBuilder();
    JSON_PARSER.merge(new String(body, 0, length, StandardCharsets.UTF_8), b);
    return b.build();
  }

  /** OTLP/HTTP: the answer to {@code POST /v1/metrics} with body {@code body[0, length)}. */
  public Response exportHttp(byte[] body, int length, boolean json) {
    ExportMetricsServiceRequest req;
    try {
      req = parse(body, length, json);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      dropped.labelValues("malformed").inc();
      return status(
          400,
          json,
          Status.Code.INVALID_ARGUMENT.value(),
          "malformed: not an ExportMetricsServiceRequest: " + e.getMessage());
    }
    Outcome o;
    try {
      o = ingest(req);
    } catch (RuntimeException e) {
      LOG.warn("OTLP metrics export failed", e);
      return status(
          503,
          json,
          Status.Code.UNAVAILABLE.value(),
          "the collector cannot take the metrics now: " + e);
    }
    if (o.rejected() > 0 && o.kept() == 0) {
      return status(400, json, Status.Code.INVALID_ARGUMENT.value(), o.summary());
    }
    return message(200, json, response(o));
  }

  /** OTLP/HTTP: the answer to a body that cannot be read (broken gzip). */
  public Response unreadable(boolean json, String message) {
    dropped.labelValues("malformed").inc();
    return status(
        400, json, Status.Code.INVALID_ARGUMENT.value(), "cannot read the body: " + message);
  }

  /** OTLP/gRPC: answers one {@code MetricsService/Export} call whose message is {@code message}. */
  public void exportGrpc(byte[] message, StreamObserver<ExportMetricsServiceResponse> out) {
    ExportMetricsServiceRequest req;
    try {
      req = parse(message, message.length, false);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      dropped.labelValues("malformed").inc();
      out.onError(
          Status.INVALID_ARGUMENT
              .withDescription("malformed: not an ExportMetricsServiceRequest: " + e.getMessage())
              .asRuntimeException());
      return;
    }
    Outcome o;
    try {
      o = ingest(req);
    } catch (RuntimeException e) {
      LOG.warn("OTLP/gRPC metrics export failed", e);
      out.onError(
          Status.UNAVAILABLE
              .withDescription("the collector cannot take the metrics now: " + e)
              .asRuntimeException());
      return;
    }
    if (o.rejected() > 0 && o.kept() == 0) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(o.summary()).asRuntimeException());
      return;
    }
    out.onNext(response(o));
    out.onCompleted();
  }

  /**
   * The response to an ingested request: empty when nothing was rejected, else with
   * partial_success.
   */
  static ExportMetricsServiceResponse response(Outcome o) {
    if (o.rejected() == 0) {
      return ExportMetricsServiceResponse.getDefaultInstance();
    }
    return ExportMetricsServiceResponse.newBuilder()
        .setPartialSuccess(
            ExportMetricsPartialSuccess.newBuilder()
                .setRejectedDataPoints(o.rejected())
                .setErrorMessage(o.summary()))
        .build();
  }

  /** Maps one request's data points and hands the samples to the sinks. */
  public Outcome ingest(ExportMetricsServiceRequest request) {
    long nowUs = nowUs();
    long engine = 0;
    long hardware = 0;
    long rejected = 0;
    Map<String, Long> ignored = new LinkedHashMap<>();
    List<String> messages = new ArrayList<>();
    for (ResourceMetrics rm : request.getResourceMetricsList()) {
      List<KeyValue> resource = rm.getResource().getAttributesList();
      List<PrometheusText.Sample> engineSeries = new ArrayList<>();
      List<PrometheusText.Sample> dcgmSeries = new ArrayList<>();
      long latestNanos = 0;
      for (ScopeMetrics sm : rm.getScopeMetricsList()) {
        for (Metric m : sm.getMetricsList()) {
          List<NumberDataPoint> points;
          switch (m.getDataCase()) {
            case GAUGE -> points = m.getGauge().getDataPointsList();
            case SUM -> {
              if (m.getSum().getIsMonotonic()
                  && m.getSum().getAggregationTemporality()
                      == AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA) {
                ignored.merge(
                    "unsupported_type", (long) m.getSum().getDataPointsCount(), Long::sum);
                continue;
              }
              points = m.getSum().getDataPointsList();
            }
            default -> {
              ignored.merge("unsupported_type", dataPoints(m), Long::sum);
              continue;
            }
          }
          String name = m.getName();
          boolean dcgm = name.startsWith("DCGM_FI_");
          boolean known = dcgm || EngineMapping.lookup(name) != null;
          if (!known) {
            ignored.merge("unknown_metric", (long) points.size(), Long::sum);
            continue;
          }
          for (NumberDataPoint p : points) {
            if ((p.getFlags() & 1)
                != 0) { // DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK: a staleness marker
              ignored.merge("no_recorded_value", 1L, Long::sum);
              continue;
            }
            double v =
                p.getValueCase() == NumberDataPoint.ValueCase.AS_INT
                    ? p.getAsInt()
                    : p.getAsDouble();
            PrometheusText.Sample s =
                new PrometheusText.Sample(name, labels(p.getAttributesList()), v);
            (dcgm ? dcgmSeries : engineSeries).add(s);
            latestNanos = Math.max(latestNanos, p.getTimeUnixNano());
          }
        }
      }
      long ts = timestamp(latestNanos, nowUs);
      if (!engineSeries.isEmpty()) {
        String pod = stringAttr(resource, "k8s.pod.name");
        EngineMapping.Result r =
            engineMapping.map(engineSeries, instanceOf(resource), pod, "otlp", ts);
        engine += r.used();
        rejected += r.invalid().size();
        for (String why : r.invalid()) {
          if (messages.size() < MAX_MESSAGES) {
            messages.add(why);
          }
        }
        r.samples().forEach(engineSink);
      }
      if (!dcgmSeries.isEmpty()) {
        List<DcgmMapping.GpuState> states;
        synchronized (dcgmMapping) {
          states = dcgmMapping.map(dcgmSeries, ts);
        }
        hardware += dcgmSeries.size();
        for (DcgmMapping.GpuState st : states) {
          hardwareSink.accept(st.sample());
        }
      }
    }
    long ignoredTotal = 0;
    for (Map.Entry<String, Long> e : ignored.entrySet()) {
      dropped.labelValues(e.getKey()).inc(e.getValue());
      ignoredTotal += e.getValue();
    }
    if (rejected > 0) {
      dropped.labelValues("invalid_value").inc(rejected);
    }
    if (engine > 0) {
      used.labelValues("engine").inc(engine);
    }
    if (hardware > 0) {
      used.labelValues("hardware").inc(hardware);
    }
    return new Outcome(engine, hardware, ignoredTotal, rejected, List.copyOf(messages));
  }

  /** Data points used so far of {@code kind} (tests, diagnostics). */
  double usedCount(String kind) {
    return used.labelValues(kind).get();
  }

  /** Data points dropped so far for {@code reason}. */
  double droppedCount(String reason) {
    return dropped.labelValues(reason).get();
  }

  private long nowUs() {
    Instant now = clock.instant();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  static long timestamp(long latestNanos, long nowUs) {
    long us = latestNanos / 1_000;
    return us > 0 && us >= nowUs - MAX_POINT_AGE_US && us <= nowUs + MAX_POINT_SKEW_US ? us : nowUs;
  }

  private static long dataPoints(Metric m) {
    return switch (m.getDataCase()) {
      case GAUGE -> m.getGauge().getDataPointsCount();
      case SUM -> m.getSum().getDataPointsCount();
      case HISTOGRAM -> m.getHistogram().getDataPointsCount();
      case EXPONENTIAL_HISTOGRAM -> m.getExponentialHistogram().getDataPointsCount();
      case SUMMARY -> m.getSummary().getDataPointsCount();
      case DATA_NOT_SET -> 0;
    };
  }

  /**
   * The instance a resource names: service.instance.id, k8s.pod.name, host.name, or {@value
   * #UNKNOWN_INSTANCE}.
   */
  static String instanceOf(List<KeyValue> resource) {
    for (String key : List.of("service.instance.id", "k8s.pod.name", "host.name")) {
      String v = stringAttr(resource, key);
      if (v != null) {
        return v;
      }
    }
    return UNKNOWN_INSTANCE;
  }

  private static String stringAttr(List<KeyValue> attrs, String key) {
    for (KeyValue kv : attrs) {
      if (kv.getKey().equals(key)) {
        String v = scalar(kv.getValue());
        return v == null || v.isEmpty() ? null : v;
      }
    }
    return null;
  }

  /**
   * Data point attributes as labels: scalar values as text, others (arrays, maps, bytes) left out.
   */
  private static Map<String, String> labels(List<KeyValue> attrs) {
    if (attrs.isEmpty()) {
      return Map.of();
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (KeyValue kv : attrs) {
      String v = scalar(kv.getValue());
      if (v != null) {
        out.putIfAbsent(kv.getKey(), v);
      }
    }
    return out;
  }

  private static String scalar(AnyValue v) {
    return switch (v.getValueCase()) {
      case STRING_VALUE -> v.getStringValue();
      case INT_VALUE -> Long.toString(v.getIntValue());
      case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
      case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
      default -> null;
    };
  }

  private static Response status(int httpStatus, boolean json, int code, String message) {
    return message(
        httpStatus,
        json,
        com.google.rpc.Status.newBuilder().setCode(code).setMessage(message).build());
  }

  private static Response message(int httpStatus, boolean json, Message m) {
    if (!json) {
      return new Response(httpStatus, "application/x-protobuf", m.toByteArray());
    }
    try {
      return new Response(
          httpStatus, "application/json", JSON.print(m).getBytes(StandardCharsets.UTF_8));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(
          "cannot print a " + m.getDescriptorForType().getFullName(), e);
    }
  }
}
