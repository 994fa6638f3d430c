package io.infermeter.bench.streams;

import io.infermeter.avro.WindowAggregate;
import io.infermeter.collector.Collector;
import io.infermeter.collector.CollectorConfig;
import io.infermeter.schemas.TopicSpec;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.LocalStackEnv;
import io.infermeter.schemas.config.Settings;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.streams.InfermeterTopology;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.TopologySerdes;
import io.infermeter.streams.support.StreamsCounters;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KafkaStreams;

/**
 * A live fleet with exporter batching: H hosts, each a vLLM-like server whose OpenTelemetry Java
 * SDK exports its {@code llm_request} spans through a {@code BatchSpanProcessor} with a 5 s
 * schedule delay (the SDK default: spans reach the receiver 0-5 s after they end, at a different
 * phase per host) over OTLP/HTTP to its own collector (in this JVM, one per node, since the
 * collector sets a span's host). R requests/s per host, live (a span ends now), for S seconds from
 * a minute boundary. The production topology runs in this JVM (exactly_once_v2, default windows 10
 * s and 1 min and default lateness settings unless overridden). After the load the SDKs flush,
 * every partition gets one request past the last window's grace and fleet delay, and the window
 * aggregates topic is read (read_committed) until the totals settle.
 *
 * <p>Prints per window size: the requests sent; host and fleet totals of the newest version of
 * every window (what the sink's ReplacingMergeTree keeps) and of the first versions (what a reader
 * that ignores corrections sees); fleet windows whose total differs from the sum of their hosts;
 * then the streams counters: late records, dead letters by reason ({@code late}, {@code
 * late-partial}, {@code late-usage}), corrections.
 *
 * <p>Usage: {@code LiveBatchingBenchmark [hosts=12] [requestsPerSecond=30] [seconds=120]
 * [partitions=4]}; overrides {@code -Dwindows.*}, {@code -Ddedup.*}, {@code -Dkafka.streams.*};
 * {@code -DscheduleDelay=5s}. Kafka and the registry as for the other benchmarks (INFERMETER_*
 * variables, else the local stack's stack.env).
 */
public final class LiveBatchingBenchmark {

  private LiveBatchingBenchmark() {}

  public static void main(String[] args) throws Exception {
    int hosts = args.length > 0 ? Integer.parseInt(args[0]) : 12;
    int rate = args.length > 1 ? Integer.parseInt(args[1]) : 30;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 120;
    int partitions = args.length > 3 ? Integer.parseInt(args[3]) : 4;
    Duration scheduleDelay = Settings.parseDuration(System.getProperty("scheduleDelay", "5s"));
    Map<String, String> stack = LocalStackEnv.resolve(System.getenv(), Path.of(""));
    String bootstrap = stack.getOrDefault("INFERMETER_KAFKA_BOOTSTRAP", "127.0.0.1:9092");
    String registryUrl =
        stack.getOrDefault(
            "INFERMETER_SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7");
    String prefix = "bench-live-" + System.currentTimeMillis() + "-";
    String requestsTopic = Topics.REQUESTS.withPrefix(prefix).name();

    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      List<NewTopic> topics = new ArrayList<>();
      for (TopicSpec<?> t : Topics.ALL) {
        topics.add(new NewTopic(t.withPrefix(prefix).name(), partitions, (short) 1));
      }
      admin.createTopics(topics).all().get();
    }

    Map<String, Object> m = new HashMap<>();
    m.put("application.id", prefix + "app");
    m.put("topic.prefix", prefix);
    m.put("kafka.bootstrap.servers", bootstrap);
    m.put("schema.registry.url", registryUrl);
    m.put("kafka.streams.state.dir", Files.createTempDirectory("bench-live").toString());
    m.put(
        "windows.fleet.upstream.tasks",
        partitions); // as StreamsMain sets it from the request topic
    for (String k : System.getProperties().stringPropertyNames()) {
      if (k.startsWith("kafka.streams.") || k.startsWith("windows.") || k.startsWith("dedup.")) {
        m.put(k, System.getProperty(k));
      }
    }
    StreamsSettings settings = StreamsSettings.fromMap(m);
    System.out.println("streams settings: " + m);
    AvroSerdeConfig serdeConfig = AvroSerdeConfig.from(settings.serdeConfig());
    TopologySerdes serdes =
        TopologySerdes.of(new HttpSchemaRegistryClient(serdeConfig), serdeConfig);
    StreamsCounters counters = new StreamsCounters();
    KafkaStreams streams =
        new KafkaStreams(
            InfermeterTopology.build(settings, serdes, counters, Clock.systemUTC()),
            InfermeterTopology.streamsProperties(settings, serdes, counters, Clock.systemUTC()));
    streams.start();

