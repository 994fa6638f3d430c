package io.infermeter.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.clickhouse.ClickHouseContainer;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.kafka.KafkaContainer;

/**
 * Where the real servers of the integration tests are. One decision for the whole test JVM, in this
 * order:
 *
 * <ol>
 *   <li>environment variables or system properties {@code INFERMETER_KAFKA_BOOTSTRAP}, {@code
 *       INFERMETER_SCHEMA_REGISTRY_URL}, {@code INFERMETER_CLICKHOUSE_URL}, {@code
 *       INFERMETER_CLICKHOUSE_HTTP};
 *   <li>the {@code .local-stack/stack.env} file that {@code deploy/local/stack.sh start} writes,
 *       looked up from the working directory upwards;
 *   <li>Testcontainers, when a Docker engine answers;
 *   <li>otherwise the first test that asks fails with a message saying how to start the local
 *       stack.
 * </ol>
 *
 * <p>Thread-safe; the servers are shared by all tests of the JVM, so tests isolate themselves with
 * {@link #uniqueName(String)} topics, groups and databases.
 */
public final class Infra {

  private static final Logger LOG = LoggerFactory.getLogger(Infra.class);
  private static final String[] KEYS = {
    "INFERMETER_KAFKA_BOOTSTRAP",
    "INFERMETER_SCHEMA_REGISTRY_URL",
    "INFERMETER_CLICKHOUSE_URL",
    "INFERMETER_CLICKHOUSE_HTTP"
  };
  private static volatile Infra instance;

  private final String kafkaBootstrap;
  private final String schemaRegistryUrl;
  private final String clickhouseJdbcUrl;
  private final String clickhouseHttpUrl;
  private final String origin;

  private Infra(Map<String, String> values, String origin) {
    this.kafkaBootstrap = values.get(KEYS[0]);
    this.schemaRegistryUrl = values.get(KEYS[1]);
    this.clickhouseJdbcUrl = values.get(KEYS[2]);
    this.clickhouseHttpUrl = values.get(KEYS[3]);
    this.origin = origin;
  }

  /** The shared infrastructure, resolved on first use. */
  public static Infra get() {
    Infra local = instance;
    if (local == null) {
      synchronized (Infra.class) {
        local = instance;
        if (local == null) {
          local = resolve();
          LOG.info(
              "integration infrastructure from {}: kafka={} registry={} clickhouse={}",
              local.origin,
              local.kafkaBootstrap,
              local.schemaRegistryUrl,
              local.clickhouseHttpUrl);
          instance = local;
        }
      }
    }
    return local;
  }

  public String kafkaBootstrap() {
    return kafkaBootstrap;
  }

  /**
   * Base URL of the Confluent-compatible schema registry API (e.g. {@code
   * http://127.0.0.1:8081/apis/ccompat/v7}).
   */
  public String schemaRegistryUrl() {
    return schemaRegistryUrl;
  }

  /** JDBC URL of ClickHouse's HTTP interface, database {@code default}. */
  public String clickhouseJdbcUrl() {
    return clickhouseJdbcUrl;
  }

  /** Base URL of ClickHouse's HTTP interface (e.g. {@code http://127.0.0.1:8123}). */
  public String clickhouseHttpUrl() {
    return clickhouseHttpUrl;
  }

  /** Where the servers came from: env, a stack.env path, or testcontainers. */
  public String origin() {
    return origin;
  }

  /** A name unique to this JVM run, safe for topics, consumer groups and ClickHouse databases. */
  public static String uniqueName(String prefix) {
    return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  /**
   * Polls {@code condition} until it holds or {@code timeout} passes; never sleeps a fixed time for
   * a result.
   *
   * @throws AssertionError with {@code what} when the condition never held
   */
  public static void await(Duration timeout, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long pauseMs = 10;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
      }
      try {
        Thread.sleep(pauseMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for: " + what, e);
      }
      pauseMs = Math.min(200, pauseMs * 2);
    }
  }

