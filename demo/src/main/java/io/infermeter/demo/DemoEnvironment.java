package io.infermeter.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the local stack is: {@code INFERMETER_*} environment variables, else the {@code stack.env} file that
 * {@code deploy/local/stack.sh start} writes (in {@code $INFERMETER_STACK_DIR}, or {@code .local-stack} in the working
 * directory or one of its parents).
 *
 * @param kafkaBootstrap Kafka bootstrap servers
 * @param schemaRegistryUrl Confluent-compatible registry base URL
 * @param clickhouseJdbcUrl ClickHouse JDBC URL
 */
record DemoEnvironment(String kafkaBootstrap, String schemaRegistryUrl, String clickhouseJdbcUrl) {

  static DemoEnvironment resolve() {
    Map<String, String> values = new LinkedHashMap<>();
    Path file = stackEnv();
    if (Files.isRegularFile(file)) {
      try {
        for (String line : Files.readAllLines(file)) {
          int eq = line.indexOf('=');
          if (eq > 0 && !line.startsWith("#")) {
            values.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
      }
    }
    System.getenv().forEach((k, v) -> {
      if (k.startsWith("INFERMETER_") && !v.isBlank()) {
        values.put(k, v);
      }
    });
    return new DemoEnvironment(
        require(values, "INFERMETER_KAFKA_BOOTSTRAP", file),
        require(values, "INFERMETER_SCHEMA_REGISTRY_URL", file),
        require(values, "INFERMETER_CLICKHOUSE_URL", file));
  }

  /** {@code $INFERMETER_STACK_DIR/stack.env}, else {@code .local-stack/stack.env} here or in a parent directory. */
  private static Path stackEnv() {
    String dir = System.getenv("INFERMETER_STACK_DIR");
    if (dir != null && !dir.isBlank()) {
      return Path.of(dir, "stack.env");
    }
    Path here = Path.of("").toAbsolutePath();
    for (Path p = here; p != null; p = p.getParent()) {
      Path candidate = p.resolve(".local-stack").resolve("stack.env");
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    return here.resolve(".local-stack").resolve("stack.env");
  }

  private static String require(Map<String, String> values, String key, Path file) {
    String v = values.get(key);
    if (v == null || v.isBlank()) {
      throw new IllegalStateException(key + " is not set and " + file + " does not name it: start the local stack "
          + "with './infermeter stack start' or set " + key);
    }
    return v;
  }
}
