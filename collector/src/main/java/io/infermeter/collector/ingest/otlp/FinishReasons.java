package io.infermeter.collector.ingest.otlp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads {@code gen_ai.response.finish_reasons}: a string array in the GenAI semantic conventions, a
 * JSON string list ({@code json.dumps([...])}, e.g. {@code "[\"stop\"]"}) in vLLM V1's {@code
 * do_tracing}, or one plain string. Values are lower-cased; at most {@link #MAX_REASONS} of at most
 * {@link #MAX_CHARS} characters each. Stateless, thread-safe.
 */
final class FinishReasons {

  /** vLLM's FinishReason.ABORT: the client went away or the request was aborted. */
  static final String ABORT = "abort";

  /** vLLM's FinishReason.ERROR (newer releases). */
  static final String ERROR = "error";

  /** Generation stopped at max_tokens / the context length. */
  static final String LENGTH = "length";

  static final int MAX_REASONS = 16;
  static final int MAX_CHARS = 32;
  private static final ObjectMapper JSON = new ObjectMapper();

  private FinishReasons() {}

  static List<String> parse(KeyValue kv) throws InvalidEventException {
    AnyValue v = kv.getValue();
    List<String> out = new ArrayList<>(1);
    switch (v.getValueCase()) {
      case ARRAY_VALUE -> {
        for (AnyValue item : v.getArrayValue().getValuesList()) {
          if (item.getValueCase() != AnyValue.ValueCase.STRING_VALUE) {
            throw invalid(kv, "holds a " + item.getValueCase() + ", not a string");
          }
          add(kv, out, item.getStringValue());
        }
      }
      case STRING_VALUE -> {
        String s = v.getStringValue().strip();
        if (s.startsWith("[")) {
          if (s.length() > MAX_REASONS * (MAX_CHARS + 4) + 2) {
            throw invalid(kv, "is too long (" + s.length() + " characters)");
          }
          JsonNode node;
          try {
            node = JSON.readTree(s);
          } catch (IOException e) {
            throw invalid(kv, "is not a JSON list of strings: '" + s + "'");
          }
          if (node == null || !node.isArray()) {
            throw invalid(kv, "is not a JSON list of strings: '" + s + "'");
          }
          for (JsonNode item : node) {
            if (!item.isTextual()) {
              throw invalid(kv, "holds " + item + ", not a string");
            }
            add(kv, out, item.asText());
          }
        } else if (!s.isEmpty()) {
          add(kv, out, s);
        }
      }
      default -> throw invalid(kv, "must be a string list, got " + v.getValueCase());
    }
    return out;
  }

  private static void add(KeyValue kv, List<String> out, String reason)
      throws InvalidEventException {
    if (out.size() == MAX_REASONS) {
      throw invalid(kv, "has more than " + MAX_REASONS + " entries");
    }
    if (reason.length() > MAX_CHARS) {
      throw invalid(kv, "holds a reason of " + reason.length() + " characters");
    }
    out.add(reason.toLowerCase(Locale.ROOT));
  }

  private static InvalidEventException invalid(KeyValue kv, String what) {
    String msg = kv.getKey() + " " + what;
    return new InvalidEventException(
        RejectReason.INVALID_VALUE, msg.length() > 300 ? msg.substring(0, 300) : msg);
  }
}
