package io.infermeter.alerts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The forwarder reports settings it does not read; --strict makes them an error with exit code 2.
 */
class AlertForwarderKnownKeysTest {

  @Test
  void everyKeyTheForwarderReadsIsKnown() {
    ForwarderConfig.DEFAULTS
        .keySet()
        .forEach(k -> assertThat(ForwarderConfig.knownKeys().isKnown(k)).as(k).isTrue());
    for (String k :
        List.of(
            "alertmanager.basic.auth.username",
            "alertmanager.basic.auth.password",
            "alertmanager.basic.auth.password.file",
            "alertmanager.bearer.token",
            "alertmanager.bearer.token.file",
            "alertmanager.label.k8s_cluster",
            "kafka.consumer.isolation.level",
            "kafka.security.protocol",
            "schema.registry.ssl.truststore.location")) {
      assertThat(ForwarderConfig.knownKeys().isKnown(k)).as(k).isTrue();
    }
    assertThat(ForwarderConfig.knownKeys().isKnown("kafka.streams.num.stream.threads")).isFalse();
    assertThat(ForwarderConfig.knownKeys().isKnown("clickhouse.url")).isFalse();
  }

  @Test
  void aTypoInASecuritySettingIsAWarningOrUnderStrictAnError() {
    ForwarderConfig c =
        ForwarderConfig.load(
            Optional.empty(),
            Map.of("INFERMETER_KAFKA_SASL_MECHANISIM", "PLAIN"),
            new Properties());
    c.reportUnknownKeys(false);
    assertThatThrownBy(() -> c.reportUnknownKeys(true))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("kafka.sasl.mechanisim")
        .hasMessageContaining("did you mean 'kafka.sasl.mechanism'");
  }

  @Test
  void aTypoInTheBearerTokenFileIsCaughtUnderStrict() {
    ForwarderConfig c =
        ForwarderConfig.fromMap(Map.of("alertmanager.bearer.token.flie", "/run/secrets/t"));
    assertThatThrownBy(() -> c.reportUnknownKeys(true))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("did you mean 'alertmanager.bearer.token.file'");
  }

  @Test
  void strictFlagExitsWithTwoAndWithoutItTheConfigStillLoads(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("a.properties");
    Files.writeString(file, "alertmanager.resend.intervall=30s\n");
    int[] code = new int[1];
    String err =
        capture(
            () ->
                code[0] =
                    new CommandLine(new AlertForwarderMain())
                        .execute("--strict", "--config", file.toString(), "--print-config"));
    assertThat(code[0]).isEqualTo(2);
    assertThat(err)
        .contains(
            "alertmanager.resend.intervall",
            "did you mean 'alertmanager.resend.interval'",
            "--strict");
    String lenient =
        capture(
            () ->
                code[0] =
                    new CommandLine(new AlertForwarderMain())
                        .execute("--config", file.toString(), "--print-config"));
    assertThat(code[0]).as(lenient).isZero();
  }

  private static String capture(Runnable r) {
    PrintStream oldErr = System.err;
    PrintStream oldOut = System.out;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      r.run();
    } finally {
      System.setErr(oldErr);
      System.setOut(oldOut);
    }
    return err.toString(StandardCharsets.UTF_8);
  }
}
