package io.infermeter.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class AlertForwarderMainTest {

  private record Run(int code, String out, String err) {}

  private static Run run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      CommandLine cmd = new CommandLine(new AlertForwarderMain());
      cmd.setOut(new java.io.PrintWriter(System.out, true, StandardCharsets.UTF_8));
      cmd.setErr(new java.io.PrintWriter(System.err, true, StandardCharsets.UTF_8));
      int code = cmd.execute(args);
      return new Run(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void helpNamesTheDocs() {
    Run r = run("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("--config", "--print-config", "docs/ALERTING.md");
  }

  @Test
  void printConfigShowsEveryKeyWithItsOriginAndMasksSecrets(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("a.properties");
    Files.writeString(
        file, "alertmanager.urls=http://am:9093\nkafka.consumer.sasl.jaas.config=topsecret\n");
    Run r = run("--config", file.toString(), "--print-config");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .contains(
            "alertmanager.urls = http://am:9093  (" + file + ")",
            "alertmanager.resend.interval = 60s  (default)",
            "metrics.port = 9406  (default)")
        .doesNotContain("topsecret");
  }

  @Test
  void anInvalidValueExitsWithTwoNamingTheKey(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("a.properties");
    Files.writeString(file, "alertmanager.resend.interval=often\n");
    Run r = run("--config", file.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("invalid configuration", "alertmanager.resend.interval", "often");
  }

  @Test
  void aMissingConfigFileExitsWithTwo(@TempDir Path dir) {
    Run r = run("--config", dir.resolve("absent.properties").toString(), "--print-config");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("absent.properties");
  }

  @Test
  void anUnknownOptionIsAUsageError() {
    assertThat(run("--bogus").code()).isEqualTo(2);
  }
}
