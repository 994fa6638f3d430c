package io.infermeter.bench.collector;

import com.google.protobuf.ByteString;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.ingest.JsonLinesParser;
import io.infermeter.collector.ingest.otlp.OtlpSpanMapper;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Ingest parsing cost per request event: OTLP protobuf decode + map of an export request of 100
 * vLLM spans (per span), the same in OTLP/JSON, and one JSON line parsed into an event.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class OtlpMapBenchmark {

  static final int SPANS = 100;
  private byte[] protobuf;
  private byte[] json;
  private byte[] line;
  private OtlpSpanMapper mapper;
  private JsonLinesParser parser;

  private static KeyValue kv(String k, AnyValue.Builder v) {
    return KeyValue.newBuilder().setKey(k).setValue(v).build();
  }

  @Setup
  public void setup() {
    EventDefaults d = new EventDefaults("c", "r", "h", null, null);
    mapper = new OtlpSpanMapper(d);
    parser = new JsonLinesParser(d);
    long start = System.currentTimeMillis() * 1_000_000L;
    ScopeSpans.Builder ss = ScopeSpans.newBuilder();
    for (int i = 0; i < SPANS; i++) {
      ss.addSpans(
          Span.newBuilder()
              .setTraceId(ByteString.copyFrom(new byte[16]))
              .setSpanId(ByteString.copyFrom(new byte[8]))
              .setName("llm_request")
              .setStartTimeUnixNano(start + i)
              .setEndTimeUnixNano(start + i + 1_500_000_000L)
              .addAttributes(
                  kv("gen_ai.request.model", AnyValue.newBuilder().setStringValue("llama")))
              .addAttributes(
                  kv(
                      "gen_ai.response.model",
                      AnyValue.newBuilder().setStringValue("meta-llama/Llama-3.1-8B")))
              .addAttributes(
                  kv("gen_ai.request.id", AnyValue.newBuilder().setStringValue("cmpl-" + i)))
              .addAttributes(
                  kv("gen_ai.usage.prompt_tokens", AnyValue.newBuilder().setIntValue(128)))
              .addAttributes(
                  kv("gen_ai.usage.completion_tokens", AnyValue.newBuilder().setIntValue(64)))
              .addAttributes(
                  kv("gen_ai.latency.time_in_queue", AnyValue.newBuilder().setDoubleValue(0.01)))
              .addAttributes(
                  kv(
                      "gen_ai.latency.time_to_first_token",
                      AnyValue.newBuilder().setDoubleValue(0.2)))
              .addAttributes(kv("gen_ai.latency.e2e", AnyValue.newBuilder().setDoubleValue(1.5)))
              .addAttributes(
                  kv(
                      "gen_ai.latency.time_in_model_prefill",
                      AnyValue.newBuilder().setDoubleValue(0.19)))
              .addAttributes(
                  kv(
                      "gen_ai.latency.time_in_model_decode",
                      AnyValue.newBuilder().setDoubleValue(1.3))));
    }
    ExportTraceServiceRequest req =
        ExportTraceServiceRequest.newBuilder()
            .addResourceSpans(
                ResourceSpans.newBuilder()
                    .setResource(
                        Resource.newBuilder()
                            .addAttributes(
                                kv("host.name", AnyValue.newBuilder().setStringValue("h1"))))
                    .addScopeSpans(ss))
            .build();
    protobuf = req.toByteArray();
    try {
      // OTLP/JSON as exporters write it: hex ids (JsonFormat writes base64, so convert)
      String j =
          com.google.protobuf.util.JsonFormat.printer()
              .print(req)
              .replace("\"AAAAAAAAAAAAAAAAAAAAAA==\"", "\"00000000000000000000000000000000\"")
              .replace("\"AAAAAAAAAAA=\"", "\"0000000000000000\"");
      json = j.getBytes(StandardCharsets.UTF_8);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    long a = System.currentTimeMillis() * 1000L;
    line =
        ("{\"requestId\":\"r-1\",\"model\":\"llama-3-8b\",\"arrivalUs\":"
                + a
                + ",\"scheduledUs\":"
                + (a + 10)
                + ",\"firstTokenUs\":"
                + (a + 200)
                + ",\"completedUs\":"
                + (a + 5000)
                + ",\"inputTokens\":128,\"outputTokens\":64,\"status\":\"ok\"}")
            .getBytes(StandardCharsets.UTF_8);
  }

  @Benchmark
  @OperationsPerInvocation(SPANS)
  public int otlpProtobufDecodeAndMapPerSpan(Blackhole bh) throws InvalidEventException {
    return mapper.map(OtlpSpanMapper.parseProtobuf(protobuf), sink(bh));
  }

  @Benchmark
  @OperationsPerInvocation(SPANS)
  public int otlpJsonDecodeAndMapPerSpan(Blackhole bh) throws InvalidEventException {
    return mapper.map(OtlpSpanMapper.parseJson(json), sink(bh));
  }

  @Benchmark
  public RequestEvent jsonLineParse() throws InvalidEventException {
    return parser.parse(line, 0, line.length);
  }

  private static OtlpSpanMapper.Sink sink(Blackhole bh) {
    return new OtlpSpanMapper.Sink() {
      @Override
      public void accept(RequestEvent event, Span span) {
        bh.consume(event);
      }

      @Override
      public void reject(InvalidEventException reason, String where, Span span) {
        throw new IllegalStateException(where + ": " + reason.getMessage());
      }
    };
  }
}
