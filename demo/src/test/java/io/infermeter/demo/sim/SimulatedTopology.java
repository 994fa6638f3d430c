package io.infermeter.demo.sim;

import io.infermeter.avro.Alert;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.InMemorySchemaRegistryClient;
import io.infermeter.streams.InfermeterTopology;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.TopologySerdes;
import io.infermeter.streams.support.StreamsCounters;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * The simulated fleet driven through the PRODUCTION streams topology ({@link
 * InfermeterTopology#build}, {@link TopologySerdes}) under Kafka Streams' TopologyTestDriver, with
 * an in-memory schema registry: no Kafka, no servers. Every simulated second, as the demo's driver
 * ({@code RunCommand}) sends them: the requests completed in it (keyed by host, timestamped at
 * completion), one hardware sample per GPU and, every 5 s, one vLLM engine sample per GPU. The
 * driver's wall clock, and the clock the topology is given, move with the simulated time (as in the
 * demo's live phase), so the wall-clock rules ({@code host_silent}) judge it too.
 *
 * <p>Settings: the streams app's defaults with the overrides {@code ./infermeter demo} starts it
 * with ({@link #DEMO_SETTINGS}); only 10 s windows (the 1 min windows carry no alert rule) and
 * in-memory stores.
 */
final class SimulatedTopology implements AutoCloseable {

  /**
   * The settings {@code ./infermeter demo} gives the streams app (see the script's comments) but
   * {@code energy.join.delay}: the demo's 60 s covers the skew of its fast replay between the
   * request and hardware paths, which this driver does not have; it only delays when a device
   * window closes, not what is judged on it.
   */
  static final Map<String, String> DEMO_SETTINGS =
      Map.of(
          "alerts.host.silent.after", "30s",
          "alerts.host.silent.check.interval", "5s",
          "alerts.memory.leak.horizon", "1m",
          "alerts.memory.leak.rate", "8192");

  private static final long SECOND_US = 1_000_000L;

  /** RunCommand's engine sample interval. */
  private static final long ENGINE_EVERY_US = 5 * SECOND_US;

  private final TopologyTestDriver driver;
  private final MutableClock clock;
  private final TestInputTopic<String, RequestEvent> requests;
  private final TestInputTopic<String, HardwareSample> hardware;
  private final TestInputTopic<String, EngineSample> engine;
  private final TestOutputTopic<String, Alert> alerts;
  private final TestOutputTopic<String, DeviceWindowEnergy> energy;
  private final TestOutputTopic<String, DeadLetter> deadLetters;
  private final FleetSimulator sim;
  private final long startUs;
  private long nowUs;

  /** A topology whose wall clock starts at {@code startUs}, fed by {@code sim} from there. */
  SimulatedTopology(FleetSimulator sim, long startUs) {
    this.sim = sim;
    this.startUs = startUs;
    this.nowUs = startUs;
    Map<String, Object> o = new HashMap<>(DEMO_SETTINGS);
    o.put("windows.sizes", "10s");
    o.put("state.store.type", "memory");
    try {
      o.put("kafka.streams.state.dir", Files.createTempDirectory("scenario-streams").toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    StreamsSettings settings = StreamsSettings.fromMap(o);
    TopologySerdes serdes =
        TopologySerdes.of(
            new InMemorySchemaRegistryClient(),
            AvroSerdeConfig.from(
                Map.of("schema.registry.url", "http://unit-test-registry.invalid:8081")));
    StreamsCounters counters = new StreamsCounters();
    clock = new MutableClock(startUs / 1000);
    driver =
        new TopologyTestDriver(
            InfermeterTopology.build(settings, serdes, counters, clock),
            InfermeterTopology.streamsProperties(settings, serdes, counters, clock),
            Instant.ofEpochMilli(startUs / 1000));
    var ser = Serdes.String().serializer();
    var de = Serdes.String().deserializer();
    requests = driver.createInputTopic(Topics.REQUESTS.name(), ser, serdes.requests().serializer());
    hardware = driver.createInputTopic(Topics.HARDWARE.name(), ser, serdes.hardware().serializer());
    engine = driver.createInputTopic(Topics.ENGINE_STATE.name(), ser, serdes.engine().serializer());
    alerts = driver.createOutputTopic(Topics.ALERTS.name(), de, serdes.alerts().deserializer());
    energy = driver.createOutputTopic(Topics.ENERGY.name(), de, serdes.energy().deserializer());
    deadLetters =
        driver.createOutputTopic(
            Topics.DEAD_LETTERS.name(), de, serdes.deadLetters().deserializer());
  }

  /** Runs the simulation and the topology until {@code untilUs}, one simulated second at a time. */
  void runUntil(long untilUs) {
    while (nowUs + SECOND_US <= untilUs) {
      nowUs += SECOND_US;
      clock.ms = nowUs / 1000;
      driver.advanceWallClockTime(Duration.ofSeconds(1));
      for (RequestEvent e : sim.requestsCompletedBefore(nowUs)) {
        requests.pipeInput(e.getHost(), e, e.getCompletedUs() / 1000);
      }
      for (HardwareSample s : sim.samplesAt(nowUs, SECOND_US)) {
        hardware.pipeInput(s.getHost() + "/" + s.getDeviceId(), s, s.getTimestampUs() / 1000);
      }
      if ((nowUs - startUs) % ENGINE_EVERY_US == 0) {
        for (EngineSample s : sim.engineSamplesAt(nowUs, ENGINE_EVERY_US)) {
          engine.pipeInput(s.getHost(), s, s.getTimestampUs() / 1000);
        }
      }
    }
  }

  /** The alerts emitted since the last call, in order. */
  List<Alert> alerts() {
    return alerts.readValuesToList();
  }

  /** The device energy windows emitted since the last call (corrections are newer versions). */
  List<DeviceWindowEnergy> energy() {
    return energy.readValuesToList();
  }

  /** The dead letters emitted since the last call. */
  List<DeadLetter> deadLetters() {
    return deadLetters.readValuesToList();
  }

  @Override
  public void close() {
    driver.close();
  }

  /** The wall clock the topology reads, set by the run loop. */
  private static final class MutableClock extends Clock {
    volatile long ms;

    MutableClock(long ms) {
      this.ms = ms;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long millis() {
      return ms;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(ms);
    }
  }
}
