package io.infermeter.bench.collector;

import io.infermeter.collector.Collector;
import io.infermeter.collector.CollectorConfig;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.LocalStackEnv;
import io.infermeter.schemas.config.Settings;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * End-to-end collector benchmark against the real local stack: starts the collector in this JVM
 * (real Kafka producer, real schema registry, default 1 s hardware sampling), drives JSON-lines
 * batches over loopback HTTP with plain blocking {@link HttpURLConnection}s on the driver's own
 * threads, and prints:
 *
 * <ol>
 *   <li>max throughput: events/s accepted over HTTP and events/s acknowledged by Kafka (batches of
 *       {@code batch} lines, {@code clients} concurrent clients, {@code seconds} seconds);
 *   <li>CPU share at a fixed 10k events/s (100-line batches every 10 ms): the collector's CPU time
 *       = process CPU time minus the CPU time of the driver's own threads (JIT and GC are charged
 *       to the collector), and the CPU time of the collector's own Java threads (ThreadMXBean), as
 *       % of one core, measured after a warm-up at the same rate.
 * </ol>
 *
 * <p>Usage: {@code CollectorLoadDriver [bootstrap] [registryUrl] [seconds=20] [clients=2]
 * [batch=1000]} ({@code -DwarmupSeconds=45}: unmeasured time at 10k events/s before the measured
 * window; {@code -DfixedOnly=true}: stop after the fixed-rate phase; {@code -Dgenerator=process}:
 * the fixed-rate load comes from a child JVM ({@link FixedRateGenerator}) and the run stops after
 * that phase); without arguments the addresses come from INFERMETER_KAFKA_BOOTSTRAP /
 * INFERMETER_SCHEMA_REGISTRY_URL or .local-stack/stack.env. Topics are fresh (unique prefix).
 * Bounded: about warmupSeconds + 2 x seconds + 15 s.
 */
