package io.infermeter.collector.delivery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.config.PromptFields;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Removes what may be prompt or completion text from a collector dead letter before it is stored
 * (docs/SECURITY.md, "Collector input validation and strings"). A rejected item's payload keeps
 * every attribute or field except those whose name {@link #isSensitive matches} the content
 * patterns of the GenAI semantic conventions and of OpenInference: {@code gen_ai.prompt*}, {@code
 * gen_ai.completion*}, {@code gen_ai.input.messages}, {@code gen_ai.output.messages}, {@code
 * gen_ai.system_instructions}, {@code gen_ai.tool.call.arguments} and {@code .result}, {@code
 * llm.prompts*}, {@code llm.input_messages*}, {@code llm.output_messages*}, {@code input.value},
 * {@code output.value}, any name ending in {@code .content}, and the bare names prompt(s),
 * completion(s), messages, content. By payload: an OTLP span (protobuf) loses such span and
 * span-event attributes; a JSON line loses such fields at any depth; a Java-API event (Avro) loses
 * such attributes. A payload that cannot be parsed (a malformed body) is kept only when none of the
 * patterns' words occurs in it, and is withheld otherwise. The message says what was removed. A
 * payload still longer than {@value #MAX_PAYLOAD} bytes is then cut to that (a dead letter must
 * stay far below Kafka's record size limit). Stateless and thread-safe.
 */
public final class DeadLetterRedactor {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Words whose presence in an unparsable payload withholds it. */
  private static final List<byte[]> MARKERS =
      List.of(
              "prompt",
              "completion",
              "messages",
              "content",
              "input.value",
              "output.value",
              "system_instructions",
              "tool.call")
          .stream()
          .map(s -> s.getBytes(StandardCharsets.US_ASCII))
          .toList();

  /** Longest payload a collector dead letter keeps, bytes. */
  static final int MAX_PAYLOAD = 64 * 1024;

  private DeadLetterRedactor() {}

  /** Whether an attribute or field of this name may hold prompt or completion text. */
  static boolean isSensitive(String name) {
    return PromptFields.isSensitive(name);
  }

  /** The dead letter with its payload redacted and cut (the same object, changed in place). */
  public static DeadLetter redact(DeadLetter d) {
    redactContent(d);
    ByteBuffer payload = d.getPayload();
    if (payload != null && payload.remaining() > MAX_PAYLOAD && "collector".equals(d.getStage())) {
      byte[] cut = new byte[MAX_PAYLOAD];
      payload.duplicate().get(cut);
      d.setPayload(ByteBuffer.wrap(cut));
      d.setMessage(
          d.getMessage()
              + " (payload cut to the first "
              + MAX_PAYLOAD
              + " of "
              + payload.remaining()
              + " bytes)");
    }
    return d;
  }

  private static void redactContent(DeadLetter d) {
    ByteBuffer payload = d.getPayload();
    if (payload == null || !"collector".equals(d.getStage())) {
      return;
    }
    byte[] raw = new byte[payload.remaining()];
    payload.duplicate().get(raw);
    String message = d.getMessage();
    byte[] clean = null;
    int removed = 0;
    try {
      if (message.startsWith("/v1/traces span ")) {
        Span span = Span.parseFrom(raw);
        Span.Builder b = span.toBuilder().clearAttributes();
        removed += keep(span.getAttributesList(), b::addAttributes);
        for (int i = 0; i < b.getEventsCount(); i++) {
          Span.Event e = b.getEvents(i);
          Span.Event.Builder eb = e.toBuilder().clearAttributes();
          removed += keep(e.getAttributesList(), eb::addAttributes);
          b.setEvents(i, eb);
        }
        clean = b.build().toByteArray();
      } else if (message.startsWith("/v1/requests ")) {
        JsonNode root = JSON.readTree(raw);
        if (root != null && root.isObject()) {
          removed += strip(root);
          clean = JSON.writeValueAsBytes(root);
        }
      } else if (message.startsWith("java-api")) {
        RequestEvent e = (RequestEvent) AvroBinary.decode(AvroBinary.REQUEST, raw);
        Map<String, String> attrs = new HashMap<>(e.getAttributes());
        int before = attrs.size();
        attrs.keySet().removeIf(DeadLetterRedactor::isSensitive);
        removed += before - attrs.size();
        e.setAttributes(attrs);
        clean = AvroBinary.encode(e);
      }
    } catch (IOException | RuntimeException e) {
      clean = null; // not what its message says (cut, malformed): judged by its words below
    }
    if (clean == null) {
      if (containsMarker(raw)) {
        d.setPayload(null);
        d.setMessage(message + " (payload withheld: it may hold prompt or completion text)");
      }
      return;
    }
    if (removed > 0) {
      d.setPayload(ByteBuffer.wrap(clean));
      d.setMessage(
          message
              + " ("
              + removed
              + " attribute(s) that may hold prompt or completion text removed from "
              + "the payload)");
    }
  }

  private static int keep(List<KeyValue> attrs, java.util.function.Consumer<KeyValue> add) {
    int removed = 0;
    for (KeyValue kv : attrs) {
      if (isSensitive(kv.getKey())) {
        removed++;
      } else {
        add.accept(kv);
      }
    }
    return removed;
  }

  private static int strip(JsonNode node) {
    int removed = 0;
    if (node instanceof ObjectNode obj) {
      for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        if (isSensitive(f.getKey())) {
          it.remove();
          removed++;
        } else {
          removed += strip(f.getValue());
        }
      }
    } else if (node != null && node.isArray()) {
      for (JsonNode child : node) {
        removed += strip(child);
      }
    }
    return removed;
  }

  static boolean containsMarker(byte[] raw) {
    for (byte[] m : MARKERS) {
      outer:
      for (int i = 0; i + m.length <= raw.length; i++) {
        for (int j = 0; j < m.length; j++) {
          int c = raw[i + j];
          if (c >= 'A' && c <= 'Z') {
            c += 32;
          }
          if (c != m[j]) {
            continue outer;
          }
        }
        return true;
      }
    }
    return false;
  }
}
