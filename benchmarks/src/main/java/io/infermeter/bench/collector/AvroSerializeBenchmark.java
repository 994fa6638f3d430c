package io.infermeter.bench.collector;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.bench.ConstantIdRegistry;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.SchemaRegistryClient;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
 * Avro serialization of one request event in the Confluent wire format (what the publisher does per
 * event), with the registry id already cached (a constant-id client: the registry round trip
 * happens once per schema in production). Also the creation of a fresh event with its eventId
 * (UUID) as ingest does.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AvroSerializeBenchmark {

  private AvroSerializer<RequestEvent> serializer;
  private RequestEvent event;
  private EventDefaults defaults;

  @Setup
  public void setup() {
    SchemaRegistryClient constant = new ConstantIdRegistry(RequestEvent.getClassSchema());
    serializer =
        new AvroSerializer<>(
            constant,
            AvroSerdeConfig.from(Map.of("schema.registry.url", "http://unused.invalid")),
            false);
    defaults = new EventDefaults("cluster-a", "eu-west-1", "gpu-node-7", "H100", "vllm");
    event = defaults.newEvent("otlp");
    long a = 1_763_900_000_000_000L;
    event.setModel("meta-llama/Llama-3.1-8B-Instruct");
    event.setRequestId("cmpl-8f3a0c2e");
    event.setOperation("chat");
    event.setStatus(RequestStatus.OK);
    event.setArrivalUs(a);
    event.setScheduledUs(a + 10_000);
    event.setFirstTokenUs(a + 200_000);
    event.setCompletedUs(a + 1_500_000);
    event.setInputTokens(128);
    event.setOutputTokens(64);
    event.getAttributes().put("trace.id", "5b8efff798038103d269b633813fc60c");
  }

  @Benchmark
  public byte[] serializeRequestEvent() {
    return serializer.serialize("infermeter-requests", event);
  }

  @Benchmark
  public RequestEvent newEventWithId() {
    return defaults.newEvent("jsonl");
  }
}
