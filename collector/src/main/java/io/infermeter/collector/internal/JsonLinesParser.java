package io.infermeter.collector.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.internal.CollectorMetrics.RejectReason;
import java.io.IOException;
import java.util.Locale;

/**
 * Parses one JSON object per line into a {@link RequestEvent} (field reference: docs/COLLECTOR.md, "JSON lines").
 * Streaming (Jackson {@link JsonParser}), one parser per line so that a malformed line is rejected alone and the rest
 * of the batch is kept. Timestamps are epoch microseconds; instead of scheduledUs / firstTokenUs / completedUs a line
 * may give durations from arrival (queueUs, ttftUs, e2eUs); a timestamp wins over a duration. Unknown fields are
 * ignored (forward compatibility). Thread-safe (the factory is shared, parsers are per call).
 */
public final class JsonLinesParser {

  private static final JsonFactory FACTORY = new JsonFactory();

  private final EventDefaults defaults;

  public JsonLinesParser(EventDefaults defaults) {
    this.defaults = defaults;
  }

  /** Parses {@code len} bytes at {@code off} of {@code buf} (one line, without the newline). */
  public RequestEvent parse(byte[] buf, int off, int len) throws InvalidEventException {
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
        switch (name) {
          case "requestId" -> e.setRequestId(text(p, name));
          case "source" -> e.setSource(source(text(p, name)));
          case "model" -> e.setModel(text(p, name));
          case "modelVersion" -> e.setModelVersion(text(p, name));
          case "engine" -> e.setEngine(text(p, name));
          case "operation" -> e.setOperation(text(p, name));
          case "status" -> {
            e.setStatus(status(text(p, name)));
            hasStatus = true;
          }
          case "errorType" -> e.setErrorType(text(p, name));
          case "host" -> e.setHost(text(p, name));
          case "cluster" -> e.setCluster(text(p, name));
          case "region" -> e.setRegion(text(p, name));
          case "deviceId" -> e.setDeviceId(text(p, name));
          case "gpuType" -> e.setGpuType(text(p, name));
          case "sloClass" -> e.setSloClass(text(p, name));
          case "arrivalUs" -> e.setArrivalUs(number(p, name));
          case "scheduledUs" -> e.setScheduledUs(number(p, name));
          case "firstTokenUs" -> e.setFirstTokenUs(number(p, name));
          case "completedUs" -> e.setCompletedUs(number(p, name));
          case "queueUs" -> {
            queueUs = duration(p, name);
            hasQueue = true;
          }
          case "ttftUs" -> {
            ttftUs = duration(p, name);
            hasTtft = true;
          }
          case "e2eUs" -> {
            e2eUs = duration(p, name);
            hasE2e = true;
          }
          case "maxInterTokenGapUs" -> e.setMaxInterTokenGapUs(number(p, name));
          case "inputTokens" -> e.setInputTokens(integer(p, name));
          case "outputTokens" -> e.setOutputTokens(integer(p, name));
          case "cachedTokens" -> e.setCachedTokens(integer(p, name));
          case "batchSize" -> e.setBatchSize(integer(p, name));
          case "maxBatchSize" -> e.setMaxBatchSize(integer(p, name));
          case "coldStart" -> {
            if (!v.isBoolean()) {
              throw new InvalidEventException(RejectReason.INVALID_VALUE, "coldStart must be true or false");
            }
            e.setColdStart(p.getBooleanValue());
          }
          case "attributes" -> attributes(p, e);
          default -> p.skipChildren();
        }
      }
      if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw new InvalidEventException(RejectReason.MALFORMED, "expected exactly one JSON object on the line");
      }
    } catch (IOException ex) {
      throw new InvalidEventException(RejectReason.MALFORMED, "malformed JSON: " + firstLine(ex.getMessage()));
    }
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
    return e;
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
        throw new InvalidEventException(RejectReason.INVALID_VALUE, name + " is not a finite number: " + d);
      }
      return Math.round(d);
    }
    throw new InvalidEventException(RejectReason.INVALID_VALUE, name + " must be a number (microseconds)");
  }

  private static long duration(JsonParser p, String name) throws IOException, InvalidEventException {
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

  private static void attributes(JsonParser p, RequestEvent e) throws IOException, InvalidEventException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw new InvalidEventException(RejectReason.INVALID_VALUE, "attributes must be an object of strings");
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String key = p.currentName();
      JsonToken v = p.nextToken();
      if (!v.isScalarValue()) {
        throw new InvalidEventException(RejectReason.INVALID_VALUE, "attribute '" + key + "' must be a scalar");
      }
      if (v != JsonToken.VALUE_NULL) {
        e.getAttributes().put(key, p.getText());
      }
    }
  }

  /** A line may label itself as replayed or simulated data (which must stay labelled so downstream). */
  static String source(String s) throws InvalidEventException {
    return switch (s) {
      case "jsonl", "replay", "simulated" -> s;
      default -> throw new InvalidEventException(RejectReason.INVALID_VALUE,
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
      default -> throw new InvalidEventException(RejectReason.INVALID_VALUE,
          "status must be one of ok, error, timeout, cancelled, unknown; got '" + s + "'");
    };
  }
}
