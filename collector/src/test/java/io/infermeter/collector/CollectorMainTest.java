package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CollectorMainTest {

  private static int run(ByteArrayOutputStream out, ByteArrayOutputStream err, String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      return new CommandLine(new CollectorMain()).execute(args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void printConfigAppliesFileThenSetOverrides(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("c.properties");
    Files.writeString(
        file,
        "kafka.bootstrap.servers=k:9092\nschema.registry.url=http://r:8081\ncluster=from-file\n");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int rc =
        run(
            out,
            new ByteArrayOutputStream(),
            "--config",
            file.toString(),
            "--set",
            "cluster=from-set",
            "--set",
            "auth.token=hush",
            "--print-config");
    assertThat(rc).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("cluster = from-set  (override)")
        .contains("kafka.bootstrap.servers = k:9092  (" + file + ")")
        .contains("auth.token = [hidden]")
        .doesNotContain("hush")
        .contains("http.max.connections = ")
        .contains("topic.prefix = "); // every setting, not a summary
  }

  @Test
  void invalidValueExitsWith2NamingTheKey(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("c.properties");
    Files.writeString(file, "kafka.bootstrap.servers=k:9092\nschema.registry.url=http://r:8081\n");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        run(new ByteArrayOutputStream(), err, "-c", file.toString(), "-s", "sampling.period=often");
    assertThat(rc).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("sampling.period").contains("often");
  }

  @Test
  void helpDescribesTheCollector() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(run(out, new ByteArrayOutputStream(), "--help")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("--config").contains("INFERMETER_");
  }
}
