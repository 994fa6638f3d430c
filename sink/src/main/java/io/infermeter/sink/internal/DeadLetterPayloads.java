package io.infermeter.sink.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermeter.avro.DeadLetter;
import io.infermeter.schemas.config.PromptFields;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.Map;

/**
 * What the sink stores of a dead letter's payload in {@code dead_letters} (defence in depth: the
 * collector already removes prompt and completion text from its own dead letters before they reach
 * Kafka).
 *
 * <ul>
 *   <li>A payload that is JSON (a JSON line, an OTLP/JSON body) loses, at any depth, every object
 *       field whose name may hold prompt or completion text ({@link #isSensitive}: {@code
 *       gen_ai.prompt*}, {@code gen_ai.completion*}, {@code gen_ai.input.messages}, {@code
 *       gen_ai.output.messages}, {@code gen_ai.system_instructions}, {@code
 *       gen_ai.tool.call.arguments} / {@code .result}, {@code llm.prompts*}, {@code
 *       llm.input_messages*}, {@code llm.output_messages*}, {@code input.value}, {@code
 *       output.value}, names ending in {@code .content}, and the bare names prompt(s),
 *       completion(s), messages, content), and every OTLP attribute ({@code {"key": ..., "value":
 *       ...}}) whose key matches.
 *   <li>Then the payload is cut to {@code maxPayloadBytes} ({@code dead.letter.max.payload.bytes},
 *       64 KiB by default); the message says what was removed or cut.
 * </ul>
 *
 * <p>Stateless apart from its limit; thread-safe.
 */
final class DeadLetterPayloads {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final int maxPayloadBytes;

  DeadLetterPayloads(int maxPayloadBytes) {
    if (maxPayloadBytes < 0) {
      throw new IllegalArgumentException("maxPayloadBytes must be >= 0: " + maxPayloadBytes);
    }
    this.maxPayloadBytes = maxPayloadBytes;
  }

  /** Whether a field or attribute of this name may hold prompt or completion text. */
  static boolean isSensitive(String name) {
    return PromptFields.isSensitive(name);
  }

  /**
   * {@code letter} as it may be stored: sensitive JSON fields removed, payload cut. Changes it in
   * place.
   */
  DeadLetter scrub(DeadLetter letter) {
    ByteBuffer payload = letter.getPayload();
    if (payload == null) {
      return letter;
    }
    byte[] raw = new byte[payload.remaining()];
    payload.duplicate().get(raw);
    String note = "";
    if (looksLikeJson(raw)) {
      try {
        JsonNode root = JSON.readTree(raw);
        int removed = root == null ? 0 : strip(root);
        if (removed > 0) {
          raw = JSON.writeValueAsBytes(root);
          note +=
              " ("
                  + removed
                  + " field(s) that may hold prompt or completion text removed by the sink)";
        }
      } catch (IOException e) {
        // not JSON after all, or cut by an earlier stage: stored as it is, within the size limit
      }
    }
    if (raw.length > maxPayloadBytes) {
      note += " (payload cut to " + maxPayloadBytes + " of " + raw.length + " bytes by the sink)";
      raw = java.util.Arrays.copyOf(raw, maxPayloadBytes);
    }
    if (!note.isEmpty()) {
      letter.setPayload(ByteBuffer.wrap(raw));
      letter.setMessage(letter.getMessage() + note);
    }
    return letter;
  }

  private static boolean looksLikeJson(byte[] raw) {
    for (byte b : raw) {
      if (b == ' ' || b == '\n' || b == '\r' || b == '\t') {
        continue;
      }
      return b == '{' || b == '[';
    }
    return false;
  }

  /** Removes sensitive fields and OTLP attributes below {@code node}; returns how many. */
  private static int strip(JsonNode node) {
    int removed = 0;
    if (node instanceof ObjectNode obj) {
      Iterator<Map.Entry<String, JsonNode>> it = obj.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        if (isSensitive(e.getKey())) {
          it.remove();
          removed++;
        } else {
          removed += strip(e.getValue());
        }
      }
    } else if (node instanceof ArrayNode arr) {
      for (int i = arr.size() - 1; i >= 0; i--) {
        JsonNode item = arr.get(i);
        if (item.isObject()
            && item.path("key").isTextual()
            && item.has("value")
            && isSensitive(item.path("key").asText())) {
          arr.remove(i); // an OTLP KeyValue attribute
          removed++;
        } else {
          removed += strip(item);
        }
      }
    }
    return removed;
  }
}