    List<String> hostNames = new ArrayList<>();
    List<Collector> collectors = new ArrayList<>();
    Path spool = Files.createTempDirectory("bench-live-spool");
    for (int h = 0; h < hosts; h++) {
      String host = String.format(Locale.ROOT, "live-host-%02d", h);
      hostNames.add(host);
      collectors.add(collector(bootstrap, registryUrl, prefix, host, spool.resolve(host)));
    }
    await(
        Duration.ofSeconds(120),
        "streams RUNNING",
        () -> streams.state() == KafkaStreams.State.RUNNING);

    // start on a minute boundary; the SDKs are created at staggered times before it, so their
    // export timers differ
    long startMs =
        (System.currentTimeMillis() + 10_000 + scheduleDelay.toMillis()) / 60_000 * 60_000 + 60_000;
    long endMs = startMs + seconds * 1000L;
    List<SdkTracerProvider> providers = new ArrayList<>();
    List<Tracer> tracers = new ArrayList<>();
    sleepUntil(startMs - scheduleDelay.toMillis() - 1000);
    for (int h = 0; h < hosts; h++) {
      OtlpHttpSpanExporter exporter =
          OtlpHttpSpanExporter.builder()
              .setEndpoint("http://127.0.0.1:" + collectors.get(h).httpPort() + "/v1/traces")
              .build();
      SdkTracerProvider provider =
          SdkTracerProvider.builder()
              .setResource(Resource.getDefault())
              .addSpanProcessor(
                  BatchSpanProcessor.builder(exporter).setScheduleDelay(scheduleDelay).build())
              .build();
      providers.add(provider);
      tracers.add(provider.get("vllm.llm_engine"));
      Thread.sleep(scheduleDelay.toMillis() / hosts);
    }
    sleepUntil(startMs);
    System.out.printf(
        Locale.ROOT,
        "load: %d hosts x %d requests/s for %d s, BatchSpanProcessor scheduleDelay %s, "
            + "%d partitions, %s .. %s%n",
        hosts,
        rate,
        seconds,
        scheduleDelay,
        partitions,
        Instant.ofEpochMilli(startMs),
        Instant.ofEpochMilli(endMs));
    AtomicLong spans = new AtomicLong();
    ScheduledExecutorService load = Executors.newScheduledThreadPool(2);
    List<ScheduledFuture<?>> hostLoads = new ArrayList<>();
    long periodUs = 1_000_000L / rate;
    for (int h = 0; h < hosts; h++) {
      Tracer tracer = tracers.get(h);
      String model = h % 2 == 0 ? "live-a" : "live-b";
      hostLoads.add(
          load.scheduleAtFixedRate(
              () -> {
                if (System.currentTimeMillis() >= endMs) {
                  return;
                }
                long e2eUs =
                    Math.max(
                        1_000,
                        Math.round(
                            Math.exp(
                                Math.log(800_000)
                                    + 0.7 * ThreadLocalRandom.current().nextGaussian())));
                long ttftUs = e2eUs / 5; // whole microseconds
                long endNs = System.currentTimeMillis() * 1_000_000L;
                Span span =
                    tracer
                        .spanBuilder("llm_request")
                        .setSpanKind(SpanKind.SERVER)
                        .setStartTimestamp(endNs - e2eUs * 1000, TimeUnit.NANOSECONDS)
                        .startSpan();
                span.setAllAttributes(
                    Attributes.builder()
                        .put("gen_ai.response.model", model)
                        .put("gen_ai.latency.e2e", e2eUs / 1e6)
                        .put("gen_ai.latency.time_to_first_token", ttftUs / 1e6)
                        .put("gen_ai.usage.prompt_tokens", 100L)
                        .put("gen_ai.usage.completion_tokens", 50L)
                        .build());
                span.end(endNs, TimeUnit.NANOSECONDS);
                spans.incrementAndGet();
              },
              (h * periodUs) / hosts,
              periodUs,
              TimeUnit.MICROSECONDS));
    }
    sleepUntil(endMs + 200);
    // a periodic task that threw has stopped: fail rather than report a lighter load as measured
    for (ScheduledFuture<?> f : hostLoads) {
      if (f.isDone()) {
        f.get();
      }
    }
    load.shutdown();
    load.awaitTermination(10, TimeUnit.SECONDS);
    for (SdkTracerProvider p : providers) {
      p.shutdown().join(30, TimeUnit.SECONDS); // exports what the processor still holds
    }
    long sent = spans.get();
    await(
        Duration.ofSeconds(60),
        "the collectors' events acknowledged by Kafka",
        () -> acknowledged(collectors, requestsTopic) >= sent);
    long received =
        (long) collectors.stream().mapToDouble(c -> c.metrics().receivedCount("otlp")).sum();
    System.out.printf(
        Locale.ROOT,
        "spans ended %d, received by the collectors %d, acknowledged by Kafka %d%n",
        sent,
        received,
        acknowledged(collectors, requestsTopic));