public final class CollectorLoadDriver {

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  public static void main(String[] args) throws Exception {
    Map<String, String> env = LocalStackEnv.resolve(System.getenv(), Path.of(""));
    String bootstrap =
        args.length > 0
            ? args[0]
            : env.getOrDefault("INFERMETER_KAFKA_BOOTSTRAP", "127.0.0.1:9092");
    String registry =
        args.length > 1
            ? args[1]
            : env.getOrDefault(
                "INFERMETER_SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7");
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    int clients = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    int batch = args.length > 4 ? Integer.parseInt(args[4]) : 1000;

    String prefix = "bench" + UUID.randomUUID().toString().substring(0, 8) + "-";
    String topic = Topics.REQUESTS.withPrefix(prefix).name();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(topic, 3, (short) 1),
                  new NewTopic(Topics.HARDWARE.withPrefix(prefix).name(), 3, (short) 1)))
          .all()
          .get();
    }
    Path spool = Files.createTempDirectory("bench-spool");
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("kafka.bootstrap.servers", bootstrap);
    cfg.put("schema.registry.url", registry);
    cfg.put("topic.prefix", prefix);
    cfg.put("http.port", 0);
    cfg.put("metrics.port", 0);
    cfg.put("spool.dir", spool.toString());
    cfg.put("host", "bench-host");
    // any collector setting can be added as -Dcollector.<key>=<value> (e.g.
    // -Dcollector.kafka.producer.linger.ms=50)
    System.getProperties().stringPropertyNames().stream()
        .filter(k -> k.startsWith("collector."))
        .forEach(k -> cfg.put(k.substring("collector.".length()), System.getProperty(k)));
    System.out.printf(
        "collector load benchmark: %d s per phase, %d clients, %d lines per batch, %d cores, JVM %s %s%n",
        seconds,
        clients,
        batch,
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        ManagementFactory.getRuntimeMXBean().getInputArguments());
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      String url = "http://127.0.0.1:" + collector.httpPort() + "/v1/requests";
      // warm-up (JIT, registry id, producer metadata)
      runLoad(url, 2, batch, 3);
      waitForAcks(collector, topic, collector.metrics().sentCount(topic) + 1);
      System.gc();

      // idle: the collector's baseline cost (sampler at 1 s, timers)
      Map<String, Long> idle0 = threadCpu();
      long idleCpu0 = processCpuNanos();
      long idleWall0 = System.nanoTime();
      Thread.sleep(5_000);
      long idleWall = System.nanoTime() - idleWall0;
      System.out.printf(
          "idle: collector CPU %.2f %% of one core%n",
          (processCpuNanos() - idleCpu0) / (double) idleWall * 100.0);
      printThreads(idle0, idleWall);

      // fixed rate: 10k events/s = 100-line batches every 10 ms from one client thread. First
      // `warmupSeconds`
      // unmeasured at that same rate (JIT compilation of the steady-state path, producer batching
      // settled), then a
      // measured window of `seconds`. Two figures: (1) the collector's own Java threads
      // (ThreadMXBean CPU time of every
      // live thread except the driver's and main: HTTP dispatcher and handlers, publisher, producer
      // I/O, sampler,
      // recorder, metrics), the steady-state cost attributable to the collector; (2) process CPU
      // minus the driver
      // thread, which adds the JVM's shared JIT and GC threads (the driver's HTTP client also
      // causes some of those).
      int warmupSeconds = Integer.getInteger("warmupSeconds", 45);
      if ("process".equals(System.getProperty("generator"))) {
        fixedRateFromAnotherProcess(url, warmupSeconds, seconds);
        return;
      }
      runLoadMeasured(url, 100, warmupSeconds, 10_000_000L, new AtomicLong());
      Map<String, Long> threads0 = threadCpu();
      Map<Long, Long> java0 = javaThreadCpu();
      long cpu0 = processCpuNanos();
      long wall0 = System.nanoTime();
      AtomicLong driverCpu = new AtomicLong();
      long acceptedFixed = runLoadMeasured(url, 100, seconds, 10_000_000L, driverCpu);
      long wall = System.nanoTime() - wall0;
      long cpu = processCpuNanos() - cpu0;
      Map<Long, Long> java1 = javaThreadCpu();
      long collectorThreads = 0;
      for (Map.Entry<Long, Long> e : java1.entrySet()) {
        collectorThreads += e.getValue() - java0.getOrDefault(e.getKey(), 0L);
      }
      double collectorCpu = (cpu - driverCpu.get()) / (double) wall * 100.0;
      System.out.printf(
          "fixed rate (after %d s warm-up at the same rate): %,.0f events/s for %.1f s; "
              + "collector's own Java threads %.2f %% of one core; process minus driver %.2f %% "
              + "(process %.2f %%, driver thread %.2f %%)%n",
          warmupSeconds,
          acceptedFixed / (wall / 1e9),
          wall / 1e9,
          collectorThreads / (double) wall * 100.0,
          collectorCpu,
          cpu / (double) wall * 100.0,
          driverCpu.get() / (double) wall * 100.0);
      printThreads(threads0, wall);
      if (Boolean.getBoolean("fixedOnly")) {
        return;
      }

      // max throughput, closed loop
      double sent0 = collector.metrics().sentCount(topic);
      long t0 = System.nanoTime();
      long accepted = runLoad(url, clients, batch, seconds);
      double acceptSeconds = (System.nanoTime() - t0) / 1e9;
      waitForAcks(collector, topic, sent0 + accepted);
      double ackSeconds = (System.nanoTime() - t0) / 1e9;
      double sent = collector.metrics().sentCount(topic) - sent0;
      System.out.printf(
          "max throughput: accepted %,d events in %.1f s = %,.0f events/s over HTTP; "
              + "%,.0f acknowledged by Kafka in %.1f s = %,.0f events/s end to end%n",
          accepted, acceptSeconds, accepted / acceptSeconds, sent, ackSeconds, sent / ackSeconds);
      System.out.printf(
          "  rejected: %.0f, spooled: %.0f, dropped: %.0f%n",
          collector
              .metrics()
              .rejectedCount(
                  "jsonl", io.infermeter.collector.support.CollectorMetrics.RejectReason.MALFORMED),
          collector.metrics().spooledCount(),
          collector.metrics().droppedCount("spool_full"));
      for (String sampler : collector.samplerLoop().samplerNames()) {
        System.out.printf(
            "sampler %s: mean %.3f ms per run (every %s)%n",
            sampler,
            collector.metrics().meanSampleSeconds(sampler) * 1000,
            collector.config().samplingPeriod());
      }
    }
  }

  /**
   * The fixed-rate phase with the load generator in a child JVM ({@link FixedRateGenerator}, same
   * classpath): this process then holds nothing but the collector, so its whole CPU time (JIT
   * compiler and GC threads included) is the collector's, an honest upper figure next to the
   * collector's own Java threads.
   */
  private static void fixedRateFromAnotherProcess(String url, int warmupSeconds, int seconds)
      throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process child =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                FixedRateGenerator.class.getName(),
                url,
                String.valueOf(warmupSeconds),
                String.valueOf(seconds))
            .redirectErrorStream(true)
            .start();
    try (java.io.BufferedReader out =
        new java.io.BufferedReader(
            new java.io.InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      Map<String, Long> threads0 = null;
      Map<Long, Long> java0 = null;
      long cpu0 = 0;
      long wall0 = 0;
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("MEASURE")) {
          threads0 = threadCpu();
          java0 = javaThreadCpu();
          cpu0 = processCpuNanos();
          wall0 = System.nanoTime();
        } else if (line.startsWith("DONE") && java0 != null) {
          long wall = System.nanoTime() - wall0;
          long cpu = processCpuNanos() - cpu0;
          long collectorThreads = 0;
          for (Map.Entry<Long, Long> e : javaThreadCpu().entrySet()) {
            collectorThreads += e.getValue() - java0.getOrDefault(e.getKey(), 0L);
          }
          long accepted = Long.parseLong(line.substring(line.indexOf('=') + 1).trim());
          System.out.printf(
              "fixed rate, load generator in a separate process (after %d s warm-up at the same rate): "
                  + "%,.0f events/s for %.1f s; collector's own Java threads %.2f %% of one core; whole collector "
                  + "process %.2f %% (JIT compiler and GC included)%n",
              warmupSeconds,
              accepted / (wall / 1e9),
              wall / 1e9,
              collectorThreads / (double) wall * 100.0,
              cpu / (double) wall * 100.0);
          printThreads(threads0, wall);
        } else {
          System.out.println("  generator: " + line);
        }
      }
    }
    if (child.waitFor() != 0) {
      throw new IllegalStateException("load generator exited with " + child.exitValue());
    }
  }

  private static void printThreads(Map<String, Long> before, long wallNanos) {
    Map<String, Long> after = threadCpu();
    Map<String, Long> delta = new HashMap<>();
    after.forEach(
        (name, v) ->
            delta.merge(
                name.replaceAll("#\\d+$", "").replaceAll("-?\\d+$", ""),
                v - before.getOrDefault(name, 0L),
                Long::sum));
    System.out.printf(
        "  CPU by thread (OS threads: JIT compiler and GC included; 10 ms tick resolution), %% of one"
            + " core:%n");
    delta.entrySet().stream()
        .filter(e -> e.getValue() > 0)
        .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
        .limit(8)
        .forEach(
            e ->
                System.out.printf(
                    "    %-60s %6.2f %%%n", e.getKey(), e.getValue() / (double) wallNanos * 100.0));
  }

  /**
   * CPU time (ns) of every OS thread of this process, JIT and GC threads included, from
   * /proc/self/task/N/stat (name truncated to 15 characters by the kernel; utime + stime in clock
   * ticks of 10 ms).
   */
  private static Map<String, Long> threadCpu() {
    Map<String, Long> out = new HashMap<>();
    try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path task : tasks.toList()) {
        try {
          String stat = Files.readString(task.resolve("stat"));
          int open = stat.indexOf('(');
          int close = stat.lastIndexOf(')');
          String name = stat.substring(open + 1, close);
          String[] f = stat.substring(close + 2).split(" ", -1);
          long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
          out.merge(name + "#" + task.getFileName(), ticks * 10_000_000L, Long::sum);
        } catch (IOException | RuntimeException e) {
          // the thread ended meanwhile
        }
      }
    } catch (IOException e) {
      // not Linux: no breakdown
    }
    return out;
  }

  /**
   * CPU time (ns, ThreadMXBean) of every live Java thread of the collector: all but the driver's
   * threads ({@code driver-*}) and {@code main}. Threads started during the window count from 0
   * (none are at steady state).
   */
  private static Map<Long, Long> javaThreadCpu() {
    Map<Long, Long> out = new HashMap<>();
    for (java.lang.management.ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
      if (info == null
          || info.getThreadName().startsWith("driver")
          || info.getThreadName().equals("main")
          || info.getThreadName()
              .equals("Keep-Alive-Timer") /* the driver's HttpURLConnection pool */) {
        continue;
      }
      long t = THREADS.getThreadCpuTime(info.getThreadId());
      if (t >= 0) {
        out.put(info.getThreadId(), t);
      }
    }
    return out;
  }

  private static void waitForAcks(Collector c, String topic, double target)
      throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (c.metrics().sentCount(topic) < target && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  static byte[] body(int lines, long seq) {
    long now = System.currentTimeMillis() * 1000L;
    StringBuilder sb = new StringBuilder(lines * 200);
    for (int i = 0; i < lines; i++) {
      long a = now - 5_000 + (i % 1000);
      sb.append("{\"requestId\":\"r-")
          .append(seq)
          .append('-')
          .append(i)
          .append("\",\"model\":\"llama-3-8b\",\"arrivalUs\":")
          .append(a)
          .append(",\"scheduledUs\":")
          .append(a + 10)
          .append(",\"firstTokenUs\":")
          .append(a + 200)
          .append(",\"completedUs\":")
          .append(a + 4000)
          .append(",\"inputTokens\":128,\"outputTokens\":64}\n");
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Closed-loop load from {@code clients} threads; returns accepted events. */
  private static long runLoad(String url, int clients, int batch, int seconds) throws Exception {
    AtomicLong accepted = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    for (int c = 0; c < clients; c++) {
      int id = c;
      Thread t =
          new Thread(
              () -> {
                long seq = id * 1_000_000_000L;
                byte[] body =
                    body(batch, seq); // same content, fresh eventIds are assigned by the collector
                while (System.nanoTime() < end) {
                  accepted.addAndGet(post(url, body));
                }
              },
              "driver-" + c);
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join();
    }
    return accepted.get();
  }

  /**
   * Open-loop fixed-rate load from one thread; adds that thread's CPU time to {@code driverCpu}.
   */
  private static long runLoadMeasured(
      String url, int batch, int seconds, long periodNanos, AtomicLong driverCpu) throws Exception {
    AtomicLong accepted = new AtomicLong();
    Thread t =
        new Thread(
            () -> {
              long cpu0 = THREADS.getCurrentThreadCpuTime();
              byte[] body = body(batch, 7);
              long next = System.nanoTime();
              long end = next + seconds * 1_000_000_000L;
              while (next < end) {
                accepted.addAndGet(post(url, body));
                next += periodNanos;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                  LockSupport.parkNanos(wait);
                }
              }
              driverCpu.addAndGet(THREADS.getCurrentThreadCpuTime() - cpu0);
            },
            "driver-fixed");
    t.start();
    t.join();
    return accepted.get();
  }

  public static long post(String url, byte[] body) {
    try {
      HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
      c.setDoOutput(true);
      c.setRequestMethod("POST");
      c.setFixedLengthStreamingMode(body.length);
      c.setRequestProperty("Content-Type", "application/x-ndjson");
      try (OutputStream out = c.getOutputStream()) {
        out.write(body);
      }
      int code = c.getResponseCode();
      try (InputStream in = code < 400 ? c.getInputStream() : c.getErrorStream()) {
        String resp = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        if (code != 200) {
          throw new IllegalStateException("HTTP " + code + ": " + resp);
        }
        int i = resp.indexOf("\"accepted\":");
        return Long.parseLong(resp.substring(i + 11, resp.indexOf(',', i)));
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
