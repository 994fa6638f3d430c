package io.infermeter.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.collector.Collector;
import io.infermeter.collector.CollectorConfig;
import io.infermeter.schemas.TopicSpec;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.utils.Utils;

/**
 * The real pipeline for one end-to-end test on the local stack, isolated by a unique name: every
 * topic under its own prefix (created up front with {@code partitions}), the streams app and the
 * sink as their jars (as {@code ./infermeter demo} runs them, like {@link StartOrderIT}) writing
 * into their own ClickHouse database, and any number of collectors in this JVM, one per simulated
 * node (the collector sets an OTLP span's host from its own configuration, so each OTLP host needs
 * its own collector), or as jars in processes of their own ({@link #collectorProcess}). {@link
 * #close} stops everything and drops the database and the topics. Not thread-safe, except {@link
 * #post}.
 */
final class Pipeline implements AutoCloseable {

  private static final Duration READY = Duration.ofSeconds(120);

  final String id;
  final String prefix;
  final int partitions;
  final Path dir;
  final int streamsMetricsPort;
  private final Infra infra = Infra.get();
  private final List<Process> apps = new ArrayList<>();
  private final List<Collector> collectors = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private Connection clickhouse;

  private Pipeline(String name, Path dir, int partitions) throws IOException {
    this.id = Infra.uniqueName(name);
    this.prefix = id.replace('_', '-') + "-";
    this.partitions = partitions;
    this.dir = Files.createDirectories(dir.resolve(id));
    this.streamsMetricsPort = freePort();
  }

  /**
   * Creates the topics, starts the sink and the streams app (defaults but for {@code streamsEnv},
   * environment variables such as {@code INFERMETER_WINDOWS_FLEET_IDLE}) and waits until both are
   * ready.
   */
  static Pipeline start(String name, Path dir, int partitions, Map<String, String> streamsEnv)
      throws Exception {
    Pipeline p = new Pipeline(name, dir, partitions);
    try {
      p.createTopics();
      Map<String, String> common = new LinkedHashMap<>();
      common.put("INFERMETER_KAFKA_BOOTSTRAP_SERVERS", p.infra.kafkaBootstrap());
      common.put("INFERMETER_SCHEMA_REGISTRY_URL", p.infra.schemaRegistryUrl());
      common.put("INFERMETER_TOPIC_PREFIX", p.prefix);
      common.put("INFERMETER_TOPICS_PARTITIONS", String.valueOf(partitions));

      int sinkMetrics = freePort();
      Map<String, String> sink = new LinkedHashMap<>(common);
      sink.put("INFERMETER_CLICKHOUSE_URL", p.infra.clickhouseJdbcUrl());
      sink.put("INFERMETER_CLICKHOUSE_DATABASE", p.id);
      sink.put("INFERMETER_KAFKA_GROUP_ID", p.id + "-sink");
      sink.put("INFERMETER_METRICS_PORT", String.valueOf(sinkMetrics));
      Process sinkProcess = p.startJar("sink", "sink", sink);

      Map<String, String> streams = new LinkedHashMap<>(common);
      streams.put("INFERMETER_APPLICATION_ID", p.id);
      streams.put("INFERMETER_KAFKA_STREAMS_STATE_DIR", p.dir.resolve("streams-state").toString());
      streams.put("INFERMETER_METRICS_PORT", String.valueOf(p.streamsMetricsPort));
      streams.putAll(streamsEnv);
      Process streamsProcess = p.startJar("streams-app", "streams-app", streams);

      p.awaitReady("sink", sinkProcess, sinkMetrics);
      p.awaitReady("streams-app", streamsProcess, p.streamsMetricsPort);
      return p;
    } catch (Exception | AssertionError e) {
      p.close();
      throw e;
    }
  }