    // one request per host and per partition past the last 1 min window's end + grace (5 s) + fleet
    // delay (5 s):
    // every host window closes and the upstream watermark (stream time - grace) passes every fleet
    // window's end + delay
    long lastWindowEnd = (endMs + 59_999) / 60_000 * 60_000;
    sleepUntil(lastWindowEnd + 11_500);
    long nowUs = System.currentTimeMillis() * 1000;
    List<String> closerHosts = new ArrayList<>(hostNames);
    boolean[] covered = new boolean[partitions];
    for (int i = 0, left = partitions;
        left > 0;
        i++) { // the producer's partitioner: murmur2 of the key (host)
      String h = "live-closer-" + i;
      int p = Utils.toPositive(Utils.murmur2(h.getBytes(StandardCharsets.UTF_8))) % partitions;
      if (!covered[p]) {
        covered[p] = true;
        left--;
        closerHosts.add(h);
      }
    }
    StringBuilder closers = new StringBuilder();
    for (String h : closerHosts) {
      closers
          .append("{\"requestId\":\"closer-")
          .append(h)
          .append("\",\"host\":\"")
          .append(h)
          .append("\",\"model\":\"closer\",\"arrivalUs\":")
          .append(nowUs - 600_000)
          .append(",\"completedUs\":")
          .append(nowUs - 500_000)
          .append("}\n");
    }
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:" + collectors.get(0).httpPort() + "/v1/requests"))
                    .POST(HttpRequest.BodyPublishers.ofString(closers.toString()))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    System.out.println("closing requests: " + r.statusCode() + " " + r.body());

