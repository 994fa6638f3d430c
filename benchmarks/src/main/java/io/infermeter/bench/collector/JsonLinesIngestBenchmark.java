package io.infermeter.bench.collector;

import io.infermeter.avro.RequestEvent;
import io.infermeter.bench.ConstantIdRegistry;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.IngestServer;
import io.infermeter.collector.ingest.RequestValidator;
import io.infermeter.collector.support.CollectorMetrics;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.SchemaRegistryClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Ingest of a JSON-lines batch (100 lines as the load driver writes them) from body bytes to the
 * Kafka value bytes, per line: {@code eventPath} scans each line into a RequestEvent, validates it
 * and serializes it with the schemas module's AvroSerializer (the path of any line the scanner
 * leaves to Jackson); {@code wirePath} validates the scanned values and writes the Confluent wire
 * bytes directly (RequestAvroEncoder, the collector's path now). HTTP and Kafka are not included.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class JsonLinesIngestBenchmark {

  static final int LINES = 100;
  private byte[] body;
  private IngestServer eventServer;
  private IngestServer wireServer;
  private Blackhole bh;

  @Setup
  public void setup(Blackhole blackhole) throws IOException {
    this.bh = blackhole;
    SchemaRegistryClient constant = new ConstantIdRegistry(RequestEvent.getClassSchema());
    AvroSerializer<RequestEvent> serializer =
        new AvroSerializer<>(
            constant,
            AvroSerdeConfig.from(Map.of("schema.registry.url", "http://unused.invalid")),
            false);
    EventDefaults defaults = new EventDefaults("default", "unknown", "bench-host", null, null);
    RequestValidator validator =
        new RequestValidator(
            Clock.systemUTC(),
            Duration.ofHours(1),
            Duration.ofMinutes(5),
            Duration.ofDays(7),
            10_000_000);
    byte[] header = {0, 0, 0, 0, 1};
    eventServer =
        new IngestServer(
            "127.0.0.1",
            0,
            1,
            1 << 20,
            Optional.empty(),
            defaults,
            validator,
            e -> bh.consume(serializer.serialize("infermeter-requests", e)),
            d -> {},
            new CollectorMetrics());
    wireServer =
        new IngestServer(
            "127.0.0.1",
            0,
            1,
            1 << 20,
            Optional.empty(),
            defaults,
            validator,
            e -> bh.consume(serializer.serialize("infermeter-requests", e)),
            new IngestServer.EncodedSink() {
              @Override
              public byte[] requestHeader() {
                return header;
              }

              @Override
              public void acceptEncoded(String key, byte[] wire) {
                bh.consume(key);
                bh.consume(wire);
              }
            },
            d -> {},
            new CollectorMetrics());
    // the load driver's lines (CollectorLoadDriver.batch)
    long a = System.currentTimeMillis() * 1000L - 60_000_000L;
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < LINES; i++) {
      sb.append("{\"requestId\":\"r-")
          .append(7)
          .append('-')
          .append(i)
          .append("\",\"model\":\"llama-3-8b\",\"arrivalUs\":")
          .append(a)
          .append(",\"scheduledUs\":")
          .append(a + 10)
          .append(",\"firstTokenUs\":")
          .append(a + 200)
          .append(",\"completedUs\":")
          .append(a + 4000)
          .append(",\"inputTokens\":128,\"outputTokens\":64}\n");
    }
    body = sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  @TearDown
  public void tearDown() {
    eventServer.close();
    wireServer.close();
  }

  @Benchmark
  @OperationsPerInvocation(LINES)
  public int eventPath() {
    return check(eventServer.ingestJsonLines(body, body.length));
  }

  @Benchmark
  @OperationsPerInvocation(LINES)
  public int wirePath() {
    return check(wireServer.ingestJsonLines(body, body.length));
  }

  private static int check(IngestServer.Result r) {
    if (r.accepted() != LINES) {
      throw new IllegalStateException("lines rejected: " + r.messages());
    }
    return r.accepted();
  }
}
