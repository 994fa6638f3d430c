package io.infermeter.bench.capacity;

import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.LocalStackEnv;
import io.infermeter.schemas.config.Settings;
import io.infermeter.streams.StreamsSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;

/**
 * The capacity of the whole pipeline at sustained fixed rates: starts the collector, the streams
 * app and the sink as child JVMs from their jars on the running local stack (Kafka, schema
 * registry, ClickHouse), with a fresh topic prefix, application id, sink group and cluster name,
 * and drives them with a simulated fleet ({@link LoadDriver}) at each rate for a step. Per step it
 * reports the accepted rate; each stage's CPU (utime + stime from /proc over the steady part, % of
 * one core); the consumer lag of the streams app on the requests topic and of the sink on its
 * topics; and the freshness (window end -> row in ClickHouse) of the host windows that end in the
 * step's steady part. At the end: the highest rate sustained with freshness p99 within window +
 * grace + 5 s and no lag growth, and the stage that saturated first. Run {@code --help} for the
 * arguments, or {@code ./infermeter bench capacity}.
 */
public final class CapacityBenchmark {

  private static final String[] STAGES = {
    "collector", "kafka", "registry", "streams", "sink", "clickhouse", "driver"
  };

  private static final DateTimeFormatter ID =
      DateTimeFormatter.ofPattern("MMddHHmmss").withZone(ZoneOffset.UTC);

  /** The arguments. */
  record Options(
      int[] rates,
      int stepSeconds,
      int warmupSeconds,
      int settleSeconds,
      int threads,
      int batchLines,
      int hosts,
      boolean direct,
      Path root) {}

  private CapacityBenchmark() {}

  static final String HELP =
      """
      Usage: ./infermeter bench capacity [OPTIONS]
             (java -cp 'benchmarks/target/infermeter-benchmarks.jar:benchmarks/target/lib/*' \\
               io.infermeter.bench.capacity.CapacityBenchmark [OPTIONS])

      Drives the whole pipeline (collector, streams app and sink as child JVMs, on the running local
      stack) at fixed request rates and reports per rate: accepted rate, CPU per stage, consumer lag
      and freshness; at the end the highest sustained rate and the first stage to saturate.

        --rates R1,R2,...     requests/s per step (default 2000,5000,10000,20000,40000)
        --step-seconds S      length of each step (default 60)
        --settle-seconds S    start of each step left out of CPU and rate figures (default 15)
        --warmup-seconds S    unmeasured load at the first rate before the steps, then a pause
                              until the streams app caught up (default 30)
        --threads N           load driver threads (default 4)
        --batch N             JSON lines per HTTP request (default 500)
        --hosts N             simulated hosts, 2 models and 4 GPUs each (default 48)
        --direct              no collector: produce Avro request events straight to Kafka through the
                              collector's publisher and producer settings
        --root DIR            repository root holding the app jars (default .)
        -h, --help            this text

      Settings of the apps: INFERMETER_* in the environment (docs/COLLECTOR.md, STREAMS.md, SINK.md)
      apply to all three; the benchmark sets its own topic.prefix, application.id, kafka.group.id,
      cluster, ports and state directories. Servers: INFERMETER_KAFKA_BOOTSTRAP_SERVERS,
      INFERMETER_SCHEMA_REGISTRY_URL, INFERMETER_CLICKHOUSE_HTTP, else the stack's stack.env; the
      servers' pid files are read from $INFERMETER_STACK_DIR/run (default: the .local-stack found
      from the working directory up).
      """;

