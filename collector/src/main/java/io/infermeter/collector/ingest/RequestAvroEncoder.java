package io.infermeter.collector.ingest;

import io.infermeter.avro.RequestEvent;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.avro.Schema;

/**
 * Writes a scanned JSON line ({@link JsonLinesParser.Scan}) straight into the Confluent wire format
 * of a {@link RequestEvent} (magic byte, 4-byte schema id, Avro binary), without building the event
 * object and without the generic Avro writer: the JSON-lines fast path of ingest. The bytes are
 * exactly those {@code AvroSerializer} writes for the event the same line gives ({@code
 * RequestAvroEncoderTest} compares them line by line), since the collector is the writer and
 * registers the compiled-in schema itself: the Avro binary of a record is its fields in schema
 * order, strings as a zig-zag varint length and UTF-8 bytes, longs and ints as zig-zag varints, a
 * nullable field as its union branch (0 null, 1 value) and the value, the enum as its index, the
 * empty map as a zero count. The field order is checked against the compiled-in schema when the
 * class loads: if the schema ever differs, {@link #SCHEMA_MATCHES} is false and ingest keeps to the
 * event path. Thread-safe (immutable; the caller owns the scratch buffer).
 */
final class RequestAvroEncoder {

  /** Fields of RequestEvent in schema order with their Avro types, as this encoder writes them. */
  private static final List<String> LAYOUT =
      List.of(
          "eventId:STRING",
          "requestId:UNION",
          "source:STRING",
          "cluster:STRING",
          "region:STRING",
          "host:STRING",
          "deviceId:UNION",
          "gpuType:UNION",
          "model:STRING",
          "modelVersion:UNION",
          "engine:UNION",
          "operation:UNION",
          "status:ENUM",
          "errorType:UNION",
          "arrivalUs:LONG",
          "scheduledUs:UNION",
          "firstTokenUs:UNION",
          "completedUs:LONG",
          "inputTokens:UNION",
          "outputTokens:UNION",
          "cachedTokens:UNION",
          "batchSize:UNION",
          "maxBatchSize:UNION",
          "coldStart:BOOLEAN",
          "sloClass:UNION",
          "maxInterTokenGapUs:UNION",
          "attributes:MAP",
          "pod:UNION");

  /**
   * Whether the compiled-in RequestEvent schema is the one this encoder writes (else ingest does
   * not use it).
   */
  static final boolean SCHEMA_MATCHES =
      layoutOf(RequestEvent.getClassSchema()).equals(LAYOUT)
          && RequestEvent.getClassSchema()
              .getField("status")
              .schema()
              .getEnumSymbols()
              .equals(List.of("OK", "ERROR", "TIMEOUT", "CANCELLED", "UNKNOWN"));

  static List<String> layoutOf(Schema schema) {
    return schema.getFields().stream().map(f -> f.name() + ":" + f.schema().getType()).toList();
  }

  private static final byte[][] SOURCES =
      Arrays.stream(JsonLinesParser.SOURCES)
          .map(x -> x.getBytes(StandardCharsets.US_ASCII))
          .toArray(byte[][]::new);

  private final byte[] cluster;
  private final byte[] region;
  private final byte[] host;
  private final byte[] gpuType;
  private final byte[] engine;
  private final int defaultsLength;

  RequestAvroEncoder(EventDefaults defaults) {
    this.cluster = utf8(defaults.cluster());
    this.region = utf8(defaults.region());
    this.host = utf8(defaults.host());
    this.gpuType = utf8(defaults.gpuType());
    this.engine = utf8(defaults.engine());
    this.defaultsLength = len(cluster) + len(region) + len(host) + len(gpuType) + len(engine);
  }

