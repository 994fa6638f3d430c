package io.infermeter.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class ReportMainTest {

  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-23T13:00:00Z"), ZoneOffset.UTC);

  @TempDir Path dir;

  private CommandLine cli(Map<String, String> env, Path cwd, StringWriter err) {
    CommandLine cl = ReportMain.commandLine(new ReportMain(CLOCK, env, cwd));
    cl.setErr(new PrintWriter(err, true));
    cl.setOut(new PrintWriter(new StringWriter(), true));
    return cl;
  }

  private String resolveUrl(Map<String, String> env, Path cwd, String... args) {
    CommandLine cl = cli(env, cwd, new StringWriter());
    cl.parseArgs(args);
    return ((ReportMain) cl.getCommand()).resolveUrl();
  }

  @Test
  void urlComesFromOptionThenEnvThenStackEnvThenDefault() throws Exception {
    Path nested = Files.createDirectories(dir.resolve("a/b"));
    assertThat(resolveUrl(Map.of(), nested)).isEqualTo(ReportMain.DEFAULT_URL);
    Files.createDirectories(dir.resolve(".local-stack"));
    Files.writeString(
        dir.resolve(".local-stack/stack.env"),
        "INFERMETER_KAFKA_BOOTSTRAP=127.0.0.1:9092\nINFERMETER_CLICKHOUSE_URL=jdbc:clickhouse://127.0.0.1:18123/default\n");
    assertThat(resolveUrl(Map.of(), nested)).isEqualTo("jdbc:clickhouse://127.0.0.1:18123/default");
    assertThat(
            resolveUrl(Map.of("INFERMETER_CLICKHOUSE_URL", "jdbc:clickhouse://env:8123"), nested))
        .isEqualTo("jdbc:clickhouse://env:8123");
    assertThat(
            resolveUrl(
                Map.of("INFERMETER_CLICKHOUSE_URL", "jdbc:clickhouse://env:8123"),
                nested,
                "--clickhouse-url",
                "jdbc:clickhouse://opt:8123"))
        .isEqualTo("jdbc:clickhouse://opt:8123");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "--clickhouse-url=http://127.0.0.1:8123   | invalid value 'http://127.0.0.1:8123' for --clickhouse-url",
        "--window=10 seconds                       | invalid value '10 seconds' for --window",
        "--window=0s                               | must be > 0",
        "--ttft-slo=fast                           | invalid value 'fast' for --ttft-slo",
        "--from=yesterday                          | invalid value 'yesterday' for --from",
        "--to=2026-11-23                           | invalid value '2026-11-23' for --to",
        "--from=2026-11-23T14:00:00Z               | from < to",
        "--database=bad-name                       | database must be an identifier",
        "--metrics=p99                             | unknown latency metric 'p99'",
        "--password-file=/nonexistent/pw           | is not readable",
        "--max-points=abc                          | Invalid value for option '--max-points'",
      })
  void invalidArgumentsFailWithExitCodeTwoNamingTheValue(String arg, String message) {
    StringWriter err = new StringWriter();
    // an unreachable URL: validation must fail before any connection is attempted
    int rc =
        cli(Map.of("INFERMETER_CLICKHOUSE_URL", "jdbc:clickhouse://127.0.0.1:1"), dir, err)
            .execute(arg, "--out", dir.resolve("r.html").toString());
    assertThat(rc).isEqualTo(2);
    assertThat(err.toString()).contains(message);
    assertThat(dir.resolve("r.html")).doesNotExist();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "jdbc:clickhouse://127.0.0.1:8123/default                        | jdbc:clickhouse://127.0.0.1:8123/default",
        "jdbc:clickhouse://h:8123/db?user=u&password=s3cret&ssl=true     | jdbc:clickhouse://h:8123/db?user=u&password=***&ssl=true",
        "jdbc:clickhouse://u:s3cret@h:8123/db                            | jdbc:clickhouse://***@h:8123/db",
        "jdbc:ch://h:8123?PASSWORD=s3cret                                | jdbc:ch://h:8123?PASSWORD=***",
      })
  void urlsAreRedactedForLogs(String url, String expected) {
    assertThat(ReportMain.redact(url)).isEqualTo(expected).doesNotContain("s3cret");
  }

  @Test
  void helpDescribesEveryOption() {
    StringWriter out = new StringWriter();
    CommandLine cl = ReportMain.commandLine(new ReportMain(CLOCK, Map.of(), dir));
    cl.setOut(new PrintWriter(out, true));
    assertThat(cl.execute("--help")).isZero();
    assertThat(out.toString())
        .contains(
            "--clickhouse-url",
            "--database",
            "--user",
            "--password-file",
            "--from",
            "--to",
            "--all",
            "--window",
            "--ttft-slo",
            "--tpot-slo",
            "--metrics",
            "--out",
            "INFERMETER_CLICKHOUSE_PASSWORD");
  }
}
