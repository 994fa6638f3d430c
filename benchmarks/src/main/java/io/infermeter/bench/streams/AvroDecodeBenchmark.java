package io.infermeter.bench.streams;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.bench.ConstantIdRegistry;
import io.infermeter.schemas.serde.AvroDeserializer;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.SchemaRegistryClient;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decoding one request event (the shape the Streams benchmark pre-loads) from its Confluent wire
 * bytes, the first thing the Streams app does per record: Avro's default reader ("fast reader"),
 * which {@link AvroDeserializer} uses, against the generated decoder ({@code customDecode}, through
 * a ResolvingDecoder: measured slower here, so not used), and the deserializer itself (registry id
 * cached: a constant-id client).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AvroDecodeBenchmark {

  private byte[] wire;
  private AvroDeserializer<RequestEvent> deserializer;
  private SpecificDatumReader<RequestEvent> fastReader;
  private SpecificDatumReader<RequestEvent> generatedReader;
  private BinaryDecoder decoder;

  @Setup
  public void setup() {
    SchemaRegistryClient constant = new ConstantIdRegistry(RequestEvent.getClassSchema());
    AvroSerdeConfig cfg =
        AvroSerdeConfig.from(Map.of("schema.registry.url", "http://unused.invalid"));
    long completed = 1_700_000_040_000_000L;
    RequestEvent e =
        RequestEvent.newBuilder()
            .setEventId("e-1234567")
            .setSource("simulated")
            .setCluster("c1")
            .setRegion("eu-west-1")
            .setHost("host-17")
            .setDeviceId("host-17-gpu3")
            .setGpuType("H100")
            .setModel("model-2")
            .setModelVersion("v1")
            .setStatus(RequestStatus.OK)
            .setArrivalUs(completed - 1_300_000)
            .setScheduledUs(completed - 1_250_000)
            .setFirstTokenUs(completed - 1_100_000)
            .setCompletedUs(completed)
            .setInputTokens(812)
            .setOutputTokens(233)
            .setBatchSize(17)
            .setMaxBatchSize(32)
            .build();
    wire = new AvroSerializer<RequestEvent>(constant, cfg, false).serialize("t", e);
    deserializer = new AvroDeserializer<>(RequestEvent.class, constant);
    SpecificData fast = new SpecificData();
    fastReader =
        new SpecificDatumReader<>(
            RequestEvent.getClassSchema(), RequestEvent.getClassSchema(), fast);
    SpecificData generated = new SpecificData();
    generated.setCustomCoders(true);
    generated.setFastReaderEnabled(false);
    generatedReader =
        new SpecificDatumReader<>(
            RequestEvent.getClassSchema(), RequestEvent.getClassSchema(), generated);
  }

  @Benchmark
  public RequestEvent avroDefaultFastReader() throws Exception {
    decoder = DecoderFactory.get().binaryDecoder(wire, 5, wire.length - 5, decoder);
    return fastReader.read(null, decoder);
  }

  @Benchmark
  public RequestEvent generatedDecoder() throws Exception {
    decoder = DecoderFactory.get().binaryDecoder(wire, 5, wire.length - 5, decoder);
    return generatedReader.read(null, decoder);
  }

  @Benchmark
  public RequestEvent avroDeserializer() {
    return deserializer.deserialize("t", wire);
  }
}
