package io.infermeter.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SinkMainTest {

  @Test
  void helpListsTheSubcommands() {
    CommandLine cmd = SinkMain.commandLine();
    StringWriter out = new StringWriter();
    cmd.setOut(new PrintWriter(out));
    assertThat(cmd.execute("--help")).isZero();
    assertThat(out.toString()).contains("run", "migrate", "--config");
  }

  @Test
  void invalidConfigurationExitsWithTwoAndNamesTheKey() {
    CommandLine cmd = SinkMain.commandLine();
    StringWriter err = new StringWriter();
    cmd.setErr(new PrintWriter(err));
    System.setProperty("batch.max.rows", "-3");
    try {
      assertThat(cmd.execute("migrate")).isEqualTo(2);
    } finally {
      System.clearProperty("batch.max.rows");
    }
    assertThat(err.toString()).contains("batch.max.rows");
  }
}
