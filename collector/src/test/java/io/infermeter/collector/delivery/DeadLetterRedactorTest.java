package io.infermeter.collector.delivery;

import static io.infermeter.collector.ingest.otlp.OtlpFixtures.str;
import static io.infermeter.collector.ingest.otlp.OtlpFixtures.vllmSpan;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.ingest.JsonLinesParserTest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Dead letters of the collector never keep prompt or completion text. */
class DeadLetterRedactorTest {

  private static DeadLetter letter(String message, byte[] payload) {
    DeadLetter d = new DeadLetter();
    d.setStage("collector");
    d.setReason("validation");
    d.setMessage(message);
    d.setDetectedUs(1);
    d.setPayload(ByteBuffer.wrap(payload));
    return d;
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "gen_ai.prompt",
        "gen_ai.prompt.0.content",
        "gen_ai.completion.0.content",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "llm.prompts",
        "llm.input_messages.0.message.content",
        "input.value",
        "output.value",
        "message.content",
        "prompt",
        "Messages",
        "CONTENT"
      })
  void contentAttributeNamesAreSensitive(String name) {
    assertThat(DeadLetterRedactor.isSensitive(name)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "gen_ai.request.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.operation.name",
        "service.name",
        "error.type",
        "content_type",
        "gen_ai.response.finish_reasons"
      })
  void otherNamesAreKept(String name) {
    assertThat(DeadLetterRedactor.isSensitive(name)).isFalse();
  }

  /**
   * A rejected vLLM span carrying the legacy prompt attributes and a GenAI content event (semantic
   * conventions).
   */
  @Test
  void aRejectedSpanLosesItsContentAttributesAndKeepsTheRest() throws Exception {
    Span span =
        vllmSpan(1, "r-1")
            .addAttributes(str("gen_ai.prompt", "SECRET prompt"))
            .addAttributes(str("gen_ai.completion", "SECRET answer"))
            .addEvents(
                Span.Event.newBuilder()
                    .setName("gen_ai.client.inference.operation.details")
                    .addAttributes(
                        str(
                            "gen_ai.input.messages",
                            "[{\"role\":\"user\",\"parts\":[\"SECRET\"]}]"))
                    .addAttributes(str("gen_ai.response.id", "chatcmpl-1")))
            .build();
    DeadLetter d =
        DeadLetterRedactor.redact(
            letter("/v1/traces span 00 (llm_request): missing_field: x", span.toByteArray()));
    Span kept = Span.parseFrom(bytes(d.getPayload()));
    assertThat(new String(bytes(d.getPayload()), StandardCharsets.UTF_8)).doesNotContain("SECRET");
    assertThat(kept.getAttributesList())
        .extracting(KeyValue::getKey)
        .contains("gen_ai.request.id", "gen_ai.response.model")
        .doesNotContain("gen_ai.prompt", "gen_ai.completion");
    assertThat(kept.getEvents(0).getAttributesList())
        .extracting(KeyValue::getKey)
        .containsExactly("gen_ai.response.id");
    assertThat(d.getMessage()).contains("3 attribute(s)");
  }

  @Test
  void aRejectedJsonLineLosesContentFieldsAtAnyDepth() {
    String line =
        "{\"arrivalUs\":1,\"prompt\":\"SECRET\",\"attributes\":{\"gen_ai.completion\":\"SECRET\","
            + "\"team\":\"a\"},\"x\":[{\"content\":\"SECRET\"}]}";
    DeadLetter d =
        DeadLetterRedactor.redact(
            letter(
                "/v1/requests line 1: missing_field: model is required",
                line.getBytes(StandardCharsets.UTF_8)));
    String kept = new String(bytes(d.getPayload()), StandardCharsets.UTF_8);
    assertThat(kept)
        .doesNotContain("SECRET")
        .contains("\"team\":\"a\"")
        .contains("\"arrivalUs\":1");
  }

  @Test
  void aRejectedJavaApiEventLosesContentAttributes() throws Exception {
    RequestEvent e = JsonLinesParserTest.DEFAULTS.newEvent("java-api");
    e.setModel("m");
    e.getAttributes().put("gen_ai.input.messages", "SECRET");
    e.getAttributes().put("team", "a");
    DeadLetter d =
        DeadLetterRedactor.redact(letter("java-api: invalid_value: x", AvroBinary.encode(e)));
    RequestEvent kept = (RequestEvent) AvroBinary.decode(AvroBinary.REQUEST, bytes(d.getPayload()));
    assertThat(kept.getAttributes()).containsOnlyKeys("team");
  }

  @Test
  void anUnparsablePayloadIsWithheldWhenItMayHoldContentAndKeptOtherwise() {
    DeadLetter cut =
        DeadLetterRedactor.redact(
            letter(
                "/v1/requests line 3: malformed: x",
                "{\"model\":\"m\",\"attributes\":{\"gen_ai.Prompt\":\"SECRET"
                    .getBytes(StandardCharsets.UTF_8)));
    assertThat(cut.getPayload()).isNull();
    assertThat(cut.getMessage()).contains("payload withheld");
    byte[] harmless = "{\"model\":\"m\",".getBytes(StandardCharsets.UTF_8);
    DeadLetter kept =
        DeadLetterRedactor.redact(letter("/v1/requests line 4: malformed: x", harmless));
    assertThat(bytes(kept.getPayload())).isEqualTo(harmless);
    DeadLetter body =
        DeadLetterRedactor.redact(
            letter(
                "/v1/traces malformed: x",
                "\u0000\u0001gen_ai.input.messages\u0002".getBytes(StandardCharsets.UTF_8)));
    assertThat(body.getPayload()).isNull();
  }

  /**
   * A Java-API event with a 1 MB model: its dead letter is cut to 64 KiB after the prompts are
   * removed.
   */
  @Test
  void payloadsAreCutAfterRedaction() throws Exception {
    RequestEvent e = JsonLinesParserTest.DEFAULTS.newEvent("java-api");
    e.setModel("m".repeat(1_000_000));
    e.getAttributes().put("gen_ai.prompt", "SECRET");
    DeadLetter d =
        DeadLetterRedactor.redact(
            letter("java-api: too_long: model is 1000000 bytes", AvroBinary.encode(e)));
    assertThat(d.getPayload().remaining()).isEqualTo(DeadLetterRedactor.MAX_PAYLOAD);
    assertThat(new String(bytes(d.getPayload()), StandardCharsets.ISO_8859_1))
        .doesNotContain("SECRET");
    assertThat(d.getMessage())
        .contains("1 attribute(s)")
        .contains("payload cut to the first 65536 of");
  }

  @Test
  void deadLettersOfOtherStagesAndWithoutContentAreUntouched() {
    byte[] line = "{\"model\":\"m\",\"team\":\"a\"}".getBytes(StandardCharsets.UTF_8);
    DeadLetter d = DeadLetterRedactor.redact(letter("/v1/requests line 1: x", line));
    assertThat(bytes(d.getPayload())).isEqualTo(line);
    assertThat(d.getMessage()).isEqualTo("/v1/requests line 1: x");
    DeadLetter other = letter("anything", "prompt".getBytes(StandardCharsets.UTF_8));
    other.setStage("streams");
    assertThat(DeadLetterRedactor.redact(other).getPayload()).isNotNull();
  }
}
