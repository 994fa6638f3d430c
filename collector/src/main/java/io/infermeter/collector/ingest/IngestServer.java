package io.infermeter.collector.ingest;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.ingest.http.BearerTokens;
import io.infermeter.collector.ingest.http.HttpLimitMetrics;
import io.infermeter.collector.ingest.http.HttpServerSettings;
import io.infermeter.collector.ingest.http.NettyHttpServer;
import io.infermeter.collector.ingest.http.NettyHttpServer.Request;
import io.infermeter.collector.ingest.http.NettyHttpServer.Response;
import io.infermeter.collector.ingest.otlp.OtlpResponses;
import io.infermeter.collector.ingest.otlp.OtlpSpanMapper;
import io.infermeter.collector.support.Bytes;
import io.infermeter.collector.support.CollectorMetrics;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.Span;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The collector's HTTP ingest endpoints on {@link NettyHttpServer}: {@code POST /v1/traces}
 * (OTLP/HTTP, {@code application/x-protobuf} or {@code application/json}) and {@code POST
 * /v1/requests} (JSON lines), both optionally gzip-compressed ({@code Content-Encoding: gzip}),
 * plus {@code GET /healthz}. Answers: 200 when every item was accepted; 400 with a message per
 * rejected item (at most {@value #MAX_MESSAGES}) when some were rejected, the valid rest of the
 * batch being kept; 403 likewise when some items claim a host, cluster or region their bearer token
 * is not bound to ({@link BearerTokens}); 401 without an accepted bearer token; 405 for other
 * methods; 413 when the body (compressed or decompressed) exceeds the limit; 415 for an unsupported
 * content type or encoding; the server's limits answer as {@link NettyHttpServer} says. {@code
 * /v1/traces} answers as the OTLP specification says instead of the 400/403 text above: 200 with
 * {@code partial_success} for a partly rejected batch, a google.rpc.Status body (protobuf or JSON,
 * as the request) for a failed one (see {@link #exportTraces} and {@link OtlpResponses}). {@code
 * POST /v1/metrics} (OTLP metrics, same content types, limits and tokens as traces) is served when
 * a {@link MetricsExport} is given. Thread-safe; requests are handled on the server's event loops.
 */
public final class IngestServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(IngestServer.class);
  static final int MAX_MESSAGES = 20;

  private final NettyHttpServer server;
  private final BearerTokens tokens;
  private final JsonLinesParser jsonLines;
  private final OtlpSpanMapper otlp;
  private final RequestValidator validator;
  private final Consumer<RequestEvent> sink;
  private final EncodedSink encodedSink;
  private final RequestAvroEncoder encoder;
  private final EventDefaults defaults;
  private final Consumer<DeadLetter> deadLetters;
  private final CollectorMetrics metrics;
  private final HttpLimitMetrics limits;
  private final CounterDataPoint receivedJsonl;
  private final CounterDataPoint receivedOtlp;

  /**
   * Largest raw payload kept in a dead letter; longer ones are cut (and say so) to stay under
   * Kafka's size limit.
   */
  static final int MAX_DEAD_LETTER_PAYLOAD = 64 * 1024;

  /**
   * Where the JSON-lines fast path hands accepted request events, already in the Confluent wire
   * format (see {@link #ingestJsonLines}).
   */
  public interface EncodedSink {
    /**
     * Magic byte and schema id to put before the Avro binary of a request event; null while not
     * known yet.
     */
    byte[] requestHeader();

    /** An accepted request event: its key (host) and its Confluent-wire bytes. */
    void acceptEncoded(String key, byte[] wire);
  }

  /**
   * OTLP/HTTP metrics ({@code POST /v1/metrics}): the answer to an accepted request, or to an
   * unreadable body.
   */
  public interface MetricsExport {
    Response export(byte[] body, int length, boolean json);

    Response unreadable(boolean json, String message);
  }

  /**
   * With the server's documented defaults for every limit but these.
   *
   * @param sink accepted events
   * @param deadLetters every rejected item with its reason and raw bytes (Topics.DEAD_LETTERS)
   */
  public IngestServer(
      String host,
      int port,
      int maxConnections,
      long maxBodyBytes,
      Optional<String> authToken,
      EventDefaults defaults,
      RequestValidator validator,
      Consumer<RequestEvent> sink,
      Consumer<DeadLetter> deadLetters,
      CollectorMetrics metrics)
      throws IOException {
    this(
        host,
        port,
        maxConnections,
        maxBodyBytes,
        authToken,
        defaults,
        validator,
        sink,
        null,
        deadLetters,
        metrics);
  }

  /**
   * With the server's documented defaults for every limit but these.
   *
   * @param sink accepted events
   * @param encodedSink accepted JSON-lines events of the common shape, encoded (null: every event
   *     goes to sink)
   * @param deadLetters every rejected item with its reason and raw bytes (Topics.DEAD_LETTERS)
   */
  public IngestServer(
      String host,
      int port,
      int maxConnections,
      long maxBodyBytes,
      Optional<String> authToken,
      EventDefaults defaults,
      RequestValidator validator,
      Consumer<RequestEvent> sink,
      EncodedSink encodedSink,
      Consumer<DeadLetter> deadLetters,
      CollectorMetrics metrics)
      throws IOException {
    this(
        HttpServerSettings.of(
            host, port, maxConnections, maxBodyBytes, BearerTokens.single(authToken)),
        defaults,
        validator,
        sink,
        encodedSink,
        deadLetters,
        metrics);
  }

  /**
   * @param settings address, limits, TLS and tokens
   * @param sink accepted events
   * @param encodedSink accepted JSON-lines events of the common shape, encoded (null: every event
   *     goes to sink)
   * @param deadLetters every rejected item with its reason and raw bytes (Topics.DEAD_LETTERS)
   */
  public IngestServer(
      HttpServerSettings settings,
      EventDefaults defaults,
      RequestValidator validator,
      Consumer<RequestEvent> sink,
      EncodedSink encodedSink,
      Consumer<DeadLetter> deadLetters,
      CollectorMetrics metrics)
      throws IOException {
    this(settings, defaults, validator, sink, encodedSink, deadLetters, metrics, null);
  }

  /**
   * As above, also serving {@code POST /v1/metrics} through {@code metricsExport} (null: not
   * served, 404).
   */
  public IngestServer(
      HttpServerSettings settings,
      EventDefaults defaults,
      RequestValidator validator,
      Consumer<RequestEvent> sink,
      EncodedSink encodedSink,
      Consumer<DeadLetter> deadLetters,
      CollectorMetrics metrics,
      MetricsExport metricsExport)
      throws IOException {
    this.defaults = defaults;
    this.encodedSink = RequestAvroEncoder.SCHEMA_MATCHES ? encodedSink : null;
    this.encoder = new RequestAvroEncoder(defaults);
    this.tokens = settings.tokens();
    this.jsonLines = new JsonLinesParser(defaults);
    this.otlp = new OtlpSpanMapper(defaults);
    this.validator = validator;
    this.sink = sink;
    this.deadLetters = deadLetters;
    this.metrics = metrics;
    this.limits = HttpLimitMetrics.of(metrics.registry());
    this.receivedJsonl = metrics.received("jsonl");
    this.receivedOtlp = metrics.received("otlp");
    Map<String, NettyHttpServer.Route> routes =
        new java.util.HashMap<>(
            Map.of(
                "/v1/requests", new IngestRoute("/v1/requests", false, null),
                "/v1/traces", new IngestRoute("/v1/traces", true, null),
                "/healthz",
                    new NettyHttpServer.Route() {
                      @Override
                      public Response head(Request request) {
                        return Response.text(200, "ok\n");
                      }

                      @Override
                      public Response handle(Request request, byte[] body, int length) {
                        return Response.text(200, "ok\n");
                      }
                    }));
    if (metricsExport != null) {
      routes.put("/v1/metrics", new IngestRoute("/v1/metrics", true, metricsExport));
    }
    this.server = new NettyHttpServer(settings, routes, limits, metrics::httpRequest);
    LOG.info(
        "ingest listening on {}:{} ({}/v1/traces, /v1/requests){}",
        settings.host(),
        port(),
        metricsExport != null ? "/v1/metrics, " : "",
        settings.tls().isPresent() ? " with TLS" : "");
  }

  public int port() {
    return server.port();
  }

  /** The HTTP server's limit counters (in the collector's registry). */
  public HttpLimitMetrics limitMetrics() {
    return limits;
  }

  /**
   * Seconds a client is told to wait ({@code Retry-After}) when ingest is refused because the spool
   * is full.
   */
  public static final int RETRY_AFTER_SECONDS = 1;

  private volatile java.util.function.BooleanSupplier refuse = () -> false;

  /**
   * Ingest requests are refused while {@code full} holds (the collector's spool is full): 503 with
   * {@code Retry-After}, before the body is read, so that clients keep and resend their data
   * instead of the collector dropping older spooled events. OTLP exporters retry on 503 (HTTP) and
   * UNAVAILABLE (gRPC).
   */
  public void refuseWhile(java.util.function.BooleanSupplier full) {
    this.refuse = full;
  }

  /** Whether ingest is refused now (see {@link #refuseWhile}). */
  public boolean refusing() {
    return refuse.getAsBoolean();
  }

  public static final String SPOOL_FULL_MESSAGE =
      "the collector's spool is full (Kafka unreachable or slower than ingest); retry later";

  /** Body bytes held by requests in progress now. */
  public long inflightBodyBytes() {
    return server.inflightBodyBytes();
  }

  /**
   * /v1/requests, /v1/traces or /v1/metrics: method, token and (for OTLP) content type checked from
   * the head.
   */
  private final class IngestRoute implements NettyHttpServer.Route {
    private final String path;
    private final boolean traces;
    private final MetricsExport metricsExport;

    /**
     * @param traces OTLP (traces, or metrics when metricsExport is not null)
     */
    IngestRoute(String path, boolean traces, MetricsExport metricsExport) {
      this.path = path;
      this.traces = traces;
      this.metricsExport = metricsExport;
    }

    @Override
    public Response head(Request request) {
      if (!"POST".equals(request.method())) {
        return Response.text(405, "use POST\n", "Allow", "POST");
      }
      if (tokens.required()) {
        BearerTokens.Binding b = tokens.match(request.header("Authorization"));
        if (b == null) {
          return Response.text(
              401,
              "missing or wrong bearer token: send the header 'Authorization: Bearer <token>' "
                  + "with one of the collector's tokens (auth.token, auth.tokens.<name>.token)\n",
              "WWW-Authenticate",
              "Bearer");
        }
        request.attach(b.unrestricted() ? null : b);
      }
      if (traces && contentType(request) == null) {
        return Response.text(
            415,
            "unsupported Content-Type '"
                + request.header("Content-Type")
                + "' (application/x-protobuf or application/json)\n");
      }
      if (refusing()) {
        String after = String.valueOf(RETRY_AFTER_SECONDS);
        if (traces) {
          Response r =
              OtlpResponses.status(
                  503,
                  Boolean.TRUE.equals(contentType(request)),
                  14 /* UNAVAILABLE */,
                  SPOOL_FULL_MESSAGE);
          return new Response(r.status(), r.contentType(), r.body(), "Retry-After", after);
        }
        return Response.text(503, SPOOL_FULL_MESSAGE + "\n", "Retry-After", after);
      }
      return null;
    }

    @Override
    public Response handle(Request request, byte[] body, int length) {
      BearerTokens.Binding binding = (BearerTokens.Binding) request.attachment();
      if (!traces) {
        return answer(ingestJsonLines(body, length, binding));
      }
      boolean json = Boolean.TRUE.equals(contentType(request));
      if (metricsExport != null) {
        return metricsExport.export(body, length, json);
      }
      TracesOutcome out = exportTraces(body, length, json, binding, "/v1/traces");
      if (out.unusable() != null) {
        return OtlpResponses.status(400, json, 3 /* INVALID_ARGUMENT */, out.unusable());
      }
      return answerTraces(out.result(), json);
    }

    @Override
    public Response unreadable(Request request, String message) {
      if (metricsExport != null) {
        return metricsExport.unreadable(Boolean.TRUE.equals(contentType(request)), message);
      }
      metrics.rejected(traces ? "otlp" : "jsonl", RejectReason.MALFORMED);
      deadLetter(RejectReason.MALFORMED, path + ": cannot read the body: " + message, null, 0, 0);
      if (traces) {
        return OtlpResponses.status(
            400,
            Boolean.TRUE.equals(contentType(request)),
            3 /* INVALID_ARGUMENT */,
            "cannot read the body: " + message);
      }
      return Response.text(400, "cannot read the body: " + message + "\n");
    }
  }

  /** True for OTLP JSON, false for protobuf, null for anything else. */
  private static Boolean contentType(Request request) {
    String type =
        Optional.ofNullable(request.header("Content-Type")).orElse("").toLowerCase(Locale.ROOT);
    if (type.startsWith("application/x-protobuf") || type.startsWith("application/protobuf")) {
      return false;
    }
    return type.startsWith("application/json") ? true : null;
  }

  /**
   * Outcome of one batch: counts and the first messages of rejected items; {@code forbidden} of the
   * rejected ones claimed an identity their token is not bound to.
   */
  public record Result(int accepted, int rejected, int forbidden, List<String> messages) {}

  /**
   * Parses, validates and forwards a JSON-lines batch (also used directly by benchmarks). A line of
   * the common shape (JsonLinesParser's scanner) is validated on its scanned values and, when an
   * encoded sink is configured and knows the schema id, written straight into the wire format of
   * its event (RequestAvroEncoder: the same bytes as the event's serialization, without the event
   * object); any other line takes the event path (Jackson). Validation and rejects are the same on
   * both paths.
   */
  public Result ingestJsonLines(byte[] body, int length) {
    return ingestJsonLines(body, length, null);
  }

  /**
   * As {@link #ingestJsonLines(byte[], int)}, refusing lines whose identity {@code binding} (null:
   * any) forbids.
   */
  Result ingestJsonLines(byte[] body, int length, BearerTokens.Binding binding) {
    long now = validator.nowUs();
    EncodedSink encoded = encodedSink;
    byte[] header = encoded != null ? encoded.requestHeader() : null;
    JsonLinesParser.Scan scan = new JsonLinesParser.Scan();
    int accepted = 0;
    int rejected = 0;
    int forbidden = 0;
    List<String> messages = new ArrayList<>();
    int lineNo = 0;
    int start = 0;
    while (start < length) {
      int end = Bytes.indexOfNewline(body, start, length);
      lineNo++;
      int stop = end;
      if (stop > start && body[stop - 1] == '\r') {
        stop--;
      }
      if (!blank(body, start, stop)) {
        String mismatch = null;
        try {
          if (JsonLinesParser.scan(body, start, stop - start, scan)) {
            scan.validate(validator, now); // the same reject as the line's event would get
            if (binding != null && (mismatch = mismatch(scan, binding)) != null) {
              forbidden++;
              rejected++;
              limits.count(HttpLimitMetrics.Limit.IDENTITY_MISMATCH);
              if (messages.size() < MAX_MESSAGES) {
                messages.add("line " + lineNo + ": " + mismatch);
              }
            } else if (header != null) {
              encoded.acceptEncoded(scan.host(defaults), encoder.encode(scan, header));
            } else {
              sink.accept(jsonLines.toEvent(scan));
            }
          } else {
            RequestEvent e = jsonLines.parseWithJackson(body, start, stop - start);
            validator.validate(e, now);
            if (binding != null && (mismatch = mismatch(e, binding)) != null) {
              forbidden++;
              rejected++;
              limits.count(HttpLimitMetrics.Limit.IDENTITY_MISMATCH);
              if (messages.size() < MAX_MESSAGES) {
                messages.add("line " + lineNo + ": " + mismatch);
              }
            } else {
              sink.accept(e);
            }
          }
          if (mismatch == null) {
            accepted++;
          }
        } catch (InvalidEventException e) {
          rejected++;
          metrics.rejected("jsonl", e.reason());
          String msg = "line " + lineNo + ": " + e.reason().label() + ": " + e.getMessage();
          deadLetter(e.reason(), "/v1/requests " + msg, body, start, stop - start);
          if (messages.size() < MAX_MESSAGES) {
            messages.add(msg);
          }
        }
      }
      start = end + 1;
    }
    receivedJsonl.inc(accepted);
    return new Result(accepted, rejected, forbidden, messages);
  }

  private static boolean blank(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != ' ' && b[i] != '\t') {
        return false;
      }
    }
    return true;
  }

  /**
   * Outcome of one OTLP traces export: {@code unusable} (the whole request could not be parsed;
   * nothing was kept) or the batch's {@link Result}.
   */
  public record TracesOutcome(Result result, String unusable) {}

  /**
   * The OTLP traces ingest shared by OTLP/HTTP ({@code POST /v1/traces}) and OTLP/gRPC ({@code
   * TraceService/Export}): parses {@code body[0, length)} (protobuf, or OTLP JSON when {@code
   * json}), then maps, validates and forwards its inference spans as {@link
   * #ingestTraces(ExportTraceServiceRequest)} does. A body that does not parse is counted
   * (malformed), kept as a dead letter whose message starts with {@code source}, and answered as
   * unusable.
   *
   * @param binding the identity the caller's bearer token is bound to; null: any
   */
  public TracesOutcome exportTraces(
      byte[] body, int length, boolean json, BearerTokens.Binding binding, String source) {
    ExportTraceServiceRequest req;
    try {
      byte[] exact = length == body.length ? body : Arrays.copyOf(body, length);
      req = json ? OtlpSpanMapper.parseJson(exact) : OtlpSpanMapper.parseProtobuf(exact);
    } catch (InvalidEventException e) {
      metrics.rejected("otlp", e.reason());
      deadLetter(
          e.reason(), source + " " + e.reason().label() + ": " + e.getMessage(), body, 0, length);
      return new TracesOutcome(null, e.reason().label() + ": " + e.getMessage());
    }
    return new TracesOutcome(ingestTraces(req, binding, source), null);
  }

  /** Maps, validates and forwards the inference spans of one export request. */
  public Result ingestTraces(ExportTraceServiceRequest request) {
    return ingestTraces(request, null);
  }

  /**
   * As {@link #ingestTraces(ExportTraceServiceRequest)}, refusing spans whose identity {@code
   * binding} forbids.
   */
  Result ingestTraces(ExportTraceServiceRequest request, BearerTokens.Binding binding) {
    return ingestTraces(request, binding, "/v1/traces");
  }

  private Result ingestTraces(
      ExportTraceServiceRequest request, BearerTokens.Binding binding, String source) {
    long now = validator.nowUs();
    int[] counts = new int[3];
    List<String> messages = new ArrayList<>();
    int ignored =
        otlp.map(
            request,
            new OtlpSpanMapper.Sink() {
              @Override
              public void accept(RequestEvent e, Span span) {
                try {
                  validator.validate(e, now);
                  String mismatch = binding == null ? null : mismatch(e, binding);
                  if (mismatch != null) {
                    counts[1]++;
                    counts[2]++;
                    limits.count(HttpLimitMetrics.Limit.IDENTITY_MISMATCH);
                    if (messages.size() < MAX_MESSAGES) {
                      messages.add(OtlpSpanMapper.where(span) + ": " + mismatch);
                    }
                    return;
                  }
                  sink.accept(e);
                  counts[0]++;
                } catch (InvalidEventException ex) {
                  reject(ex, OtlpSpanMapper.where(span), span);
                }
              }

              @Override
              public void reject(InvalidEventException ex, String where, Span span) {
                counts[1]++;
                metrics.rejected("otlp", ex.reason());
                String msg = where + ": " + ex.reason().label() + ": " + ex.getMessage();
                byte[] raw =
                    span.toByteArray(); // the span alone (protobuf), whatever the request's
                // encoding was
                deadLetter(ex.reason(), source + " " + msg, raw, 0, raw.length);
                if (messages.size() < MAX_MESSAGES) {
                  messages.add(msg);
                }
              }
            });
    metrics.ignoredSpans(ignored);
    receivedOtlp.inc(counts[0]);
    return new Result(counts[0], counts[1], counts[2], messages);
  }

  /**
   * Keeps a rejected item with its reason (stage collector; reason deserialization or validation).
   */
  private void deadLetter(RejectReason reason, String message, byte[] raw, int off, int len) {
    DeadLetter d = new DeadLetter();
    d.setStage("collector");
    d.setReason(reason == RejectReason.MALFORMED ? "deserialization" : "validation");
    d.setDetectedUs(validator.nowUs());
    if (raw != null) {
      int keep = Math.min(len, MAX_DEAD_LETTER_PAYLOAD);
      byte[] copy = new byte[keep];
      System.arraycopy(raw, off, copy, 0, keep);
      d.setPayload(ByteBuffer.wrap(copy));
      if (keep < len) {
        message += " (payload cut to the first " + keep + " of " + len + " bytes)";
      }
    }
    d.setMessage(message);
    try {
      deadLetters.accept(d);
    } catch (RuntimeException e) {
      LOG.warn("cannot queue a dead letter", e);
    }
  }

  /**
   * The OTLP/HTTP answer to an ingested batch, as the OTLP specification says: 200 with an empty
   * ExportTraceServiceResponse when every span was kept; 200 with {@code partial_success}
   * (rejected_spans, error_message) when some were kept and some rejected (the sender must not
   * retry); when spans were rejected and none was kept, a google.rpc.Status: 403 PERMISSION_DENIED
   * when every one claimed an identity its token is not bound to, else 400 INVALID_ARGUMENT
   * (invalid data, a permanent failure).
   */
  private static Response answerTraces(Result r, boolean json) {
    if (r.rejected() > 0 && r.accepted() == 0) {
      return r.forbidden() == r.rejected()
          ? OtlpResponses.status(403, json, 7 /* PERMISSION_DENIED */, OtlpResponses.summary(r))
          : OtlpResponses.status(400, json, 3 /* INVALID_ARGUMENT */, OtlpResponses.summary(r));
    }
    return OtlpResponses.traces(json, r);
  }

  private static Response answer(Result r) {
    if (r.rejected() == 0) {
      return new Response(
          200,
          "application/json",
          ("{\"accepted\":" + r.accepted() + ",\"rejected\":0}\n")
              .getBytes(StandardCharsets.UTF_8));
    }
    StringBuilder sb = new StringBuilder();
    sb.append("rejected ")
        .append(r.rejected())
        .append(" of ")
        .append(r.accepted() + r.rejected())
        .append(" items (the ")
        .append(r.accepted())
        .append(" valid ones were accepted):\n");
    for (String m : r.messages()) {
      sb.append(m).append('\n');
    }
    if (r.rejected() > r.messages().size()) {
      sb.append("... and ").append(r.rejected() - r.messages().size()).append(" more\n");
    }
    return Response.text(r.forbidden() > 0 ? 403 : 400, sb.toString());
  }

  /**
   * Why a scanned line's identity is not the binding's, or null when it is (values compared without
   * copies).
   */
  private String mismatch(JsonLinesParser.Scan s, BearerTokens.Binding b) {
    if (!same(s, JsonLinesParser.HOST, defaults.host(), b.host())) {
      return "identity_mismatch: host is not the token's (" + b.name() + ")";
    }
    if (!same(s, JsonLinesParser.CLUSTER, defaults.cluster(), b.cluster())) {
      return "identity_mismatch: cluster is not the token's (" + b.name() + ")";
    }
    if (!same(s, JsonLinesParser.REGION, defaults.region(), b.region())) {
      return "identity_mismatch: region is not the token's (" + b.name() + ")";
    }
    return null;
  }

  private static boolean same(JsonLinesParser.Scan s, int field, String fallback, String bound) {
    if (bound == null) {
      return true;
    }
    if (!s.has(field)) {
      return bound.equals(fallback);
    }
    int from = s.from[field];
    int len = s.to[field] - from;
    if (len != bound.length()) {
      return false;
    }
    for (int i = 0; i < len; i++) {
      if ((s.line[from + i] & 0xff) != bound.charAt(i)) { // scanned values are ASCII
        return false;
      }
    }
    return true;
  }

  /** Why an event's identity is not the binding's, or null when it is. */
  private static String mismatch(RequestEvent e, BearerTokens.Binding b) {
    if (b.host() != null && !b.host().equals(e.getHost())) {
      return "identity_mismatch: host is not the token's (" + b.name() + ")";
    }
    if (b.cluster() != null && !b.cluster().equals(e.getCluster())) {
      return "identity_mismatch: cluster is not the token's (" + b.name() + ")";
    }
    if (b.region() != null && !b.region().equals(e.getRegion())) {
      return "identity_mismatch: region is not the token's (" + b.name() + ")";
    }
    return null;
  }

  @Override
  public void close() {
    server.close();
  }
}
