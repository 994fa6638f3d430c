package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CollectorConfigTest {

  private static Map<String, String> required() {
    Map<String, String> m = new HashMap<>();
    m.put("kafka.bootstrap.servers", "127.0.0.1:9092");
    m.put("schema.registry.url", "http://127.0.0.1:8081");
    return m;
  }

  @Test
  void defaultsApplyWhenOnlyRequiredKeysAreSet() {
    CollectorConfig c = CollectorConfig.from(Settings.fromMap(required()));
    assertThat(c.httpHost()).isEqualTo("127.0.0.1");
    assertThat(c.httpPort()).isEqualTo(4318);
    assertThat(c.metricsHost()).isEqualTo("127.0.0.1");
    assertThat(c.samplingPeriod()).isEqualTo(Duration.ofSeconds(1));
    assertThat(c.authToken()).isEmpty();
    assertThat(c.maxBodyBytes()).isEqualTo(8L * 1024 * 1024);
    assertThat(c.cpuIdleWatts()).isEqualTo(0.3 * c.cpuTdpWatts());
    assertThat(c.host()).isNotBlank();
    assertThat(c.serdeOverrides()).containsEntry("schema.registry.url", "http://127.0.0.1:8081");
  }

  @Test
  void layersFileThenEnvThenSystemProperties(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("collector.properties");
    Files.writeString(
        file,
        String.join(
            "\n",
            "kafka.bootstrap.servers=file:9092",
            "schema.registry.url=http://registry",
            "cluster=from-file",
            "region=eu-west-1",
            "http.port=5000",
            "sampling.period=250ms",
            "kafka.producer.linger.ms=5",
            "auth.token=s3cret"));
    Map<String, String> env =
        Map.of(
            "INFERMETER_CLUSTER",
            "from-env",
            "INFERMETER_HTTP_PORT",
            "6000",
            "INFERMETER_KAFKA_PRODUCER_BATCH_SIZE",
            "1000",
            "PATH",
            "/usr/bin");
    Properties sys = new Properties();
    sys.setProperty("http.port", "7000");
    CollectorConfig c = CollectorConfig.load(Optional.of(file), env, sys);
    assertThat(c.bootstrapServers()).isEqualTo("file:9092");
    assertThat(c.cluster()).isEqualTo("from-env");
    assertThat(c.region()).isEqualTo("eu-west-1");
    assertThat(c.httpPort()).isEqualTo(7000);
    assertThat(c.samplingPeriod()).isEqualTo(Duration.ofMillis(250));
    assertThat(c.producerOverrides())
        .containsEntry("linger.ms", "5")
        .containsEntry("batch.size", "1000");
    assertThat(c.authToken()).contains("s3cret");
    assertThat(c.toString()).doesNotContain("s3cret");
  }

  @Test
  void defaultsPointAtTheLocalStack() {
    CollectorConfig c = CollectorConfig.from(Settings.fromMap(Map.of()));
    assertThat(c.bootstrapServers()).isEqualTo("127.0.0.1:9092");
    assertThat(c.schemaRegistryUrl()).isEqualTo("http://127.0.0.1:8081/apis/ccompat/v7");
  }

  @Test
  void blankKafkaIsReported() {
    assertThatThrownBy(
            () -> CollectorConfig.from(Settings.fromMap(Map.of("kafka.bootstrap.servers", " "))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("kafka.bootstrap.servers");
  }

  @Test
  void theRemovedHttpThreadsSettingFailsInsteadOfBeingIgnored() {
    assertThatThrownBy(() -> CollectorConfig.from(Settings.fromMap(Map.of("http.threads", "4"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http.threads")
        .hasMessageContaining("http.max.connections");
  }

  @Test
  void unreadableFileIsReported(@TempDir Path dir) {
    assertThatThrownBy(
            () ->
                CollectorConfig.load(
                    Optional.of(dir.resolve("nope.properties")), Map.of(), new Properties()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("nope.properties");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "http.port|70000|http.port",
        "http.port|abc|http.port",
        "metrics.port|-1|metrics.port",
        "http.max.body.bytes|0|http.max.body.bytes",
        "spool.max.bytes|-5|spool.max.bytes",
        "spool.segment.bytes|2000000000000|spool.segment.bytes",
        "sampling.period|0s|sampling.period",
        "sampling.period|soon|sampling.period",
        "power.cpu.tdp.watts|-3|power.cpu.tdp.watts",
        "power.cpu.idle.watts|500|power.cpu.idle.watts",
        "buffer.capacity|0|buffer.capacity",
        "process.pid|-2|process.pid",
        "nvml.enabled|maybe|nvml.enabled",
        "validation.max.duration|0ms|validation.max.duration",
        "validation.max.dimension.bytes|0|validation.max.dimension.bytes",
        "validation.max.message.bytes|-1|validation.max.message.bytes",
        "spool.fsync|sometimes|spool.fsync",
        "spool.fsync|0s|spool.fsync",
      })
  void invalidValuesFailNamingKeyAndValue(String key, String value, String named) {
    Map<String, String> m = required();
    m.put(key, value);
    assertThatThrownBy(() -> CollectorConfig.from(Settings.fromMap(m)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(named);
  }

  @Test
  void aConfiguredIdentityOverTheDimensionLimitFailsAtStart() {
    Map<String, String> m = required();
    m.put("cluster", "c".repeat(257));
    assertThatThrownBy(() -> CollectorConfig.from(Settings.fromMap(m)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cluster")
        .hasMessageContaining("validation.max.dimension.bytes");
    m.put("validation.max.dimension.bytes", "300");
    assertThat(CollectorConfig.from(Settings.fromMap(m)).cluster()).hasSize(257);
  }

  @Test
  void stringLimitsAndSpoolDefaults() {
    CollectorConfig c = CollectorConfig.from(Settings.fromMap(required()));
    assertThat(c.maxDimensionBytes()).isEqualTo(256);
    assertThat(c.maxMessageBytes()).isEqualTo(1024);
    assertThat(c.spoolFsync()).isEqualTo("segment");
    // the collector's own state directory, not the shared temporary directory
    assertThat(c.spoolDir().toString())
        .endsWith("infermeter/spool")
        .doesNotStartWith(System.getProperty("java.io.tmpdir"));
  }

  @Test
  void producerPropertiesKeepIdempotenceAndAcksAll() {
    Map<String, String> m = required();
    m.put("kafka.producer.acks", "1");
    m.put("kafka.producer.enable.idempotence", "false");
    m.put("kafka.producer.compression.type", "zstd");
    Map<String, Object> p = Collector.producerProperties(CollectorConfig.from(Settings.fromMap(m)));
    assertThat(p)
        .containsEntry("acks", "all")
        .containsEntry("enable.idempotence", true)
        .containsEntry("compression.type", "zstd")
        .containsEntry("bootstrap.servers", "127.0.0.1:9092");
  }
}
