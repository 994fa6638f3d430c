package io.infermeter.demo;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.infermeter.avro.RequestEvent;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Locale;

/**
 * Writes a {@link RequestEvent} as one line of the collector's JSON-lines format (field names as in
 * the Avro schema, documented in docs/COLLECTOR.md). Absent fields are left out. Thread-safe.
 */
public final class RequestJson {

  private static final JsonFactory FACTORY = new JsonFactory();

  private RequestJson() {}

  public static String line(RequestEvent e) {
    StringWriter out = new StringWriter(512);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("source", e.getSource());
      string(g, "requestId", e.getRequestId());
      g.writeStringField("cluster", e.getCluster());
      g.writeStringField("region", e.getRegion());
      g.writeStringField("host", e.getHost());
      string(g, "deviceId", e.getDeviceId());
      string(g, "gpuType", e.getGpuType());
      g.writeStringField("model", e.getModel());
      string(g, "modelVersion", e.getModelVersion());
      string(g, "engine", e.getEngine());
      string(g, "operation", e.getOperation());
      g.writeStringField("status", e.getStatus().name().toLowerCase(Locale.ROOT));
      string(g, "errorType", e.getErrorType());
      g.writeNumberField("arrivalUs", e.getArrivalUs());
      number(g, "scheduledUs", e.getScheduledUs());
      number(g, "firstTokenUs", e.getFirstTokenUs());
      g.writeNumberField("completedUs", e.getCompletedUs());
      number(g, "inputTokens", e.getInputTokens());
      number(g, "outputTokens", e.getOutputTokens());
      number(g, "cachedTokens", e.getCachedTokens());
      number(g, "batchSize", e.getBatchSize());
      number(g, "maxBatchSize", e.getMaxBatchSize());
      g.writeBooleanField("coldStart", e.getColdStart());
      string(g, "sloClass", e.getSloClass());
      g.writeEndObject();
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
    return out.toString();
  }

  private static void string(JsonGenerator g, String name, String value) throws IOException {
    if (value != null) {
      g.writeStringField(name, value);
    }
  }

  private static void number(JsonGenerator g, String name, Number value) throws IOException {
    if (value != null) {
      g.writeNumberField(name, value.longValue());
    }
  }
}
