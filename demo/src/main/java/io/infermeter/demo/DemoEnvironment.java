package io.infermeter.demo;

import io.infermeter.schemas.config.LocalStackEnv;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the local stack is: {@code INFERMETER_*} environment variables, else the {@code stack.env}
 * file that {@code deploy/local/stack.sh start} writes ({@link LocalStackEnv}).
 *
 * @param kafkaBootstrap Kafka bootstrap servers
 * @param schemaRegistryUrl Confluent-compatible registry base URL
 * @param clickhouseJdbcUrl ClickHouse JDBC URL
 */
record DemoEnvironment(String kafkaBootstrap, String schemaRegistryUrl, String clickhouseJdbcUrl) {

  static DemoEnvironment resolve() {
    Map<String, String> values = LocalStackEnv.resolve(System.getenv(), Path.of(""));
    return new DemoEnvironment(
        require(values, "INFERMETER_KAFKA_BOOTSTRAP"),
        require(values, "INFERMETER_SCHEMA_REGISTRY_URL"),
        require(values, "INFERMETER_CLICKHOUSE_URL"));
  }

  private static String require(Map<String, String> values, String key) {
    String v = values.get(key);
    if (v == null || v.isBlank()) {
      throw new IllegalStateException(
          key
              + " is not set and no stack.env names it: start the local stack with "
              + "'./infermeter stack start' (or run './infermeter demo', which does), or set "
              + key);
    }
    return v;
  }
}
