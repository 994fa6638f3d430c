package io.infermeter.demo;

import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.demo.sim.FleetSimulator;
import io.infermeter.demo.sim.FleetSpec;
import io.infermeter.demo.sim.Incident;
import io.infermeter.demo.sim.Scenario;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.schemas.serde.SchemaRegistryClient;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs the fleet simulator in event time and publishes its request events and GPU samples to Kafka, the same topics
 * and Avro wire format the collectors use. By default the simulated run ends "now" (event times are the last
 * {@code --duration}), replayed as fast as the broker takes it; {@code --speed 1} replays in real time.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = "Publish a simulated fleet (requests and GPU samples, source=simulated) to Kafka.")
final class SimulateCommand implements Callable<Integer> {

  @Option(names = "--duration", defaultValue = "600", description = "Simulated seconds of fleet traffic (default: ${DEFAULT-VALUE}).")
  long durationSeconds;

  @Option(names = "--speed", defaultValue = "0",
      description = "Replay speed as a multiple of real time; 0 = as fast as possible (default: ${DEFAULT-VALUE}).")
  double speed;

  @Option(names = "--seed", defaultValue = "42", description = "Random seed; the same seed gives the same fleet (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--no-incidents", description = "Do not script incidents.")
  boolean noIncidents;

  @Option(names = "--sample-period", defaultValue = "1", description = "GPU sampling period, seconds (default: ${DEFAULT-VALUE}).")
  long samplePeriodSeconds;

  @Override
  public Integer call() throws Exception {
    DemoEnvironment env = DemoEnvironment.resolve();
    long durationUs = durationSeconds * 1_000_000L;
    long endUs = Instant.now().toEpochMilli() * 1000;
    long startUs = endUs - durationUs;
    FleetSpec fleet = FleetSpec.defaultFleet();
    List<Incident> incidents = noIncidents ? List.of() : Scenario.incidents(fleet, startUs, durationUs);
    FleetSimulator simulator = new FleetSimulator(fleet, incidents, seed, startUs);

    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, env.kafkaBootstrap());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "20");
    AvroSerdeConfig serdeConfig = AvroSerdeConfig.from(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, env.schemaRegistryUrl()));
    SchemaRegistryClient registry = new HttpSchemaRegistryClient(serdeConfig);

    System.out.printf("simulating %d hosts, %d models, %d s of SIMULATED traffic (%s .. %s), seed %d%n",
        fleet.hosts().size(), fleet.models().size(), durationSeconds, Instant.ofEpochMilli(startUs / 1000),
        Instant.ofEpochMilli(endUs / 1000), seed);
    for (Incident i : incidents) {
      System.out.printf("  scripted incident %-18s on %-40s from +%ds to +%ds%n", i.kind(), i.target(),
          (i.fromUs() - startUs) / 1_000_000, (i.toUs() - startUs) / 1_000_000);
    }

    AtomicLong requests = new AtomicLong();
    AtomicLong samples = new AtomicLong();
    AtomicReference<Exception> failure = new AtomicReference<>();
    long wallStart = System.nanoTime();
    long lastProgress = 0;
    try (KafkaProducer<String, RequestEvent> requestProducer = new KafkaProducer<>(props, new StringSerializer(),
            new AvroSerializer<>(registry, serdeConfig, false));
        KafkaProducer<String, HardwareSample> sampleProducer = new KafkaProducer<>(props, new StringSerializer(),
            new AvroSerializer<>(registry, serdeConfig, false))) {
      long stepUs = samplePeriodSeconds * 1_000_000L;
      for (long t = startUs + stepUs; t <= endUs; t += stepUs) {
        for (RequestEvent e : simulator.requestsCompletedBefore(t)) {
          requestProducer.send(new ProducerRecord<>(Topics.REQUESTS.name(), null, e.getCompletedUs() / 1000,
              e.getHost(), e), (md, ex) -> {
                if (ex != null) {
                  failure.compareAndSet(null, ex);
                }
              });
          requests.incrementAndGet();
        }
        for (HardwareSample s : simulator.samplesAt(t, stepUs)) {
          sampleProducer.send(new ProducerRecord<>(Topics.HARDWARE.name(), null, s.getTimestampUs() / 1000,
              s.getHost() + "/" + s.getDeviceId(), s), (md, ex) -> {
                if (ex != null) {
                  failure.compareAndSet(null, ex);
                }
              });
          samples.incrementAndGet();
        }
        if (failure.get() != null) {
          throw failure.get();
        }
        if (speed > 0) {
          long dueNanos = wallStart + (long) ((t - startUs) * 1000 / speed);
          long waitMs = (dueNanos - System.nanoTime()) / 1_000_000;
          if (waitMs > 0) {
            Thread.sleep(waitMs);
          }
        }
        long now = System.nanoTime();
        if (now - lastProgress > 1_000_000_000L) {
          lastProgress = now;
          System.out.printf("  simulated +%4ds / %ds  requests %,d  gpu samples %,d%n", (t - startUs) / 1_000_000,
              durationSeconds, requests.get(), samples.get());
        }
      }
      requestProducer.flush();
      sampleProducer.flush();
    }
    if (failure.get() != null) {
      throw failure.get();
    }
    double wallSeconds = (System.nanoTime() - wallStart) / 1e9;
    System.out.printf("published %,d request events and %,d GPU samples in %.1f s (%s, %s)%n", requests.get(),
        samples.get(), wallSeconds, Topics.REQUESTS.name(), Topics.HARDWARE.name());
    return 0;
  }
}
