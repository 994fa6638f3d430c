package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.DeadLetter;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the sink stores of a dead letter's payload. The OTLP/JSON fixture is
 * open-telemetry/opentelemetry-proto's examples/trace.json with GenAI attributes of the
 * OpenTelemetry semantic conventions (gen_ai.input.messages, gen_ai.output.messages, and the older
 * gen_ai.prompt / gen_ai.completion names) added to its span.
 */
class DeadLetterPayloadsTest {

  private static DeadLetter letter(byte[] payload) {
    return DeadLetter.newBuilder()
        .setStage("collector")
        .setReason("invalid")
        .setMessage("/v1/traces rejected")
        .setPayload(payload == null ? null : ByteBuffer.wrap(payload))
        .setDetectedUs(1L)
        .build();
  }

  private static String payload(DeadLetter d) {
    ByteBuffer b = d.getPayload().duplicate();
    byte[] bytes = new byte[b.remaining()];
    b.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static byte[] otlpJson() throws Exception {
    try (InputStream in =
        DeadLetterPayloadsTest.class.getResourceAsStream("/otlp/trace-with-genai-content.json")) {
      return in.readAllBytes();
    }
  }

  @Test
  void anOtlpJsonBodyLosesPromptAndCompletionAttributesAndKeepsTheRest() throws Exception {
    DeadLetter d = new DeadLetterPayloads(1 << 20).scrub(letter(otlpJson()));

    assertThat(payload(d))
        .doesNotContain("SECRET-PROMPT")
        .doesNotContain("SECRET-COMPLETION")
        .contains("gen_ai.request.model")
        .contains("llama-3-70b")
        .contains("service.name")
        .contains("gen_ai.content.prompt"); // an event's name is not content; its attributes are
    assertThat(d.getMessage())
        .contains("5 field(s) that may hold prompt or completion text removed");
  }

  @Test
  void aJsonLineLosesSensitiveFieldsAtAnyDepth() {
    String line =
        "{\"model\":\"m\",\"prompt\":\"SECRET\",\"attributes\":{\"gen_ai.completion\":\"SECRET\","
            + "\"ok\":1,\"nested\":{\"messages\":[\"SECRET\"]}}}";
    DeadLetter d =
        new DeadLetterPayloads(1 << 20).scrub(letter(line.getBytes(StandardCharsets.UTF_8)));

    assertThat(payload(d))
        .doesNotContain("SECRET")
        .contains("\"model\":\"m\"")
        .contains("\"ok\":1");
  }

  @Test
  void payloadsAreCutToTheLimit() {
    byte[] big = new byte[10_000];
    DeadLetter d = new DeadLetterPayloads(100).scrub(letter(big));

    assertThat(d.getPayload().remaining()).isEqualTo(100);
    assertThat(d.getMessage()).contains("payload cut to 100 of 10000 bytes");
  }

  @Test
  void smallBinaryPayloadsAndNullAreLeftAlone() {
    byte[] avro = {0, 0, 0, 0, 1, 2, 3};
    DeadLetter d = new DeadLetterPayloads(100).scrub(letter(avro));
    assertThat(d.getPayload().remaining()).isEqualTo(avro.length);
    assertThat(d.getMessage()).isEqualTo("/v1/traces rejected");
    assertThat(new DeadLetterPayloads(100).scrub(letter(null)).getPayload()).isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"{\"prompt\": \"SECRET", "[{\"key\":", "{{{{", "[]", "{}"})
  void brokenOrEmptyJsonIsStoredWithinTheLimitWithoutFailing(String text) {
    DeadLetter d = new DeadLetterPayloads(8).scrub(letter(text.getBytes(StandardCharsets.UTF_8)));
    assertThat(d.getPayload().remaining()).isLessThanOrEqualTo(8);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "gen_ai.prompt",
        "gen_ai.prompt.0.content",
        "GEN_AI.COMPLETION.1.role",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "llm.input_messages.0.message.content",
        "input.value",
        "message.content",
        "prompt",
        "Messages"
      })
  void sensitiveNames(String name) {
    assertThat(DeadLetterPayloads.isSensitive(name)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "gen_ai.request.model",
        "gen_ai.usage.output_tokens",
        "model",
        "content_type",
        "service.name",
        "gen_ai.operation.name"
      })
  void ordinaryNames(String name) {
    assertThat(DeadLetterPayloads.isSensitive(name)).isFalse();
  }

  @Test
  void negativeLimitIsRefused() {
    assertThatThrownBy(() -> new DeadLetterPayloads(-1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
