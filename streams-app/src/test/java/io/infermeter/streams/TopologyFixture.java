package io.infermeter.streams;

import io.infermeter.avro.Alert;
import io.infermeter.avro.Bottleneck;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.InMemorySchemaRegistryClient;
import io.infermeter.streams.support.StreamsCounters;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/** A TopologyTestDriver around the PRODUCTION topology builder, with an in-memory registry. */
final class TopologyFixture implements AutoCloseable {

  /** Aligned to 1 minute (and so to 10 s). */
  static final long T0_MS = 1_700_000_040_000L;

  final StreamsSettings settings;
  final StreamsCounters counters = new StreamsCounters();
  final TopologySerdes serdes;
  final TopologyTestDriver driver;
  final TestInputTopic<String, RequestEvent> requests;
  final TestInputTopic<String, HardwareSample> hardware;
  final TestInputTopic<String, EngineSample> engine;
  final TestInputTopic<String, byte[]> rawRequests;
  final TestOutputTopic<String, WindowAggregate> aggregates;
  final TestOutputTopic<String, DeviceWindowEnergy> energy;
  final TestOutputTopic<String, Bottleneck> bottlenecks;
  final TestOutputTopic<String, Alert> alerts;
  final TestOutputTopic<String, DeadLetter> deadLetters;

  TopologyFixture(Map<String, ?> overrides) {
    try {
      Map<String, Object> o =
          new java.util.HashMap<>(
              Map.of(
                  "windows.sizes",
                  "10s",
                  "windows.grace",
                  "1s",
                  "windows.fleet.delay",
                  "10s",
                  "windows.fleet.idle",
                  "0s",
                  "state.store.type",
                  "memory",
                  "kafka.streams.state.dir",
                  Files.createTempDirectory("streams-test").toString()));
      // The driver's wall clock stands still at T0 while the tests' event times run ahead of it: no
      // future clamp
      // unless a test asks for one; no allowed lateness unless a test asks (late records are
      // dead-lettered at once); no idle
      // advance unless a test asks (tests move wall-clock time for other punctuators).
      o.put("windows.max.future", "3650d");
      o.put("windows.allowed.lateness", "0s");
      o.put("windows.idle.timeout", "0s");
      o.putAll(overrides);
      settings = StreamsSettings.fromMap(o);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    serdes =
        TopologySerdes.of(
            registry,
            AvroSerdeConfig.from(
                Map.of("schema.registry.url", "http://unit-test-registry.invalid:8081")));
    Clock clock = Clock.fixed(Instant.ofEpochMilli(T0_MS), ZoneOffset.UTC);
    Properties props = InfermeterTopology.streamsProperties(settings, serdes, counters, clock);
    driver =
        new TopologyTestDriver(
            InfermeterTopology.build(settings, serdes, counters, clock),
            props,
            Instant.ofEpochMilli(T0_MS));
    var ser = Serdes.String().serializer();
    var de = Serdes.String().deserializer();
    requests = driver.createInputTopic(Topics.REQUESTS.name(), ser, serdes.requests().serializer());
    rawRequests =
        driver.createInputTopic(Topics.REQUESTS.name(), ser, Serdes.ByteArray().serializer());
    hardware = driver.createInputTopic(Topics.HARDWARE.name(), ser, serdes.hardware().serializer());
    engine = driver.createInputTopic(Topics.ENGINE_STATE.name(), ser, serdes.engine().serializer());
    aggregates =
        driver.createOutputTopic(
            Topics.WINDOW_AGGREGATES.name(), de, serdes.aggregates().deserializer());
    energy = driver.createOutputTopic(Topics.ENERGY.name(), de, serdes.energy().deserializer());
    bottlenecks =
        driver.createOutputTopic(
            Topics.BOTTLENECKS.name(), de, serdes.bottlenecks().deserializer());
    alerts = driver.createOutputTopic(Topics.ALERTS.name(), de, serdes.alerts().deserializer());
    deadLetters =
        driver.createOutputTopic(
            Topics.DEAD_LETTERS.name(), de, serdes.deadLetters().deserializer());
  }

  /** A request completing at {@code completedMs} with the given phases (microseconds). */
  static RequestEvent.Builder request(
      String id,
      String host,
      String model,
      long completedMs,
      long queueUs,
      long prefillUs,
      long decodeUs,
      int outputTokens) {
    long completed = completedMs * 1000;
    long firstToken = completed - decodeUs;
    long scheduled = firstToken - prefillUs;
    long arrival = scheduled - queueUs;
    return RequestEvent.newBuilder()
        .setEventId(id)
        .setSource("simulated")
        .setCluster("c1")
        .setRegion("eu-west-1")
        .setHost(host)
        .setGpuType("H100")
        .setModel(model)
        .setModelVersion("v1")
        .setStatus(RequestStatus.OK)
        .setArrivalUs(arrival)
        .setScheduledUs(scheduled)
        .setFirstTokenUs(firstToken)
        .setCompletedUs(completed)
        .setInputTokens(100)
        .setOutputTokens(outputTokens);
  }

  static HardwareSample.Builder sample(String host, String device, long tsMs) {
    return HardwareSample.newBuilder()
        .setCluster("c1")
        .setRegion("eu-west-1")
        .setHost(host)
        .setDeviceId(device)
        .setDeviceKind(DeviceKind.GPU)
        .setGpuType("H100")
        .setSource("nvml")
        .setTimestampUs(tsMs * 1000);
  }

  /**
   * A vLLM instance's state at {@code tsMs}, as the collector's scrape of {@code instance} maps it.
   */
  static EngineSample.Builder engineSample(String host, String instance, long tsMs) {
    return EngineSample.newBuilder()
        .setCluster("c1")
        .setRegion("eu-west-1")
        .setHost(host)
        .setInstance(instance)
        .setEngine("vllm")
        .setSource("scrape")
        .setTimestampUs(tsMs * 1000);
  }

  void send(EngineSample s) {
    engine.pipeInput(s.getHost(), s, s.getTimestampUs() / 1000);
  }

  void send(RequestEvent e) {
    requests.pipeInput(e.getHost(), e, e.getCompletedUs() / 1000);
  }

  void send(HardwareSample s) {
    hardware.pipeInput(s.getHost() + "/" + s.getDeviceId(), s, s.getTimestampUs() / 1000);
  }

  List<WindowAggregate> aggregates() {
    return aggregates.readValuesToList();
  }

  @Override
  public void close() {
    driver.close();
  }
}
