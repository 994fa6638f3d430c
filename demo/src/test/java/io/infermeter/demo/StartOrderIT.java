package io.infermeter.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.schemas.TopicCreator;
import io.infermeter.schemas.Topics;
import io.infermeter.testsupport.Infra;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, "the apps start in any order on a fresh stack": the collector, the streams app and the
 * sink (their jars, as {@code ./infermeter demo} runs them) start in each of the 6 orders, each app
 * ready before the next starts, then the alert forwarder; each order on its own "fresh stack" (a
 * topic prefix and a ClickHouse database nobody used). Then a burst of requests through the
 * collector's JSON-lines endpoint must be counted exactly in ClickHouse and every topic must have
 * the configured partition count (a topic the broker auto-created on first use would have the local
 * broker's num.partitions instead, and the streams app would have refused to start). Orders run
 * side by side to keep the test short.
 */
class StartOrderIT {

  private static final int REQUESTS = 200;
  private static final int PARTITIONS =
      2; // neither the apps' default (4) nor the local broker's num.partitions (3)
  private static final int PARALLEL = 3;
  private static final Duration READY = Duration.ofSeconds(120);
  private static final String MODEL = "start-order-model";

  private final Infra infra = Infra.get();
  private final List<Process> apps = Collections.synchronizedList(new ArrayList<>());
  private final List<String> databases = Collections.synchronizedList(new ArrayList<>());
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @AfterEach
  void stopAppsAndDropDatabases() throws Exception {
    synchronized (apps) {
      apps.forEach(Process::destroy);
      for (Process p : apps) {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
    try (Connection ch = DriverManager.getConnection(infra.clickhouseJdbcUrl(), "default", "");
        Statement st = ch.createStatement()) {
      for (String db : databases) {
        st.execute("DROP DATABASE IF EXISTS " + db);
      }
    }
    // the orders' topics: the pipeline's (prefix order-<id>-) and the streams app's internal ones
    // (order_<id>-)
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", infra.kafkaBootstrap()))) {
      List<String> ours =
          admin.listTopics().names().get(30, TimeUnit.SECONDS).stream()
              .filter(
                  t ->
                      databases.stream()
                          .anyMatch(
                              db -> t.startsWith(db + "-") || t.startsWith(db.replace('_', '-'))))
              .toList();
      if (!ours.isEmpty()) {
        admin.deleteTopics(ours).all().get(60, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void everyStartOrderCountsABurstExactly() throws Exception {
    List<List<String>> orders =
        List.of(
            List.of("collector", "streams-app", "sink"),
                List.of("collector", "sink", "streams-app"),
            List.of("streams-app", "collector", "sink"),
                List.of("streams-app", "sink", "collector"),
            List.of("sink", "collector", "streams-app"),
                List.of("sink", "streams-app", "collector"));
    ExecutorService pool = Executors.newFixedThreadPool(PARALLEL);
    try {
      Map<List<String>, Future<Long>> runs = new LinkedHashMap<>();
      for (List<String> order : orders) {
        runs.put(order, pool.submit(() -> runOrder(order)));
      }
      Map<String, Long> counted = new LinkedHashMap<>();
      for (Map.Entry<List<String>, Future<Long>> run : runs.entrySet()) {
        counted.put(String.join(" > ", run.getKey()), run.getValue().get(5, TimeUnit.MINUTES));
      }
      assertThat(counted)
          .as("requests counted in ClickHouse per start order (logs under target/start-order-it)")
          .allSatisfy((order, n) -> assertThat(n).as(order).isEqualTo(REQUESTS));
    } finally {
      pool.shutdownNow();
    }
  }

  /** One order on its own prefix and database; returns the requests ClickHouse counted. */
  private long runOrder(List<String> order) throws Exception {
    String id = Infra.uniqueName("order");
    String prefix = id.replace('_', '-') + "-";
    databases.add(id);
    Path dir =
        Files.createDirectories(
            Path.of("target", "start-order-it", id + "-" + String.join("-", order)));

    Map<String, String> common = new LinkedHashMap<>();
    common.put("INFERMETER_KAFKA_BOOTSTRAP_SERVERS", infra.kafkaBootstrap());
    common.put("INFERMETER_SCHEMA_REGISTRY_URL", infra.schemaRegistryUrl());
    common.put("INFERMETER_TOPIC_PREFIX", prefix);
    common.put("INFERMETER_TOPICS_PARTITIONS", String.valueOf(PARTITIONS));
    int collectorHttp = freePort();
    Map<String, Map<String, String>> env = new LinkedHashMap<>();
    Map<String, Integer> metrics = new LinkedHashMap<>();
    for (String app : List.of("collector", "streams-app", "sink", "alert-forwarder")) {
      Map<String, String> e = new LinkedHashMap<>(common);
      int port = freePort();
      metrics.put(app, port);
      e.put("INFERMETER_METRICS_PORT", String.valueOf(port));
      env.put(app, e);
    }
    env.get("collector").put("INFERMETER_HTTP_PORT", String.valueOf(collectorHttp));
    env.get("collector").put("INFERMETER_SAMPLING_ENABLED", "false");
    env.get("collector")
        .put("INFERMETER_GRPC_PORT", "0"); // collectors of orders running side by side: not 4317
    env.get("collector").put("INFERMETER_SPOOL_DIR", dir.resolve("spool").toString());
    env.get("streams-app").put("INFERMETER_APPLICATION_ID", id);
    env.get("streams-app")
        .put("INFERMETER_KAFKA_STREAMS_STATE_DIR", dir.resolve("streams-state").toString());
    env.get("streams-app").put("INFERMETER_WINDOWS_SIZES", "10s");
    env.get("sink").put("INFERMETER_CLICKHOUSE_URL", infra.clickhouseJdbcUrl());
    env.get("sink").put("INFERMETER_CLICKHOUSE_DATABASE", id);
    env.get("sink").put("INFERMETER_KAFKA_GROUP_ID", id + "-sink");
    env.get("alert-forwarder").put("INFERMETER_KAFKA_GROUP_ID", id + "-alerts");
    // nothing listens there: the forwarder only has to start and read its topic
    env.get("alert-forwarder")
        .put("INFERMETER_ALERTMANAGER_URLS", "http://127.0.0.1:" + freePort());

    List<String> all = new ArrayList<>(order);
    all.add("alert-forwarder");
    for (String app : all) {
      awaitReady(app, start(app, env.get(app), dir), metrics.get(app), dir);
    }

    // the burst: one host, 10 ms apart, two minutes ago (every 10 s window it lands in is closed by
    // the closer line)
    long base = (Instant.now().minusSeconds(120).toEpochMilli() / 10_000) * 10_000 * 1000;
    String host = "host-" + id;
    StringBuilder body = new StringBuilder();
    for (int i = 0; i < REQUESTS; i++) {
      long arrival = base + i * 10_000L;
      body.append(line(id + "-" + i, host, MODEL, arrival, arrival + 50_000));
    }
    post(collectorHttp, body.toString());
    // until Kafka has acknowledged the burst: an event may detour through the spool (schema id not
    // registered yet),
    // and a closer that overtook it would make it late
    String requestsTopic = prefix + Topics.REQUESTS.name();
    Infra.await(
        READY,
        "the collector's burst acknowledged by Kafka (log in " + dir + ")",
        () -> sent(metrics.get("collector"), requestsTopic) >= REQUESTS);
    // a later request of the same host moves its event time past the burst's windows and their
    // grace
    long now = Instant.now().toEpochMilli() * 1000;
    post(collectorHttp, line(id + "-closer", host, "closer", now - 1_000_000, now - 500_000));

    long[] counted = {-1};
    try (Connection ch = DriverManager.getConnection(infra.clickhouseJdbcUrl(), "default", "")) {
      String sql =
          "SELECT sum(requests) FROM "
              + id
              + ".window_aggregates FINAL WHERE scope = 'host' AND host = '"
              + host
              + "' AND model = '"
              + MODEL
              + "' AND window_size_ms = 10000";
      try {
        Infra.await(
            READY,
            "the burst counted in " + id + " (order " + order + ", logs in " + dir + ")",
            () -> {
              counted[0] = query(ch, sql);
              return counted[0] >= REQUESTS;
            });
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + ": counted " + counted[0] + " of " + REQUESTS, e);
      }
    }
    assertPartitions(prefix, order);
    return counted[0];
  }

  /**
   * Every topic of the pipeline exists with the configured count: none was auto-created by the
   * broker.
   */
  private void assertPartitions(String prefix, List<String> order) throws Exception {
    TopicCreator.Plan plan = new TopicCreator.Plan(prefix, PARTITIONS, (short) 1, false);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", infra.kafkaBootstrap()))) {
      Map<String, TopicDescription> d =
          admin.describeTopics(plan.names()).allTopicNames().get(30, TimeUnit.SECONDS);
      assertThat(d).hasSize(Topics.ALL.size());
      d.forEach(
          (name, t) ->
              assertThat(t.partitions())
                  .as("partitions of %s (order %s)", name, order)
                  .hasSize(PARTITIONS));
    }
  }

  /**
   * The collector's {@code infermeter_collector_sent_total} of {@code topic}, from its /metrics.
   */
  private long sent(int metricsPort, String topic) {
    try {
      String text =
          http.send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                      .timeout(Duration.ofSeconds(2))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      return (long)
          text.lines()
              .filter(
                  l ->
                      l.startsWith("infermeter_collector_sent_total{")
                          && l.contains("topic=\"" + topic + "\""))
              .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
              .sum();
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  private static String line(
      String requestId, String host, String model, long arrivalUs, long completedUs) {
    return "{\"requestId\":\""
        + requestId
        + "\",\"host\":\""
        + host
        + "\",\"model\":\""
        + model
        + "\",\"arrivalUs\":"
        + arrivalUs
        + ",\"completedUs\":"
        + completedUs
        + ",\"inputTokens\":10,"
        + "\"outputTokens\":20}\n";
  }

  private void post(int port, String body) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/requests"))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-ndjson")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("collector answer: %s", r.body()).isBetween(200, 299);
  }

  private static long query(Connection ch, String sql) {
    try (Statement st = ch.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      return rs.next() ? rs.getLong(1) : 0;
    } catch (java.sql.SQLException e) {
      return -1; // the sink has not created the database yet
    }
  }

  /**
   * Starts an app's jar (built by this reactor before this module) with its settings as environment
   * variables.
   */
  private Process start(String module, Map<String, String> env, Path dir) throws IOException {
    Path jar =
        repoRoot().resolve(module).resolve("target").resolve("infermeter-" + module + ".jar");
    assertThat(jar).as("the %s jar (built before this module)", module).exists();
    ProcessBuilder pb =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx384m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-jar",
                jar.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve(module + ".log").toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("INFERMETER_"));
    pb.environment().putAll(env);
    Process p = pb.start();
    apps.add(p);
    return p;
  }

  /** Until the app's /-/ready answers 200: the next app of the order starts only then. */
  private void awaitReady(String app, Process process, int metricsPort, Path dir) {
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
                    + " before it was ready; its log: "
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

  private static Path repoRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("infermeter")) && Files.isDirectory(p.resolve("deploy"))) {
        return p;
      }
    }
    throw new IllegalStateException(
        "cannot find the repository root above " + Path.of("").toAbsolutePath());
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
