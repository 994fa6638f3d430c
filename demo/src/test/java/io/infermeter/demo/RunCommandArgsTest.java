package io.infermeter.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Unit tests of the demo run's argument checks (no servers: the run stops before using any). */
class RunCommandArgsTest {

  @Test
  void aRunTooShortForItsSummaryIsRefusedWithWhatToChange() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream saved = System.err;
    int rc;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      rc = new CommandLine(new RunCommand()).execute("--duration", "60", "--live", "15");
    } finally {
      System.setErr(saved);
    }
    assertThat(rc).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("--duration (60 s) + --live (15 s) must be at least --summary-lag (80 s) + 20 s")
        .contains("raise --duration or lower --summary-lag");
  }
}