  /**
   * A collector in this JVM for node {@code host}: JSON lines and OTLP/HTTP on an ephemeral port,
   * no sampling.
   */
  Collector collector(String host) throws IOException {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("kafka.bootstrap.servers", infra.kafkaBootstrap());
    cfg.put("schema.registry.url", infra.schemaRegistryUrl());
    cfg.put("topic.prefix", prefix);
    cfg.put("http.port", 0);
    cfg.put("metrics.port", 0);
    cfg.put("grpc.enabled", false);
    cfg.put("sampling.enabled", false);
    cfg.put("spool.dir", Files.createDirectories(dir.resolve("spool-" + host)).toString());
    cfg.put("host", host);
    cfg.put("cluster", "it-cluster");
    cfg.put("region", "eu-north-1");
    cfg.put("kafka.producer.linger.ms", 5);
    Collector c = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)));
    collectors.add(c);
    return c;
  }

  /**
   * A collector for node {@code host} as its jar, in a process of its own (log {@code
   * collector-<host>.log}) whose environment adds {@code env} to the pipeline's settings: collector
   * settings as {@code INFERMETER_*} variables, or variables that a native library it loads reads
   * (a per-process environment, which a collector in this JVM cannot have). JSON lines and
   * OTLP/HTTP on the returned port, no gRPC, samplers as the collector's defaults unless {@code
   * env} sets them; waits until it is ready.
   */
  int collectorProcess(String host, Map<String, String> env) throws IOException {
    int httpPort = freePort();
    int metricsPort = freePort();
    Map<String, String> e = new LinkedHashMap<>();
    e.put("INFERMETER_KAFKA_BOOTSTRAP_SERVERS", infra.kafkaBootstrap());
    e.put("INFERMETER_SCHEMA_REGISTRY_URL", infra.schemaRegistryUrl());
    e.put("INFERMETER_TOPIC_PREFIX", prefix);
    e.put("INFERMETER_TOPICS_PARTITIONS", String.valueOf(partitions));
    e.put("INFERMETER_HTTP_PORT", String.valueOf(httpPort));
    e.put("INFERMETER_METRICS_PORT", String.valueOf(metricsPort));
    e.put("INFERMETER_GRPC_ENABLED", "false");
    e.put("INFERMETER_SPOOL_DIR", Files.createDirectories(dir.resolve("spool-" + host)).toString());
    e.put("INFERMETER_HOST", host);
    e.put("INFERMETER_CLUSTER", "it-cluster");
    e.put("INFERMETER_REGION", "eu-north-1");
    e.putAll(env);
    String log = "collector-" + host;
    awaitReady(log, startJar("collector", log, e), metricsPort);
    return httpPort;
  }

  String requestsTopic() {
    return Topics.REQUESTS.withPrefix(prefix).name();
  }

  /** Events of {@code collectors} acknowledged by Kafka on the request topic. */
  long acknowledged(List<Collector> of) {
    return of.stream().mapToLong(c -> (long) c.metrics().sentCount(requestsTopic())).sum();
  }

  /**
   * Posts JSON lines to a collector; thread-safe. Fails the test unless every line was accepted.
   */
  void post(Collector c, String lines) {
    post(c.httpPort(), lines);
  }

  /**
   * Posts JSON lines to the collector on {@code httpPort}; thread-safe. Fails the test unless every
   * line was accepted.
   */
  void post(int httpPort, String lines) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/v1/requests"))
                  .timeout(Duration.ofSeconds(30))
                  .header("Content-Type", "application/x-ndjson")
                  .POST(HttpRequest.BodyPublishers.ofString(lines, StandardCharsets.UTF_8))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as("collector answer: %s", r.body()).isEqualTo(200);
    } catch (IOException e) {
      throw new AssertionError("posting JSON lines failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** One JSON line of a request of {@code host} with the given e2e latency (TTFT a fifth of it). */
  static String line(String requestId, String host, String model, long completedUs, long e2eUs) {
    return "{\"requestId\":\""
        + requestId
        + "\",\"host\":\""
        + host
        + "\",\"model\":\""
        + model
        + "\",\"arrivalUs\":"
        + (completedUs - e2eUs)
        + ",\"ttftUs\":"
        + e2eUs / 5
        + ",\"completedUs\":"
        + completedUs
        + ",\"inputTokens\":100,\"outputTokens\":50}\n";
  }

  /**
   * Host names {@code base-0, base-1, ...} until every partition of the request topic has one, by
   * the producer's default partitioner (murmur2 of the key, the host): records stamped now for
   * these hosts move every request task's stream time, so every window before now closes, fleet
   * windows included (every upstream task reports).
   */
  List<String> hostsCoveringEveryPartition(String base) {
    List<String> hosts = new ArrayList<>();
    boolean[] covered = new boolean[partitions];
    int left = partitions;
    for (int i = 0; left > 0; i++) {
      String h = base + "-" + i;
      int p = partitionOf(h);
      if (!covered[p]) {
        covered[p] = true;
        left--;
        hosts.add(h);
      }
    }
    return hosts;
  }

  int partitionOf(String host) {
    return Utils.toPositive(Utils.murmur2(host.getBytes(StandardCharsets.UTF_8))) % partitions;
  }

  /**
   * The streams app's Prometheus counter {@code name} (sum over series whose labels contain {@code
   * labels}).
   */
  double streamsCounter(String name, String labels) {
    try {
      String text =
          http.send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + streamsMetricsPort + "/metrics"))
                      .timeout(Duration.ofSeconds(5))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      return text.lines()
          .filter(l -> (l.startsWith(name + " ") || l.startsWith(name + "{")) && l.contains(labels))
          .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
          .sum();
    } catch (IOException e) {
      throw new AssertionError("streams app metrics unreadable", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /**
   * Rows of {@code sql} as (first column as text -> second column); empty while the sink has no
   * database yet.
   */
  Map<String, Long> longs(String sql) {
    Map<String, Long> out = new LinkedHashMap<>();
    try (Statement st = clickhouse().createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getLong(2));
      }
    } catch (SQLException e) {
      return Map.of();
    }
    return out;
  }

  /** Every row of {@code sql}, columns as text. */
  List<List<String>> rows(String sql) throws SQLException {
    List<List<String>> out = new ArrayList<>();
    try (Statement st = clickhouse().createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<String> row = new ArrayList<>(n);
        for (int i = 1; i <= n; i++) {
          row.add(rs.getString(i));
        }
        out.add(row);
      }
    }
    return out;
  }

  private Connection clickhouse() throws SQLException {
    if (clickhouse == null) {
      clickhouse = DriverManager.getConnection(infra.clickhouseJdbcUrl(), "default", "");
    }
    return clickhouse;
  }

  /**
   * Nearest-rank percentile of sorted values, the definition HdrHistogram's are checked against.
   */
  static long nearestRank(long[] sorted, double q) {
    int rank = (int) Math.max(1, Math.ceil(q * sorted.length));
    return sorted[rank - 1];
  }

  /** HdrHistogram with 3 significant digits: within 0.1 % of the exact value. */
  static boolean withinHdrPrecision(long reported, long exact) {
    return Math.abs(reported - exact) <= Math.max(1.0, exact * 0.001);
  }

  @Override
  public void close() throws Exception {
    for (Collector c : collectors) {
      c.close();
    }
    for (Process p : apps) {
      p.destroy();
    }
    for (Process p : apps) {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
    try (Connection ch = DriverManager.getConnection(infra.clickhouseJdbcUrl(), "default", "");
        Statement st = ch.createStatement()) {
      st.execute("DROP DATABASE IF EXISTS " + id);
    }
    if (clickhouse != null) {
      clickhouse.close();
    }
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", infra.kafkaBootstrap()))) {
      List<String> ours =
          admin.listTopics().names().get(30, TimeUnit.SECONDS).stream()
              .filter(t -> t.startsWith(prefix) || t.startsWith(id + "-"))
              .toList();
      if (!ours.isEmpty()) {
        admin.deleteTopics(ours).all().get(60, TimeUnit.SECONDS);
      }
    }
  }

  private void createTopics() throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", infra.kafkaBootstrap()))) {
      List<NewTopic> topics = new ArrayList<>();
      for (TopicSpec<?> t : Topics.ALL) {
        topics.add(new NewTopic(t.withPrefix(prefix).name(), partitions, (short) 1));
      }
      admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
    }
  }

  /** Starts {@code module}'s jar with {@code env}, its output in {@code <log>.log}. */
  private Process startJar(String module, String log, Map<String, String> env) throws IOException {
    Path jar =
        repoRoot().resolve(module).resolve("target").resolve("infermeter-" + module + ".jar");
    assertThat(jar).as("the %s jar (built before this module)", module).exists();
    ProcessBuilder pb =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-jar",
                jar.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve(log + ".log").toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("INFERMETER_"));
    pb.environment().putAll(env);
    Process p = pb.start();
    apps.add(p);
    return p;
  }

  private void awaitReady(String app, Process process, int metricsPort) {
    URI ready = URI.create("http://127.0.0.1:" + metricsPort + "/-/ready");
    Infra.await(
        READY,
        app + " ready on " + ready + " (log in " + dir + ")",
        () -> {
          if (!process.isAlive()) {
            throw new AssertionError(
                app
                    + " exited with "
                    + process.exitValue()
                    + "; its log: "
                    + dir.resolve(app + ".log"));
          }
          try {
            return http.send(
                        HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding())
                    .statusCode()
                == 200;
          } catch (IOException e) {
            return false;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        });
  }

  static Path repoRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("infermeter")) && Files.isDirectory(p.resolve("deploy"))) {
        return p;
      }
    }
    throw new IllegalStateException(
        "cannot find the repository root above " + Path.of("").toAbsolutePath());
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
