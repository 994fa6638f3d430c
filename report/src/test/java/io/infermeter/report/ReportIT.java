package io.infermeter.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.infermeter.report.internal.Html;
import io.infermeter.testsupport.Infra;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The report against the REAL local ClickHouse: a fresh database migrated with the repository's
 * migration files, known rows inserted (3 windows, 2 models, 2 hosts in 2 regions, energy, alerts,
 * bottlenecks, plus a stale re-delivered version and a fleet-rollup row that must both be ignored),
 * the report command run, the numbers in the HTML compared with values computed here from the
 * inserted buckets, and the page opened in headless Chromium.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReportIT {

  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter HMS =
      DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

  /**
   * Windows sit in the recent past (whole hour, 3 h ago) and TTLs are 10 years, so no TTL merge can
   * drop a row.
   */
  @SuppressWarnings("TimeInStaticInitializer") // one anchor for the class, read right after loading
  private static final Instant T0 =
      Instant.now().minusSeconds(3 * 3600).truncatedTo(java.time.temporal.ChronoUnit.HOURS);

  private static final long WINDOW_MS = 10_000;
  private static final int WINDOWS = 3;
  private static final String MODEL_A = "llama-8b";
  private static final String MODEL_B =
      "mistral<7b>&\"x'"; // markup in a model name must be escaped, never rendered
  private static final List<String> MODELS = List.of(MODEL_A, MODEL_B);
  private static final List<String> HOSTS = List.of("h1", "h2");
  private static final Map<String, String> REGION = Map.of("h1", "eu-west", "h2", "us-east");
  private static final long TTFT_SLO_US = 500_000;
  private static final long TPOT_SLO_US = 50_000;

  private String db;
  private Connection connection;
  private Path workDir;

  /** Inserted host-scope buckets: metric -> model -> window -> value -> count. */
  private final Map<String, Map<String, Map<Integer, TreeMap<Long, Long>>>> buckets =
      new TreeMap<>();

  @BeforeAll
  void setUp() throws Exception {
    db = Infra.uniqueName("report_it");
    connection = DriverManager.getConnection(Infra.get().clickhouseJdbcUrl());
    workDir = Files.createDirectories(Path.of("target", "report-it").toAbsolutePath());
    migrate();
    insertLatency();
    insertExemplarRequests();
    insertEnergyAlertsBottlenecks();
  }

  @AfterAll
  void tearDown() throws SQLException {
    if (connection != null) {
      try (Statement st = connection.createStatement()) {
        st.execute("DROP DATABASE IF EXISTS " + db);
      }
      connection.close();
    }
  }

  @Test
  void reportShowsExactMergedNumbersAndChromiumDrawsTheCharts() throws Exception {
    Path out = workDir.resolve("report.html");
    int rc =
        ReportMain.commandLine(
                new ReportMain(
                    Clock.fixed(T0.plusSeconds(3600), ZoneOffset.UTC), Map.of(), workDir))
            .execute(
                "--clickhouse-url",
                Infra.get().clickhouseJdbcUrl(),
                "--database",
                db,
                "--from",
                T0.toString(),
                "--to",
                T0.plusMillis(WINDOWS * WINDOW_MS).toString(),
                "--out",
                out.toString());
    assertThat(rc).isZero();
    String html = Files.readString(out, StandardCharsets.UTF_8);

    // whole-range fleet percentiles, merged exactly from every host and window (fleet rollup and
    // stale rows ignored)
    for (String model : MODELS) {
      for (String metric : List.of("e2e", "ttft", "tpot")) {
        NavigableMap<Long, Long> merged = merge(metric, model, null);
        List<String> values = rowValues(html, "table-percentiles", model, metric, "warm");
        assertThat(values).as("%s %s row", model, metric).hasSize(4);
        assertThat(Long.parseLong(values.get(0)))
            .isEqualTo(merged.values().stream().mapToLong(Long::longValue).sum());
        assertThat(Long.parseLong(values.get(1))).isEqualTo(exactQuantile(merged, 0.5));
        assertThat(Long.parseLong(values.get(2)))
            .as("merged p99 of %s %s", model, metric)
            .isEqualTo(exactQuantile(merged, 0.99));
        assertThat(Long.parseLong(values.get(3))).isEqualTo(exactQuantile(merged, 0.999));
      }
    }
    // p99 per window in the time series (marker tooltips "p99 HH:mm:ss: <ms>")
    for (int w = 0; w < WINDOWS; w++) {
      long p99 = exactQuantile(merge("e2e", MODEL_A, w), 0.99);
      String at = HMS.format(T0.plusMillis(w * WINDOW_MS));
      assertThat(html)
          .contains("<title>p99 " + at + ": " + Html.number(p99 / 1000.0, 9) + "</title>");
    }
    // per model, the window with the highest e2e p99 and its 3 slowest exemplars over both hosts
    // (the fleet rollup's exemplar is not one), with the raw request where it is stored
    for (int mi = 0; mi < MODELS.size(); mi++) {
      String model = MODELS.get(mi);
      int worst = 0;
      for (int w = 1; w < WINDOWS; w++) {
        if (exactQuantile(merge("e2e", model, w), 0.99)
            > exactQuantile(merge("e2e", model, worst), 0.99)) {
          worst = w;
        }
      }
      assertThat(worst).as("fixture: the worst window has stored exemplars").isPositive();
      int worstWindow = worst;
      List<Ex> slowest =
          exemplars.stream()
              .filter(x -> x.model().equals(model) && x.window() == worstWindow)
              .sorted(Comparator.comparingLong(Ex::valueUs).reversed().thenComparing(Ex::eventId))
              .limit(3)
              .toList();
      assertThat(slowest)
          .extracting(Ex::host)
          .as("both hosts among the slowest")
          .contains("h1", "h2");
      String id = "exemplars-" + (mi + 1); // models in name order
      int at = html.indexOf("<table id=\"" + id + "\">");
      assertThat(at).as("table %s", id).isNotNegative();
      String table = html.substring(at, html.indexOf("</table>", at));
      NavigableMap<Long, Long> worstHist = merge("e2e", model, worst);
      assertThat(table)
          .contains(
              "<caption>"
                  + Html.escape(
                      "Model "
                          + model
                          + ": window starting "
                          + Html.utc(T0.plusMillis(worst * WINDOW_MS))
                          + ", p99 e2e "
                          + Html.microsAsMillis(exactQuantile(worstHist, 0.99))
                          + " ms over "
                          + worstHist.values().stream().mapToLong(Long::longValue).sum()
                          + " requests"));
      StringBuilder rows = new StringBuilder();
      int rank = 0;
      for (Ex x : slowest) {
        rows.append("<tr>")
            .append(num(++rank, Integer.toString(rank)))
            .append(num(x.valueUs(), Html.microsAsMillis(x.valueUs())))
            .append(td(x.requestId().isEmpty() ? "-" : x.requestId()))
            .append(td(x.eventId()))
            .append(td(x.host()))
            .append(td(x.stored() ? "OK" : "not stored"));
        if (x.stored() && !x.bare()) {
          rows.append(num(x.ttftUs(), Html.microsAsMillis(x.ttftUs())))
              .append(num(x.inputTokens(), Long.toString(x.inputTokens())))
              .append(num(x.outputTokens(), Long.toString(x.outputTokens())));
        } else {
          rows.append(td("-")).append(td("-")).append(td("-"));
        }
        rows.append("</tr>\n");
      }
      assertThat(table).contains("<tbody>\n" + rows + "</tbody>");
    }
    assertThat(html).doesNotContain("fleet-ev");
    // TTFT / TPOT attainment from the buckets
    for (String model : MODELS) {
      assertThat(Double.parseDouble(rowValues(html, "table-slo", model, "ttft").get(3)))
          .isCloseTo(
              attainment(merge("ttft", model, null), TTFT_SLO_US),
              org.assertj.core.data.Offset.offset(1e-9));
      assertThat(Double.parseDouble(rowValues(html, "table-slo", model, "tpot").get(3)))
          .isCloseTo(
              attainment(merge("tpot", model, null), TPOT_SLO_US),
              org.assertj.core.data.Offset.offset(1e-9));
    }
    // cost per 1M output tokens and energy per 1k tokens from the inserted attribution rows
    for (String model : MODELS) {
      double cost = 0;
      long tokens = 0;
      for (int w = 0; w < WINDOWS; w++) {
        for (String h : HOSTS) {
          cost += cost(model, h, w);
          tokens += tokens(model, h, w);
        }
      }
      List<String> row = rowValues(html, "table-cost", model, "H100", "USD");
      assertThat(Long.parseLong(row.get(1))).isEqualTo(tokens);
      assertThat(Double.parseDouble(row.get(2)))
          .isCloseTo(cost / tokens * 1e6, org.assertj.core.data.Offset.offset(1e-6));
    }
    for (String host : HOSTS) {
      double energy = 0;
      long tokens = 0;
      for (int w = 0; w < WINDOWS; w++) {
        for (String m : MODELS) {
          energy += energy(m, host, w);
          tokens += tokens(m, host, w);
        }
      }
      List<String> row = rowValues(html, "table-energy", REGION.get(host));
      assertThat(Double.parseDouble(row.get(1)))
          .isCloseTo(energy, org.assertj.core.data.Offset.offset(1e-6));
      assertThat(Double.parseDouble(row.get(4)))
          .isCloseTo(energy / tokens * 1000, org.assertj.core.data.Offset.offset(1e-6));
    }
    // alerts: one FIRING, one RESOLVED of the same incident; the summary's markup is escaped
    assertThat(html).contains("data-firing=\"1\" data-resolved=\"1\"");
    assertThat(html).doesNotContain("<script").contains("&lt;script&gt;alert(1)&lt;/script&gt;");
    assertThat(html).contains(Html.escape(MODEL_B)).doesNotContain(MODEL_B);
    // the FIRING alert (second row, newest first) links to the requests behind it: its host and
    // model, completed in
    // its window, slowest first; the RESOLVED one is not looked up
    assertThat(html)
        .contains("<a href=\"#alert-requests-1\">3 slowest</a>")
        .doesNotContain("id=\"alert-requests-0\"");
    int behind = html.indexOf("<table id=\"alert-requests-1\">");
    assertThat(behind).isNotNegative();
    String behindTable = html.substring(behind, html.indexOf("</table>", behind));
    Matcher ids = Pattern.compile("<td>(ev-[0-9]+)</td>").matcher(behindTable);
    List<String> eventIds = new ArrayList<>();
    while (ids.find()) {
      eventIds.add(ids.group(1));
    }
    assertThat(eventIds).containsExactly("ev-3", "ev-1", "ev-2");
    assertThat(
            rowValues(
                html,
                "alert-requests-1",
                Html.utc(T0.plusSeconds(3)),
                "h1",
                MODEL_B,
                "ev-3",
                "req-3",
                "OK"))
        .containsExactly("900000", "120000");
    // bottleneck share: h1 2 of 3 windows compute-bound
    assertThat(
            Double.parseDouble(rowValues(html, "table-bottlenecks", "h1", "compute-bound").get(1)))
        .isCloseTo(200.0 / 3, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(html).contains("id=\"estimated-energy\"");
    assertThat(rowValues(html, "table-dead-letters", "collector", "bad-json")).containsExactly("2");
    // no external resource of any kind (links within the page, href="#...", are not resources)
    assertThat(html)
        .doesNotContainPattern("(?i)<[^>]*\\s(src|href|xlink:href)\\s*=\\s*\"(?!#)")
        .doesNotContain("url(", "@import", "<link");

    chromium(out);
  }

  @Test
  void allCoversTheDataRange() throws Exception {
    Path out = workDir.resolve("report-all.html");
    int rc =
        ReportMain.commandLine(new ReportMain(Clock.systemUTC(), Map.of(), workDir))
            .execute(
                "--clickhouse-url",
                Infra.get().clickhouseJdbcUrl(),
                "--database",
                db,
                "--all",
                "--out",
                out.toString());
    assertThat(rc).isZero();
    String html = Files.readString(out, StandardCharsets.UTF_8);
    assertThat(html).contains("windows starting in [" + Html.utc(T0) + ", ");
    long p99 = exactQuantile(merge("e2e", MODEL_A, null), 0.99);
    assertThat(rowValues(html, "table-percentiles", MODEL_A, "e2e", "warm").get(2))
        .isEqualTo(Long.toString(p99));
  }

  @Test
  void emptyRangeSaysNoDataInsteadOfDrawing() throws Exception {
    Path out = workDir.resolve("report-empty.html");
    int rc =
        ReportMain.commandLine(new ReportMain(Clock.systemUTC(), Map.of(), workDir))
            .execute(
                "--clickhouse-url",
                Infra.get().clickhouseJdbcUrl(),
                "--database",
                db,
                "--from",
                T0.minusSeconds(7200).toString(),
                "--to",
                T0.minusSeconds(3600).toString(),
                "--out",
                out.toString());
    assertThat(rc).isZero();
    String html = Files.readString(out, StandardCharsets.UTF_8);
    assertThat(html)
        .doesNotContain("<svg")
        .contains(
            "data-chart-empty=\"chart-latency-e2e\"",
            "data-chart-empty=\"chart-cost\"",
            "data-table-empty=\"exemplars\">No latency windows in the selected time range");
  }

  @Test
  void missingDatabaseFailsWithExitCodeOne() {
    int rc =
        ReportMain.commandLine(new ReportMain(Clock.systemUTC(), Map.of(), workDir))
            .execute(
                "--clickhouse-url",
                Infra.get().clickhouseJdbcUrl(),
                "--database",
                Infra.uniqueName("absent"),
                "--out",
                workDir.resolve("never.html").toString());
    assertThat(rc).isEqualTo(1);
    assertThat(workDir.resolve("never.html")).doesNotExist();
  }

  // ---------------------------------------------------------------- Chromium

  private void chromium(Path html) throws Exception {
    assumeThat(Files.isExecutable(CHROMIUM))
        .as("SKIPPED: /usr/bin/chromium is absent; install it with: apt-get install -y chromium")
        .isTrue();
    Path profile = Files.createTempDirectory("report-it-chromium");
    try {
      String dom = runChromium(profile, List.of("--dump-dom", html.toUri().toString()));
      assertThat(count(dom, "<svg[^>]*data-chart=\"line\""))
          .as("line charts in the DOM")
          .isEqualTo(4); // 2 metrics x 2 models
      assertThat(count(dom, "<svg[^>]*data-chart=\"bar\""))
          .as("bar charts in the DOM")
          .isEqualTo(6);
      assertThat(count(dom, "<path class=\"series\"[^>]* d=\"M"))
          .isEqualTo(12); // 4 charts x p50/p99/p99.9
      assertThat(count(dom, "<rect class=\"bar\"")).isGreaterThan(10);
      Path png = workDir.resolve("report.png");
      Files.deleteIfExists(png);
      runChromium(
          profile,
          List.of("--screenshot=" + png, "--window-size=1400,2000", html.toUri().toString()));
      assertThat(png).exists();
      assertThat(Files.size(png)).as("screenshot size, bytes").isGreaterThan(60_000);
      byte[] head = Files.readAllBytes(png);
      assertThat(head[1]).isEqualTo((byte) 'P');
    } finally {
      try (Stream<Path> s = Files.walk(profile)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static String runChromium(Path profile, List<String> extra)
      throws IOException, InterruptedException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                CHROMIUM.toString(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--user-data-dir=" + profile));
    cmd.addAll(extra);
    Path stdout = Files.createTempFile(profile, "stdout", ".txt");
    Path stderr = Files.createTempFile(profile, "stderr", ".txt");
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile())
            .start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish in 120 s: " + Files.readString(stderr));
    }
    assertThat(p.exitValue())
        .as("chromium exit code; stderr: %s", Files.readString(stderr))
        .isZero();
    return Files.readString(stdout);
  }

  private static String td(String text) {
    return "<td>" + Html.escape(text) + "</td>";
  }

  private static String num(long value, String shown) {
    return "<td class=\"num\" data-value=\"" + value + "\">" + shown + "</td>";
  }

  private static int count(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- expected values, computed
  // independently

  /**
   * The exact weighted quantile: the smallest value whose cumulative count reaches level x total.
   */
  static long exactQuantile(NavigableMap<Long, Long> hist, double level) {
    long total = hist.values().stream().mapToLong(Long::longValue).sum();
    double threshold = level * total;
    long acc = 0;
    for (Map.Entry<Long, Long> e : hist.entrySet()) {
      acc += e.getValue();
      // fixture guard: a cumulative count landing exactly on the threshold would make >= and >
      // disagree
      assertThat((double) acc).as("fixture has a tie at level %s", level).isNotEqualTo(threshold);
      if (acc >= threshold) {
        return e.getKey();
      }
    }
    return hist.lastKey();
  }

  private static double attainment(NavigableMap<Long, Long> hist, long thresholdUs) {
    long total = hist.values().stream().mapToLong(Long::longValue).sum();
    long within =
        hist.headMap(thresholdUs, true).values().stream().mapToLong(Long::longValue).sum();
    return within * 100.0 / total;
  }

  private NavigableMap<Long, Long> merge(String metric, String model, Integer window) {
    TreeMap<Long, Long> out = new TreeMap<>();
    buckets
        .get(metric)
        .get(model)
        .forEach(
            (w, h) -> {
              if (window == null || window.equals(w)) {
                h.forEach((v, c) -> out.merge(v, c, Long::sum));
              }
            });
    return out;
  }

  /**
   * The data-value attributes of the numeric cells of the table row whose leading text cells are
   * {@code keys} (escaped as the page escapes them).
   */
  private static List<String> rowValues(String html, String tableId, String... keys) {
    int start = html.indexOf("<table id=\"" + tableId + "\">");
    assertThat(start).as("table %s present", tableId).isNotNegative();
    String table = html.substring(start, html.indexOf("</table>", start));
    StringBuilder prefix = new StringBuilder("<tr>");
    for (String k : keys) {
      prefix.append("<td>").append(Html.escape(k)).append("</td>");
    }
    int row = table.indexOf(prefix.toString());
    assertThat(row).as("row %s in %s", List.of(keys), tableId).isNotNegative();
    String tr = table.substring(row, table.indexOf("</tr>", row));
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("data-value=\"([^\"]*)\"").matcher(tr);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  // ---------------------------------------------------------------- fixture

  private void migrate() throws Exception {
    Path dir = repoRoot().resolve("deploy/clickhouse/migrations");
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files =
          s.filter(p -> p.getFileName().toString().matches("V\\d+__.*\\.sql"))
              .sorted(
                  Comparator.comparingInt(
                      p ->
                          Integer.parseInt(
                              p.getFileName().toString().replaceAll("^V(\\d+)__.*", "$1"))))
              .toList();
    }
    assertThat(files).isNotEmpty();
    try (Statement st = connection.createStatement()) {
      st.execute("CREATE DATABASE " + db);
      for (Path f : files) {
        for (String sql : statements(Files.readString(f, StandardCharsets.UTF_8))) {
          st.execute(sql);
        }
      }
    }
  }

  /**
   * Splits as the migration files document: statements end with ';' at the end of a line; '--'
   * lines are comments.
   */
  static List<String> statementsOf(String script, String db) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (String line : script.split("\n", -1)) {
      String t = line.strip();
      if (t.startsWith("--") || (t.isEmpty() && cur.length() == 0)) {
        continue;
      }
      cur.append(line).append('\n');
      if (t.endsWith(";")) {
        String sql = cur.toString().strip();
        sql =
            sql.substring(0, sql.length() - 1)
                .replace("${database}", db)
                .replaceAll("\\$\\{ttl_days_[a-z_]+}", "3650");
        assertThat(sql).as("unknown placeholder").doesNotContain("${");
        out.add(sql);
        cur.setLength(0);
      }
    }
    assertThat(cur.toString()).as("trailing statement without ';'").isBlank();
    return out;
  }

  private List<String> statements(String script) {
    return statementsOf(script, db);
  }

  private static Path repoRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("deploy/clickhouse/migrations"))) {
        return p;
      }
    }
    throw new AssertionError(
        "no deploy/clickhouse/migrations above " + Path.of("").toAbsolutePath());
  }

  private static String ts(Instant i) {
    return "'" + TS.format(i) + "'";
  }

  private static String str(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  private void insertLatency() throws SQLException {
    StringBuilder sql =
        new StringBuilder(
            "INSERT INTO "
                + db
                + ".window_latency (window_start, window_end, window_size_ms,"
                + " scope, cluster, region, host, model, model_version, gpu_type, metric, cohort, count, bucket_values_us,"
                + " bucket_counts, kafka_partition, kafka_offset, exemplar_values_us, exemplar_event_ids,"
                + " exemplar_request_ids) VALUES ");
    boolean first = true;
    Map<String, Long> base = Map.of("e2e", 800_000L, "ttft", 300_000L, "tpot", 30_000L);
    for (int w = 0; w < WINDOWS; w++) {
      for (int mi = 0; mi < MODELS.size(); mi++) {
        for (int hi = 0; hi < HOSTS.size(); hi++) {
          for (String metric : List.of("e2e", "ttft", "tpot")) {
            // 10 distinct bucket values per row, shifted per host/model/window so the merge
            // matters; total 1000 + 7
            TreeMap<Long, Long> h = new TreeMap<>();
            long b = base.get(metric) * (1 + mi) + hi * 7_000L + w * 3_000L;
            for (int k = 0; k < 10; k++) {
              long value = b + (long) k * k * (base.get(metric) / 20) + k;
              long count = k == 9 ? 7 + w + hi : 100 - k * 3 + mi;
              h.put(value, count);
            }
            TreeMap<Long, Long> known =
                buckets
                    .computeIfAbsent(metric, x -> new TreeMap<>())
                    .computeIfAbsent(MODELS.get(mi), x -> new TreeMap<>())
                    .computeIfAbsent(w, x -> new TreeMap<>());
            h.forEach((v, c) -> known.merge(v, c, Long::sum));
            Instant start = T0.plusMillis(w * WINDOW_MS);
            String common =
                ts(start) + ", " + ts(start.plusMillis(WINDOW_MS)) + ", " + WINDOW_MS + ", ";
            String key = str("c1") + ", " + str(REGION.get(HOSTS.get(hi))) + ", ";
            String tail =
                ", " + str(MODELS.get(mi)) + ", 'v1', 'H100', " + str(metric) + ", 'warm', ";
            long n = h.values().stream().mapToLong(Long::longValue).sum();
            // the real row (offset 1000+) and a stale earlier delivery of the same key (offset 1)
            // that FINAL drops
            sql.append(first ? "" : ", ")
                .append('(')
                .append(common)
                .append("'host', ")
                .append(key)
                .append(str(HOSTS.get(hi)))
                .append(tail)
                .append(n)
                .append(", ")
                .append(arr(h.keySet()))
                .append(", ")
                .append(arr(h.values()))
                .append(", 0, ")
                .append(1000 + w)
                .append(", ")
                .append(exemplarArrays(metric, mi, hi, w, h.lastKey()))
                .append(')');
            first = false;
            sql.append(", (")
                .append(common)
                .append("'host', ")
                .append(key)
                .append(str(HOSTS.get(hi)))
                .append(tail)
                .append("1, [1], [1], 0, 1, [], [], [])");
            if (hi == 0) {
              // the fleet rollup describes the same requests again: must not be merged in
              sql.append(", (")
                  .append(common)
                  .append("'fleet', ")
                  .append(key)
                  .append("'*'")
                  .append(tail)
                  .append("5, [99999999], [5], 0, 2, [99999999], ['fleet-ev'], ['fleet-req'])");
            }
          }
        }
      }
    }
    try (Statement st = connection.createStatement()) {
      st.execute(sql.toString());
    }
  }

  /** One exemplar of a host row: value, ids, host, and the raw request when one is stored. */
  private record Ex(
      String model, int window, long valueUs, String eventId, String requestId, String host) {

    /**
     * The raw requests table holds exemplars 0 and 2 of each host row of windows 1 and 2 (window 0
     * is the alert's: its requests are those behind the alert), exemplar 1 never.
     */
    boolean stored() {
      return window > 0 && !eventId.endsWith("-k1");
    }

    /** Host h2's exemplar 2 is stored without first token and token counts. */
    boolean bare() {
      return host.equals("h2") && eventId.endsWith("-k2");
    }

    long ttftUs() {
      return 100_000 + valueUs % 1000;
    }

    long inputTokens() {
      return 1000 + valueUs % 100;
    }

    long outputTokens() {
      return 200 + valueUs % 10;
    }
  }

  /** Exemplars of the e2e host rows: 3 per row, slowest first, below the row's largest value. */
  private final List<Ex> exemplars = new ArrayList<>();

  private String exemplarArrays(String metric, int mi, int hi, int w, long max) {
    if (!metric.equals("e2e")) {
      return "[], [], []";
    }
    List<Ex> row = new ArrayList<>();
    for (int k = 0; k < 3; k++) {
      String id = "x-m" + mi + "-" + HOSTS.get(hi) + "-w" + w + "-k" + k;
      // a request id with markup; none (empty) for exemplar 1 of h2
      String requestId = hi == 1 && k == 1 ? "" : "req<\"&'>" + id;
      row.add(
          new Ex(MODELS.get(mi), w, max - k * 5_000L - hi * 1_000L, id, requestId, HOSTS.get(hi)));
    }
    exemplars.addAll(row);
    return arr(row.stream().map(Ex::valueUs).toList())
        + ", ["
        + String.join(", ", row.stream().map(x -> str(x.eventId())).toList())
        + "], ["
        + String.join(", ", row.stream().map(x -> str(x.requestId())).toList())
        + "]";
  }

  private void insertExemplarRequests() throws SQLException {
    StringBuilder sql =
        new StringBuilder(
            "INSERT INTO "
                + db
                + ".requests (completed_at, event_id, request_id, host, model, status, e2e_us,"
                + " ttft_us, input_tokens, output_tokens) VALUES ");
    boolean first = true;
    for (Ex x : exemplars) {
      if (!x.stored()) {
        continue;
      }
      sql.append(first ? "" : ", ")
          .append('(')
          .append(ts(T0.plusMillis(x.window() * WINDOW_MS + 5_000)))
          .append(", ")
          .append(str(x.eventId()))
          .append(", ")
          .append(str(x.requestId()))
          .append(", ")
          .append(str(x.host()))
          .append(", ")
          .append(str(x.model()))
          .append(", 'OK', ")
          .append(x.valueUs())
          .append(", ")
          .append(
              x.bare()
                  ? "NULL, NULL, NULL"
                  : x.ttftUs() + ", " + x.inputTokens() + ", " + x.outputTokens())
          .append(')');
      first = false;
    }
    try (Statement st = connection.createStatement()) {
      st.execute(sql.toString());
    }
  }

  private static String arr(java.util.Collection<Long> values) {
    StringBuilder sb = new StringBuilder("[");
    for (Long v : values) {
      sb.append(sb.length() == 1 ? "" : ",").append(v);
    }
    return sb.append(']').toString();
  }

  private static long tokens(String model, String host, int w) {
    return 1000L + MODELS.indexOf(model) * 500L + HOSTS.indexOf(host) * 250L + w * 10L;
  }

  private static double energy(String model, String host, int w) {
    return 1500.0 + MODELS.indexOf(model) * 700.5 + HOSTS.indexOf(host) * 120.25 + w;
  }

  private static double cost(String model, String host, int w) {
    return 0.0012 + MODELS.indexOf(model) * 0.0007 + HOSTS.indexOf(host) * 0.0001 + w * 0.00001;
  }

  private void insertEnergyAlertsBottlenecks() throws SQLException {
    StringBuilder sql =
        new StringBuilder(
            "INSERT INTO "
                + db
                + ".energy_attribution (window_start, window_end,"
                + " window_size_ms, cluster, region, host, device_id, device_kind, gpu_type, model, model_version, is_idle,"
                + " requests, output_tokens, busy_time_us, share, energy_j, carbon_g, cost, currency, pue,"
                + " carbon_intensity_g_per_kwh, kafka_partition, kafka_offset) VALUES ");
    boolean first = true;
    for (int w = 0; w < WINDOWS; w++) {
      Instant start = T0.plusMillis(w * WINDOW_MS);
      for (String h : HOSTS) {
        for (String m : MODELS) {
          sql.append(first ? "" : ", ")
              .append('(')
              .append(ts(start))
              .append(", ")
              .append(ts(start.plusMillis(WINDOW_MS)))
              .append(", ")
              .append(WINDOW_MS)
              .append(", 'c1', ")
              .append(str(REGION.get(h)))
              .append(", ")
              .append(str(h))
              .append(", 'gpu-0', 'GPU', 'H100', ")
              .append(str(m))
              .append(", 'v1', 0, 10, ")
              .append(tokens(m, h, w))
              .append(", 1000000, 0.4, ")
              .append(energy(m, h, w))
              .append(", ")
              .append(energy(m, h, w) * 0.0001)
              .append(", ")
              .append(cost(m, h, w))
              .append(", 'USD', 1.2, 400, 0, ")
              .append(10 + w)
              .append(')');
          first = false;
        }
        sql.append(", (")
            .append(ts(start))
            .append(", ")
            .append(ts(start.plusMillis(WINDOW_MS)))
            .append(", ")
            .append(WINDOW_MS)
            .append(", 'c1', ")
            .append(str(REGION.get(h)))
            .append(", ")
            .append(str(h))
            .append(
                ", 'gpu-0', 'GPU', 'H100', '', '', 1, 0, 0, 0, 0.2, 333.0, 0.0333, 0.0004, 'USD', 1.2, 400, 0, ")
            .append(10 + w)
            .append(')');
      }
    }
    String device =
        "INSERT INTO "
            + db
            + ".device_energy (window_start, window_end, window_size_ms, cluster, region,"
            + " host, device_id, device_kind, gpu_type, method, samples, measured_energy_j, kafka_partition, kafka_offset)"
            + " VALUES ("
            + ts(T0)
            + ", "
            + ts(T0.plusMillis(WINDOW_MS))
            + ", "
            + WINDOW_MS
            + ", 'c1', 'eu-west', 'h1', 'gpu-0', 'GPU', 'H100', 'ESTIMATED', 10, 3000.5, 0, 1), ("
            + ts(T0)
            + ", "
            + ts(T0.plusMillis(WINDOW_MS))
            + ", "
            + WINDOW_MS
            + ", 'c1', 'us-east', 'h2', 'gpu-0', 'GPU', 'H100', 'COUNTER', 10, 2900.25, 0, 2)";
    String alerts =
        "INSERT INTO "
            + db
            + ".alerts (emitted, alert_id, dedup_key, rule, severity, state, cluster, region,"
            + " host, model, device_id, window_start, window_end, observed, threshold, unit, summary, first_seen,"
            + " kafka_partition, kafka_offset) VALUES ("
            + ts(T0.plusSeconds(12))
            + ", 'a1', 'k1', 'latency_regression', 'WARNING', 'FIRING', 'c1', 'eu-west', 'h1', "
            + str(MODEL_B)
            + ", '', "
            + ts(T0)
            + ", "
            + ts(T0.plusSeconds(10))
            + ", 1.5, 1.15, 'ratio', "
            + str("p99 up <script>alert(1)</script>")
            + ", "
            + ts(T0.plusSeconds(12))
            + ", 0, 1), ("
            + ts(T0.plusSeconds(25))
            + ", 'a2', 'k1', 'latency_regression', 'WARNING', 'RESOLVED', 'c1', 'eu-west', 'h1', "
            + str(MODEL_B)
            + ", '', "
            + ts(T0.plusSeconds(10))
            + ", "
            + ts(T0.plusSeconds(20))
            + ", 1.0, 1.15, 'ratio', "
            + "'back to normal', "
            + ts(T0.plusSeconds(12))
            + ", 0, 2)";
    StringBuilder bn =
        new StringBuilder(
            "INSERT INTO "
                + db
                + ".bottlenecks (window_start, window_end, cluster, region,"
                + " host, label, reason, kafka_partition, kafka_offset) VALUES ");
    String[][] labels = {
      {"compute-bound", "compute-bound", "queue-bound"}, {"idle", "idle", "idle"}
    };
    for (int w = 0; w < WINDOWS; w++) {
      for (int h = 0; h < HOSTS.size(); h++) {
        Instant start = T0.plusMillis(w * WINDOW_MS);
        bn.append(w + h == 0 ? "" : ", ")
            .append('(')
            .append(ts(start))
            .append(", ")
            .append(ts(start.plusMillis(WINDOW_MS)))
            .append(", 'c1', ")
            .append(str(REGION.get(HOSTS.get(h))))
            .append(", ")
            .append(str(HOSTS.get(h)))
            .append(", ")
            .append(str(labels[h][w]))
            .append(", 'test', 0, ")
            .append(w)
            .append(')');
      }
    }
    StringBuilder wa =
        new StringBuilder(
            "INSERT INTO "
                + db
                + ".window_aggregates (window_start, window_end,"
                + " window_size_ms, scope, cluster, region, host, model, model_version, gpu_type, requests, slo_class,"
                + " slo_requests, slo_good, kafka_partition, kafka_offset) VALUES ");
    for (int w = 0; w < WINDOWS; w++) {
      Instant start = T0.plusMillis(w * WINDOW_MS);
      wa.append(w == 0 ? "" : ", ")
          .append('(')
          .append(ts(start))
          .append(", ")
          .append(ts(start.plusMillis(WINDOW_MS)))
          .append(", ")
          .append(WINDOW_MS)
          .append(", 'host', 'c1', 'eu-west', 'h1', ")
          .append(str(MODEL_A))
          .append(", 'v1', 'H100', 100, ['default', 'interactive'], [60, 40], [50, 20], 0, ")
          .append(w)
          .append(')');
    }
    String deadLetters =
        "INSERT INTO "
            + db
            + ".dead_letters (detected, stage, reason, message, error_class,"
            + " source_topic, key_base64, payload_base64, kafka_partition, kafka_offset) VALUES ("
            + ts(T0.plusSeconds(3))
            + ", 'collector', 'bad-json', 'unexpected token', 'JsonParseException', 'requests', '', 'e30=', 0, 7), ("
            + ts(T0.plusSeconds(4))
            + ", 'collector', 'bad-json', 'unexpected token', 'JsonParseException', 'requests', '', 'e30=', 0, 8), ("
            // the same dead letter delivered twice (same partition and offset): counted once
            + ts(T0.plusSeconds(4))
            + ", 'collector', 'bad-json', 'unexpected token', 'JsonParseException', 'requests', '', 'e30=', 0, 8)";
    // requests: three behind the FIRING alert a1 (h1, MODEL_B, window [T0, T0 + 10 s)); one after
    // its window, one of
    // another host, one of another model: not behind it
    String requests =
        "INSERT INTO "
            + db
            + ".requests (completed_at, event_id, request_id, host, model, status, e2e_us,"
            + " ttft_us) VALUES ("
            + ts(T0.plusSeconds(1))
            + ", 'ev-1', 'req-1', 'h1', "
            + str(MODEL_B)
            + ", 'OK', 700000, 90000), ("
            + ts(T0.plusSeconds(2))
            + ", 'ev-2', 'req-2', 'h1', "
            + str(MODEL_B)
            + ", 'ERROR', 300000, NULL), ("
            + ts(T0.plusSeconds(3))
            + ", 'ev-3', 'req-3', 'h1', "
            + str(MODEL_B)
            + ", 'OK', 900000, 120000), ("
            + ts(T0.plusSeconds(15))
            + ", 'ev-4', 'req-4', 'h1', "
            + str(MODEL_B)
            + ", 'OK', 990000, 1000), ("
            + ts(T0.plusSeconds(4))
            + ", 'ev-5', 'req-5', 'h2', "
            + str(MODEL_B)
            + ", 'OK', 980000, 1000), ("
            + ts(T0.plusSeconds(5))
            + ", 'ev-6', 'req-6', 'h1', "
            + str(MODEL_A)
            + ", 'OK', 970000, 1000)";
    try (Statement st = connection.createStatement()) {
      st.execute(sql.toString());
      st.execute(requests);
      st.execute(deadLetters);
      st.execute(device);
      st.execute(alerts);
      st.execute(bn.toString());
      st.execute(wa.toString());
    }
  }
}
