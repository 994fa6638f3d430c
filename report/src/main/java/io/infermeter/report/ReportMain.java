package io.infermeter.report;

import io.infermeter.schemas.config.LocalStackEnv;
import io.infermeter.schemas.config.Settings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code infermeter report}: writes one self-contained HTML page with the fleet views of a time
 * range, read from ClickHouse. A one-shot command (no /metrics endpoint: it runs for seconds). Exit
 * codes: 0 written, 1 ClickHouse or file error, 2 invalid arguments. The password is read from the
 * environment or a file, never from the command line (visible in ps) and never logged.
 */
@Command(
    name = "report",
    mixinStandardHelpOptions = true,
    version = "infermeter report 0.1.0",
    sortOptions = false,
    description = {
      "Render the infermeter ClickHouse views (fleet latency percentiles over time, TTFT/TPOT SLO attainment, cost "
          + "per 1M output tokens, energy and carbon by region, alerts, bottleneck share) as one self-contained HTML "
          + "page with inline SVG charts (no script, no network resource: it opens offline).",
      "Environment: INFERMETER_CLICKHOUSE_URL, INFERMETER_CLICKHOUSE_DATABASE, INFERMETER_CLICKHOUSE_USER, "
          + "INFERMETER_CLICKHOUSE_PASSWORD (the password; never logged).",
      ""
    })
public final class ReportMain implements Callable<Integer> {

  static final String DEFAULT_URL = "jdbc:clickhouse://127.0.0.1:8123/default";
  private static final Logger LOG = LoggerFactory.getLogger(ReportMain.class);