  private static Infra resolve() {
    Map<String, String> explicit = new LinkedHashMap<>();
    for (String key : KEYS) {
      String value = Optional.ofNullable(System.getProperty(key)).orElse(System.getenv(key));
      if (value != null && !value.isBlank()) {
        explicit.put(key, value.trim());
      }
    }
    if (explicit.size() == KEYS.length) {
      return new Infra(explicit, "environment");
    }
    Optional<Path> stackEnv = findStackEnv();
    if (stackEnv.isPresent()) {
      Map<String, String> fromFile = readEnvFile(stackEnv.get());
      fromFile.putAll(explicit);
      if (fromFile.keySet().containsAll(List.of(KEYS))) {
        return new Infra(fromFile, stackEnv.get().toString());
      }
    }
    if (dockerAvailable()) {
      return startContainers();
    }
    throw new IllegalStateException(
        "No Kafka / schema registry / ClickHouse for integration tests. Start the local stack with "
            + "'./infermeter stack start' (or run './infermeter test', which does it), or set "
            + String.join(", ", KEYS)
            + ".");
  }

  private static Optional<Path> findStackEnv() {
    String dir = Optional.ofNullable(System.getenv("INFERMETER_STACK_DIR")).orElse("");
    if (!dir.isBlank()) {
      Path candidate = Path.of(dir, "stack.env");
      return Files.isRegularFile(candidate) ? Optional.of(candidate) : Optional.empty();
    }
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path candidate = p.resolve(".local-stack").resolve("stack.env");
      if (Files.isRegularFile(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  static Map<String, String> readEnvFile(Path file) {
    Map<String, String> values = new LinkedHashMap<>();
    try {
      for (String line : Files.readAllLines(file)) {
        String trimmed = line.trim();
        int eq = trimmed.indexOf('=');
        if (trimmed.isEmpty() || trimmed.startsWith("#") || eq <= 0) {
          continue;
        }
        values.put(trimmed.substring(0, eq).trim(), trimmed.substring(eq + 1).trim());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    return values;
  }

  private static boolean dockerAvailable() {
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException e) {
      return false;
    }
  }

  /**
   * The Testcontainers images, from {@code images.properties} (filtered by the build: Kafka is the
   * root pom's {@code kafka.version}), keyed {@code kafka}, {@code clickhouse}, {@code registry}.
   */
  public static Map<String, String> images() {
    Properties p = new Properties();
    try (InputStream in = Infra.class.getResourceAsStream("images.properties")) {
      if (in == null) {
        throw new IllegalStateException("images.properties is missing from test-support's jar");
      }
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read test-support's images.properties", e);
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String key : List.of("kafka", "clickhouse", "registry")) {
      String image = p.getProperty(key, "");
      if (image.isBlank() || image.contains("${")) {
        throw new IllegalStateException(
            "images.properties: '" + key + "' is not a resolved image: '" + image + "'");
      }
      out.put(key, image.trim());
    }
    return out;
  }

  @SuppressWarnings("resource") // containers live as long as the test JVM; Ryuk removes them
  private static Infra startContainers() {
    Map<String, String> images = images();
    KafkaContainer kafka = new KafkaContainer(images.get("kafka"));
    kafka.start();
    GenericContainer<?> registry =
        new GenericContainer<>(images.get("registry"))
            .withExposedPorts(8080)
            .waitingFor(Wait.forHttp("/apis/ccompat/v7/subjects").forStatusCode(200));
    registry.start();
    ClickHouseContainer clickhouse = new ClickHouseContainer(images.get("clickhouse"));
    clickhouse.start();
    String chHttp = "http://" + clickhouse.getHost() + ":" + clickhouse.getMappedPort(8123);
    Map<String, String> values = new LinkedHashMap<>();
    values.put(KEYS[0], kafka.getBootstrapServers());
    values.put(
        KEYS[1],
        "http://" + registry.getHost() + ":" + registry.getMappedPort(8080) + "/apis/ccompat/v7");
    values.put(
        KEYS[2],
        "jdbc:clickhouse://"
            + clickhouse.getHost()
            + ":"
            + clickhouse.getMappedPort(8123)
            + "/default?user="
            + clickhouse.getUsername()
            + "&password="
            + clickhouse.getPassword());
    values.put(KEYS[3], chHttp);
    return new Infra(values, "testcontainers");
  }
}