    Map<String, WindowAggregate> first = new HashMap<>();
    Map<String, WindowAggregate> newest = new HashMap<>();
    Map<String, Integer> versions = new HashMap<>();
    Map<String, Object> c = new HashMap<>();
    c.put("bootstrap.servers", bootstrap);
    c.put("group.id", prefix + "reader");
    c.put("auto.offset.reset", "earliest");
    c.put("isolation.level", "read_committed");
    c.put("enable.auto.commit", false);
    try (KafkaConsumer<String, WindowAggregate> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), serdes.aggregates().deserializer())) {
      consumer.subscribe(List.of(Topics.WINDOW_AGGREGATES.withPrefix(prefix).name()));
      long deadline = System.currentTimeMillis() + 90_000;
      long lastRecordMs = System.currentTimeMillis();
      while (System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, WindowAggregate> rec : consumer.poll(Duration.ofMillis(500))) {
          WindowAggregate a = rec.value();
          if (a == null || a.getModel().equals("closer")) {
            continue;
          }
          String key =
              a.getScope()
                  + "|"
                  + a.getHost()
                  + "|"
                  + a.getModel()
                  + "|"
                  + a.getModelVersion()
                  + "|"
                  + a.getGpuType()
                  + "|"
                  + a.getWindowSizeMs()
                  + "|"
                  + a.getWindowStartUs();
          first.putIfAbsent(key, a);
          newest.put(key, a); // a key's versions are on one partition, in order
          versions.merge(key, 1, Integer::sum);
          lastRecordMs = System.currentTimeMillis();
        }
        long quietMs = System.currentTimeMillis() - lastRecordMs;
        boolean complete =
            total(newest, "host", 60_000) == sent
                && total(newest, "fleet", 60_000) == sent
                && total(newest, "host", 10_000) == sent
                && total(newest, "fleet", 10_000) == sent;
        if ((quietMs > 5_000 && complete) || quietMs > 20_000) {
          break;
        }
      }
    }

    for (long size : new long[] {10_000, 60_000}) {
      long corrected =
          versions.entrySet().stream()
              .filter(e -> newest.get(e.getKey()).getWindowSizeMs() == size && e.getValue() > 1)
              .count();
      long windows = newest.values().stream().filter(a -> a.getWindowSizeMs() == size).count();
      System.out.printf(
          Locale.ROOT,
          "%2d s windows: sent %d | newest versions: host total %d, fleet total %d | "
              + "first versions: host %d, fleet %d | windows %d, with more than one version %d | fleet windows != sum "
              + "of their hosts (newest): %d%n",
          size / 1000,
          sent,
          total(newest, "host", size),
          total(newest, "fleet", size),
          total(first, "host", size),
          total(first, "fleet", size),
          windows,
          corrected,
          fleetMismatches(newest, size));
    }
    System.out.printf(
        Locale.ROOT,
        "streams counters: late %d, late corrected %d, windows corrected %d, corrections "
            + "emitted %d, future clamped %d, duplicates %d, dead letters %s%n",
        counters.lateRecords.sum(),
        counters.lateCorrected.sum(),
        counters.windowsCorrected.sum(),
        counters.correctionsEmitted.sum(),
        counters.futureClamped.sum(),
        counters.duplicates.sum(),
        new TreeMap<>(counters.deadLetters()));

    for (Collector col : collectors) {
      col.close();
    }
    streams.close(Duration.ofSeconds(30));
    streams.cleanUp();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      List<String> ours =
          admin.listTopics().names().get().stream().filter(t -> t.startsWith(prefix)).toList();
      admin.deleteTopics(ours).all().get(60, TimeUnit.SECONDS);
    }
    System.exit(0);
  }

  private static long total(Map<String, WindowAggregate> windows, String scope, long size) {
    return windows.values().stream()
        .filter(a -> a.getScope().equals(scope) && a.getWindowSizeMs() == size)
        .mapToLong(WindowAggregate::getRequests)
        .sum();
  }

  /** Fleet windows (model, start) whose requests differ from the sum of their host windows. */
  private static long fleetMismatches(Map<String, WindowAggregate> windows, long size) {
    Map<String, Long> hostSum = new HashMap<>();
    Map<String, Long> fleet = new HashMap<>();
    for (WindowAggregate a : windows.values()) {
      if (a.getWindowSizeMs() == size) {
        (a.getScope().equals("fleet") ? fleet : hostSum)
            .merge(a.getModel() + "|" + a.getWindowStartUs(), a.getRequests(), Long::sum);
      }
    }
    Map<String, Long> keys = new HashMap<>(hostSum);
    fleet.forEach(keys::putIfAbsent);
    return keys.keySet().stream()
        .filter(k -> !hostSum.getOrDefault(k, 0L).equals(fleet.getOrDefault(k, 0L)))
        .count();
  }

  private static long acknowledged(List<Collector> collectors, String topic) {
    return (long) collectors.stream().mapToDouble(col -> col.metrics().sentCount(topic)).sum();
  }

  private static Collector collector(
      String bootstrap, String registry, String prefix, String host, Path spool) throws Exception {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("kafka.bootstrap.servers", bootstrap);
    cfg.put("schema.registry.url", registry);
    cfg.put("topic.prefix", prefix);
    cfg.put("http.port", 0);
    cfg.put("metrics.port", 0);
    cfg.put("grpc.enabled", false);
    cfg.put("sampling.enabled", false);
    cfg.put("spool.dir", Files.createDirectories(spool).toString());
    cfg.put("host", host);
    cfg.put("cluster", "bench");
    cfg.put("region", "eu-north-1");
    return Collector.start(CollectorConfig.from(Settings.fromMap(cfg)));
  }

  private static void await(Duration timeout, String what, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out waiting for " + what);
      }
      Thread.sleep(100);
    }
  }

  private static void sleepUntil(long epochMs) throws InterruptedException {
    long left = epochMs - System.currentTimeMillis();
    if (left > 0) {
      Thread.sleep(left);
    }
  }
}
