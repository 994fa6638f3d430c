package io.infermeter.bench.capacity;

import io.infermeter.avro.RequestEvent;
import io.infermeter.bench.collector.CollectorLoadDriver;
import io.infermeter.collector.Collector;
import io.infermeter.collector.CollectorConfig;
import io.infermeter.collector.delivery.Publisher;
import io.infermeter.collector.delivery.Spool;
import io.infermeter.collector.support.CollectorMetrics;
import io.infermeter.demo.RequestJson;
import io.infermeter.demo.sim.FleetSimulator;
import io.infermeter.demo.sim.FleetSpec;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The load of the capacity benchmark: live request events of a simulated fleet ({@link
 * FleetSimulator}: several models and GPU types, Poisson arrivals, lognormal token counts and
 * latencies, about 1 % failed and 0.3 % timed-out requests) at a fixed total rate, event time =
 * wall clock. The fleet's hosts are split over {@code threads} threads, each with its own
 * simulator; every {@link #TICK_NANOS} a thread takes the requests its hosts completed since its
 * last turn and sends them, open loop: a thread that falls behind sends more per turn, and sheds
 * (counts and drops) what is beyond {@link #MAX_BACKLOG_SECONDS} of its share, so memory stays
 * bounded past the limit.
 *
 * <p>Two ways in: over HTTP as JSON-lines batches to the collector's {@code /v1/requests} (the
 * demo's {@link RequestJson} writer), or {@code direct}: Avro straight to Kafka through the
 * collector's own {@link Publisher} and producer settings (no collector process).
 */
final class LoadDriver implements AutoCloseable {

  static final long TICK_NANOS = 20_000_000L;
  static final double MAX_BACKLOG_SECONDS = 2.0;

  private final String url;
  private final Publisher publisher;
  private final CollectorMetrics directMetrics;
  private final String requestsTopic;
  private final int threads;
  private final int batchLines;
  private final List<FleetSpec.Host> hosts;
  private final List<FleetSpec.Model> models;

  private final AtomicLong generated = new AtomicLong();
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong shed = new AtomicLong();
  private final AtomicLong sendNanos = new AtomicLong();
  private final List<Thread> running = new ArrayList<>();
  private volatile boolean stop;
  private volatile String lastError = "";

  private LoadDriver(
      String url,
      Publisher publisher,
      CollectorMetrics directMetrics,
      String requestsTopic,
      int threads,
      int batchLines,
      FleetSpec fleet) {
    this.url = url;
    this.publisher = publisher;
    this.directMetrics = directMetrics;
    this.requestsTopic = requestsTopic;
    this.threads = threads;
    this.batchLines = batchLines;
    this.hosts = fleet.hosts();
    this.models = fleet.models();
  }

  /** Posts JSON-lines batches of up to {@code batchLines} to the collector at {@code url}. */
  static LoadDriver http(String url, int threads, int batchLines, FleetSpec fleet) {
    return new LoadDriver(url, null, null, null, threads, batchLines, fleet);
  }

  /**
   * Produces Avro request events to the requests topic of {@code collectorSettings} through the
   * collector's {@link Publisher} (serialized on the driver's threads, as the collector's ingest
   * threads do) and a producer with {@link Collector#producerProperties}.
   */
  static LoadDriver direct(
      Map<String, String> collectorSettings, Path spoolDir, int threads, FleetSpec fleet)
      throws IOException {
    CollectorConfig config = CollectorConfig.from(Settings.fromMap(collectorSettings));
    AvroSerdeConfig serde = AvroSerdeConfig.from(config.serdeOverrides());
    CollectorMetrics metrics = new CollectorMetrics();
    String prefix = config.topicPrefix();
    String requests = Topics.REQUESTS.withPrefix(prefix).name();
    Publisher publisher =
        new Publisher(
            new KafkaProducer<>(
                Collector.producerProperties(config),
                new StringSerializer(),
                new ByteArraySerializer()),
            new AvroSerializer<SpecificRecord>(new HttpSchemaRegistryClient(serde), serde, false),
            requests,
            Topics.HARDWARE.withPrefix(prefix).name(),
            Topics.DEAD_LETTERS.withPrefix(prefix).name(),
            Topics.ENGINE_STATE.withPrefix(prefix).name(),
            new Spool(
                spoolDir,
                config.spoolMaxBytes(),
                config.spoolSegmentBytes(),
                Spool.Fsync.parse(config.spoolFsync()),
                metrics::dropped),
            metrics,
            config.bufferCapacity(),
            config.spoolRetryPeriod());
    return new LoadDriver(null, publisher, metrics, requests, threads, 0, fleet);
  }

  /**
   * A fleet of {@code hostCount} hosts in {@code cluster} (4 GPUs each, GPU types H100/A100/L4 in
   * turn, two of the demo's three models per host) whose request rates add up to {@code rate}
   * requests/s.
   */
  static FleetSpec fleet(String cluster, int hostCount, double rate) {
    List<FleetSpec.Model> models = FleetSpec.defaultFleet().models();
    String[] gpuTypes = {"H100", "A100", "L4"};
    double[] tdpWatts = {700, 400, 72};
    long[] memoryGib = {80, 80, 24};
    String[] regions = {"us-east-1", "eu-west-1", "ap-south-1"};
    List<FleetSpec.Host> hosts = new ArrayList<>();
    for (int h = 0; h < hostCount; h++) {
      int g = h % gpuTypes.length;
      String first = models.get(h % models.size()).name();
      String second = models.get((h + 1) % models.size()).name();
      hosts.add(
          new FleetSpec.Host(
              cluster,
              regions[h % regions.length],
              String.format("%s-h%03d", cluster, h),
              gpuTypes[g],
              4,
              tdpWatts[g],
              memoryGib[g] << 30,
              List.of(first, second),
              rate / hostCount,
              FleetSpec.Bursts.STEADY));
    }
    return new FleetSpec(hosts, models);
  }

  /** Starts sending at {@code rate} requests/s (stops what ran before). */
  void start(double rate, long seed) {
    stopThreads();
    stop = false;
    for (int t = 0; t < threads; t++) {
      List<FleetSpec.Host> mine = new ArrayList<>();
      for (int h = t; h < hosts.size(); h += threads) {
        FleetSpec.Host host = hosts.get(h);
        mine.add(
            new FleetSpec.Host(
                host.cluster(),
                host.region(),
                host.name(),
                host.gpuType(),
                host.gpus(),
                host.tdpWatts(),
                host.memoryBytes(),
                host.models(),
                rate / hosts.size(),
                host.bursts()));
      }
      double share = rate * mine.size() / hosts.size();
      FleetSimulator sim =
          new FleetSimulator(
              new FleetSpec(mine, models),
              List.of(),
              seed * 31 + t,
              System.currentTimeMillis() * 1000);
      Thread thread = new Thread(() -> loop(sim, share), "driver-" + t);
      thread.setDaemon(true);
      running.add(thread);
      thread.start();
    }
  }

  private void loop(FleetSimulator sim, double sharePerSecond) {
    int maxBacklog = (int) Math.max(batchLines, sharePerSecond * MAX_BACKLOG_SECONDS);
    long next = System.nanoTime();
    StringBuilder body = new StringBuilder(Math.max(1, batchLines) * 600);
    while (!stop) {
      List<RequestEvent> done = sim.requestsCompletedBefore(System.currentTimeMillis() * 1000);
      generated.addAndGet(done.size());
      if (done.size() > maxBacklog) {
        shed.addAndGet(done.size() - maxBacklog);
        done = done.subList(done.size() - maxBacklog, done.size());
      }
      long sendStart = System.nanoTime();
      if (publisher != null) {
        for (RequestEvent e : done) {
          publisher.publish(e);
        }
      } else {
        for (int from = 0; from < done.size() && !stop; from += batchLines) {
          List<RequestEvent> batch = done.subList(from, Math.min(done.size(), from + batchLines));
          body.setLength(0);
          for (RequestEvent e : batch) {
            body.append(RequestJson.line(e)).append('\n');
          }
          try {
            accepted.addAndGet(
                CollectorLoadDriver.post(url, body.toString().getBytes(StandardCharsets.UTF_8)));
          } catch (RuntimeException ex) {
            rejected.addAndGet(batch.size());
            lastError = String.valueOf(ex.getMessage());
            LockSupport.parkNanos(TICK_NANOS);
          }
        }
      }
      sendNanos.addAndGet(System.nanoTime() - sendStart);
      next += TICK_NANOS;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      } else {
        next = System.nanoTime();
      }
    }
  }

  /**
   * Requests accepted so far: by the collector (HTTP), or acknowledged by Kafka (direct mode, the
   * publisher's sent count).
   */
  long accepted() {
    return publisher != null ? (long) directMetrics.sentCount(requestsTopic) : accepted.get();
  }

  /**
   * Nanoseconds the driver's threads spent sending so far (HTTP: posting and waiting for the
   * collector's answer; direct: serializing and handing to the publisher, back-pressure included).
   */
  long sendNanos() {
    return sendNanos.get();
  }

  int threads() {
    return threads;
  }

  long generated() {
    return generated.get();
  }

  /** Direct mode: events the publisher put in its disk spool (Kafka slower than the driver). */
  long spooled() {
    return publisher != null ? (long) directMetrics.spooledCount() : 0;
  }

  long rejected() {
    return rejected.get();
  }

  long shed() {
    return shed.get();
  }

  String lastError() {
    return lastError;
  }

  /** Stops sending until the next {@link #start}. */
  void pause() {
    stopThreads();
  }

  private void stopThreads() {
    stop = true;
    for (Thread t : running) {
      try {
        t.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    running.clear();
  }

  @Override
  public void close() {
    stopThreads();
    if (publisher != null) {
      publisher.close(Duration.ofSeconds(30));
    }
  }
}
