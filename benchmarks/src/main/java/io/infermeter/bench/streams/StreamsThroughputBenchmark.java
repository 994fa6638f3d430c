package io.infermeter.bench.streams;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.LocalStackEnv;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.streams.InfermeterTopology;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.TopologySerdes;
import io.infermeter.streams.support.StreamsCounters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;

/**
 * End-to-end throughput of the streams topology against its ceiling, in one run on the local
 * broker:
 *
 * <ol>
 *   <li>pre-loads N request events (Avro, real registry) into a fresh topic;
 *   <li>ceiling: a plain consumer (assigned partitions, no group) reads and Avro-decodes all N;
 *   <li>topology: the production topology (exactly_once_v2, RocksDB, default windows 10 s and 1
 *       min) runs until the app's committed offsets cover all N input events.
 * </ol>
 *
 * Usage: {@code StreamsThroughputBenchmark [events=400000] [partitions=2] [hosts=100] [models=4]}
 * ({@code -Dwarmup=<events>}: an unreported first pass, default half the events; {@code
 * -Dfloor=true}: a no-op processor instead of the topology, {@code -Dfloor=both}: the topology's
 * passes, then the floor's, in this JVM; {@code -Dprofile=<file.jfr>}: a JFR recording of each
 * measured pass from start to drained, {@code -topology}/{@code -floor} appended to the name with
 * {@code -Dfloor=both}, read by {@link StageBreakdown}); bootstrap and registry from
 * INFERMETER_KAFKA_BOOTSTRAP / INFERMETER_SCHEMA_REGISTRY_URL, else the local stack's stack.env.
 * The whole run is bounded: each phase gives up after 150 s.
 */
public final class StreamsThroughputBenchmark {

  private static final long T0_MS = 1_700_000_040_000L;

  /**
   * The events' timestamps are far in the past (T0_MS): without this the broker's 7-day retention
   * check, every 5 minutes, can delete a pass's input under it, and the pass stalls with nothing
   * left to read.
   */
  private static final Map<String, String> KEEP = Map.of("retention.ms", "-1");

  /** The plain consumer's rate over the last two thirds of its run (events/s). */
  private static final double[] CEILING_STEADY = {0};

