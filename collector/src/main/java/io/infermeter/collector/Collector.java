package io.infermeter.collector;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.delivery.AvroBinary;
import io.infermeter.collector.delivery.Publisher;
import io.infermeter.collector.delivery.Spool;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.Ids;
import io.infermeter.collector.ingest.IngestServer;
import io.infermeter.collector.ingest.InvalidEventException;
import io.infermeter.collector.ingest.RequestValidator;
import io.infermeter.collector.ingest.grpc.OtlpGrpcReceiver;
import io.infermeter.collector.ingest.http.NettyHttpServer;
import io.infermeter.collector.ingest.otlpmetrics.OtlpMetricsIngest;
import io.infermeter.collector.sampling.EstimatedPowerModel;
import io.infermeter.collector.sampling.HardwareSamples;
import io.infermeter.collector.sampling.NvmlSampler;
import io.infermeter.collector.sampling.OshiSampler;
import io.infermeter.collector.sampling.RaplReader;
import io.infermeter.collector.sampling.Sampler;
import io.infermeter.collector.sampling.SamplerLoop;
import io.infermeter.collector.sampling.prometheus.DcgmMapping;
import io.infermeter.collector.sampling.prometheus.DcgmScraper;
import io.infermeter.collector.sampling.prometheus.EngineMapping;
import io.infermeter.collector.sampling.prometheus.EngineScraper;
import io.infermeter.collector.sampling.prometheus.ScrapeClient;
import io.infermeter.collector.support.CollectorMetrics;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.health.HealthHandler;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.schemas.serde.SchemaRegistryClient;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running collector: HTTP ingest (OTLP traces, JSON lines), the in-process {@link
 * RequestRecorder}, the hardware sampler loop, the Kafka publisher with its disk spool and the
 * Prometheus /metrics endpoint. {@link #start} wires and starts everything; {@link #close} stops
 * ingest first, then sampling, then flushes the publisher (what Kafka does not acknowledge in time
 * stays in the spool for the next start). Embeddable (benchmarks, tests, JVM inference servers);
 * thread-safe.
 */
public final class Collector implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Collector.class);

  private final CollectorConfig config;
  private final CollectorMetrics metrics;
  private final Publisher publisher;
  private final IngestServer ingest;
  private final OtlpGrpcReceiver grpc;
  private final SamplerLoop samplers;
  private final EngineScraper engineScraper;
  private final RequestRecorder recorder;
  private final Thread recorderDrainer;
  private final HTTPServer metricsServer;
  private volatile boolean running = true;

  private Collector(
      CollectorConfig config,
      Clock clock,
      Producer<String, byte[]> producer,
      SchemaRegistryClient registry)
      throws IOException {
    this.config = config;
    this.metrics = new CollectorMetrics();
    JvmMetrics.builder().register(metrics.registry());
    AvroSerdeConfig serdeConfig = AvroSerdeConfig.from(config.serdeOverrides());
    SchemaRegistryClient reg =
        registry != null ? registry : new HttpSchemaRegistryClient(serdeConfig);
    Producer<String, byte[]> prod =
        producer != null
            ? producer
            : new KafkaProducer<>(
                producerProperties(config), new StringSerializer(), new ByteArraySerializer());
    Spool spool =
        new Spool(
            config.spoolDir(),
            config.spoolMaxBytes(),
            config.spoolSegmentBytes(),
            Spool.Fsync.parse(config.spoolFsync()),
            metrics::dropped);
    this.publisher =
        new Publisher(
            prod,
            new AvroSerializer<SpecificRecord>(reg, serdeConfig, false),
            Topics.REQUESTS.withPrefix(config.topicPrefix()).name(),
            Topics.HARDWARE.withPrefix(config.topicPrefix()).name(),
            Topics.DEAD_LETTERS.withPrefix(config.topicPrefix()).name(),
            Topics.ENGINE_STATE.withPrefix(config.topicPrefix()).name(),
            spool,
            metrics,
            config.bufferCapacity(),
            config.spoolRetryPeriod());
    if (spool.pending() > 0) {
      LOG.info(
          "{} undelivered events from a previous run are in the spool; delivering them",
          spool.pending());
    }
    EventDefaults defaults =
        EventDefaults.of(
                config.cluster(), config.region(), config.host(), config.gpuType(), config.engine())
            .withModelFallback(config.otlpDefaultModel(), config.otlpModelResourceAttribute());
    RequestValidator validator =
        new RequestValidator(
            clock,
            config.maxDuration(),
            config.maxFutureSkew(),
            config.maxAge(),
            config.maxTokens(),
            config.maxDimensionBytes(),
            config.maxMessageBytes(),
            metrics::truncated);
    Consumer<RequestEvent> sink = publisher::publish;
    IngestServer.EncodedSink encoded =
        new IngestServer.EncodedSink() {
          @Override
          public byte[] requestHeader() {
            return publisher.requestHeader();
          }

          @Override
          public void acceptEncoded(String key, byte[] wire) {
            publisher.publishRequest(key, wire);
          }
        };
    OtlpMetricsIngest otlpMetrics =
        new OtlpMetricsIngest(
            new EngineMapping(config.cluster(), config.region(), config.host()),
            new DcgmMapping(
                new HardwareSamples(config.cluster(), config.region(), config.host()),
                config.gpuType().orElse(null)),
            publisher::publish,
            publisher::publish,
            metrics,
            clock);
    IngestServer.MetricsExport metricsExport =
        new IngestServer.MetricsExport() {
          @Override
          public NettyHttpServer.Response export(byte[] body, int length, boolean json) {
            return otlpMetrics.exportHttp(body, length, json);
          }

          @Override
          public NettyHttpServer.Response unreadable(boolean json, String message) {
            return otlpMetrics.unreadable(json, message);
          }
        };
    this.ingest =
        new IngestServer(
            config.httpServer(),
            defaults,
            validator,
            sink,
            encoded,
            d -> publisher.publish(d, config.host()),
            metrics,
            metricsExport);
    ingest.refuseWhile(
        publisher::spoolFull); // 503 / UNAVAILABLE rather than drop-oldest while clients can retry
    try {
      this.grpc =
          config.grpc().enabled() ? new OtlpGrpcReceiver(config.grpc(), ingest, otlpMetrics) : null;
    } catch (IOException | RuntimeException e) {
      ingest.close();
      throw e;
    }
    this.recorder = new RequestRecorder(config.recorderCapacity(), clock);
    this.recorderDrainer =
        new Thread(() -> drainRecorder(defaults, validator), "infermeter-recorder");
    recorderDrainer.setDaemon(true);
    recorderDrainer.start();
    List<Sampler> sources = samplers(config);
    ScrapeClient scrapeClient = new ScrapeClient(config.scrape(), metrics);
    if (config.samplingEnabled() && !config.scrape().dcgmTargets().isEmpty()) {
      DcgmScraper dcgm =
          new DcgmScraper(
              scrapeClient,
              new HardwareSamples(config.cluster(), config.region(), config.host()),
              config.gpuType().orElse(null),
              metrics,
              clock);
      dcgm.start();
      sources.add(dcgm);
    }
    this.samplers = new SamplerLoop(sources, publisher::publish, metrics, clock);
    if (!config.scrape().engineTargets().isEmpty()) {
      this.engineScraper =
          new EngineScraper(
              scrapeClient,
              new EngineMapping(config.cluster(), config.region(), config.host()),
              publisher::publish,
              metrics,
              clock);
      engineScraper.start();
    } else {
      this.engineScraper = null;
    }
    if (config.samplingEnabled()) {
      samplers.start(config.samplingPeriod());
    }
    this.metricsServer =
        config.metricsEnabled()
            ? HTTPServer.builder()
                .hostname(config.metricsHost())
                .port(config.metricsPort())
                .registry(metrics.registry())
                .defaultHandler(new HealthHandler(() -> readiness(spool, config.spoolMaxBytes())))
                .buildAndStart()
            : null;
    LOG.info("collector started: {}; samplers {}", config, samplers.samplerNames());
  }

  /**
   * Null when ready (/-/ready answers 200), else why not: Kafka is unreachable and the spool is at
   * least {@value #SPOOL_NOT_READY_PERCENT} % full, so events would soon be dropped. Kafka down
   * with room in the spool is still ready: the spool is there to absorb an outage without turning
   * clients away.
   */
  private String readiness(Spool spool, long spoolMax) {
    if (publisher.kafkaHealthy()) {
      return null;
    }
    long used = spool.bytes();
    return used * 100 >= spoolMax * SPOOL_NOT_READY_PERCENT
        ? "Kafka unreachable and the spool is "
            + used * 100 / spoolMax
            + " % full ("
            + used
            + " of "
            + spoolMax
            + " bytes, spool.max.bytes)"
        : null;
  }

  static final int SPOOL_NOT_READY_PERCENT = 90;

  /** Starts a collector with the real Kafka producer and schema registry client. */
  public static Collector start(CollectorConfig config) throws IOException {
    return new Collector(config, Clock.systemUTC(), null, null);
  }

  /**
   * Starts a collector with an injected clock, producer and registry (null: the real ones). For
   * tests.
   */
  public static Collector start(
      CollectorConfig config,
      Clock clock,
      Producer<String, byte[]> producer,
      SchemaRegistryClient registry)
      throws IOException {
    return new Collector(config, clock, producer, registry);
  }

  /**
   * The Kafka producer settings: idempotent, acks=all, lz4, then {@code kafka.producer.*}
   * overrides.
   */
  public static Map<String, Object> producerProperties(CollectorConfig config) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    // telemetry tolerates 100 ms of delivery delay, and fewer, larger produce requests cost less
    // per event
    p.put(ProducerConfig.LINGER_MS_CONFIG, 100);
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    // an ingest thread's send (the direct path) waits up to this long for topic metadata when the
    // broker has just become unreachable; the answer bound rests on it, and the spool retries
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 250);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "infermeter-collector-" + config.host());
    p.putAll(config.producerOverrides());
    // these two are what "nothing lost, nothing duplicated by the producer" rests on: not
    // overridable
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    return p;
  }

  private static List<Sampler> samplers(CollectorConfig config) {
    HardwareSamples factory = new HardwareSamples(config.cluster(), config.region(), config.host());
    List<Sampler> out = new ArrayList<>();
    if (!config.samplingEnabled()) {
      return out;
    }
    if (config.nvmlEnabled()) {
      NvmlSampler.open(config.nvmlLibrary(), factory, config.gpuType().orElse(null))
          .ifPresent(out::add);
    }
    Optional<RaplReader> rapl =
        RaplReader.open(
            config.raplRoot(), factory, config.spoolDir().resolve("rapl-state.properties"));
    rapl.ifPresent(out::add);
    if (rapl.isEmpty()) {
      LOG.info(
          "no RAPL counters under {}; CPU power is {}",
          config.raplRoot(),
          config.powerEstimateEnabled() ? "estimated (source=estimated)" : "not reported");
    }
    if (config.oshiEnabled()) {
      EstimatedPowerModel model =
          rapl.isEmpty() && config.powerEstimateEnabled()
              ? new EstimatedPowerModel(config.cpuTdpWatts(), config.cpuIdleWatts())
              : null;
      out.add(new OshiSampler(factory, config.processPid(), config.processName(), model));
    }
    return out;
  }

  private void drainRecorder(EventDefaults defaults, RequestValidator validator) {
    CounterDataPoint received = metrics.received("java-api");
    long reportedDrops = 0;
    long idleNanos = 100_000L;
    while (running || recorder.backlog() > 0) {
      try {
        long nowUs =
            validator.nowUs(); // one clock read per drained batch, as ingest does per request
        int n =
            recorder.drain(
                () -> defaults.newEvent("java-api"),
                e -> {
                  try {
                    validator.validate(e, nowUs);
                    String id = Ids.ofRequest(e.getRequestId(), e.getHost(), e.getModel());
                    if (id != null) {
                      e.setEventId(id);
                    }
                    publisher.publish(e);
                    received.inc();
                  } catch (InvalidEventException ex) {
                    metrics.rejected("java-api", ex.reason());
                    publisher.publish(javaApiDeadLetter(e, ex, nowUs), config.host());
                  }
                },
                4096);
        long drops = recorder.dropped();
        if (drops > reportedDrops) {
          metrics.dropped("recorder_full", drops - reportedDrops);
          reportedDrops = drops;
        }
        if (n == 0) {
          if (!running) {
            break;
          }
          // back off while idle (up to 50 ms) so an idle collector costs no CPU; reset as soon as
          // work arrives
          LockSupport.parkNanos(idleNanos);
          idleNanos = Math.min(idleNanos * 2, 50_000_000L);
        } else {
          idleNanos = 100_000L;
        }
      } catch (RuntimeException e) {
        LOG.error("recorder drain failed; continuing", e);
      }
    }
  }

  /**
   * A rejected in-process record as a dead letter; the payload is the event in plain Avro binary.
   */
  private static DeadLetter javaApiDeadLetter(
      RequestEvent e, InvalidEventException ex, long nowUs) {
    DeadLetter d = new DeadLetter();
    d.setStage("collector");
    d.setReason("validation");
    d.setMessage("java-api: " + ex.reason().label() + ": " + ex.getMessage());
    d.setDetectedUs(nowUs);
    d.setRecordTimestampUs(e.getArrivalUs());
    try {
      d.setPayload(ByteBuffer.wrap(AvroBinary.encode(e)));
    } catch (IOException | RuntimeException encodeFailure) {
      d.setErrorClass(encodeFailure.getClass().getName());
    }
    return d;
  }

  public CollectorConfig config() {
    return config;
  }

  /** The in-process API for JVM inference servers. */
  public RequestRecorder recorder() {
    return recorder;
  }

  public int httpPort() {
    return ingest.port();
  }

  /** Port of the /metrics endpoint, -1 when disabled. */
  public int metricsPort() {
    return metricsServer == null ? -1 : metricsServer.getPort();
  }

  public CollectorMetrics metrics() {
    return metrics;
  }

  public Publisher publisher() {
    return publisher;
  }

  public SamplerLoop samplerLoop() {
    return samplers;
  }

  /** The OTLP/gRPC receiver's bound port; empty when grpc.enabled is false. */
  public java.util.OptionalInt grpcPort() {
    return grpc == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(grpc.port());
  }

  public IngestServer ingest() {
    return ingest;
  }

  /**
   * Publishes a hardware sample built elsewhere (e.g. a custom sampler of an embedding
   * application).
   */
  public void publish(HardwareSample sample) {
    publisher.publish(sample);
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }

  public void close(Duration timeout) {
    LOG.info("collector stopping");
    if (grpc != null) {
      grpc.close();
    }
    ingest.close();
    samplers.close();
    if (engineScraper != null) {
      engineScraper.close();
    }
    running = false;
    try {
      recorderDrainer.join(timeout.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    publisher.close(timeout);
    if (metricsServer != null) {
      metricsServer.close();
    }
    LOG.info("collector stopped");
  }
}
