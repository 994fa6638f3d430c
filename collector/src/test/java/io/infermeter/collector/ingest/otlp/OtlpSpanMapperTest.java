package io.infermeter.collector.ingest.otlp;

import static io.infermeter.collector.ingest.JsonLinesParserTest.DEFAULTS;
import static io.infermeter.collector.ingest.JsonLinesParserTest.NOW_US;
import static io.infermeter.collector.ingest.otlp.OtlpFixtures.dbl;
import static io.infermeter.collector.ingest.otlp.OtlpFixtures.str;
import static io.infermeter.collector.ingest.otlp.OtlpFixtures.vllmSpan;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.ingest.Ids;
import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.ingest.JsonLinesParserTest;
import io.infermeter.collector.ingest.RequestValidator;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OtlpSpanMapperTest {

  static final long START_NS =
      (NOW_US - 30_000_000L) * 1000L + 123; // sub-microsecond part is truncated
  private final OtlpSpanMapper mapper = new OtlpSpanMapper(DEFAULTS);

  private static final class Capture implements OtlpSpanMapper.Sink {
    final List<RequestEvent> accepted = new ArrayList<>();
    final List<InvalidEventException> rejected = new ArrayList<>();

    @Override
    public void accept(RequestEvent event, Span span) {
      accepted.add(event);
    }

    @Override
    public void reject(InvalidEventException reason, String where, Span span) {
      rejected.add(reason);
    }
  }

  static void assertVllmMapping(RequestEvent e, String requestId) {
    long arrival = START_NS / 1000;
    assertThat(e.getSource()).isEqualTo("otlp");
    assertThat(e.getArrivalUs()).isEqualTo(arrival);
    assertThat(e.getScheduledUs()).isEqualTo(arrival + 50_000);
    assertThat(e.getFirstTokenUs()).isEqualTo(arrival + 250_000);
    assertThat(e.getCompletedUs()).isEqualTo(arrival + 1_500_000);
    assertThat(e.getModel()).isEqualTo("meta-llama/Llama-3.1-8B-Instruct");
    assertThat(e.getRequestId()).isEqualTo(requestId);
    assertThat(e.getOperation()).isEqualTo("chat");
    assertThat(e.getInputTokens()).isEqualTo(128);
    assertThat(e.getOutputTokens()).isEqualTo(64);
    assertThat(e.getStatus()).isEqualTo(RequestStatus.OK);
    assertThat(e.getErrorType()).isNull();
    assertThat(e.getEngine()).isEqualTo("vllm");
    // the configured node stays the host (the join with its GPU samples); the resource's host.name
    // is the pod
    assertThat(e.getHost()).isEqualTo("host-a");
    assertThat(e.getRegion()).isEqualTo("us-central1");
    assertThat(e.getCluster()).isEqualTo("prod-a");
    assertThat(e.getGpuType()).isEqualTo("H100");
    assertThat(e.getAttributes())
        .containsEntry("service.name", "vllm")
        .containsEntry("pod", "gpu-node-7")
        .containsEntry("trace.id", OtlpFixtures.TRACE_ID);
  }

  @Test
  void mapsVllmSpanFromProtobuf() throws Exception {
    ExportTraceServiceRequest req = OtlpFixtures.request(vllmSpan(START_NS, "req-1").build());
    ExportTraceServiceRequest decoded = OtlpSpanMapper.parseProtobuf(req.toByteArray());
    Capture c = new Capture();
    assertThat(mapper.map(decoded, c)).isZero();
    assertThat(c.rejected).isEmpty();
    assertThat(c.accepted).hasSize(1);
    assertVllmMapping(c.accepted.get(0), "req-1");
  }

  /**
   * Event ids come from the span's trace and span ids: the same export decoded twice (an exporter's
   * retry) gives the same ids, another span another id; a span without ids falls back to its
   * request id, then to a random id.
   */
  @Test
  void eventIdsAreDerivedFromTraceAndSpanIds() throws Exception {
    Span a = vllmSpan(START_NS, "req-1").build();
    Span b =
        vllmSpan(START_NS, "req-1")
            .setSpanId(com.google.protobuf.ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}))
            .build();
    byte[] body = OtlpFixtures.request(a, b).toByteArray();
    Capture first = new Capture();
    Capture retry = new Capture();
    mapper.map(OtlpSpanMapper.parseProtobuf(body), first);
    mapper.map(OtlpSpanMapper.parseProtobuf(body.clone()), retry);
    assertThat(first.accepted)
        .extracting(RequestEvent::getEventId)
        .containsExactlyElementsOf(retry.accepted.stream().map(RequestEvent::getEventId).toList())
        .doesNotHaveDuplicates()
        .startsWith(Ids.ofSpan(a.getTraceId().toByteArray(), a.getSpanId().toByteArray()));

    Span noIds = vllmSpan(START_NS, "req-9").clearTraceId().clearSpanId().build();
    Capture c = new Capture();
    mapper.map(OtlpFixtures.request(noIds), c);
    RequestEvent e = c.accepted.get(0);
    assertThat(e.getEventId()).isEqualTo(Ids.ofRequest("req-9", e.getHost(), e.getModel()));
  }

  @Test
  void mapsVllmSpanFromJsonWithHexIdsAndIntEnums() throws Exception {
    ExportTraceServiceRequest req =
        OtlpSpanMapper.parseJson(
            OtlpFixtures.json(START_NS, "req-json").getBytes(StandardCharsets.UTF_8));
    Span span = req.getResourceSpans(0).getScopeSpans(0).getSpans(0);
    assertThat(span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
    assertThat(span.getSpanId().toByteArray())
        .isEqualTo(java.util.HexFormat.of().parseHex(OtlpFixtures.SPAN_ID));
    Capture c = new Capture();
    assertThat(mapper.map(req, c))
        .isEqualTo(1); // the health-check span is not an inference request
    assertThat(c.accepted).hasSize(1);
    assertVllmMapping(c.accepted.get(0), "req-json");
  }

  @Test
  void fallsBackToPrefillAndSpanEnd() throws Exception {
    Span span =
        Span.newBuilder()
            .setStartTimeUnixNano(START_NS)
            .setEndTimeUnixNano(START_NS + 900_000_000L)
            .addAttributes(str("gen_ai.request.model", "m"))
            .addAttributes(dbl("gen_ai.latency.time_in_queue", 0.01))
            .addAttributes(dbl("gen_ai.latency.time_in_model_prefill", 0.1))
            .build();
    RequestEvent e = mapper.mapSpan(span);
    long arrival = START_NS / 1000;
    assertThat(e.getModel()).isEqualTo("m");
    assertThat(e.getScheduledUs()).isEqualTo(arrival + 10_000);
    assertThat(e.getFirstTokenUs()).isEqualTo(arrival + 10_000 + 100_000);
    assertThat(e.getCompletedUs()).isEqualTo(START_NS / 1000 + 900_000);
  }

  @Test
  void fallsBackToDecodeWithoutEndOrE2e() throws Exception {
    Span span =
        Span.newBuilder()
            .setStartTimeUnixNano(START_NS)
            .addAttributes(str("gen_ai.request.model", "m"))
            .addAttributes(dbl("gen_ai.latency.time_to_first_token", 0.2))
            .addAttributes(dbl("gen_ai.latency.time_in_model_decode", 0.7))
            .build();
    RequestEvent e = mapper.mapSpan(span);
    assertThat(e.getCompletedUs()).isEqualTo(START_NS / 1000 + 200_000 + 700_000);
  }

  @Test
  void errorStatusAndErrorType() throws Exception {
    RequestEvent e1 =
        mapper.mapSpan(
            vllmSpan(START_NS, "r").addAttributes(str("error.type", "TimeoutError")).build());
    assertThat(e1.getStatus()).isEqualTo(RequestStatus.TIMEOUT);
    assertThat(e1.getErrorType()).isEqualTo("TimeoutError");
    RequestEvent e2 =
        mapper.mapSpan(
            vllmSpan(START_NS, "r")
                .setStatus(
                    Status.newBuilder()
                        .setCode(Status.StatusCode.STATUS_CODE_ERROR)
                        .setMessage("CUDA OOM"))
                .build());
    assertThat(e2.getStatus()).isEqualTo(RequestStatus.ERROR);
    assertThat(e2.getErrorType()).isEqualTo("CUDA OOM");
    RequestEvent e3 =
        mapper.mapSpan(
            vllmSpan(START_NS, "r").addAttributes(str("error.type", "cancelled")).build());
    assertThat(e3.getStatus()).isEqualTo(RequestStatus.CANCELLED);
  }

  private static void assertReject(Span span, RejectReason reason) {
    assertThatThrownBy(() -> new OtlpSpanMapper(DEFAULTS).mapSpan(span))
        .isInstanceOfSatisfying(
            InvalidEventException.class, ex -> assertThat(ex.reason()).isEqualTo(reason));
  }

  private static Span withAttr(KeyValue kv) {
    Span.Builder b = vllmSpan(START_NS, "r");
    for (int i = 0; i < b.getAttributesCount(); i++) {
      if (b.getAttributes(i).getKey().equals(kv.getKey())) {
        b.setAttributes(i, kv);
        return b.build();
      }
    }
    return b.addAttributes(kv).build();
  }

  @Test
  void rejectsBadSpans() {
    assertReject(vllmSpan(0, "r").build(), RejectReason.MISSING_FIELD);
    assertReject(
        Span.newBuilder()
            .setStartTimeUnixNano(START_NS)
            .addAttributes(dbl("gen_ai.latency.e2e", 1))
            .build(),
        RejectReason.MISSING_FIELD);
    assertReject(
        Span.newBuilder()
            .setStartTimeUnixNano(START_NS)
            .addAttributes(str("gen_ai.request.model", "m"))
            .build(),
        RejectReason.MISSING_FIELD);
    assertReject(
        withAttr(dbl("gen_ai.latency.time_in_queue", -0.5)), RejectReason.NEGATIVE_DURATION);
    assertReject(withAttr(dbl("gen_ai.latency.e2e", Double.NaN)), RejectReason.INVALID_VALUE);
    assertReject(withAttr(dbl("gen_ai.latency.e2e", 1e9)), RejectReason.ABSURD_DURATION);
    assertReject(withAttr(str("gen_ai.latency.e2e", "fast")), RejectReason.INVALID_VALUE);
    assertReject(withAttr(str("gen_ai.usage.prompt_tokens", "many")), RejectReason.INVALID_VALUE);
    assertReject(withAttr(dbl("gen_ai.usage.completion_tokens", 2.5)), RejectReason.INVALID_VALUE);
  }

  @Test
  void rejectsMalformedPayloads() {
    assertThatThrownBy(() -> OtlpSpanMapper.parseProtobuf(new byte[] {0x0a, 0x7f, 0x01}))
        .isInstanceOfSatisfying(
            InvalidEventException.class,
            ex -> assertThat(ex.reason()).isEqualTo(RejectReason.MALFORMED));
    assertThatThrownBy(
            () -> OtlpSpanMapper.parseJson("{\"resourceSpans\":[".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(
            InvalidEventException.class,
            ex -> assertThat(ex.reason()).isEqualTo(RejectReason.MALFORMED));
    assertThatThrownBy(
            () ->
                OtlpSpanMapper.parseJson(
                    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"xyz\"}]}]}]}"
                        .getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(
            InvalidEventException.class, ex -> assertThat(ex.getMessage()).contains("hex"));
    assertThatThrownBy(() -> OtlpSpanMapper.parseJson("[1]".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(InvalidEventException.class);
    assertThatThrownBy(
            () ->
                OtlpSpanMapper.parseJson(
                    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":\"yesterday\"}]}]}]}"
                        .getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(InvalidEventException.class);
  }

  /**
   * Agent and tool spans of an agent run, with the attributes the OpenTelemetry GenAI semantic
   * conventions give them (docs/gen-ai/gen-ai-agent-spans.md: create_agent, invoke_agent with
   * gen_ai.agent.name and a model, execute_tool with gen_ai.tool.name and gen_ai.tool.call.id) next
   * to the chat span of the same run: the chat span is mapped, the others are skipped and counted,
   * none is rejected.
   */
  @Test
  void agentAndToolSpansAreSkippedNotRejected() {
    Span chat = vllmSpan(START_NS, "req-agent").build();
    Span createAgent =
        Span.newBuilder()
            .setName("create_agent Math Tutor")
            .setStartTimeUnixNano(START_NS)
            .setEndTimeUnixNano(START_NS + 1000)
            .addAttributes(str("gen_ai.operation.name", "create_agent"))
            .addAttributes(str("gen_ai.agent.name", "Math Tutor"))
            .addAttributes(str("gen_ai.request.model", "gpt-4"))
            .build();
    Span invokeAgent =
        Span.newBuilder()
            .setName("invoke_agent Math Tutor")
            .setStartTimeUnixNano(START_NS)
            .setEndTimeUnixNano(START_NS + 1000)
            .setKind(Span.SpanKind.SPAN_KIND_CLIENT)
            .addAttributes(str("gen_ai.operation.name", "invoke_agent"))
            .addAttributes(str("gen_ai.agent.name", "Math Tutor"))
            .addAttributes(str("gen_ai.request.model", "gpt-4"))
            .addAttributes(str("gen_ai.input.messages", "[SECRET]"))
            .build();
    Span tool =
        Span.newBuilder()
            .setName("execute_tool get_weather")
            .setStartTimeUnixNano(START_NS)
            .setEndTimeUnixNano(START_NS + 1000)
            .setKind(Span.SpanKind.SPAN_KIND_INTERNAL)
            .addAttributes(str("gen_ai.operation.name", "execute_tool"))
            .addAttributes(str("gen_ai.tool.name", "get_weather"))
            .addAttributes(str("gen_ai.tool.call.id", "call_mszuSIzqtI65i1wAUOE8w5H4"))
            .build();
    Span customWithoutModel =
        Span.newBuilder()
            .setName("retrieve")
            .setStartTimeUnixNano(START_NS)
            .addAttributes(str("gen_ai.operation.name", "retrieval"))
            .addAttributes(str("gen_ai.data_source.id", "H7STPQ"))
            .build();
    Capture c = new Capture();
    int ignored =
        mapper.map(
            OtlpFixtures.request(chat, createAgent, invokeAgent, tool, customWithoutModel), c);
    assertThat(ignored).isEqualTo(4);
    assertThat(c.rejected).isEmpty();
    assertThat(c.accepted).hasSize(1);
    assertThat(c.accepted.get(0).getRequestId()).isEqualTo("req-agent");
  }

  @Test
  void inferenceOperationsAndCustomOnesNamingAModelAreMapped() {
    for (String op :
        List.of(
            "chat", "text_completion", "generate_content", "embeddings", "Chat", "my_generate")) {
      Span s =
          vllmSpan(START_NS, "r")
              .removeAttributes(3)
              .addAttributes(str("gen_ai.operation.name", op))
              .build();
      assertThat(OtlpSpanMapper.isInferenceSpan(s)).as(op).isTrue();
    }
  }

  /**
   * Strings that are not UTF-8 in a protobuf body reject the body (proto3 strings must be UTF-8).
   */
  @Test
  void nonUtf8StringsInProtobufRejectTheBody() {
    byte[] body = OtlpFixtures.request(vllmSpan(START_NS, "req-\u00e9").build()).toByteArray();
    byte[] marker = "req-\u00e9".getBytes(StandardCharsets.UTF_8);
    int at = indexOf(body, marker);
    assertThat(at).isPositive();
    body[at + 4] = (byte) 0xff; // the first byte of the 2-byte character: invalid UTF-8 now
    assertThatThrownBy(() -> OtlpSpanMapper.parseProtobuf(body))
        .isInstanceOfSatisfying(
            InvalidEventException.class,
            e -> assertThat(e.reason()).isEqualTo(RejectReason.MALFORMED));
  }

  /**
   * OTLP/JSON bodies must be strict UTF-8 too: an overlong form, an encoded surrogate or a stray
   * byte rejects them.
   */
  @Test
  void nonUtf8OtlpJsonBodiesAreRejected() {
    for (byte[] bad :
        List.of(
            new byte[] {(byte) 0xc0, (byte) 0xaf},
            new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
            new byte[] {(byte) 0xff})) {
      byte[] json = OtlpFixtures.json(START_NS, "req-\u00e9").getBytes(StandardCharsets.UTF_8);
      int at = indexOf(json, "req-\u00e9".getBytes(StandardCharsets.UTF_8)) + 4;
      byte[] body = new byte[json.length - 2 + bad.length];
      System.arraycopy(json, 0, body, 0, at);
      System.arraycopy(bad, 0, body, at, bad.length);
      System.arraycopy(json, at + 2, body, at + bad.length, json.length - at - 2);
      assertThatThrownBy(() -> OtlpSpanMapper.parseJson(body))
          .isInstanceOfSatisfying(
              InvalidEventException.class,
              e -> assertThat(e.reason()).isEqualTo(RejectReason.MALFORMED));
    }
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /**
   * A 64 KiB status message becomes an error type cut to the limit; a 64 KiB host name rejects the
   * span.
   */
  @Test
  void longStatusMessagesAreCutAndLongResourceDimensionsRejected() throws Exception {
    Span failed =
        vllmSpan(START_NS, "r")
            .setStatus(
                Status.newBuilder()
                    .setCode(Status.StatusCode.STATUS_CODE_ERROR)
                    .setMessage("boom ".repeat(13_108)))
            .build();
    Capture c = new Capture();
    mapper.map(OtlpFixtures.request(failed), c);
    RequestEvent e = c.accepted.get(0);
    JsonLinesParserTest.VALIDATOR.validate(e, NOW_US);
    assertThat(e.getErrorType())
        .hasSize(RequestValidator.DEFAULT_MAX_MESSAGE_BYTES)
        .startsWith("boom boom");
    ExportTraceServiceRequest longHost =
        OtlpFixtures.request(vllmSpan(START_NS, "r").build()).toBuilder()
            .setResourceSpans(
                0,
                OtlpFixtures.request(vllmSpan(START_NS, "r").build())
                    .getResourceSpans(0)
                    .toBuilder()
                    .setResource(
                        io.opentelemetry.proto.resource.v1.Resource.newBuilder()
                            .addAttributes(str("host.name", "h".repeat(65_536)))))
            .build();
    Capture c2 = new Capture();
    mapper.map(longHost, c2);
    // the resource host.name is kept as the pod dimension, not as the host: a 64 KiB one rejects
    // the span
    assertThat(c2.accepted).isEmpty();
    assertThat(c2.rejected)
        .singleElement()
        .satisfies(
            ex -> {
              assertThat(ex.reason()).isEqualTo(RejectReason.TOO_LONG);
              assertThat(ex.getMessage()).contains("65536 characters");
            });
  }
}
