package io.infermeter.collector.internal;

import static io.infermeter.collector.internal.JsonLinesParserTest.DEFAULTS;
import static io.infermeter.collector.internal.JsonLinesParserTest.NOW_US;
import static io.infermeter.collector.internal.OtlpFixtures.dbl;
import static io.infermeter.collector.internal.OtlpFixtures.str;
import static io.infermeter.collector.internal.OtlpFixtures.vllmSpan;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.internal.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OtlpSpanMapperTest {

  static final long START_NS = (NOW_US - 30_000_000L) * 1000L + 123; // sub-microsecond part is truncated
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
    assertThat(e.getHost()).isEqualTo("gpu-node-7");
    assertThat(e.getRegion()).isEqualTo("us-central1");
    assertThat(e.getCluster()).isEqualTo("prod-a");
    assertThat(e.getGpuType()).isEqualTo("H100");
    assertThat(e.getAttributes()).containsEntry("service.name", "vllm")
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

  @Test
  void mapsVllmSpanFromJsonWithHexIdsAndIntEnums() throws Exception {
    ExportTraceServiceRequest req = OtlpSpanMapper.parseJson(
        OtlpFixtures.json(START_NS, "req-json").getBytes(StandardCharsets.UTF_8));
    Span span = req.getResourceSpans(0).getScopeSpans(0).getSpans(0);
    assertThat(span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
    assertThat(span.getSpanId().toByteArray()).isEqualTo(java.util.HexFormat.of().parseHex(OtlpFixtures.SPAN_ID));
    Capture c = new Capture();
    assertThat(mapper.map(req, c)).isEqualTo(1); // the health-check span is not an inference request
    assertThat(c.accepted).hasSize(1);
    assertVllmMapping(c.accepted.get(0), "req-json");
  }

  @Test
  void fallsBackToPrefillAndSpanEnd() throws Exception {
    Span span = Span.newBuilder().setStartTimeUnixNano(START_NS).setEndTimeUnixNano(START_NS + 900_000_000L)
        .addAttributes(str("gen_ai.request.model", "m"))
        .addAttributes(dbl("gen_ai.latency.time_in_queue", 0.01))
        .addAttributes(dbl("gen_ai.latency.time_in_model_prefill", 0.1)).build();
    RequestEvent e = mapper.mapSpan(span);
    long arrival = START_NS / 1000;
    assertThat(e.getModel()).isEqualTo("m");
    assertThat(e.getScheduledUs()).isEqualTo(arrival + 10_000);
    assertThat(e.getFirstTokenUs()).isEqualTo(arrival + 10_000 + 100_000);
    assertThat(e.getCompletedUs()).isEqualTo(START_NS / 1000 + 900_000);
  }

  @Test
  void fallsBackToDecodeWithoutEndOrE2e() throws Exception {
    Span span = Span.newBuilder().setStartTimeUnixNano(START_NS)
        .addAttributes(str("gen_ai.request.model", "m"))
        .addAttributes(dbl("gen_ai.latency.time_to_first_token", 0.2))
        .addAttributes(dbl("gen_ai.latency.time_in_model_decode", 0.7)).build();
    RequestEvent e = mapper.mapSpan(span);
    assertThat(e.getCompletedUs()).isEqualTo(START_NS / 1000 + 200_000 + 700_000);
  }

  @Test
  void errorStatusAndErrorType() throws Exception {
    RequestEvent e1 = mapper.mapSpan(vllmSpan(START_NS, "r").addAttributes(str("error.type", "TimeoutError")).build());
    assertThat(e1.getStatus()).isEqualTo(RequestStatus.TIMEOUT);
    assertThat(e1.getErrorType()).isEqualTo("TimeoutError");
    RequestEvent e2 = mapper.mapSpan(vllmSpan(START_NS, "r").setStatus(Status.newBuilder()
        .setCode(Status.StatusCode.STATUS_CODE_ERROR).setMessage("CUDA OOM")).build());
    assertThat(e2.getStatus()).isEqualTo(RequestStatus.ERROR);
    assertThat(e2.getErrorType()).isEqualTo("CUDA OOM");
    RequestEvent e3 = mapper.mapSpan(vllmSpan(START_NS, "r").addAttributes(str("error.type", "cancelled")).build());
    assertThat(e3.getStatus()).isEqualTo(RequestStatus.CANCELLED);
  }

  private static void assertReject(Span span, RejectReason reason) {
    assertThatThrownBy(() -> new OtlpSpanMapper(DEFAULTS).mapSpan(span))
        .isInstanceOfSatisfying(InvalidEventException.class, ex -> assertThat(ex.reason()).isEqualTo(reason));
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
    assertReject(Span.newBuilder().setStartTimeUnixNano(START_NS).addAttributes(dbl("gen_ai.latency.e2e", 1))
        .build(), RejectReason.MISSING_FIELD);
    assertReject(Span.newBuilder().setStartTimeUnixNano(START_NS).addAttributes(str("gen_ai.request.model", "m"))
        .build(), RejectReason.MISSING_FIELD);
    assertReject(withAttr(dbl("gen_ai.latency.time_in_queue", -0.5)), RejectReason.NEGATIVE_DURATION);
    assertReject(withAttr(dbl("gen_ai.latency.e2e", Double.NaN)), RejectReason.INVALID_VALUE);
    assertReject(withAttr(dbl("gen_ai.latency.e2e", 1e9)), RejectReason.ABSURD_DURATION);
    assertReject(withAttr(str("gen_ai.latency.e2e", "fast")), RejectReason.INVALID_VALUE);
    assertReject(withAttr(str("gen_ai.usage.prompt_tokens", "many")), RejectReason.INVALID_VALUE);
    assertReject(withAttr(dbl("gen_ai.usage.completion_tokens", 2.5)), RejectReason.INVALID_VALUE);
  }

  @Test
  void rejectsMalformedPayloads() {
    assertThatThrownBy(() -> OtlpSpanMapper.parseProtobuf(new byte[] {0x0a, 0x7f, 0x01}))
        .isInstanceOfSatisfying(InvalidEventException.class,
            ex -> assertThat(ex.reason()).isEqualTo(RejectReason.MALFORMED));
    assertThatThrownBy(() -> OtlpSpanMapper.parseJson("{\"resourceSpans\":[".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(InvalidEventException.class,
            ex -> assertThat(ex.reason()).isEqualTo(RejectReason.MALFORMED));
    assertThatThrownBy(() -> OtlpSpanMapper.parseJson(
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"xyz\"}]}]}]}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(InvalidEventException.class, ex -> assertThat(ex.getMessage()).contains("hex"));
    assertThatThrownBy(() -> OtlpSpanMapper.parseJson("[1]".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(InvalidEventException.class);
    assertThatThrownBy(() -> OtlpSpanMapper.parseJson(
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":\"yesterday\"}]}]}]}"
            .getBytes(StandardCharsets.UTF_8))).isInstanceOf(InvalidEventException.class);
  }
}
