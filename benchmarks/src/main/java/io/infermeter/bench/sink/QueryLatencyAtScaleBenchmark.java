package io.infermeter.bench.sink;

import io.infermeter.sink.SinkConfig;
import io.infermeter.sink.internal.Rollups;
import io.infermeter.sink.internal.SinkFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Query latency at scale: a day of a large fleet's sink tables in the local ClickHouse, and the
 * time of every shipped query over it.
 *
 * <ol>
 *   <li>creates the database {@code -Ddatabase} (default {@code infermeter_scale}) with the sink's
 *       own migrations ({@link SinkFactory#migrate}), so the schema is the one the sink writes;
 *   <li>fills it with ClickHouse's own {@code INSERT ... SELECT FROM numbers()} (resources {@code
 *       scale/*.sql}): {@code -Dhours} (24) of {@code -Dhosts} (1000) hosts serving {@code
 *       -Dmodels} (20) models at {@code -Drate} (1) requests/s per host: window_latency and
 *       window_aggregates at each window size of the sink's {@code raw.requests.window.sizes} (10 s
 *       and 1 min, the streams app's defaults), device_energy, energy_attribution, bottlenecks,
 *       alerts ({@code -DalertsPerHost}, 5 incidents), and the raw requests table as sampled at
 *       {@code -DsampleRatio} (1/16);
 *   <li>brings the hourly rollups up to date ({@link Rollups}, what the sink does periodically) and
 *       times it;
 *   <li>runs every named query of {@code docs/queries.sql} (the database name replaced) over the
 *       whole range, at each window size where the query takes one, {@code -Druns} (5) times after
 *       one untimed run; prints the median wall time (HTTP round trip, result read) and the
 *       server's read rows and bytes ({@code X-ClickHouse-Summary});
 *   <li>prints rows, bytes on disk and bytes per row of every table ({@code system.parts}, active
 *       parts);
 *   <li>drops the database unless {@code -Dkeep=true}. {@code -Dreuse=true} skips the fill when the
 *       database already holds window rows (a kept database).
 * </ol>
 *
 * <p>Usage: {@code java [-Dhosts=1000 ...] -cp
 * 'benchmarks/target/infermeter-benchmarks.jar:benchmarks/target/lib/*'
 * io.infermeter.bench.sink.QueryLatencyAtScaleBenchmark}, from the repository root (it reads
 * docs/queries.sql). The ClickHouse address comes from .local-stack/stack.env or {@code
 * INFERMETER_CLICKHOUSE_URL}.
 */
public final class QueryLatencyAtScaleBenchmark {

  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", Locale.ROOT);
  private static final Pattern SUMMARY_ROWS = Pattern.compile("\"read_rows\":\"(\\d+)\"");
  private static final Pattern SUMMARY_BYTES = Pattern.compile("\"read_bytes\":\"(\\d+)\"");

  private QueryLatencyAtScaleBenchmark() {}

  public static void main(String[] args) throws Exception {
    int hosts = Integer.getInteger("hosts", 1000);
    int models = Integer.getInteger("models", 20);
    int hours = Integer.getInteger("hours", 24);
    double rate = Double.parseDouble(System.getProperty("rate", "1"));
    double sampleRatio = Double.parseDouble(System.getProperty("sampleRatio", "0.0625"));
    int alertsPerHost = Integer.getInteger("alertsPerHost", 5);
    int runs = Integer.getInteger("runs", 5);
    String database = System.getProperty("database", "infermeter_scale");
    boolean keep = Boolean.getBoolean("keep");
    boolean reuse = Boolean.getBoolean("reuse");
    if (hosts % 50 != 0 || hosts < models) {
      throw new IllegalArgumentException(
          "hosts must be a multiple of 50 and at least models: " + hosts);
    }

    Map<String, String> env = RawRequestInsertBenchmark.stackEnv();
    String chUrl =
        env.getOrDefault("INFERMETER_CLICKHOUSE_URL", "jdbc:clickhouse://127.0.0.1:8123/default");
    String base = chUrl.replaceFirst("/[^/:]*$", "").replaceFirst("\\?.*$", "");
    SinkConfig config =
        SinkConfig.fromMap(Map.of("clickhouse.url", base, "clickhouse.database", database));
    List<Long> sizes =
        config.rawRequestsWindowSizes().stream().map(Duration::toMillis).sorted().toList();
    ClickHouseHttp ch = new ClickHouseHttp(RawRequestInsertBenchmark.httpEndpoint(base));

    // the last `hours` whole hours before now: inside every table's TTL (requests: 7 days)
    Instant to = Instant.now().truncatedTo(ChronoUnit.HOURS);
    Instant from = to.minus(Duration.ofHours(hours));
    System.out.printf(
        Locale.ROOT,
        "database=%s hosts=%d models=%d hours=%d rate=%s/s/host sampleRatio=%s sizes=%s "
            + "range=[%s, %s)%n",
        database,
        hosts,
        models,
        hours,
        rate,
        sampleRatio,
        sizes,
        ts(from),
        ts(to));

    List<Integer> applied = SinkFactory.migrate(config);
    System.out.println("migrations applied: " + applied);
    boolean filled =
        reuse
            && Long.parseLong(
                    ch.query("SELECT count() FROM " + database + ".window_latency").trim())
                > 0;
    if (filled) {
      // a kept database: its range is its own
      from =
          Instant.parse(
              ch.query(
                      "SELECT formatDateTime(min(window_start), '%Y-%m-%dT%H:%i:%SZ') FROM "
                          + database
                          + ".window_latency")
                  .trim());
      to = from.plus(Duration.ofHours(hours));
      System.out.printf(
          "reusing the data already in %s, range [%s, %s)%n", database, ts(from), ts(to));
    } else {
      Map<String, String> p = new LinkedHashMap<>();
      p.put("database", database);
      p.put("hosts", Integer.toString(hosts));
      p.put("models", Integer.toString(models));
      p.put("hours", Integer.toString(hours));
      p.put("from", ts(from));
      p.put("rate", Double.toString(rate));
      p.put("sample_ratio", Double.toString(sampleRatio));
      p.put("alerts_per_host", Integer.toString(alertsPerHost));
      p.put("smallest_ms", Long.toString(sizes.get(0)));
      p.put("sizes_ms", String.join(", ", sizes.stream().map(String::valueOf).toList()));
      long fillStart = System.nanoTime();
      for (long size : sizes) {
        p.put("size_ms", Long.toString(size));
        runScript(ch, "scale/fleet_per_window_size.sql", p);
      }
      runScript(ch, "scale/fleet_once.sql", p);
      System.out.printf(Locale.ROOT, "fill: %.0f s%n", (System.nanoTime() - fillStart) / 1e9);
    }

    long rollupStart = System.nanoTime();
    Rollups.Result rolled =
        Rollups.rollUp(
            sql -> ch.query(sql).lines().toList(),
            database,
            to.plus(Duration.ofHours(1)),
            Duration.ZERO,
            Duration.ofHours(6));
    System.out.printf(
        Locale.ROOT, "rollups: %s in %.1f s%n", rolled, (System.nanoTime() - rollupStart) / 1e9);

    List<String[]> results = timeQueries(ch, database, from, to, sizes, runs);
    System.out.println();
    System.out.println(
        "| query | parameters | median ms | min-max ms | rows read | bytes read | result rows |");
    System.out.println("| --- | --- | --- | --- | --- | --- | --- |");
    for (String[] r : results) {
      System.out.println("| " + String.join(" | ", r) + " |");
    }
    System.out.println();
    System.out.println(
        "| table | rows | bytes on disk | bytes per row | uncompressed bytes per row | parts |");
    System.out.println("| --- | --- | --- | --- | --- | --- |");
    System.out.print(
        ch.query(
            "SELECT concat('| ', table, ' | ', formatReadableQuantity(sum(rows)), ' | ', "
                + "formatReadableSize(sum(bytes_on_disk)), ' | ', toString(round(sum(bytes_on_disk) / sum(rows), 1)), ' | ', "
                + "toString(round(sum(data_uncompressed_bytes) / sum(rows), 1)), ' | ', toString(count()), ' |') "
                + "FROM system.parts WHERE active AND database = '"
                + database
                + "' AND rows > 0 "
                + "GROUP BY table ORDER BY sum(bytes_on_disk) DESC FORMAT TSVRaw"));

    if (keep) {
      System.out.println(
          "kept database " + database + " (-Dkeep=true); drop it with DROP DATABASE " + database);
    } else {
      ch.execute("DROP DATABASE IF EXISTS " + database);
      System.out.println("dropped database " + database);
    }
  }

  /**
   * Every named block of docs/queries.sql, each at each window size it takes, timed {@code runs}
   * times.
   */
  private static List<String[]> timeQueries(
      ClickHouseHttp ch, String database, Instant from, Instant to, List<Long> sizes, int runs)
      throws Exception {
    Map<String, String> named = namedQueries(Files.readString(Path.of("docs/queries.sql")));
    // a busy host window of the middle of the range for the window drill-down
    Instant mid = from.plus(Duration.between(from, to).dividedBy(2));
    String window =
        ch.query(
                "SELECT concat(formatDateTime(window_start, '%Y-%m-%d %H:%i:%S'), '|', host, '|', model) "
                    + "FROM "
                    + database
                    + ".window_latency WHERE scope = 'host' AND metric = 'e2e' AND cohort = 'warm' "
                    + "AND window_size_ms = "
                    + sizes.get(0)
                    + " AND window_start = toDateTime64('"
                    + ts(mid)
                    + "', 6, 'UTC') "
                    + "ORDER BY count DESC LIMIT 1")
            .trim();
    String[] w = window.split("\\|", -1);
    String model = w.length == 3 && !w[2].isEmpty() ? w[2] : "model-00";
    List<String[]> out = new ArrayList<>();
    for (Map.Entry<String, String> q : named.entrySet()) {
      String sql = q.getValue().replace("infermeter.", database + ".");
      Map<String, String> params = new LinkedHashMap<>();
      params.put("from_ts", ts(from));
      params.put("to_ts", ts(to));
      params.put("ttft_us", "500000");
      params.put("tpot_us", "50000");
      params.put("model", model);
      params.put("n", "20");
      if (w.length == 3) {
        params.put("window_start", w[0]);
        params.put("host", w[1]);
        params.put("metric", "e2e");
        params.put("cohort", "warm");
      }
      List<Long> perSize = sql.contains("{window_ms:") ? sizes : List.of(-1L);
      for (long size : perSize) {
        if (size > 0) {
          params.put("window_ms", Long.toString(size));
        }
        ClickHouseHttp.Answer first =
            ch.timed(sql, params); // untimed: caches, JIT of the HTTP client
        long[] ms = new long[runs];
        ClickHouseHttp.Answer a = first;
        for (int i = 0; i < runs; i++) {
          a = ch.timed(sql, params);
          ms[i] = a.millis();
        }
        Arrays.sort(ms);
        String shown = sql.contains("{model:") ? "model=" + model : "";
        shown += sql.contains("{window_start:") ? " window " + w[0] + " " + w[1] : "";
        shown += size > 0 ? " window_ms=" + size : "";
        shown += sql.contains("{from_ts:") ? " " + Duration.between(from, to).toHours() + " h" : "";
        out.add(
            new String[] {
              q.getKey(),
              shown.trim(),
              Long.toString(ms[runs / 2]),
              ms[0] + "-" + ms[runs - 1],
              String.format(Locale.ROOT, "%,d", a.readRows()),
              String.format(Locale.ROOT, "%,d", a.readBytes()),
              Long.toString(a.resultRows())
            });
        System.out.printf(
            Locale.ROOT,
            "%-28s %-50s median %6d ms  read %,d rows%n",
            q.getKey(),
            shown.trim(),
            ms[runs / 2],
            a.readRows());
      }
    }
    return out;
  }

  /** The "-- name: x" blocks of a SQL file, in file order, each without its comment lines. */
  static Map<String, String> namedQueries(String text) {
    Map<String, String> out = new LinkedHashMap<>();
    String name = null;
    StringBuilder sql = new StringBuilder();
    for (String line : text.lines().toList()) {
      if (line.startsWith("-- name:")) {
        name = line.substring("-- name:".length()).trim();
        sql.setLength(0);
      } else if (name != null && !line.startsWith("--")) {
        sql.append(line).append('\n');
        if (line.trim().endsWith(";")) {
          out.put(name, sql.toString().trim().replaceFirst(";$", ""));
          name = null;
        }
      }
    }
    return out;
  }

  private static void runScript(
      ClickHouseHttp ch, String resource, Map<String, String> placeholders) throws Exception {
    String text;
    try (InputStream in =
        QueryLatencyAtScaleBenchmark.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("missing resource " + resource);
      }
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Matcher m = Pattern.compile("\\$\\{(\\w+)}").matcher(text);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String v = placeholders.get(m.group(1));
      if (v == null) {
        throw new IllegalArgumentException("no value for ${" + m.group(1) + "} in " + resource);
      }
      m.appendReplacement(sb, Matcher.quoteReplacement(v));
    }
    m.appendTail(sb);
    StringBuilder stmt = new StringBuilder();
    for (String line : sb.toString().lines().toList()) {
      if (line.trim().startsWith("--")) {
        continue;
      }
      stmt.append(line).append('\n');
      if (line.trim().endsWith(";")) {
        String s = stmt.toString().trim();
        stmt.setLength(0);
        long start = System.nanoTime();
        ch.execute(s.substring(0, s.length() - 1));
        String head = s.lines().findFirst().orElse("");
        System.out.printf(
            Locale.ROOT,
            "  %-60s %6.1f s%n",
            head.length() > 60 ? head.substring(0, 60) : head,
            (System.nanoTime() - start) / 1e9);
      }
    }
  }

  private static String ts(Instant t) {
    return LocalDateTime.ofInstant(t, ZoneOffset.UTC).format(TS);
  }

  /** ClickHouse's HTTP interface, HTTP/1.1, default user (the local stack). */
  static final class ClickHouseHttp {

    record Answer(long millis, long readRows, long readBytes, long resultRows) {}

    private final HttpClient http =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final String endpoint;

    ClickHouseHttp(String endpoint) {
      this.endpoint = endpoint;
    }

    void execute(String sql) throws IOException, InterruptedException {
      query(sql);
    }

    String query(String sql) throws IOException, InterruptedException {
      HttpResponse<String> r =
          http.send(request(sql, Map.of()), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException(
            "ClickHouse answered " + r.statusCode() + ": " + r.body().strip() + "\n" + sql);
      }
      return r.body();
    }

    /**
     * Runs the query with the given parameters, reads the whole result, and times the round trip.
     */
    Answer timed(String sql, Map<String, String> params) throws IOException, InterruptedException {
      long start = System.nanoTime();
      HttpResponse<String> r =
          http.send(request(sql + " FORMAT TSV", params), HttpResponse.BodyHandlers.ofString());
      long millis = (System.nanoTime() - start) / 1_000_000;
      if (r.statusCode() != 200) {
        throw new IOException(
            "ClickHouse answered " + r.statusCode() + ": " + r.body().strip() + "\n" + sql);
      }
      String summary = r.headers().firstValue("X-ClickHouse-Summary").orElse("");
      return new Answer(
          millis,
          field(SUMMARY_ROWS, summary),
          field(SUMMARY_BYTES, summary),
          r.body().lines().count());
    }

    private HttpRequest request(String sql, Map<String, String> params) {
      StringBuilder url = new StringBuilder(endpoint).append("/?wait_end_of_query=1");
      params.forEach(
          (k, v) ->
              url.append("&param_")
                  .append(k)
                  .append('=')
                  .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
      return HttpRequest.newBuilder(URI.create(url.toString()))
          .timeout(Duration.ofHours(1))
          .POST(HttpRequest.BodyPublishers.ofString(sql))
          .build();
    }

    private static long field(Pattern p, String summary) {
      Matcher m = p.matcher(summary);
      return m.find() ? Long.parseLong(m.group(1)) : -1;
    }
  }
}
