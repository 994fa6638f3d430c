package io.infermeter.collector.ingest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.support.Bytes;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Parses one JSON object per line into a {@link RequestEvent} (field reference: docs/COLLECTOR.md,
 * "JSON lines"). Timestamps are epoch microseconds; instead of scheduledUs / firstTokenUs /
 * completedUs a line may give durations from arrival (queueUs, ttftUs, e2eUs); a timestamp wins
 * over a duration. Unknown fields are ignored (forward compatibility). Each line is parsed alone,
 * so that a malformed line is rejected alone and the rest of the batch kept.
 *
 * <p>Two paths with one result. The reference is Jackson's streaming {@link JsonParser}, one per
 * line. In front of it a scanner over the bytes handles the common shape of a line (an object of
 * ASCII strings without escapes and integers) about four times cheaper, mostly by not setting up a
 * Jackson parser per line (JMH {@code OtlpMapBenchmark.jsonLineParse}); it gives up on anything
 * else (another value type, an escape, a non-ASCII byte, a value the rules reject, malformed input)
 * and the line goes to Jackson, so rejects and their messages come from Jackson alone. {@code
 * JsonLinesParserTest} checks that both paths agree on valid, invalid and randomly mutated lines.
 * The scanner's result ({@link Scan}: values and byte ranges of the line) can also be validated and
 * written straight into Avro without an event object ({@link RequestAvroEncoder}; ingest's fast
 * path). Thread-safe (the factory is shared, parsers are per call, a {@link Scan} belongs to its
 * caller's thread).
 */
public final class JsonLinesParser {

  private static final JsonFactory FACTORY = new JsonFactory();

  private final EventDefaults defaults;

  public JsonLinesParser(EventDefaults defaults) {
    this.defaults = defaults;
  }

  /** Parses {@code len} bytes at {@code off} of {@code buf} (one line, without the newline). */
  public RequestEvent parse(byte[] buf, int off, int len) throws InvalidEventException {
    RequestEvent e = parseCommon(buf, off, len);
    return e != null ? e : parseWithJackson(buf, off, len);
  }

  /** The reference path: Jackson's streaming parser, one per line. */
  RequestEvent parseWithJackson(byte[] buf, int off, int len) throws InvalidEventException {
    int bad = invalidUtf8(buf, off, off + len);
    if (bad >= 0) {
      // Jackson decodes overlong forms and encoded surrogates without complaint: checked here,
      // strictly
      throw new InvalidEventException(
          RejectReason.MALFORMED,
          "the line is not valid UTF-8 (byte " + (bad - off + 1) + " of the line)");
    }
    RequestEvent e = defaults.newEvent("jsonl");
    long queueUs = -1;
    long ttftUs = -1;
    long e2eUs = -1;
    boolean hasQueue = false;
    boolean hasTtft = false;
    boolean hasE2e = false;
    boolean hasStatus = false;
    try (JsonParser p = FACTORY.createParser(buf, off, len)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new InvalidEventException(RejectReason.MALFORMED, "expected a JSON object");
      }
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (v == JsonToken.VALUE_NULL) {
          continue;
        }
        RequestField f = RequestField.byName(name);
        if (f == null) {
          p.skipChildren();
          continue;
        }
        switch (f.kind) {
          case DIMENSION, FREE_TEXT -> f.setText(e, text(p, name));
          case SOURCE -> e.setSource(source(text(p, name)));
          case STATUS -> {
            e.setStatus(status(text(p, name)));
            hasStatus = true;
          }
          case TIMESTAMP, MICROS -> f.setMicros(e, number(p, name));
          case DURATION -> {
            long d = duration(p, name);
            switch (f) {
              case QUEUE -> {
                queueUs = d;
                hasQueue = true;
              }
              case TTFT -> {
                ttftUs = d;
                hasTtft = true;
              }
              case E2E -> {
                e2eUs = d;
                hasE2e = true;
              }
              default -> throw new IllegalStateException("duration field " + f);
            }
          }
          case COUNT -> f.setCount(e, integer(p, name));
          case BOOLEAN -> {
            if (!v.isBoolean()) {
              throw new InvalidEventException(
                  RejectReason.INVALID_VALUE, name + " must be true or false");
            }
            e.setColdStart(p.getBooleanValue());
          }
          case MAP -> attributes(p, e);
        }
      }
      if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw new InvalidEventException(
            RejectReason.MALFORMED, "expected exactly one JSON object on the line");
      }
    } catch (IOException ex) {
      throw new InvalidEventException(
          RejectReason.MALFORMED, "malformed JSON: " + firstLine(ex.getMessage()));
    }
    return finish(e, hasQueue, queueUs, hasTtft, ttftUs, hasE2e, e2eUs, hasStatus);
  }

  /**
   * What both paths do after the fields: durations into timestamps (a timestamp wins), the default
   * status.
   */
  private static RequestEvent finish(
      RequestEvent e,
      boolean hasQueue,
      long queueUs,
      boolean hasTtft,
      long ttftUs,
      boolean hasE2e,
      long e2eUs,
      boolean hasStatus) {
    long arrival = e.getArrivalUs();
    if (arrival > 0) {
      if (e.getScheduledUs() == null && hasQueue) {
        e.setScheduledUs(arrival + queueUs);
      }
      if (e.getFirstTokenUs() == null && hasTtft) {
        e.setFirstTokenUs(arrival + ttftUs);
      }
      if (e.getCompletedUs() == 0 && hasE2e) {
        e.setCompletedUs(arrival + e2eUs);
      }
    }
    if (!hasStatus) {
      e.setStatus(e.getErrorType() == null ? RequestStatus.OK : RequestStatus.ERROR);
    }
    identify(e);
    return e;
  }

  /**
   * Gives an event with a requestId its derived id (Ids.ofRequest); others keep their random one.
   */
  static void identify(RequestEvent e) {
    String id = Ids.ofRequest(e.getRequestId(), e.getHost(), e.getModel());
    if (id != null) {
      e.setEventId(id);
    }
  }

  // Field ids of the scanner: RequestField ids.
  static final int REQUEST_ID = RequestField.REQUEST_ID.id;
  static final int SOURCE = RequestField.SOURCE.id;
  static final int MODEL = RequestField.MODEL.id;
  static final int MODEL_VERSION = RequestField.MODEL_VERSION.id;
  static final int ENGINE = RequestField.ENGINE.id;
  static final int OPERATION = RequestField.OPERATION.id;
  static final int STATUS = RequestField.STATUS.id;
  static final int ERROR_TYPE = RequestField.ERROR_TYPE.id;
  static final int HOST = RequestField.HOST.id;
  static final int CLUSTER = RequestField.CLUSTER.id;
  static final int REGION = RequestField.REGION.id;
  static final int DEVICE_ID = RequestField.DEVICE_ID.id;
  static final int GPU_TYPE = RequestField.GPU_TYPE.id;
  static final int SLO_CLASS = RequestField.SLO_CLASS.id;

  /** The last string-valued id; the ids after it take numbers. */
  private static final int LAST_STRING = RequestField.LAST_STRING.id;

  /**
   * Fields the scanner leaves to Jackson whatever their value (other types than string / integer).
   */
  private static final int JACKSON_ONLY = -2;

  private static final int UNKNOWN = -1;

  private static final byte[][] NAME_BYTES = new byte[RequestField.all().length][];
  private static final int[] NAME_IDS = new int[RequestField.all().length];

  /**
   * Open-addressing table: slot (hash & mask) holds 1 + index into NAME_BYTES / NAME_IDS, 0 when
   * free.
   */
  private static final int[] TABLE = new int[128];

  static {
    RequestField[] all = RequestField.all();
    for (int k = 0; k < all.length; k++) {
      NAME_BYTES[k] = all[k].jsonName.getBytes(StandardCharsets.US_ASCII);
      NAME_IDS[k] = all[k].kind.isScanned() ? k : JACKSON_ONLY;
      int slot = nameHash(NAME_BYTES[k], 0, NAME_BYTES[k].length) & (TABLE.length - 1);
      while (TABLE[slot] != 0) {
        slot = (slot + 1) & (TABLE.length - 1);
      }
      TABLE[slot] = k + 1;
    }
  }

  /**
   * A cheap hash of a field name (length, first and last-but-one byte; names shorter than 2 bytes
   * are never known): the known names spread over the table with a single collision, and looking
   * one up costs no loop over its bytes.
   */
  private static int nameHash(byte[] b, int from, int to) {
    return (to - from) << 4 ^ b[from] * 7 ^ b[to - 2];
  }

  private static int fieldId(byte[] b, int from, int to) {
    int len = to - from;
    if (len < 2) {
      return UNKNOWN;
    }
    int slot = nameHash(b, from, to) & (TABLE.length - 1);
    int k;
    while ((k = TABLE[slot]) != 0) {
      byte[] name = NAME_BYTES[k - 1];
      if (name.length == len) {
        int j = 0;
        while (j < len && name[j] == b[from + j]) {
          j++;
        }
        if (j == len) {
          return NAME_IDS[k - 1];
        }
      }
      slot = (slot + 1) & (TABLE.length - 1);
    }
    return UNKNOWN;
  }

  private static int skipWhitespace(byte[] b, int i, int end) {
    while (i < end && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) {
      i++;
    }
    return i;
  }

  /**
   * End of a string's content starting at {@code i} (at its closing quote), or -1 for what the
   * scanner leaves.
   */
  private static int stringEnd(byte[] b, int i, int end) {
    int j = Bytes.indexOfStringSpecial(b, i, end);
    return j < end && b[j] == '"'
        ? j
        : -1; // else an escape, a control character or a non-ASCII byte: Jackson's
  }

  /**
   * The scanner's result for one line: the fields as values and as byte ranges of the line (strings
   * are ASCII without escapes, so a range is the value's exact UTF-8 bytes), with the durations
   * already turned into timestamps and the default status applied. One instance is reused line
   * after line by one thread ({@link #scan} resets it); not thread-safe.
   */
  static final class Scan {
    /** The buffer the ranges point into (the batch being ingested). */
    byte[] line;

    /**
     * Per string field id (0..LAST_STRING): start and end of its value in {@link #line}, when its
     * bit is set.
     */
    final int[] from = new int[LAST_STRING + 1];

    final int[] to = new int[LAST_STRING + 1];

    /** Bit (1 << field id) per string field present. */
    int strings;

    /** Total length of the string values read (an upper bound of their bytes in the record). */
    int textBytes;

    /** Index into {@link #SOURCES}. */
    int source;

    RequestStatus status;
    long arrival;
    long completed;
    long scheduled;
    long firstToken;
    long gap;
    int inputTokens;
    int outputTokens;
    int cachedTokens;
    int batchSize;
    int maxBatchSize;

    /** Optional numeric fields present, as {@link RequestValidator}'s bits. */
    int present;

    private String lastHost;

    /** The encoder's output buffer for this thread's lines ({@link RequestAvroEncoder}). */
    byte[] scratch;

    void reset(byte[] b) {
      line = b;
      strings = 0;
      textBytes = 0;
      source = 0;
      status = null;
      arrival = 0;
      completed = 0;
      present = 0;
    }

    boolean has(int field) {
      return (strings & 1 << field) != 0;
    }

    /** The string field's value (ASCII). */
    String text(int field) {
      return new String(line, from[field], to[field] - from[field], StandardCharsets.ISO_8859_1);
    }

    /**
     * Whether the line has a model that is not blank (ASCII without control characters: blank is
     * spaces only).
     */
    boolean hasModel() {
      if (!has(MODEL)) {
        return false;
      }
      for (int i = from[MODEL]; i < to[MODEL]; i++) {
        if (line[i] != ' ') {
          return true;
        }
      }
      return false;
    }

    /**
     * The event's host as a string (the key of its record): the line's, else the configured one.
     */
    String host(EventDefaults defaults) {
      if (!has(HOST)) {
        return defaults.host();
      }
      String last = lastHost;
      int len = to[HOST] - from[HOST];
      if (last != null && last.length() == len) {
        // lines of one batch nearly always name the same host: reuse its string instead of a new
        // one per line
        int k = 0;
        while (k < len && last.charAt(k) == (line[from[HOST] + k] & 0xff)) {
          k++;
        }
        if (k == len) {
          return last;
        }
      }
      return lastHost = text(HOST);
    }

    /**
     * Checks the validation rules on the line's values; throws the same reject the event of the
     * line would get, and cuts the error type to the free-text limit as the event path does (the
     * scanner's strings are ASCII, so a byte count is a character boundary).
     */
    void validate(RequestValidator validator, long nowUs) throws InvalidEventException {
      for (int field = 0; field <= LAST_STRING; field++) {
        RequestField f = RequestField.of(field);
        if (f.kind == RequestField.Kind.DIMENSION && has(field)) {
          validator.dimension(f.jsonName, to[field] - from[field]);
        }
      }
      validator.validate(
          hasModel(),
          arrival,
          completed,
          present,
          scheduled,
          firstToken,
          gap,
          inputTokens,
          outputTokens,
          cachedTokens,
          batchSize,
          maxBatchSize,
          nowUs);
      if (has(ERROR_TYPE) && to[ERROR_TYPE] - from[ERROR_TYPE] > validator.maxMessageBytes()) {
        to[ERROR_TYPE] = from[ERROR_TYPE] + validator.maxMessageBytes();
        validator.truncated("errorType");
      }
    }
  }

  /** The values of {@code source} a line may give (index = {@link Scan#source}). */
  static final String[] SOURCES = {"jsonl", "replay", "simulated"};

  /**
   * The scanner: the event when the line is an object whose values are ASCII strings without
   * escapes or integers and which the rules accept; null for anything else (Jackson then parses the
   * line and gives the same result or the reject).
   */
  RequestEvent parseCommon(byte[] b, int off, int len) {
    Scan s = SCANS.get();
    try {
      return scan(b, off, len, s) ? toEvent(s) : null;
    } finally {
      s.line = null; // do not keep the caller's buffer reachable
    }
  }

  /** A scan per thread for {@link #parseCommon} (ingest brings its own). */
  private static final ThreadLocal<Scan> SCANS = ThreadLocal.withInitial(Scan::new);

  /** The event of a scanned line. */
  RequestEvent toEvent(Scan s) {
    RequestEvent e = defaults.newEvent(SOURCES[s.source]);
    for (int field = 0; field <= LAST_STRING; field++) {
      if (!s.has(field) || field == SOURCE || field == STATUS) {
        continue;
      }
      RequestField.of(field).setText(e, s.text(field));
    }
    e.setStatus(s.status);
    e.setArrivalUs(s.arrival);
    e.setCompletedUs(s.completed);
    int p = s.present;
    if ((p & RequestValidator.SCHEDULED) != 0) {
      e.setScheduledUs(s.scheduled);
    }
    if ((p & RequestValidator.FIRST_TOKEN) != 0) {
      e.setFirstTokenUs(s.firstToken);
    }
    if ((p & RequestValidator.GAP) != 0) {
      e.setMaxInterTokenGapUs(s.gap);
    }
    if ((p & RequestValidator.INPUT_TOKENS) != 0) {
      e.setInputTokens(s.inputTokens);
    }
    if ((p & RequestValidator.OUTPUT_TOKENS) != 0) {
      e.setOutputTokens(s.outputTokens);
    }
    if ((p & RequestValidator.CACHED_TOKENS) != 0) {
      e.setCachedTokens(s.cachedTokens);
    }
    if ((p & RequestValidator.BATCH_SIZE) != 0) {
      e.setBatchSize(s.batchSize);
    }
    if ((p & RequestValidator.MAX_BATCH_SIZE) != 0) {
      e.setMaxBatchSize(s.maxBatchSize);
    }
    identify(e);
    return e;
  }

  /**
   * The scanner proper: reads the line into {@code s} (reset first) and returns true when the line
   * has the common shape (see {@link #parseCommon}); false for anything it leaves to Jackson,
   * {@code s} then being garbage. Only the validation rules are left to the caller.
   */
  static boolean scan(byte[] b, int off, int len, Scan s) {
    s.reset(b);
    int end = off + len;
    int i = skipWhitespace(b, off, end);
    if (i >= end || b[i] != '{') {
      return false;
    }
    i = skipWhitespace(b, i + 1, end);
    if (i >= end) {
      return false;
    }
    long queueUs = -1;
    long ttftUs = -1;
    long e2eUs = -1;
    boolean hasQueue = false;
    boolean hasTtft = false;
    boolean hasE2e = false;
    if (b[i] == '}') {
      i++;
    } else {
      while (true) {
        if (b[i] != '"') {
          return false;
        }
        int nameEnd = stringEnd(b, i + 1, end);
        if (nameEnd < 0) {
          return false;
        }
        int field = fieldId(b, i + 1, nameEnd);
        if (field == JACKSON_ONLY) {
          return false;
        }
        i = skipWhitespace(b, nameEnd + 1, end);
        if (i >= end || b[i] != ':') {
          return false;
        }
        i = skipWhitespace(b, i + 1, end);
        if (i >= end) {
          return false;
        }
        byte c = b[i];
        if (c == '"') {
          int valueEnd = stringEnd(b, i + 1, end);
          if (valueEnd < 0 || field > LAST_STRING) {
            return false;
          }
          if (field == SOURCE) {
            int k = source(b, i + 1, valueEnd);
            if (k < 0) {
              return false;
            }
            s.source = k;
          } else if (field == STATUS) {
            try {
              s.status =
                  status(new String(b, i + 1, valueEnd - i - 1, StandardCharsets.ISO_8859_1));
            } catch (InvalidEventException ex) {
              return false;
            }
          } else if (field != UNKNOWN) {
            s.from[field] = i + 1;
            s.to[field] = valueEnd;
            s.strings |= 1 << field;
            s.textBytes += valueEnd - i - 1;
          }
          i = valueEnd + 1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
          boolean negative = c == '-';
          int d = negative ? i + 1 : i;
          int digitsEnd = d;
          while (digitsEnd < end && b[digitsEnd] >= '0' && b[digitsEnd] <= '9') {
            digitsEnd++;
          }
          int digits = digitsEnd - d;
          // none, more than fit a long safely, or a leading zero (invalid JSON): Jackson's
          if (digits == 0 || digits > 18 || (digits > 1 && b[d] == '0')) {
            return false;
          }
          if (digitsEnd < end
              && (b[digitsEnd] == '.' || b[digitsEnd] == 'e' || b[digitsEnd] == 'E')) {
            return false; // a float
          }
          long v = 0;
          for (int k = d; k < digitsEnd; k++) {
            v = v * 10 + (b[k] - '0');
          }
          if (negative) {
            v = -v;
          }
          if (field != UNKNOWN && field <= LAST_STRING) {
            return false; // a string field with a number: rejected by Jackson's path
          }
          if (field != UNKNOWN) {
            RequestField f = RequestField.of(field);
            switch (f.kind) {
              case TIMESTAMP, MICROS -> {
                switch (f) {
                  case ARRIVAL -> s.arrival = v;
                  case SCHEDULED -> s.scheduled = v;
                  case FIRST_TOKEN -> s.firstToken = v;
                  case COMPLETED -> s.completed = v;
                  case MAX_GAP -> s.gap = v;
                  default -> {
                    return false;
                  }
                }
                s.present |= f.presentBit;
              }
              case DURATION -> {
                if (v < 0) {
                  return false;
                }
                switch (f) {
                  case QUEUE -> {
                    queueUs = v;
                    hasQueue = true;
                  }
                  case TTFT -> {
                    ttftUs = v;
                    hasTtft = true;
                  }
                  case E2E -> {
                    e2eUs = v;
                    hasE2e = true;
                  }
                  default -> {
                    return false;
                  }
                }
              }
              case COUNT -> {
                if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                  return false;
                }
                int n = (int) v;
                switch (f) {
                  case INPUT_TOKENS -> s.inputTokens = n;
                  case OUTPUT_TOKENS -> s.outputTokens = n;
                  case CACHED_TOKENS -> s.cachedTokens = n;
                  case BATCH_SIZE -> s.batchSize = n;
                  case MAX_BATCH_SIZE -> s.maxBatchSize = n;
                  default -> {
                    return false;
                  }
                }
                s.present |= f.presentBit;
              }
              default -> {
                return false;
              }
            }
          }
          i = digitsEnd;
        } else {
          return false; // true, false, null, an object or an array: Jackson's
        }
        i = skipWhitespace(b, i, end);
        if (i >= end) {
          return false;
        }
        if (b[i] == ',') {
          i = skipWhitespace(b, i + 1, end);
          if (i >= end) {
            return false;
          }
          continue;
        }
        if (b[i] == '}') {
          i++;
          break;
        }
        return false;
      }
    }
    if (skipWhitespace(b, i, end) != end) {
      return false;
    }
    // as finish() does for an event: durations into timestamps (a timestamp wins), the default
    // status
    long arrival = s.arrival;
    if (arrival > 0) {
      if ((s.present & RequestValidator.SCHEDULED) == 0 && hasQueue) {
        s.scheduled = arrival + queueUs;
        s.present |= RequestValidator.SCHEDULED;
      }
      if ((s.present & RequestValidator.FIRST_TOKEN) == 0 && hasTtft) {
        s.firstToken = arrival + ttftUs;
        s.present |= RequestValidator.FIRST_TOKEN;
      }
      if (s.completed == 0 && hasE2e) {
        s.completed = arrival + e2eUs;
      }
    }
    if (s.status == null) {
      s.status = s.has(ERROR_TYPE) ? RequestStatus.ERROR : RequestStatus.OK;
    }
    return true;
  }

  /**
   * Index into {@link #SOURCES} of the ASCII value in [from, to), or -1 for another value
   * (Jackson's reject).
   */
  private static int source(byte[] b, int from, int to) {
    for (int k = 0; k < SOURCES.length; k++) {
      String name = SOURCES[k];
      if (name.length() == to - from) {
        int j = 0;
        while (j < name.length() && name.charAt(j) == b[from + j]) {
          j++;
        }
        if (j == name.length()) {
          return k;
        }
      }
    }
    return -1;
  }

  /**
   * Index of the first byte of [from, to) that starts an invalid UTF-8 sequence (RFC 3629: no
   * overlong forms, no surrogates, nothing above U+10FFFF), or -1 when all of it is valid.
   */
  public static int invalidUtf8(byte[] b, int from, int to) {
    int i = from;
    while (i < to) {
      int c = b[i] & 0xff;
      if (c < 0x80) {
        i++;
        continue;
      }
      int n;
      int lo = 0x80;
      int hi = 0xbf;
      if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
      } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        if (c == 0xe0) {
          lo = 0xa0; // no overlong 3-byte form
        } else if (c == 0xed) {
          hi = 0x9f; // no surrogates
        }
      } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        if (c == 0xf0) {
          lo = 0x90;
        } else if (c == 0xf4) {
          hi = 0x8f;
        }
      } else {
        return i;
      }
      if (i + n >= to) {
        return i;
      }
      int second = b[i + 1] & 0xff;
      if (second < lo || second > hi) {
        return i;
      }
      for (int k = 2; k <= n; k++) {
        int cont = b[i + k] & 0xff;
        if (cont < 0x80 || cont > 0xbf) {
          return i;
        }
      }
      i += n + 1;
    }
    return -1;
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private static String text(JsonParser p, String name) throws IOException, InvalidEventException {
    if (p.currentToken() != JsonToken.VALUE_STRING) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, name + " must be a string");
    }
    return p.getText();
  }

  private static long number(JsonParser p, String name) throws IOException, InvalidEventException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_NUMBER_INT) {
      return p.getLongValue();
    }
    if (t == JsonToken.VALUE_NUMBER_FLOAT) {
      double d = p.getDoubleValue();
      if (!Double.isFinite(d) || Math.abs(d) > 9.0e18) {
        throw new InvalidEventException(
            RejectReason.INVALID_VALUE, name + " is not a finite number: " + d);
      }
      return Math.round(d);
    }
    throw new InvalidEventException(
        RejectReason.INVALID_VALUE, name + " must be a number (microseconds)");
  }

  private static long duration(JsonParser p, String name)
      throws IOException, InvalidEventException {
    long d = number(p, name);
    if (d < 0) {
      throw new InvalidEventException(RejectReason.NEGATIVE_DURATION, name + " is negative: " + d);
    }
    return d;
  }

  private static int integer(JsonParser p, String name) throws IOException, InvalidEventException {
    if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, name + " must be an integer");
    }
    long v = p.getLongValue();
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, name + " is out of range: " + v);
    }
    return (int) v;
  }

  private static void attributes(JsonParser p, RequestEvent e)
      throws IOException, InvalidEventException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw new InvalidEventException(
          RejectReason.INVALID_VALUE, "attributes must be an object of strings");
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String key = p.currentName();
      JsonToken v = p.nextToken();
      if (!v.isScalarValue()) {
        throw new InvalidEventException(
            RejectReason.INVALID_VALUE, "attribute '" + key + "' must be a scalar");
      }
      if (v != JsonToken.VALUE_NULL) {
        e.getAttributes().put(key, p.getText());
      }
    }
  }

  /**
   * A line may label itself as replayed or simulated data (which must stay labelled so downstream).
   */
  static String source(String s) throws InvalidEventException {
    return switch (s) {
      case "jsonl", "replay", "simulated" -> s;
      default ->
          throw new InvalidEventException(
              RejectReason.INVALID_VALUE,
              "source must be jsonl, replay or simulated; got '" + s + "'");
    };
  }

  static RequestStatus status(String s) throws InvalidEventException {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "ok", "success" -> RequestStatus.OK;
      case "error" -> RequestStatus.ERROR;
      case "timeout" -> RequestStatus.TIMEOUT;
      case "cancelled", "canceled" -> RequestStatus.CANCELLED;
      case "unknown" -> RequestStatus.UNKNOWN;
      default ->
          throw new InvalidEventException(
              RejectReason.INVALID_VALUE,
              "status must be one of ok, error, timeout, cancelled, unknown; got '" + s + "'");
    };
  }
}
