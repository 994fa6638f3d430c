package io.infermeter.collector.internal;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.internal.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.Span;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The collector's HTTP ingest endpoints on a small HTTP/1.1 server of its own ({@link MiniHttpServer}):
 * {@code POST /v1/traces} (OTLP/HTTP, {@code application/x-protobuf} or {@code application/json}) and
 * {@code POST /v1/requests} (JSON lines), both optionally gzip-compressed ({@code Content-Encoding: gzip}), plus
 * {@code GET /healthz}. Answers: 200 when every item was accepted; 400 with a message per rejected item (at most
 * {@value #MAX_MESSAGES}) when some were rejected, the valid rest of the batch being kept; 401 without the configured
 * bearer token; 405 for other methods; 413 when the body (compressed or decompressed) exceeds the limit; 415 for an
 * unsupported content type or encoding. Thread-safe; each connection is served by its own thread (at most
 * {@code maxConnections}).
 */
public final class IngestServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(IngestServer.class);
  static final int MAX_MESSAGES = 20;

  /** Longest wait for request bytes, idle kept-alive connections included, before a connection is closed. */
  static final int READ_TIMEOUT_MILLIS = 60_000;

  private final MiniHttpServer server;
  private final long maxBodyBytes;
  private final byte[] expectedAuth;
  private final JsonLinesParser jsonLines;
  private final OtlpSpanMapper otlp;
  private final RequestValidator validator;
  private final Consumer<RequestEvent> sink;
  private final EncodedSink encodedSink;
  private final RequestAvroEncoder encoder;
  private final EventDefaults defaults;
  private final Consumer<DeadLetter> deadLetters;
  private final CollectorMetrics metrics;
  private final CounterDataPoint receivedJsonl;
  private final CounterDataPoint receivedOtlp;

  /** Largest raw payload kept in a dead letter; longer ones are cut (and say so) to stay under Kafka's size limit. */
  static final int MAX_DEAD_LETTER_PAYLOAD = 64 * 1024;

  /**
   * Where the JSON-lines fast path hands accepted request events, already in the Confluent wire format (see
   * {@link #ingestJsonLines}).
   */
  public interface EncodedSink {
    /** Magic byte and schema id to put before the Avro binary of a request event; null while not known yet. */
    byte[] requestHeader();

    /** An accepted request event: its key (host) and its Confluent-wire bytes. */
    void acceptEncoded(String key, byte[] wire);
  }

  /**
   * @param sink accepted events
   * @param deadLetters every rejected item with its reason and raw bytes (Topics.DEAD_LETTERS)
   */
  public IngestServer(String host, int port, int maxConnections, long maxBodyBytes, Optional<String> authToken,
      EventDefaults defaults, RequestValidator validator, Consumer<RequestEvent> sink,
      Consumer<DeadLetter> deadLetters, CollectorMetrics metrics) throws IOException {
    this(host, port, maxConnections, maxBodyBytes, authToken, defaults, validator, sink, null, deadLetters, metrics);
  }

  /**
   * @param sink accepted events
   * @param encodedSink accepted JSON-lines events of the common shape, encoded (null: every event goes to sink)
   * @param deadLetters every rejected item with its reason and raw bytes (Topics.DEAD_LETTERS)
   */
  public IngestServer(String host, int port, int maxConnections, long maxBodyBytes, Optional<String> authToken,
      EventDefaults defaults, RequestValidator validator, Consumer<RequestEvent> sink, EncodedSink encodedSink,
      Consumer<DeadLetter> deadLetters, CollectorMetrics metrics) throws IOException {
    this.maxBodyBytes = maxBodyBytes;
    this.defaults = defaults;
    this.encodedSink = RequestAvroEncoder.SCHEMA_MATCHES ? encodedSink : null;
    this.encoder = new RequestAvroEncoder(defaults);
    this.expectedAuth = authToken.map(t -> ("Bearer " + t).getBytes(StandardCharsets.UTF_8)).orElse(null);
    this.jsonLines = new JsonLinesParser(defaults);
    this.otlp = new OtlpSpanMapper(defaults);
    this.validator = validator;
    this.sink = sink;
    this.deadLetters = deadLetters;
    this.metrics = metrics;
    this.receivedJsonl = metrics.received("jsonl");
    this.receivedOtlp = metrics.received("otlp");
    this.server = new MiniHttpServer(host, port, Map.of(
        "/v1/requests", ex -> handle(ex, "/v1/requests", this::jsonLines),
        "/v1/traces", ex -> handle(ex, "/v1/traces", this::traces),
        "/healthz", ex -> respond(ex, "/healthz", 200, "text/plain", "ok\n")), maxConnections, READ_TIMEOUT_MILLIS);
    LOG.info("ingest listening on {}:{} (/v1/traces, /v1/requests)", host, port());
  }

  public int port() {
    return server.port();
  }

  private interface Body {
    void handle(MiniHttpServer.Exchange ex, byte[] body) throws IOException;
  }

  private static final class TooLarge extends IOException {
    TooLarge(String m) {
      super(m, null);
    }
  }

  private void handle(MiniHttpServer.Exchange ex, String path, Body body) throws IOException {
    try {
      handleChecked(ex, path, body);
    } catch (RuntimeException e) {
      LOG.warn("error answering {}", path, e);
      if (!ex.responded) {
        ex.keepAlive = false;
        respond(ex, path, 500, "text/plain", "internal error\n");
      }
    }
  }

  private void handleChecked(MiniHttpServer.Exchange ex, String path, Body body) throws IOException {
    if (!"POST".equals(ex.method)) {
      respond(ex, path, 405, "text/plain", "use POST\n", "Allow", "POST");
      return;
    }
    if (expectedAuth != null) {
      String auth = ex.header("Authorization");
      if (auth == null || !MessageDigest.isEqual(expectedAuth, auth.getBytes(StandardCharsets.UTF_8))) {
        respond(ex, path, 401, "text/plain",
            "missing or wrong bearer token: send the header 'Authorization: Bearer <token>' with the collector's "
            + "auth.token\n", "WWW-Authenticate", "Bearer");
        return;
      }
    }
    String encoding = Optional.ofNullable(ex.header("Content-Encoding")).orElse("identity").trim()
        .toLowerCase(Locale.ROOT);
    if (!encoding.equals("identity") && !encoding.equals("gzip")) {
      respond(ex, path, 415, "text/plain", "unsupported Content-Encoding '" + encoding + "' (gzip or identity)\n");
      return;
    }
    long declared = ex.contentLength(); // -1: chunked
    if (declared > maxBodyBytes) {
      respond(ex, path, 413, "text/plain", "body of " + declared + " bytes exceeds the limit of " + maxBodyBytes
          + " bytes (http.max.body.bytes)\n");
      return;
    }
    byte[] bytes;
    try {
      InputStream in = ex.body();
      boolean gzip = encoding.equals("gzip");
      if (!gzip && declared >= 0 && declared < Integer.MAX_VALUE - 8) {
        // the usual case: read exactly Content-Length bytes into the array the parser works on (no copies)
        bytes = new byte[(int) declared];
        int got = in.readNBytes(bytes, 0, bytes.length);
        if (got < bytes.length) {
          throw new IOException("body ended after " + got + " of " + declared + " bytes");
        }
      } else {
        bytes = readLimited(gzip ? new GZIPInputStream(in) : in, maxBodyBytes, 8192);
      }
    } catch (TooLarge e) {
      respond(ex, path, 413, "text/plain", e.getMessage() + "\n");
      return;
    } catch (IOException e) {
      metrics.rejected(path.equals("/v1/traces") ? "otlp" : "jsonl", RejectReason.MALFORMED);
      deadLetter(RejectReason.MALFORMED, path + ": cannot read the body: " + e.getMessage(), null, 0, 0);
      respond(ex, path, 400, "text/plain", "cannot read the body: " + e.getMessage() + "\n");
      return;
    }
    body.handle(ex, bytes);
  }

  private static long parseLong(String s) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Reads at most {@code limit} bytes (after decompression, so a gzip bomb is refused too) into a buffer that starts
   * at {@code sizeHint} bytes (the expected length when known).
   */
  static byte[] readLimited(InputStream in, long limit, int sizeHint) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(sizeHint, 32));
    byte[] buf = new byte[16384];
    long total = 0;
    int n;
    while ((n = in.read(buf)) > 0) {
      total += n;
      if (total > limit) {
        throw new TooLarge("body exceeds the limit of " + limit + " bytes (http.max.body.bytes)");
      }
      out.write(buf, 0, n);
    }
    return out.toByteArray();
  }

  private void jsonLines(MiniHttpServer.Exchange ex, byte[] body) throws IOException {
    Result r = ingestJsonLines(body, body.length);
    respondResult(ex, "/v1/requests", r, false);
  }

  /** Outcome of one batch: counts and the first messages of rejected items. */
  public record Result(int accepted, int rejected, List<String> messages) {}

  /**
   * Parses, validates and forwards a JSON-lines batch (also used directly by benchmarks). A line of the common shape
   * (JsonLinesParser's scanner) is validated on its scanned values and, when an encoded sink is configured and knows
   * the schema id, written straight into the wire format of its event (RequestAvroEncoder: the same bytes as the
   * event's serialization, without the event object); any other line takes the event path (Jackson). Validation and
   * rejects are the same on both paths.
   */
  public Result ingestJsonLines(byte[] body, int length) {
    long now = validator.nowUs();
    EncodedSink encoded = encodedSink;
    byte[] header = encoded != null ? encoded.requestHeader() : null;
    JsonLinesParser.Scan scan = new JsonLinesParser.Scan();
    int accepted = 0;
    int rejected = 0;
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
        try {
          if (JsonLinesParser.scan(body, start, stop - start, scan)) {
            scan.validate(validator, now); // the same reject as the line's event would get
            if (header != null) {
              encoded.acceptEncoded(scan.host(defaults), encoder.encode(scan, header));
            } else {
              sink.accept(jsonLines.toEvent(scan));
            }
          } else {
            RequestEvent e = jsonLines.parseWithJackson(body, start, stop - start);
            validator.validate(e, now);
            sink.accept(e);
          }
          accepted++;
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
    return new Result(accepted, rejected, messages);
  }

  private static boolean blank(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != ' ' && b[i] != '\t') {
        return false;
      }
    }
    return true;
  }

  private void traces(MiniHttpServer.Exchange ex, byte[] body) throws IOException {
    String type = Optional.ofNullable(ex.header("Content-Type")).orElse("")
        .toLowerCase(Locale.ROOT);
    boolean json;
    if (type.startsWith("application/x-protobuf") || type.startsWith("application/protobuf")) {
      json = false;
    } else if (type.startsWith("application/json")) {
      json = true;
    } else {
      respond(ex, "/v1/traces", 415, "text/plain",
          "unsupported Content-Type '" + type + "' (application/x-protobuf or application/json)\n");
      return;
    }
    ExportTraceServiceRequest request;
    try {
      request = json ? OtlpSpanMapper.parseJson(body) : OtlpSpanMapper.parseProtobuf(body);
    } catch (InvalidEventException e) {
      metrics.rejected("otlp", e.reason());
      deadLetter(e.reason(), "/v1/traces " + e.reason().label() + ": " + e.getMessage(), body, 0, body.length);
      respond(ex, "/v1/traces", 400, "text/plain", e.reason().label() + ": " + e.getMessage() + "\n");
      return;
    }
    respondResult(ex, "/v1/traces", ingestTraces(request), json);
  }

  /** Maps, validates and forwards the inference spans of one export request. */
  public Result ingestTraces(ExportTraceServiceRequest request) {
    long now = validator.nowUs();
    int[] counts = new int[2];
    List<String> messages = new ArrayList<>();
    int ignored = otlp.map(request, new OtlpSpanMapper.Sink() {
      @Override
      public void accept(RequestEvent e, Span span) {
        try {
          validator.validate(e, now);
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
        byte[] raw = span.toByteArray(); // the span alone (protobuf), whatever the request's encoding was
        deadLetter(ex.reason(), "/v1/traces " + msg, raw, 0, raw.length);
        if (messages.size() < MAX_MESSAGES) {
          messages.add(msg);
        }
      }
    });
    metrics.ignoredSpans(ignored);
    receivedOtlp.inc(counts[0]);
    return new Result(counts[0], counts[1], messages);
  }

  /** Keeps a rejected item with its reason (stage collector; reason deserialization or validation). */
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

  private void respondResult(MiniHttpServer.Exchange ex, String path, Result r, boolean otlpJson)
      throws IOException {
    if (r.rejected() == 0) {
      if (path.equals("/v1/traces")) {
        // an empty ExportTraceServiceResponse: zero bytes in protobuf, {} in JSON
        respond(ex, path, 200, otlpJson ? "application/json" : "application/x-protobuf", otlpJson ? "{}" : "");
      } else {
        respond(ex, path, 200, "application/json", "{\"accepted\":" + r.accepted() + ",\"rejected\":0}\n");
      }
      return;
    }
    StringBuilder sb = new StringBuilder();
    sb.append("rejected ").append(r.rejected()).append(" of ").append(r.accepted() + r.rejected())
        .append(" items (the ").append(r.accepted()).append(" valid ones were accepted):\n");
    for (String m : r.messages()) {
      sb.append(m).append('\n');
    }
    if (r.rejected() > r.messages().size()) {
      sb.append("... and ").append(r.rejected() - r.messages().size()).append(" more\n");
    }
    respond(ex, path, 400, "text/plain", sb.toString());
  }

  private void respond(MiniHttpServer.Exchange ex, String path, int code, String contentType, String body,
      String... extraHeaders) throws IOException {
    ex.respond(code, contentType, body.getBytes(StandardCharsets.UTF_8), extraHeaders);
    metrics.httpRequest(path, code);
  }

  @Override
  public void close() {
    server.close();
  }
}