  static Options parse(String[] args) {
    int[] rates = {2000, 5000, 10000, 20000, 40000};
    int step = 60;
    int warmup = 30;
    int settle = 15;
    int threads = 4;
    int batch = 500;
    int hosts = 48;
    boolean direct = false;
    Path root = Path.of(".");
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "-h", "--help" -> {
          return null;
        }
        case "--direct" -> direct = true;
        case "--rates" ->
            rates =
                Arrays.stream(value(args, ++i, a).split(",")).mapToInt(Integer::parseInt).toArray();
        case "--step-seconds" -> step = Integer.parseInt(value(args, ++i, a));
        case "--warmup-seconds" -> warmup = Integer.parseInt(value(args, ++i, a));
        case "--settle-seconds" -> settle = Integer.parseInt(value(args, ++i, a));
        case "--threads" -> threads = Integer.parseInt(value(args, ++i, a));
        case "--batch" -> batch = Integer.parseInt(value(args, ++i, a));
        case "--hosts" -> hosts = Integer.parseInt(value(args, ++i, a));
        case "--root" -> root = Path.of(value(args, ++i, a));
        default -> throw new IllegalArgumentException("unknown argument " + a + " (see --help)");
      }
    }
    if (settle >= step) {
      throw new IllegalArgumentException("--settle-seconds must be below --step-seconds");
    }
    if (hosts < threads) {
      throw new IllegalArgumentException("--hosts must be at least --threads");
    }
    return new Options(rates, step, warmup, settle, threads, batch, hosts, direct, root);
  }

  private static String value(String[] args, int i, String name) {
    if (i >= args.length) {
      throw new IllegalArgumentException(name + " needs a value");
    }
    return args[i];
  }

  public static void main(String[] args) throws Exception {
    Options o;
    try {
      o = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("capacity: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (o == null) {
      System.out.print(HELP);
      return;
    }
    System.exit(run(o));
  }

  private static int run(Options o) throws Exception {
    Map<String, String> env = LocalStackEnv.resolve(System.getenv(), Path.of(""));
    String bootstrap =
        env.getOrDefault(
            "INFERMETER_KAFKA_BOOTSTRAP_SERVERS",
            env.getOrDefault("INFERMETER_KAFKA_BOOTSTRAP", "127.0.0.1:9092"));
    String registry =
        env.getOrDefault("INFERMETER_SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7");
    String clickhouseHttp = env.getOrDefault("INFERMETER_CLICKHOUSE_HTTP", "http://127.0.0.1:8123");
    Path stackDir =
        Optional.ofNullable(System.getenv("INFERMETER_STACK_DIR"))
            .filter(s -> !s.isBlank())
            .map(Path::of)
            .or(() -> LocalStackEnv.find(System.getenv(), Path.of("")).map(Path::getParent))
            .orElse(Path.of(".local-stack"));

    String id = "cap" + ID.format(Instant.now());
    String prefix = id + "-";
    String cluster = id;
    Path work = Files.createTempDirectory("infermeter-" + id + "-");

    Map<String, String> common = new HashMap<>();
    common.put("kafka.bootstrap.servers", bootstrap);
    common.put("schema.registry.url", registry);
    common.put("topic.prefix", prefix);

    Map<String, String> streamsCfg = new HashMap<>(common);
    streamsCfg.put("application.id", id + "-streams");
    streamsCfg.put("kafka.streams.state.dir", work.resolve("streams-state").toString());
    StreamsSettings streamsSettings =
        StreamsSettings.from(
            Settings.load(
                StreamsSettings.DEFAULTS,
                Optional.empty(),
                "INFERMETER_",
                withSettings(System.getenv(), streamsCfg),
                new Properties()));
    long windowMs = streamsSettings.windowSizesMs().get(0);
    long graceMs = streamsSettings.grace().toMillis();
    long boundMs = windowMs + graceMs + 5_000;

    Map<String, String> sinkCfg = new HashMap<>(common);
    sinkCfg.put("kafka.group.id", id + "-sink");
    String chPort = clickhouseHttp.replaceAll(".*:(\\d+)/?$", "$1");
    sinkCfg.put("clickhouse.url", "jdbc:clickhouse://127.0.0.1:" + chPort);
    String database = System.getenv().getOrDefault("INFERMETER_CLICKHOUSE_DATABASE", "infermeter");

    Map<String, String> collectorCfg = new HashMap<>(common);
    collectorCfg.put("cluster", cluster);
    collectorCfg.put("region", "local");
    collectorCfg.put("host", id + "-collector");
    collectorCfg.put("spool.dir", work.resolve("spool").toString());
    // the load is the simulated fleet's requests; this host's hardware samples are not part of it
    collectorCfg.put("sampling.enabled", "false");
    // the load comes over HTTP: no OTLP/gRPC port (its default 4317 may be another collector's)
    collectorCfg.put("grpc.enabled", "false");

    System.out.printf(
        "capacity: run %s (topic prefix %s, cluster %s), %s, rates %s requests/s, %d s steps"
            + " (first %d s unmeasured), warm-up %d s, %d driver threads, %d hosts; window %d ms,"
            + " grace %d ms -> freshness bound %d ms; %d cores, load average %.2f; work dir %s%n",
        id,
        prefix,
        cluster,
        o.direct() ? "direct to Kafka (no collector)" : "HTTP JSON lines through the collector",
        Arrays.toString(o.rates()),
        o.stepSeconds(),
        o.settleSeconds(),
        o.warmupSeconds(),
        o.threads(),
        o.hosts(),
        windowMs,
        graceMs,
        boundMs,
        Runtime.getRuntime().availableProcessors(),
        ProcCpu.loadAverage1m(),
        work);

    Map<String, Long> pids = new LinkedHashMap<>();
    for (String server : List.of("kafka", "registry", "clickhouse")) {
      Path file = stackDir.resolve("run").resolve(server + ".pid");
      try {
        pids.put(server, Long.parseLong(Files.readString(file).trim()));
      } catch (java.io.IOException | NumberFormatException e) {
        System.out.printf("capacity: no pid of %s in %s: its CPU is not measured%n", server, file);
      }
    }
    pids.put("driver", ProcessHandle.current().pid());

    List<Verdict.Step> steps = new ArrayList<>();
    List<Instant[]> ranges = new ArrayList<>();
    List<long[]> lagEnds = new ArrayList<>();
    List<Double> loads = new ArrayList<>();
    try (ChildApps apps = new ChildApps();
        Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      Path java = work; // logs beside the state
      ChildApps.App sink = startApp(apps, "sink", o.root(), List.of(), sinkCfg, java);
      ChildApps.App streams = startApp(apps, "streams", o.root(), List.of(), streamsCfg, java);
      ChildApps.App collector = null;
      String url = null;
      if (!o.direct()) {
        int httpPort = ChildApps.freePort();
        collectorCfg.put("http.port", Integer.toString(httpPort));
        // the launcher's JVM for the collector (./infermeter collector): one GC thread, small heap
        collector =
            startApp(
                apps,
                "collector",
                o.root(),
                List.of("-XX:+UseSerialGC", "-Xmx512m"),
                collectorCfg,
                java);
        url = "http://127.0.0.1:" + httpPort + "/v1/requests";
      }
      ChildApps.awaitMetrics(sink, 120);
      ChildApps.awaitMetrics(streams, 120);
      if (collector != null) {
        ChildApps.awaitMetrics(collector, 120);
        pids.put("collector", collector.pid());
      }
      pids.put("streams", streams.pid());
      pids.put("sink", sink.pid());
      System.out.printf("capacity: apps up: %s; logs in %s%n", describe(pids), work);

      String requestsTopic = Topics.REQUESTS.withPrefix(prefix).name();
      List<String> sinkTopics =
          List.of(
              Topics.WINDOW_AGGREGATES.withPrefix(prefix).name(),
              Topics.ENERGY.withPrefix(prefix).name(),
              Topics.BOTTLENECKS.withPrefix(prefix).name(),
              Topics.ALERTS.withPrefix(prefix).name(),
              Topics.DEAD_LETTERS.withPrefix(prefix).name(),
              Topics.HARDWARE.withPrefix(prefix).name(),
              Topics.ENGINE_STATE.withPrefix(prefix).name());
      Lags lags = new Lags(admin);
      String streamsGroup = id + "-streams";
      String sinkGroup = id + "-sink";

      var fleet = LoadDriver.fleet(cluster, o.hosts(), 1);
      try (LoadDriver driver =
          o.direct()
              ? LoadDriver.direct(collectorCfg, work.resolve("driver-spool"), o.threads(), fleet)
              : LoadDriver.http(url, o.threads(), o.batchLines(), fleet)) {
        Watch watch =
            new Watch(driver, apps, lags, streamsGroup, requestsTopic, sinkGroup, sinkTopics);
        if (o.warmupSeconds() > 0) {
          System.out.printf(
              "capacity: warm-up, %d s at %,d requests/s%n", o.warmupSeconds(), o.rates()[0]);
          driver.start(o.rates()[0], 0);
          watch.progress(o.warmupSeconds(), "warm-up");
          watch.drainAfterWarmup(o.rates()[0]);
        }
        for (int i = 0; i < o.rates().length; i++) {
          int rate = o.rates()[i];
          System.out.printf(
              "capacity: step %d/%d: %,d requests/s for %d s (load average %.2f)%n",
              i + 1, o.rates().length, rate, o.stepSeconds(), ProcCpu.loadAverage1m());
          driver.start(rate, i + 1);
          watch.progress(o.settleSeconds(), rate + "/s");
          Instant steadyFrom = Instant.now();
          long wall0 = System.nanoTime();
          Map<String, Long> cpu0 = cpu(pids);
          long[] machine0 = ProcCpu.machineTicks();
          long accepted0 = driver.accepted();
          long send0 = driver.sendNanos();
          Lags.Snapshot streams0 = lags.of(streamsGroup, List.of(requestsTopic));
          Lags.Snapshot sink0 = lags.of(sinkGroup, sinkTopics);
          long streamsPeak = watch.progress(o.stepSeconds() - o.settleSeconds(), rate + "/s");
          long wallNanos = System.nanoTime() - wall0;
          Map<String, Long> cpu1 = cpu(pids);
          long[] machine1 = ProcCpu.machineTicks();
          long accepted = driver.accepted() - accepted0;
          double sendingShare =
              (driver.sendNanos() - send0) / ((double) wallNanos * driver.threads());
          Lags.Snapshot streams1 = lags.of(streamsGroup, List.of(requestsTopic));
          Lags.Snapshot sink1 = lags.of(sinkGroup, sinkTopics);
          Instant stepEnd = Instant.now();
          double seconds = wallNanos / 1e9;
          Map<String, Double> cpuPercent = new LinkedHashMap<>();
          for (String stage : STAGES) {
            Long a = cpu0.get(stage);
            Long b = cpu1.get(stage);
            cpuPercent.put(
                stage, a == null || b == null ? Double.NaN : 100.0 * (b - a) / wallNanos);
          }
          double machinePercent =
              machine1[1] > machine0[1]
                  ? 100.0 * (machine1[0] - machine0[0]) / (machine1[1] - machine0[1])
                  : Double.NaN;
          boolean streamsGrew =
              Stats.lagGrew(
                  streams0.lag(),
                  streams1.lag(),
                  streams1.endOffsets() - streams0.endOffsets(),
                  seconds,
                  5,
                  1000);
          boolean sinkGrew =
              Stats.lagGrew(
                  sink0.lag(),
                  sink1.lag(),
                  sink1.endOffsets() - sink0.endOffsets(),
                  seconds,
                  10,
                  2000);
          steps.add(
              new Verdict.Step(
                  rate,
                  accepted / seconds,
                  cpuPercent,
                  machinePercent,
                  streams1.lag(),
                  streamsGrew,
                  sink1.lag(),
                  sinkGrew,
                  Stats.lagSeconds(Math.max(streamsPeak, streams1.lag()), accepted / seconds),
                  Math.min(1, sendingShare),
                  0,
                  0,
                  Double.NaN,
                  Double.NaN));
          ranges.add(new Instant[] {steadyFrom, stepEnd});
          loads.add(ProcCpu.loadAverage1m());
          lagEnds.add(
              new long[] {
                streams1.endOffsets() - streams0.endOffsets(),
                sink1.endOffsets() - sink0.endOffsets()
              });
          System.out.printf(
              "capacity: step %,d/s: accepted %,.0f/s (rejected %,d, shed by the driver %,d so far);"
                  + " CPU %% of one core %s; machine %.0f %%; lag streams %,d (%s), sink %,d (%s);"
                  + " streams lag peak %.1f s of input; driver threads sending %.0f %% of the time;"
                  + " load average %.2f%n",
              rate,
              accepted / seconds,
              driver.rejected(),
              driver.shed(),
              cpuText(cpuPercent),
              machinePercent,
              streams1.lag(),
              streamsGrew ? "grew" : "steady",
              sink1.lag(),
              sinkGrew ? "grew" : "steady",
              Stats.lagSeconds(Math.max(streamsPeak, streams1.lag()), accepted / seconds),
              100 * sendingShare,
              ProcCpu.loadAverage1m());
        }
        // the windows that end in the last step close once stream time passes their end + grace
        long tailSeconds = (graceMs + 5_000) / 1000;
        System.out.printf(
            "capacity: %d s more at the last rate, so that the last step's windows close%n",
            tailSeconds);
        watch.progress((int) tailSeconds, "tail");
      }
      drain(lags, streamsGroup, requestsTopic, sinkGroup, sinkTopics, 120);

      Freshness freshness = new Freshness(clickhouseHttp, database, cluster, windowMs);
      long keys = freshness.keys();
      // the last step's windows close on the idle timeout when stream time did not pass them yet
      Instant[] last = ranges.get(ranges.size() - 1);
      long lastEnds = windowEnds(last, windowMs);
      long waitUntil = System.nanoTime() + 60_000_000_000L;
      while (freshness.delaysMs(last[0], last[1]).length < keys * lastEnds
          && System.nanoTime() < waitUntil) {
        Thread.sleep(3_000);
      }
      for (int i = 0; i < steps.size(); i++) {
        Instant[] r = ranges.get(i);
        long[] delays = freshness.delaysMs(r[0], r[1]);
        long ends = windowEnds(r, windowMs);
        long missing = Math.max(0, keys * ends - delays.length);
        Verdict.Step s = steps.get(i);
        steps.set(
            i,
            new Verdict.Step(
                s.targetRate(),
                s.achievedRate(),
                s.cpuPercent(),
                s.machinePercent(),
                s.streamsLag(),
                s.streamsLagGrew(),
                s.sinkLag(),
                s.sinkLagGrew(),
                s.streamsPeakLagSeconds(),
                s.sendingShare(),
                delays.length,
                missing,
                Stats.percentile(delays, 0.5),
                Stats.percentile(delays, 0.99)));
      }
      report(steps, ranges, lagEnds, loads, boundMs, windowMs, graceMs, o);
      List<String> exited = apps.exited();
      if (!exited.isEmpty()) {
        System.out.println("capacity: apps that exited during the run: " + exited);
        return 1;
      }
    }
    return 0;
  }

  /** How many window ends (multiples of windowMs) lie in [range[0], range[1]). */
  static long windowEnds(Instant[] range, long windowMs) {
    long firstEnd = Math.floorDiv(range[0].toEpochMilli() + windowMs - 1, windowMs) * windowMs;
    long to = range[1].toEpochMilli();
    return firstEnd < to ? (to - 1 - firstEnd) / windowMs + 1 : 0;
  }

  private static Map<String, String> withSettings(
      Map<String, String> env, Map<String, String> settings) {
    Map<String, String> out = new HashMap<>(env);
    settings.forEach((k, v) -> out.put(ChildApps.envName(k), v));
    return out;
  }

  /**
   * Starts app {@code name} (module {@code streams-app} for "streams") from its jar under {@code
   * root} with {@code settings} and a free metrics port, its log in {@code logDir}.
   */
  private static ChildApps.App startApp(
      ChildApps apps,
      String name,
      Path root,
      List<String> jvmOptions,
      Map<String, String> settings,
      Path logDir)
      throws IOException {
    int metricsPort = ChildApps.freePort();
    settings.put("metrics.port", Integer.toString(metricsPort));
    String module = name.equals("streams") ? "streams-app" : name;
    return apps.start(
        name, jar(root, module), jvmOptions, settings, metricsPort, logDir.resolve(name + ".log"));
  }

  private static Path jar(Path root, String module) {
    return root.resolve(module).resolve("target").resolve("infermeter-" + module + ".jar");
  }

  private static String describe(Map<String, Long> pids) {
    StringBuilder sb = new StringBuilder();
    pids.forEach((k, v) -> sb.append(k).append(" pid ").append(v).append(", "));
    return sb.substring(0, sb.length() - 2);
  }

  private static Map<String, Long> cpu(Map<String, Long> pids) {
    Map<String, Long> out = new HashMap<>();
    pids.forEach(
        (stage, pid) -> {
          OptionalLong nanos = ProcCpu.processNanos(pid);
          if (nanos.isPresent()) {
            out.put(stage, nanos.getAsLong());
          }
        });
    return out;
  }

  private static String cpuText(Map<String, Double> cpu) {
    StringBuilder sb = new StringBuilder();
    cpu.forEach(
        (k, v) ->
            sb.append(k)
                .append(' ')
                .append(v.isNaN() ? "-" : String.format("%.0f", v))
                .append(", "));
    return sb.substring(0, sb.length() - 2);
  }

  /**
   * Lets the load run for {@code seconds}, printing a progress line every 10 s; returns the highest
   * streams lag sampled.
   */
  /** The running driver and apps, and the consumer groups whose lag a step watches. */
  private record Watch(
      LoadDriver driver,
      ChildApps apps,
      Lags lags,
      String streamsGroup,
      String requestsTopic,
      String sinkGroup,
      List<String> sinkTopics) {

    /** Longest wait for the streams app to work off the warm-up's backlog, seconds. */
    static final int DRAIN_LIMIT_SECONDS = 180;

    /**
     * Pauses the load after the warm-up and waits until the streams app's lag is under half a
     * second of the first rate (or {@value #DRAIN_LIMIT_SECONDS} s passed): an app started cold
     * under a high rate builds a backlog while its code is compiled, and the first step would
     * otherwise inherit it and blame the streams app for it.
     */
    void drainAfterWarmup(int firstRate) throws Exception {
      driver.pause();
      long target = Math.max(1_000, firstRate / 2);
      long deadline = System.nanoTime() + DRAIN_LIMIT_SECONDS * 1_000_000_000L;
      long lag = lags.of(streamsGroup, List.of(requestsTopic)).lag();
      long waitedFrom = System.nanoTime();
      while (lag > target && System.nanoTime() < deadline) {
        Thread.sleep(2_000);
        List<String> exited = apps.exited();
        if (!exited.isEmpty()) {
          throw new IllegalStateException("an app exited: " + exited);
        }
        lag = lags.of(streamsGroup, List.of(requestsTopic)).lag();
      }
      System.out.printf(
          "capacity: load paused after the warm-up until the streams lag was under %,d records:"
              + " %,d after %.0f s%s%n",
          target,
          lag,
          (System.nanoTime() - waitedFrom) / 1e9,
          lag > target ? " (limit reached; the first step starts with this backlog)" : "");
    }

    /**
     * Lets the load run for {@code seconds}, printing progress every 10 s; returns the highest
     * streams lag seen, records.
     */
    long progress(int seconds, String label) throws Exception {
      long end = System.nanoTime() + seconds * 1_000_000_000L;
      long accepted = driver.accepted();
      long generated = driver.generated();
      long t = System.nanoTime();
      long peak = 0;
      while (System.nanoTime() < end) {
        Thread.sleep(Math.min(10_000, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
        List<String> exited = apps.exited();
        if (!exited.isEmpty()) {
          throw new IllegalStateException("an app exited: " + exited);
        }
        long now = System.nanoTime();
        long acc = driver.accepted();
        long streamsLag = lags.of(streamsGroup, List.of(requestsTopic)).lag();
        peak = Math.max(peak, streamsLag);
        System.out.printf(
            "  [%s] generated %,.0f/s, accepted %,.0f/s, rejected %,d, shed %,d%s, lag streams %,d,"
                + " sink %,d, load %.2f%s%n",
            label,
            (driver.generated() - generated) / ((now - t) / 1e9),
            (acc - accepted) / ((now - t) / 1e9),
            driver.rejected(),
            driver.shed(),
            driver.spooled() > 0 ? String.format(", spooled %,d", driver.spooled()) : "",
            streamsLag,
            lags.of(sinkGroup, sinkTopics).lag(),
            ProcCpu.loadAverage1m(),
            driver.rejected() > 0 ? " (last error: " + driver.lastError() + ")" : "");
        accepted = acc;
        generated = driver.generated();
        t = now;
      }
      return peak;
    }
  }

  /** Waits until both groups have caught up (or {@code seconds} passed). */
  private static void drain(
      Lags lags,
      String streamsGroup,
      String requestsTopic,
      String sinkGroup,
      List<String> sinkTopics,
      int seconds)
      throws Exception {
    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    Lags.Snapshot streams;
    Lags.Snapshot sink;
    do {
      Thread.sleep(2_000);
      streams = lags.of(streamsGroup, List.of(requestsTopic));
      sink = lags.of(sinkGroup, sinkTopics);
    } while (!(streams.caughtUp() && sink.caughtUp()) && System.nanoTime() < end);
    long streamsLag = streams.lag();
    long sinkLag = sink.lag();
    System.out.printf(
        "capacity: load stopped; after %.0f s lag streams %,d, sink %,d%n",
        (System.nanoTime() - start) / 1e9, streamsLag, sinkLag);
    Thread.sleep(3_000); // the sink's last batch (batch.max.wait 1 s) reaches ClickHouse
  }

  private static void report(
      List<Verdict.Step> steps,
      List<Instant[]> ranges,
      List<long[]> recordsIn,
      List<Double> loads,
      long boundMs,
      long windowMs,
      long graceMs,
      Options o) {
    System.out.println();
    System.out.printf(
        "Capacity, %s, %s UTC; CPU %% of one core over each step's last %d s; lag at the step's end;"
            + " freshness of the host windows (%d ms) that end in that part%n",
        o.direct() ? "direct to Kafka" : "through the collector (HTTP)",
        DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")
            .withZone(ZoneOffset.UTC)
            .format(ranges.get(0)[0]),
        o.stepSeconds() - o.settleSeconds(),
        windowMs);
    System.out.println();
    System.out.println(
        "| rate (req/s) | accepted (req/s) | collector | Kafka | registry | streams | sink | ClickHouse"
            + " | driver | machine busy (all cores, percent) | lag streams (records) | streams lag peak (s of input) | lag sink (records) | driver sending (percent) | freshness p50 (s)"
            + " | freshness p99 (s) | windows (missing) | load average (1 min) |");
    System.out.println(
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (int i = 0; i < steps.size(); i++) {
      Verdict.Step s = steps.get(i);
      StringBuilder row = new StringBuilder();
      row.append(String.format("| %,d | %,.0f |", s.targetRate(), s.achievedRate()));
      for (String stage : STAGES) {
        double v = s.cpuPercent().getOrDefault(stage, Double.NaN);
        row.append(Double.isNaN(v) ? " - |" : String.format(" %.0f |", v));
      }
      row.append(
          String.format(
              " %.0f | %,d%s | %.1f | %,d%s | %.0f | %.1f | %.1f | %d (%d) | %.1f |",
              s.machinePercent(),
              s.streamsLag(),
              s.streamsLagGrew() ? " (grew)" : "",
              s.streamsPeakLagSeconds(),
              s.sinkLag(),
              s.sinkLagGrew() ? " (grew)" : "",
              100 * s.sendingShare(),
              s.p50Ms() / 1000,
              s.p99Ms() / 1000,
              s.windows(),
              s.missingWindows(),
              loads.get(i)));
      System.out.println(row);
    }
    System.out.println();
    System.out.printf(
        "Freshness bound: window %d ms + grace %d ms + 5 s = %.1f s.%n",
        windowMs, graceMs, boundMs / 1000.0);
    Optional<Verdict.Step> best = Verdict.highestSustained(steps, boundMs);
    System.out.println(
        best.map(
                s ->
                    String.format(
                        "Highest sustained rate: %,d requests/s (accepted %,.0f/s, freshness p99 %.1f s,"
                            + " no lag growth).",
                        s.targetRate(), s.achievedRate(), s.p99Ms() / 1000))
            .orElse("Highest sustained rate: none of the rates run."));
    System.out.println(
        Verdict.firstSaturated(steps, boundMs, o.direct())
            .map(w -> "First to saturate: " + w + ".")
            .orElse("First to saturate: none within the rates run (raise --rates)."));
    for (int i = 0; i < recordsIn.size(); i++) {
      // kept for the record: what each step wrote to the requests topic and to the sink's topics
      System.out.printf(
          "  step %,d/s: %,d records into the requests topic, %,d into the sink's topics over the"
              + " measured part%n",
          steps.get(i).targetRate(), recordsIn.get(i)[0], recordsIn.get(i)[1]);
    }
  }
}