  @Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--clickhouse-url",
      paramLabel = "JDBC_URL",
      description =
          "ClickHouse JDBC URL. Default: env INFERMETER_CLICKHOUSE_URL, else .local-stack/stack.env "
              + "(looked up from the working directory upwards), else "
              + DEFAULT_URL
              + ".")
  String clickhouseUrl;

  @Option(
      names = "--database",
      paramLabel = "NAME",
      description =
          "Database holding the infermeter tables. Default: env INFERMETER_CLICKHOUSE_DATABASE, else infermeter.")
  String database;

  @Option(
      names = "--user",
      paramLabel = "USER",
      description = "ClickHouse user. Default: env INFERMETER_CLICKHOUSE_USER, else default.")
  String user;

  @Option(
      names = "--password-file",
      paramLabel = "FILE",
      description =
          "File holding the ClickHouse password (first line). Default: env INFERMETER_CLICKHOUSE_PASSWORD, else none.")
  Path passwordFile;

  @Option(
      names = "--from",
      paramLabel = "INSTANT",
      description =
          "Start of the range, inclusive, ISO-8601 instant (e.g. 2026-11-23T14:00:00Z). Default: --to minus --last.")
  String from;

  @Option(
      names = "--to",
      paramLabel = "INSTANT",
      description = "End of the range, exclusive, ISO-8601 instant. Default: now.")
  String to;

  @Option(
      names = "--last",
      paramLabel = "DURATION",
      defaultValue = "1h",
      description =
          "Length of the default range ending at --to (units ms, s, m, h, d). Default: ${DEFAULT-VALUE}.")
  String last;

  @Option(
      names = "--all",
      description =
          "Cover the full range of the data in the database (ignores --from/--to/--last).")
  boolean all;

  @Option(
      names = "--window",
      paramLabel = "DURATION",
      defaultValue = "10s",
      description =
          "Window size whose rows are read (the streams app writes 10s and 1m windows; they describe the "
              + "same requests, so one is read). Default: ${DEFAULT-VALUE}.")
  String window;

  @Option(
      names = "--ttft-slo",
      paramLabel = "DURATION",
      defaultValue = "500ms",
      description =
          "TTFT SLO threshold. Default: ${DEFAULT-VALUE} (the streams app's default class).")
  String ttftSlo;

  @Option(
      names = "--tpot-slo",
      paramLabel = "DURATION",
      defaultValue = "50ms",
      description = "TPOT SLO threshold. Default: ${DEFAULT-VALUE}.")
  String tpotSlo;

  @Option(
      names = "--metrics",
      paramLabel = "LIST",
      split = ",",
      defaultValue = "e2e,ttft",
      description =
          "Metrics drawn per model over time: latencies (e2e, ttft, tpot, queue, prefill, decode, max_itl) and per-request token rates (output_tps, input_tps). Default: ${DEFAULT-VALUE}.")
  List<String> metrics;

  @Option(
      names = "--max-points",
      paramLabel = "N",
      defaultValue = "360",
      description =
          "Most points per time series; windows are merged exactly into longer steps beyond that. Default: ${DEFAULT-VALUE}.")
  int maxPoints;

  @Option(
      names = {"-o", "--out"},
      paramLabel = "FILE",
      defaultValue = "report.html",
      description = "Output HTML file. Default: ${DEFAULT-VALUE}.")
  Path out;

  private final Clock clock;
  private final Map<String, String> env;
  private final Path workingDir;

  public ReportMain() {
    this(Clock.systemUTC(), System.getenv(), Path.of("").toAbsolutePath());
  }

  ReportMain(Clock clock, Map<String, String> env, Path workingDir) {
    this.clock = clock;
    this.env = env;
    this.workingDir = workingDir;
  }

  public static void main(String[] args) {
    System.exit(commandLine(new ReportMain()).execute(args));
  }

  static CommandLine commandLine(ReportMain main) {
    return new CommandLine(main)
        .setExecutionExceptionHandler(
            (e, cmd, parsed) -> {
              if (e instanceof SQLException || e instanceof IOException) {
                // an expected operational failure (server down, database missing): one clear line,
                // the trace at debug
                LOG.error("report failed: {}", e.getMessage());
                LOG.debug("report failure", e);
              } else {
                LOG.error("report failed: {}", e.getMessage(), e);
              }
              return 1;
            });
  }

  @Override
  public Integer call() throws SQLException, IOException {
    String url = resolveUrl();
    String db = firstNonBlank(database, env.get("INFERMETER_CLICKHOUSE_DATABASE"), "infermeter");
    String usr = firstNonBlank(user, env.get("INFERMETER_CLICKHOUSE_USER"), "default");
    Optional<String> password = resolvePassword();
    long windowMs = duration("--window", window).toMillis();
    long ttftUs = duration("--ttft-slo", ttftSlo).toNanos() / 1000;
    long tpotUs = duration("--tpot-slo", tpotSlo).toNanos() / 1000;
    Instant now = clock.instant();
    // parse every argument before connecting: a typo fails in milliseconds, not after a connection
    // timeout
    Instant t = all || to == null ? now : instant("--to", to);
    Instant f = all || from == null ? t.minus(duration("--last", last)) : instant("--from", from);
    request(db, f, t, windowMs, ttftUs, tpotUs, now);
    Properties props = new Properties();
    props.setProperty("user", usr);
    password.ifPresent(p -> props.setProperty("password", p));
    LOG.info(
        "connecting to {} as {} (password {}), database {}",
        redact(url),
        usr,
        password.isPresent() ? "set" : "not set",
        db);
    try (Connection c = DriverManager.getConnection(url, props)) {
      if (all) {
        Optional<Instant[]> range = Report.dataRange(c, db, windowMs);
        if (range.isEmpty()) {
          LOG.warn(
              "database {} has no rows for window size {} ms: the report will say 'no data'",
              db,
              windowMs);
          f = now.minus(Duration.ofHours(1));
          t = now;
        } else {
          f = range.get()[0];
          t = range.get()[1];
        }
      }
      ReportRequest request = request(db, f, t, windowMs, ttftUs, tpotUs, now);
      String html = Report.generate(c, request);
      Path target = out.toAbsolutePath();
      if (target.getParent() != null) {
        Files.createDirectories(target.getParent());
      }
      Files.writeString(target, html, StandardCharsets.UTF_8);
      LOG.info("wrote {} ({} bytes) for [{}, {})", target, html.length(), f, t);
      System.out.println(target);
    }
    return 0;
  }

  private ReportRequest request(
      String db, Instant f, Instant t, long windowMs, long ttftUs, long tpotUs, Instant now) {
    try {
      return new ReportRequest(db, f, t, windowMs, ttftUs, tpotUs, metrics, maxPoints, now);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  String resolveUrl() {
    if (clickhouseUrl != null && !clickhouseUrl.isBlank()) {
      return checkUrl(clickhouseUrl, "--clickhouse-url");
    }
    String fromEnv = env.get("INFERMETER_CLICKHOUSE_URL");
    if (fromEnv != null && !fromEnv.isBlank()) {
      return checkUrl(fromEnv, "INFERMETER_CLICKHOUSE_URL");
    }
    Optional<Path> file = LocalStackEnv.find(env, workingDir);
    if (file.isPresent()) {
      try {
        String fromFile = LocalStackEnv.read(file.get()).get("INFERMETER_CLICKHOUSE_URL");
        if (fromFile != null && !fromFile.isBlank()) {
          return checkUrl(fromFile, file.get().toString());
        }
      } catch (UncheckedIOException e) {
        LOG.warn("cannot read {}: {}", file.get(), e.getMessage(), e);
      }
    }
    return DEFAULT_URL;
  }

  private String checkUrl(String url, String origin) {
    if (!url.startsWith("jdbc:clickhouse:") && !url.startsWith("jdbc:ch:")) {
      throw new ParameterException(
          spec.commandLine(),
          "invalid value '"
              + url
              + "' for "
              + origin
              + ": expected a jdbc:clickhouse://host:port URL");
    }
    return url;
  }

  private Optional<String> resolvePassword() throws IOException {
    if (passwordFile != null) {
      if (!Files.isReadable(passwordFile)) {
        throw new ParameterException(
            spec.commandLine(), "--password-file " + passwordFile + " is not readable");
      }
      List<String> lines = Files.readAllLines(passwordFile, StandardCharsets.UTF_8);
      return Optional.of(lines.isEmpty() ? "" : lines.get(0));
    }
    return Optional.ofNullable(env.get("INFERMETER_CLICKHOUSE_PASSWORD"));
  }

  Duration duration(String option, String text) {
    Duration d =
        text == null ? null : Settings.parseDuration(text); // the project's one duration syntax
    if (d == null) {
      throw new ParameterException(
          spec.commandLine(),
          "invalid value '"
              + text
              + "' for "
              + option
              + ": expected a positive duration like 500ms, 10s, 1m, 1h, 7d");
    }
    if (d.isZero()) {
      throw new ParameterException(
          spec.commandLine(), "invalid value '" + text + "' for " + option + ": must be > 0");
    }
    return d;
  }

  private Instant instant(String option, String text) {
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw new ParameterException(
          spec.commandLine(),
          "invalid value '"
              + text
              + "' for "
              + option
              + ": expected an ISO-8601 instant like 2026-11-23T14:00:00Z",
          e);
    }
  }

  /**
   * The URL for logs: a password in the query string or in user:password@host is replaced by ***.
   */
  static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***").replaceAll("//[^/@?]*@", "//***@");
  }

  private static String firstNonBlank(String... values) {
    for (String v : values) {
      if (v != null && !v.isBlank()) {
        return v;
      }
    }
    return null;
  }
}