  private static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }

  private static int len(byte[] b) {
    return b == null ? 0 : b.length;
  }

  /**
   * Encodes the line behind {@code header} (magic byte and schema id); returns a new array of
   * exactly the record's bytes (written first into the scan's scratch buffer). The event id is the
   * one the event path gives the line ({@link Ids}): derived from (requestId, host, model) when the
   * line has a non-empty requestId, hashed straight from the line's bytes (the scanner's strings
   * are ASCII, so they are their own UTF-8); else random.
   */
  byte[] encode(JsonLinesParser.Scan s, byte[] header) {
    if (s.has(JsonLinesParser.REQUEST_ID)
        && s.to[JsonLinesParser.REQUEST_ID] > s.from[JsonLinesParser.REQUEST_ID]) {
      Ids.Hasher h = Ids.hasher().begin(Ids.REQUEST_TAG);
      part(h, s, JsonLinesParser.REQUEST_ID, null);
      part(h, s, JsonLinesParser.HOST, host);
      part(h, s, JsonLinesParser.MODEL, EMPTY);
      h.finish();
      return encode(s, header, h.msb, h.lsb);
    }
    ThreadLocalRandom r = ThreadLocalRandom.current();
    return encode(s, header, Ids.randomMsb(r), Ids.randomLsb(r));
  }

  private static final byte[] EMPTY = new byte[0];

  /** One part of the id's name: the line's value of {@code field}, else {@code fallback}. */
  private static void part(Ids.Hasher h, JsonLinesParser.Scan s, int field, byte[] fallback) {
    if (s.has(field)) {
      h.part(s.line, s.from[field], s.to[field]);
    } else {
      h.part(fallback, 0, fallback.length);
    }
  }

  /**
   * As {@link #encode(JsonLinesParser.Scan, byte[])} with the event id's UUID bits given (tests).
   */
  byte[] encode(JsonLinesParser.Scan s, byte[] header, long idMsb, long idLsb) {
    byte[] line = s.line;
    // bound: header, id, the line's string values, the defaults, at most 10 bytes for each varint
    // and union branch
    int bound = header.length + 1 + Ids.TEXT_LENGTH + s.textBytes + defaultsLength + 40 * 10;
    byte[] out = s.scratch;
    if (out == null || out.length < bound) {
      out = s.scratch = new byte[Math.max(bound, 512)];
    }
    System.arraycopy(header, 0, out, 0, header.length);
    int p = header.length;
    out[p++] = (byte) (Ids.TEXT_LENGTH << 1); // the id's length as a zig-zag varint (72: one byte)
    Ids.writeText(idMsb, idLsb, out, p);
    p += Ids.TEXT_LENGTH;
    p = optional(s, JsonLinesParser.REQUEST_ID, null, out, p);
    p = bytes(SOURCES[s.source], out, p);
    p = required(s, JsonLinesParser.CLUSTER, cluster, out, p);
    p = required(s, JsonLinesParser.REGION, region, out, p);
    p = required(s, JsonLinesParser.HOST, host, out, p);
    p = optional(s, JsonLinesParser.DEVICE_ID, null, out, p);
    p = optional(s, JsonLinesParser.GPU_TYPE, gpuType, out, p);
    if (s.has(JsonLinesParser.MODEL)) {
      p = range(line, s.from[JsonLinesParser.MODEL], s.to[JsonLinesParser.MODEL], out, p);
    } else {
      out[p++] = 0; // ""
    }
    p = optional(s, JsonLinesParser.MODEL_VERSION, null, out, p);
    p = optional(s, JsonLinesParser.ENGINE, engine, out, p);
    p = optional(s, JsonLinesParser.OPERATION, null, out, p);
    // a generated enum declares its constants in the schema's symbol order (SCHEMA_MATCHES checks
    // the symbols), so the ordinal is the Avro symbol index
    @SuppressWarnings("EnumOrdinal")
    int statusIndex = s.status.ordinal();
    p = varint(statusIndex, out, p);
    p = optional(s, JsonLinesParser.ERROR_TYPE, null, out, p);
    p = varint(s.arrival, out, p);
    int present = s.present;
    p = optionalLong((present & RequestValidator.SCHEDULED) != 0, s.scheduled, out, p);
    p = optionalLong((present & RequestValidator.FIRST_TOKEN) != 0, s.firstToken, out, p);
    p = varint(s.completed, out, p);
    p = optionalLong((present & RequestValidator.INPUT_TOKENS) != 0, s.inputTokens, out, p);
    p = optionalLong((present & RequestValidator.OUTPUT_TOKENS) != 0, s.outputTokens, out, p);
    p = optionalLong((present & RequestValidator.CACHED_TOKENS) != 0, s.cachedTokens, out, p);
    p = optionalLong((present & RequestValidator.BATCH_SIZE) != 0, s.batchSize, out, p);
    p = optionalLong((present & RequestValidator.MAX_BATCH_SIZE) != 0, s.maxBatchSize, out, p);
    out[p++] = 0; // coldStart: false (a line with coldStart is left to the event path)
    p = optional(s, JsonLinesParser.SLO_CLASS, null, out, p);
    p = optionalLong((present & RequestValidator.GAP) != 0, s.gap, out, p);
    out[p++] = 0; // attributes: the empty map (a line with attributes is left to the event path)
    out[p++] = 0; // pod: null (JSON lines name no pod; a pod comes from an OTLP resource)
    return Arrays.copyOf(out, p);
  }

  /** A string field: the line's value, else the default. */
  private static int required(
      JsonLinesParser.Scan s, int field, byte[] fallback, byte[] out, int p) {
    return s.has(field)
        ? range(s.line, s.from[field], s.to[field], out, p)
        : bytes(fallback, out, p);
  }

  /** A nullable string field: the line's value, else the default, else null (union branch 0). */
  private static int optional(
      JsonLinesParser.Scan s, int field, byte[] fallback, byte[] out, int p) {
    if (s.has(field)) {
      out[p++] = 2; // branch 1 (zig-zag)
      return range(s.line, s.from[field], s.to[field], out, p);
    }
    if (fallback != null) {
      out[p++] = 2;
      return bytes(fallback, out, p);
    }
    out[p++] = 0;
    return p;
  }

  /** A nullable long or int (ints are written as the same zig-zag varint). */
  private static int optionalLong(boolean present, long v, byte[] out, int p) {
    if (!present) {
      out[p++] = 0;
      return p;
    }
    out[p++] = 2;
    return varint(v, out, p);
  }

  private static int bytes(byte[] b, byte[] out, int p) {
    p = varint(b.length, out, p);
    System.arraycopy(b, 0, out, p, b.length);
    return p + b.length;
  }

  private static int range(byte[] b, int from, int to, byte[] out, int p) {
    int n = to - from;
    p = varint(n, out, p);
    System.arraycopy(b, from, out, p, n);
    return p + n;
  }

  /** Avro's long (and int) encoding: zig-zag, then 7 bits per byte, low bits first. */
  static int varint(long v, byte[] out, int p) {
    long n = (v << 1) ^ (v >> 63);
    while ((n & ~0x7fL) != 0) {
      out[p++] = (byte) ((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out[p++] = (byte) n;
    return p;
  }
}
