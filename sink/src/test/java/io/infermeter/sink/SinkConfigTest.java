package io.infermeter.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SinkConfigTest {

  @Test
  void defaults() {
    SinkConfig c = SinkConfig.fromMap(Map.of());
    assertThat(c.clickhouseUrl()).isEqualTo("jdbc:clickhouse://127.0.0.1:8123");
    assertThat(c.database()).isEqualTo("infermeter");
    assertThat(c.batchMaxRows()).isEqualTo(10_000);
    assertThat(c.batchMaxWait()).isEqualTo(Duration.ofSeconds(1));
    assertThat(c.topics()).containsExactlyElementsOf(SinkConfig.TOPIC_NAMES);
    assertThat(c.ttlDays()).containsEntry("alerts", 90).containsEntry("dead_letters", 90);
    assertThat(c.password()).isEmpty();
    assertThat(c.metricsHost()).isEqualTo("127.0.0.1");
  }

  @Test
  void layersFileThenEnvironmentAndPasswordNeverDescribed(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("sink.properties");
    Files.writeString(
        file, "clickhouse.database=fromfile\nbatch.max.rows=500\nclickhouse.ttl.days.alerts=7\n");
    SinkConfig c =
        SinkConfig.load(
            Optional.of(file),
            Map.of("INFERMETER_BATCH_MAX_ROWS", "700", "INFERMETER_CLICKHOUSE_PASSWORD", "s3cret"),
            new Properties());
    assertThat(c.database()).isEqualTo("fromfile");
    assertThat(c.batchMaxRows()).isEqualTo(700);
    assertThat(c.ttlDays()).containsEntry("alerts", 7).containsEntry("energy", 90);
    assertThat(c.password()).contains("s3cret");
    assertThat(c.describe()).doesNotContain("s3cret");
  }

  @Test
  void passwordFromAFile(@TempDir Path dir) throws Exception {
    Path secret = dir.resolve("pw");
    Files.writeString(secret, "filepw\n");
    assertThat(SinkConfig.fromMap(Map.of("clickhouse.password.file", secret.toString())).password())
        .contains("filepw");
    assertThatThrownBy(
            () ->
                SinkConfig.fromMap(
                    Map.of("clickhouse.password.file", dir.resolve("missing").toString())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("clickhouse.password.file");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "batch.max.rows|0",
        "batch.max.rows|many",
        "batch.max.wait|soon",
        "batch.max.wait|0ms",
        "clickhouse.url|http://127.0.0.1:8123",
        "clickhouse.database|bad-name",
        "clickhouse.ttl.days|-1",
        "clickhouse.ttl.days.alerts|0",
        "sink.topics|window-aggregates,requests",
        "metrics.port|70000",
        "retry.max.backoff|10ms",
        "clickhouse.migrate.on.start|maybe"
      })
  void invalidValuesFailNamingTheKey(String key, String value) {
    assertThatThrownBy(() -> SinkConfig.fromMap(Map.of(key, value)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(key);
  }

  @Test
  void passThroughPrefixes() {
    SinkConfig c =
        SinkConfig.fromMap(
            Map.of(
                "kafka.consumer.fetch.min.bytes",
                "1024",
                "kafka.producer.linger.ms",
                "5",
                "clickhouse.jdbc.socket_timeout",
                "30000"));
    assertThat(c.consumerOverrides()).containsEntry("fetch.min.bytes", "1024");
    assertThat(c.producerOverrides()).containsEntry("linger.ms", "5");
    assertThat(c.jdbcOverrides()).containsEntry("socket_timeout", "30000");
  }
}