  private StreamsThroughputBenchmark() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 400_000;
    // A first, unreported pass on its own topics lets the JIT compile the consumer, Avro and
    // topology code: without
    // it, C2 compilations (seconds of CPU on this 2-core machine) run during the whole measured
    // pass.
    int warmup = Integer.getInteger("warmup", n / 2);
    String floorMode = System.getProperty("floor", "false");
    boolean both = "both".equals(floorMode);
    List<Boolean> modes = both ? List.of(false, true) : List.of(Boolean.parseBoolean(floorMode));
    String profile = System.getProperty("profile");
    List<PassResult> results = new ArrayList<>();
    boolean ok = true;
    for (boolean floor : modes) {
      String mode = floor ? "floor" : "topology";
      if (warmup > 0) {
        System.out.println(
            "=== " + mode + ": warm-up pass (" + warmup + " events, not the measurement) ===");
        // profiling: the warm-up pass runs under a recording too (not written), or JFR's
        // start-up in the measured pass doubles the JIT compiler's work there (seen: C2 threads
        // 8.9 s without JFR, 18.7 s with it, for the same 1,000,000-event topology pass)
        run(args, warmup, floor, profile == null ? null : DISCARD);
      }
      System.out.println("=== " + mode + ": measured pass (" + n + " events) ===");
      Path jfr = null;
      if (profile != null) {
        jfr = Path.of(both ? profile.replaceFirst("(\\.jfr)?$", "-" + mode + ".jfr") : profile);
      }
      PassResult r = run(args, n, floor, jfr);
      results.add(r);
      ok &= r.complete();
    }
    if (both && results.get(0).drainedRate() > 0 && results.get(1).drainedRate() > 0) {
      PassResult topology = results.get(0);
      PassResult floor = results.get(1);
      System.out.printf(
          Locale.ROOT,
          "TOPOLOGY VS FLOOR (measured passes of this run): drained %.0f vs %.0f events/s = "
              + "%.1f %% of the floor; stream thread CPU per event %.2f vs %.2f us%n",
          topology.drainedRate(),
          floor.drainedRate(),
          100 * topology.drainedRate() / floor.drainedRate(),
          topology.streamThreadCpuUsPerEvent(),
          floor.streamThreadCpuUsPerEvent());
    }
    System.exit(ok ? 0 : 1);
  }

  /**
   * One pass's outcome: all input committed, events/s from RUNNING to drained (0 when not drained),
   * the stream threads' CPU per input event from their start to drained.
   */
  private record PassResult(
      boolean complete, double drainedRate, double streamThreadCpuUsPerEvent) {}

  /**
   * Written into the JFR recording when the pass is drained: what {@link StageBreakdown} needs to
   * turn sample shares into microseconds per event.
   */
  @jdk.jfr.Name(StageBreakdown.PASS_EVENT)
  @jdk.jfr.Label("Measured pass")
  @jdk.jfr.Category("infermeter")
  static final class MeasuredPassEvent extends jdk.jfr.Event {
    @jdk.jfr.Label("Input events")
    long events;

    @jdk.jfr.Label("Stream threads' CPU (ns), start to drained")
    long streamThreadCpuNanos;

    @jdk.jfr.Label("Floor mode (no-op processor)")
    boolean floor;

    @jdk.jfr.Label("Events/s from RUNNING to drained")
    double drainedRate;

    @jdk.jfr.Label("Execution sample period (ms)")
    long samplePeriodMs;
  }

  /**
   * A JFR recording of the stream threads' time: execution samples at {@code -Dprofile.period.ms}
   * (default 10), native-method samples at twice that, allocation samples throttled to 150/s.
   */
  private static jdk.jfr.Recording startRecording() {
    long periodMs = Long.getLong("profile.period.ms", 2);
    jdk.jfr.Recording rec = new jdk.jfr.Recording();
    rec.setName("streams-measured-pass");
    rec.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(periodMs));
    rec.enable("jdk.NativeMethodSample").withPeriod(Duration.ofMillis(2 * periodMs));
    rec.enable("jdk.ObjectAllocationSample").with("throttle", "150/s");
    rec.enable("jdk.GarbageCollection");
    rec.enable(StageBreakdown.PASS_EVENT);
    rec.setToDisk(true);
    rec.start();
    return rec;
  }

  /** CPU nanoseconds of this JVM's live stream threads. */
  private static long streamThreadCpuNanos() {
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (long id : mx.getAllThreadIds()) {
      java.lang.management.ThreadInfo info = mx.getThreadInfo(id);
      long cpu = mx.getThreadCpuTime(id);
      if (info != null
          && cpu > 0
          && StageBreakdown.isStreamThread(info.getThreadName(), StageBreakdown.STREAM_THREAD)) {
        sum += cpu;
      }
    }
    return sum;
  }

  /** A pass recorded with JFR whose recording is not written (the warm-up pass). */
  private static final Path DISCARD = Path.of("");

  private static PassResult run(String[] args, int n, boolean floor, Path jfr) throws Exception {
    int partitions = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    int hosts = args.length > 2 ? Integer.parseInt(args[2]) : 100;
    int models = args.length > 3 ? Integer.parseInt(args[3]) : 4;
    Map<String, String> stack = LocalStackEnv.resolve(System.getenv(), Path.of(""));
    String bootstrap = stack.getOrDefault("INFERMETER_KAFKA_BOOTSTRAP", "127.0.0.1:9092");
    String registryUrl =
        stack.getOrDefault(
            "INFERMETER_SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7");
    String prefix = "bench-streams-" + System.currentTimeMillis() + "-";
    String topic = Topics.REQUESTS.withPrefix(prefix).name();

    Map<String, Object> m = new HashMap<>();
    m.put("application.id", prefix + "app");
    m.put("topic.prefix", prefix);
    m.put("kafka.bootstrap.servers", bootstrap);
    m.put("schema.registry.url", registryUrl);
    m.put("kafka.streams.state.dir", Files.createTempDirectory("bench-streams").toString());
    m.put(
        "windows.fleet.upstream.tasks",
        partitions); // as StreamsMain sets it from the request topic
    // -Dkafka.streams.<name>=<value> passes Kafka Streams overrides (e.g. num.stream.threads,
    // commit.interval.ms)
    for (String k : System.getProperties().stringPropertyNames()) {
      if (k.startsWith("kafka.streams.")
          || k.startsWith("windows.")
          || k.startsWith("state.")
          || k.startsWith("dedup.")) {
        m.put(k, System.getProperty(k));
      }
    }
    StreamsSettings settings = StreamsSettings.fromMap(m);
    System.out.println("overrides: " + m);
    AvroSerdeConfig cfg = AvroSerdeConfig.from(settings.serdeConfig());
    TopologySerdes serdes = TopologySerdes.of(new HttpSchemaRegistryClient(cfg), cfg);

    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      List<NewTopic> topics = new ArrayList<>();
      topics.add(new NewTopic(topic, partitions, (short) 1).configs(KEEP));
      topics.add(
          new NewTopic(Topics.HARDWARE.withPrefix(prefix).name(), partitions, (short) 1)
              .configs(KEEP));
      topics.add(
          new NewTopic(Topics.ENGINE_STATE.withPrefix(prefix).name(), partitions, (short) 1)
              .configs(KEEP));
      for (var t :
          List.of(
              Topics.WINDOW_AGGREGATES,
              Topics.ENERGY,
              Topics.BOTTLENECKS,
              Topics.ALERTS,
              Topics.DEAD_LETTERS)) {
        topics.add(new NewTopic(t.withPrefix(prefix).name(), partitions, (short) 1).configs(KEEP));
      }
      admin.createTopics(topics).all().get();
    }

    long t0 = System.nanoTime();
    preload(bootstrap, topic, serdes, n, hosts, models);
    double preloadS = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "preloaded %d events in %.1f s%n", n, preloadS);

    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    long cpu0 = os.getProcessCpuTime();
    double ceiling = plainConsumer(bootstrap, topic, serdes, n, partitions);
    double ceilingCpuUsPerEvent = (os.getProcessCpuTime() - cpu0) / 1e3 / n;
    System.out.printf(
        Locale.ROOT, "ceiling (plain consumer + Avro decode): %.0f events/s%n", ceiling);

    StreamsCounters counters = new StreamsCounters();
    Properties props =
        InfermeterTopology.streamsProperties(settings, serdes, counters, Clock.systemUTC());
    KafkaStreams streams =
        new KafkaStreams(
            floor
                ? floorTopology(topic, serdes)
                : InfermeterTopology.build(settings, serdes, counters, Clock.systemUTC()),
            props);
    if (floor) {
      System.out.println(
          "FLOOR mode: Kafka Streams with a processor that only reads each value (same settings)");
    }
    long start = System.nanoTime();
    long cpuStart = os.getProcessCpuTime();
    Map<String, Long> osTicksStart = osThreadTicks();
    Map<String, Long> osTicksDrained = new java.util.HashMap<>();
    long[] cpuDrained = {0};
    long[] runningAt = {0};
    streams.setStateListener(
        (now, before) -> {
          if (now == KafkaStreams.State.RUNNING && runningAt[0] == 0) {
            runningAt[0] = System.nanoTime();
          }
        });
    // as in StreamsMain: a failed stream thread is replaced (exactly-once re-processes its
    // uncommitted work)
    streams.setUncaughtExceptionHandler(
        e -> {
          System.out.println("stream thread failed, replacing it: " + e);
          return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
              .StreamThreadExceptionResponse.REPLACE_THREAD;
        });
    jdk.jfr.Recording recording = jfr == null ? null : startRecording();
    long[] streamCpuDrained = {0};
    streams.start();
    long committed = 0;
    long steadyFromCount = 0;
    long steadyFromNanos = 0;
    long deadline = start + Duration.ofSeconds(150).toNanos();
    long drainedAt = 0;
    long end;
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      while (committed < n && System.nanoTime() < deadline) {
        Thread.sleep(200);
        committed =
            admin
                .listConsumerGroupOffsets(settings.applicationId())
                .partitionsToOffsetAndMetadata()
                .get()
                .entrySet()
                .stream()
                .filter(e -> e.getKey().topic().equals(topic))
                .mapToLong(e -> e.getValue().offset())
                .sum();
        if (steadyFromCount == 0 && committed >= n / 3) {
          steadyFromCount = committed;
          steadyFromNanos = System.nanoTime();
        }
      }
      end = System.nanoTime();
      // then until every sub-topology has caught up: the app's committed offsets on its internal
      // repartition topics
      // reach their ends (a transaction marker may follow the last record, hence "within 1")
      while (drainedAt == 0 && System.nanoTime() < deadline) {
        Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> offsets =
            admin
                .listConsumerGroupOffsets(settings.applicationId())
                .partitionsToOffsetAndMetadata()
                .get();
        Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new HashMap<>();
        offsets
            .keySet()
            .forEach(tp -> latest.put(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()));
        var ends = admin.listOffsets(latest).all().get();
        boolean drained =
            offsets.entrySet().stream()
                .allMatch(e -> ends.get(e.getKey()).offset() - e.getValue().offset() <= 1);
        if (drained) {
          drainedAt = System.nanoTime();
          cpuDrained[0] = os.getProcessCpuTime();
          streamCpuDrained[0] = streamThreadCpuNanos();
          osTicksDrained.putAll(osThreadTicks());
        } else if (System.nanoTime() + 300_000_000L >= deadline) {
          offsets.forEach(
              (tp, o) -> {
                long lag = ends.get(tp).offset() - o.offset();
                if (lag > 1) {
                  System.out.println(
                      "still lagging at the time limit: "
                          + tp
                          + " committed "
                          + o.offset()
                          + " end "
                          + ends.get(tp).offset());
                }
              });
          Thread.sleep(200);
        } else {
          Thread.sleep(200);
        }
      }
    }
    double drainedRate = 0;
    if (drainedAt > 0) {
      drainedRate = committed / ((drainedAt - (runningAt[0] == 0 ? start : runningAt[0])) / 1e9);
    }
    if (recording != null) {
      MeasuredPassEvent pass = new MeasuredPassEvent();
      pass.events = n;
      pass.streamThreadCpuNanos = streamCpuDrained[0];
      pass.floor = floor;
      pass.drainedRate = drainedRate;
      pass.samplePeriodMs = Long.getLong("profile.period.ms", 2);
      pass.commit();
      recording.stop();
      if (jfr != DISCARD) {
        recording.dump(jfr);
        System.out.println(
            "JFR recording of this pass (start to drained): " + jfr.toAbsolutePath());
      }
      recording.close();
    }
    System.out.printf(
        Locale.ROOT,
        "stream thread CPU per event (start to drained): %.2f us%n",
        streamCpuDrained[0] / 1e3 / n);
    System.out.println("final state " + streams.state());
    printThreadCpu();
    printOsThreadCpu(osTicksStart, osTicksDrained, n);
    streams.close(Duration.ofSeconds(30));
    double total = (end - start) / 1e9;
    double processing = (end - (runningAt[0] == 0 ? start : runningAt[0])) / 1e9;
    System.out.printf(
        Locale.ROOT,
        "topology: %d of %d events committed in %.1f s from start (%.1f s from RUNNING)%n",
        committed,
        n,
        total,
        processing);
    System.out.printf(
        Locale.ROOT,
        "topology throughput: %.0f events/s from start, %.0f events/s from RUNNING%n",
        committed / total,
        committed / processing);
    System.out.printf(
        Locale.ROOT,
        "ratio to ceiling: %.1f %% (from start), %.1f %% (from RUNNING)%n",
        100 * committed / total / ceiling,
        100 * committed / processing / ceiling);
    if (drainedAt > 0) {
      double drainedS = (drainedAt - (runningAt[0] == 0 ? start : runningAt[0])) / 1e9;
      System.out.printf(
          Locale.ROOT,
          "whole topology drained (fleet and energy sub-topologies caught up) %.1f s from "
              + "RUNNING: %.0f events/s, %.1f %% of the ceiling%n",
          drainedS,
          committed / drainedS,
          100 * committed / drainedS / ceiling);
      double steady = (committed - steadyFromCount) / ((drainedAt - steadyFromNanos) / 1e9);
      System.out.printf(
          Locale.ROOT,
          "STEADY STATE (from the commit covering the first third of the input until "
              + "drained; the JIT compiler may still be at work, see the OS thread lines): topology %.0f events/s vs ceiling %.0f events/s (its last two thirds) = %.1f %%%n",
          steady,
          CEILING_STEADY[0],
          100 * steady / CEILING_STEADY[0]);
      double topoCpuUsPerEvent = (cpuDrained[0] - cpuStart) / 1e3 / n;
      // CPU per event is far less sensitive than events/s to other load on the machine (the broker
      // and other
      // processes share the cores); both phases are this JVM's CPU (all threads, GC and JIT
      // included)
      System.out.printf(
          Locale.ROOT,
          "CPU per event (this JVM): ceiling %.2f us, topology %.2f us (from start to "
              + "drained, start-up included): the ceiling's CPU is %.1f %% of the topology's%n",
          ceilingCpuUsPerEvent,
          topoCpuUsPerEvent,
          100 * ceilingCpuUsPerEvent / topoCpuUsPerEvent);
    } else {
      System.out.println("whole topology NOT drained within the time limit");
    }
    System.out.printf(
        Locale.ROOT,
        "windows emitted %d, late %d, duplicates %d, dead letters %d %s%n",
        counters.windowsEmitted.sum(),
        counters.lateRecords.sum(),
        counters.duplicates.sum(),
        counters.deadLetterTotal(),
        counters.deadLetters());
    return new PassResult(committed >= n, drainedRate, streamCpuDrained[0] / 1e3 / n);
  }

  /**
   * CPU ticks (1/100 s) of every OS thread of this JVM from /proc/self/task, summed by thread name
   * with digits stripped: unlike ThreadMXBean this includes the GC and JIT compiler threads.
   */
  private static Map<String, Long> osThreadTicks() {
    Map<String, Long> ticks = new java.util.HashMap<>();
    java.io.File[] tasks = new java.io.File("/proc/self/task").listFiles();
    if (tasks == null) {
      return ticks;
    }
    for (java.io.File t : tasks) {
      try {
        String stat = java.nio.file.Files.readString(t.toPath().resolve("stat"));
        String name =
            stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("\\d+", "N");
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ", -1);
        ticks.merge(
            name, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum); // utime + stime
      } catch (java.io.IOException | RuntimeException e) {
        // the thread ended meanwhile
      }
    }
    return ticks;
  }

  /**
   * The measured phase's CPU by OS thread name (start to drained), as microseconds per input event.
   */
  private static void printOsThreadCpu(Map<String, Long> start, Map<String, Long> end, int n) {
    if (end.isEmpty()) {
      return;
    }
    Map<String, Long> d = new java.util.HashMap<>();
    end.forEach((k, v) -> d.put(k, v - start.getOrDefault(k, 0L)));
    d.entrySet().stream()
        .filter(e -> e.getValue() > 0)
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(10)
        .forEach(
            e ->
                System.out.printf(
                    Locale.ROOT,
                    "  OS thread %-16s %6.2f s  %5.2f us/event%n",
                    e.getKey(),
                    e.getValue() / 100.0,
                    e.getValue() * 1e4 / n));
  }

  /**
   * CPU seconds of this JVM's threads so far, grouped by name (digits and ids stripped), largest
   * first.
   */
  private static void printThreadCpu() {
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    Map<String, Double> byGroup = new java.util.TreeMap<>();
    for (long id : mx.getAllThreadIds()) {
      java.lang.management.ThreadInfo info = mx.getThreadInfo(id);
      long cpu = mx.getThreadCpuTime(id);
      if (info != null && cpu > 0) {
        String group =
            info.getThreadName()
                .replaceAll("bench-streams-\\d+-app-[0-9a-f-]+-", "app-")
                .replaceAll("\\d+", "N");
        byGroup.merge(group, cpu / 1e9, Double::sum);
      }
    }
    byGroup.entrySet().stream()
        .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
        .limit(8)
        .forEach(
            e ->
                System.out.printf(
                    Locale.ROOT, "  thread CPU %6.2f s  %s%n", e.getValue(), e.getKey()));
  }

  /**
   * Kafka Streams' own cost: the same source and settings, a processor that only reads each value.
   */
  private static org.apache.kafka.streams.Topology floorTopology(
      String topic, TopologySerdes serdes) {
    org.apache.kafka.streams.StreamsBuilder b = new org.apache.kafka.streams.StreamsBuilder();
    long[] checksum = {0};
    b.stream(
            topic,
            org.apache.kafka.streams.kstream.Consumed.with(
                org.apache.kafka.common.serialization.Serdes.String(), serdes.requests()))
        .foreach((k, v) -> checksum[0] += v.getCompletedUs());
    return b.build();
  }

  /**
   * Event time advances 10 events per ms (10k events/s), so windows keep closing during the run.
   */
  private static void preload(
      String bootstrap, String topic, TopologySerdes serdes, int n, int hosts, int models) {
    Map<String, Object> p =
        Map.of(
            "bootstrap.servers",
            bootstrap,
            "linger.ms",
            "20",
            "batch.size",
            "262144",
            "acks",
            "1",
            "enable.idempotence",
            "false");
    Random rnd = new Random(1);
    AtomicReference<Exception> failure = new AtomicReference<>();
    try (KafkaProducer<String, RequestEvent> producer =
        new KafkaProducer<>(p, new StringSerializer(), serdes.requests().serializer())) {
      for (int i = 0; i < n; i++) {
        long completed = (T0_MS + i / 10) * 1000;
        long decode = 50_000 + (long) (rnd.nextDouble() * 2_000_000);
        long prefill = 5_000 + (long) (rnd.nextDouble() * 200_000);
        long queue = (long) (rnd.nextDouble() * 100_000);
        String host = "host-" + (i % hosts);
        RequestEvent e =
            RequestEvent.newBuilder()
                .setEventId("e-" + i)
                .setSource("simulated")
                .setCluster("c1")
                .setRegion("eu-west-1")
                .setHost(host)
                .setDeviceId(host + "-gpu" + (i % 8))
                .setGpuType("H100")
                .setModel("model-" + ((i / hosts) % models)) // every host serves every model
                .setModelVersion("v1")
                .setStatus(i % 100 == 0 ? RequestStatus.ERROR : RequestStatus.OK)
                .setArrivalUs(completed - decode - prefill - queue)
                .setScheduledUs(completed - decode - prefill)
                .setFirstTokenUs(completed - decode)
                .setCompletedUs(completed)
                .setInputTokens(200 + rnd.nextInt(2000))
                .setOutputTokens(10 + rnd.nextInt(500))
                .setBatchSize(1 + rnd.nextInt(32))
                .setMaxBatchSize(32)
                .build();
        // the callback sees the outcome; the future would only repeat it
        Future<RecordMetadata> unused =
            producer.send(
                new ProducerRecord<>(topic, null, completed / 1000, host, e),
                (md, ex) -> {
                  if (ex != null) {
                    failure.compareAndSet(null, ex);
                  }
                });
      }
      producer.flush();
    }
    // a record missing from the topic would make the measurement wait forever: fail here, loudly
    if (failure.get() != null) {
      throw new IllegalStateException(
          "preloading the benchmark records failed; rerun", failure.get());
    }
  }

  private static double plainConsumer(
      String bootstrap, String topic, TopologySerdes serdes, int n, int partitions) {
    Map<String, Object> c =
        Map.of(
            "bootstrap.servers",
            bootstrap,
            "enable.auto.commit",
            "false",
            "max.poll.records",
            "2000",
            "fetch.min.bytes",
            "1");
    try (KafkaConsumer<String, RequestEvent> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), serdes.requests().deserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      for (int p = 0; p < partitions; p++) {
        parts.add(new TopicPartition(topic, p));
      }
      long start = System.nanoTime();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      long count = 0;
      long steadyFrom = 0;
      long steadyNanos = 0;
      long checksum = 0;
      long deadline = start + Duration.ofSeconds(150).toNanos();
      while (count < n && System.nanoTime() < deadline) {
        ConsumerRecords<String, RequestEvent> records = consumer.poll(Duration.ofMillis(200));
        for (var r : records) {
          checksum +=
              r.value().getCompletedUs(); // use the decoded value so the decode cannot be skipped
          count++;
        }
        if (steadyNanos == 0 && count >= n / 3) {
          steadyFrom = count;
          steadyNanos = System.nanoTime();
        }
      }
      double s = (System.nanoTime() - start) / 1e9;
      CEILING_STEADY[0] = (count - steadyFrom) / ((System.nanoTime() - steadyNanos) / 1e9);
      if (checksum == 42) {
        System.out.println();
      }
      return count / s;
    }
  }
}
