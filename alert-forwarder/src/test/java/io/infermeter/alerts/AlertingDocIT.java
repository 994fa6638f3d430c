package io.infermeter.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example Alertmanager configuration of docs/ALERTING.md passes Alertmanager's own validator
 * ({@code amtool check-config} of Debian's prometheus-alertmanager package, which {@code
 * ./infermeter test} installs).
 */
class AlertingDocIT {

  private static Path doc() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path p = dir.resolve("docs/ALERTING.md");
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new AssertionError("docs/ALERTING.md not found above " + Path.of("").toAbsolutePath());
  }

  @Test
  void theExampleConfigurationPassesAmtool(@TempDir Path dir) throws Exception {
    Path amtool = Path.of("/usr/bin/amtool");
    Assumptions.assumeTrue(
        Files.isExecutable(amtool),
        "no /usr/bin/amtool: install Debian's prometheus-alertmanager (./infermeter test does)");
    String text = Files.readString(doc(), StandardCharsets.UTF_8);
    Matcher m =
        Pattern.compile(
                "## Example Alertmanager configuration.*?```yaml\\n(.*?)```", Pattern.DOTALL)
            .matcher(text);
    assertThat(m.find()).as("a yaml block under '## Example Alertmanager configuration'").isTrue();
    Path config = dir.resolve("alertmanager.yml");
    Files.writeString(config, m.group(1));

    Process p =
        new ProcessBuilder(amtool.toString(), "check-config", config.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();

    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains("SUCCESS").contains("3 receivers").contains("1 inhibit rules");
  }
}
