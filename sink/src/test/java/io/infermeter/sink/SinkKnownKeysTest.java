package io.infermeter.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigException;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The sink reports settings it does not read; --strict makes them an error with exit code 2. */
class SinkKnownKeysTest {

  @Test
  void everyDocumentedKeyIsKnown() {
    SinkConfig.DEFAULTS
        .keySet()
        .forEach(k -> assertThat(SinkConfig.knownKeys().isKnown(k)).as(k).isTrue());
    assertThat(SinkConfig.knownKeys().isKnown("clickhouse.ttl.days.alerts")).isTrue();
    assertThat(SinkConfig.knownKeys().isKnown("clickhouse.password.file")).isTrue();
    assertThat(SinkConfig.knownKeys().isKnown("kafka.consumer.isolation.level")).isTrue();
  }

  @Test
  void aTypoInASecuritySettingIsAnErrorUnderStrict() {
    SinkConfig cfg =
        SinkConfig.load(
            Optional.empty(),
            Map.of("INFERMETER_KAFKA_SASL_MECHANISIM", "PLAIN"),
            new Properties());
    cfg.reportUnknownKeys(false);
    assertThatThrownBy(() -> cfg.reportUnknownKeys(true))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("kafka.sasl.mechanisim")
        .hasMessageContaining("did you mean 'kafka.sasl.mechanism'");
  }

  @Test
  void strictFlagExitsWithTwo() {
    java.io.StringWriter err = new java.io.StringWriter();
    int code =
        SinkMain.commandLine()
            .setErr(new java.io.PrintWriter(err))
            .execute(
                "--strict",
                "migrate",
                "--config",
                writeConfig("clickhouse.urll=jdbc:clickhouse://127.0.0.1:1\n"));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString())
        .contains("clickhouse.urll")
        .contains("did you mean 'clickhouse.url'");
  }

  private static String writeConfig(String text) {
    try {
      java.nio.file.Path p = java.nio.file.Files.createTempFile("sink", ".properties");
      java.nio.file.Files.writeString(p, text);
      p.toFile().deleteOnExit();
      return p.toString();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
