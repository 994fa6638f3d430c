package io.infermeter.bench.sink;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.sink.SinkConfig;
import io.infermeter.sink.internal.ClickHouseWriter;
import io.infermeter.sink.internal.RawRequestWriter;
import io.infermeter.sink.internal.RawRequests;
import io.infermeter.sink.internal.RowBinaryRequests;
import io.infermeter.sink.internal.SinkFactory;
import io.infermeter.sink.internal.Table;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

/**
 * The raw request table's insert rate through the sink's path against ClickHouse's own binary
 * insert of the same rows, in one run on the real local ClickHouse, and the table's bytes per row
 * under three codec choices.
 *
 * <ol>
 *   <li>sink: decoded {@link RequestEvent}s mapped by the sink's {@link RawRequests} and written by
 *       its {@link RawRequestWriter} (RowBinary encoding, client-v2 {@code insert}) in batches of
 *       {@code batchRows};
 *   <li>server: the same rows encoded to RowBinary before the clock starts, then POSTed batch by
 *       batch as {@code INSERT INTO requests (...) FORMAT RowBinary} with the JDK HttpClient: what
 *       the server takes when the client does nothing but send bytes (the physical limit here).
 * </ol>
 *
 * The two alternate for {@code rounds} rounds, each into a freshly truncated table, the sink first
 * in odd rounds and second in even ones; each round's ratio compares its own pair (this shared
 * machine's load drifts between rounds). Then the sink's rows are copied into tables that differ
 * only in codecs, merged to one part each ({@code OPTIMIZE FINAL}) and their bytes per row read
 * from {@code system.parts_columns}.
 *
 * <p>Usage: {@code java -cp 'benchmarks/target/infermeter-benchmarks.jar:benchmarks/target/lib/*'
 * io.infermeter.bench.sink.RawRequestInsertBenchmark [rows] [batchRows] [rounds]} (defaults 500000,
 * 10000, 3). The ClickHouse address comes from .local-stack/stack.env or {@code
 * INFERMETER_CLICKHOUSE_URL}; the benchmark's database is dropped at the end.
 */
public final class RawRequestInsertBenchmark {

  private RawRequestInsertBenchmark() {}

  public static void main(String[] args) throws Exception {
    int rows = args.length > 0 ? Integer.parseInt(args[0]) : 500_000;
    int batchRows = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    String chUrl =
        stackEnv()
            .getOrDefault("INFERMETER_CLICKHOUSE_URL", "jdbc:clickhouse://127.0.0.1:8123/default");
    String base = chUrl.replaceFirst("/[^/:]*$", "").replaceFirst("\\?.*$", "");
    String database = "bench_raw_" + UUID.randomUUID().toString().substring(0, 8);
    SinkConfig config =
        SinkConfig.fromMap(Map.of("clickhouse.url", base, "clickhouse.database", database));
    List<RequestEvent> events = generate(rows, new Random(42));
    RawRequests mapper = new RawRequests(1.0, config.rawRequestsWindowSizes());
    System.out.printf(
        "rows=%d batchRows=%d rounds=%d database=%s%n", rows, batchRows, rounds, database);
    SinkFactory.migrate(config);
    String endpoint = httpEndpoint(base);
    // HTTP/1.1 as ClickHouse speaks it (the JDK's default would first try an h2c upgrade on every
    // connection)
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    List<Double> ratios = new ArrayList<>();
    try (ClickHouseWriter jdbc = SinkFactory.writer(config)) {
      // untimed warm-up of both paths (JIT, connection pools)
      sinkPath(config, mapper, events.subList(0, Math.min(rows, 50_000)), batchRows);
      List<byte[]> warm = encode(mapper, events.subList(0, Math.min(rows, 50_000)), batchRows);
      serverPath(http, endpoint, database, warm, 0);
      for (int r = 1; r <= rounds; r++) {
        // odd rounds run the sink first, even rounds the server: neither always follows the other's
        // merges
        List<byte[]> batches = encode(mapper, events, batchRows);
        double sink = 0;
        double server = 0;
        for (int phase = 0; phase < 2; phase++) {
          truncate(jdbc, database);
          if ((phase == 0) == (r % 2 == 1)) {
            sink = sinkPath(config, mapper, events, batchRows);
          } else {
            server = serverPath(http, endpoint, database, batches, rows);
          }
          check(jdbc, database, rows);
        }
        double ratio = sink / server;
        ratios.add(ratio);
        System.out.printf(
            "round %d: sink %,.0f rows/s, server RowBinary over HTTP %,.0f rows/s, ratio %.1f %%%n",
            r, sink, server, 100 * ratio);
      }
      double[] sorted = ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      System.out.printf("median ratio %.1f %%%n", 100 * sorted[sorted.length / 2]);
      codecs(jdbc, database);
    } finally {
      try (ClickHouseWriter jdbc = SinkFactory.writer(config);
          Statement st = jdbc.connection().createStatement()) {
        st.execute("DROP DATABASE IF EXISTS " + database);
      }
    }
  }

  /**
   * The sink's path: map each decoded event, insert each batch with the sink's writer. Returns
   * rows/s.
   */
  private static double sinkPath(
      SinkConfig config, RawRequests mapper, List<RequestEvent> events, int batchRows)
      throws Exception {
    long start = System.nanoTime();
    try (RawRequestWriter writer =
        new RawRequestWriter(
            SinkFactory.writer(config), RawRequestWriter.client(config), Duration.ofMinutes(2))) {
      List<Object[]> batch = new ArrayList<>(batchRows);
      long offset = 0;
      for (RequestEvent e : events) {
        mapper.map(e, 0, offset++, (t, row) -> batch.add(row));
        if (batch.size() >= batchRows) {
          writer.insert(Table.REQUESTS, batch);
          batch.clear();
        }
      }
      writer.insert(Table.REQUESTS, batch);
    }
    return events.size() / ((System.nanoTime() - start) / 1e9);
  }

  /** The same rows as RowBinary batches, encoded before any clock starts. */
  private static List<byte[]> encode(RawRequests mapper, List<RequestEvent> events, int batchRows) {
    List<byte[]> out = new ArrayList<>();
    RowBinaryRequests encoder = new RowBinaryRequests();
    int inBatch = 0;
    long offset = 0;
    for (RequestEvent e : events) {
      mapper.map(e, 0, offset++, (t, row) -> encoder.add(row));
      if (++inBatch == batchRows) {
        out.add(Arrays.copyOf(encoder.buffer(), encoder.size()));
        encoder.reset();
        inBatch = 0;
      }
    }
    if (inBatch > 0) {
      out.add(Arrays.copyOf(encoder.buffer(), encoder.size()));
    }
    return out;
  }

  /**
   * POSTs each pre-encoded batch ({@code rows} in all) as {@code INSERT ... FORMAT RowBinary}.
   * Returns rows/s.
   */
  private static double serverPath(
      HttpClient http, String endpoint, String database, List<byte[]> batches, long rows)
      throws Exception {
    String sql =
        "INSERT INTO "
            + database
            + ".requests ("
            + String.join(", ", Table.REQUESTS.columns())
            + ") FORMAT RowBinary";
    URI uri = URI.create(endpoint + "/?query=" + URLEncoder.encode(sql, StandardCharsets.UTF_8));
    long start = System.nanoTime();
    for (byte[] body : batches) {
      HttpResponse<String> resp =
          http.send(
              HttpRequest.newBuilder(uri)
                  .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (resp.statusCode() != 200) {
        throw new IllegalStateException(
            "insert failed: HTTP " + resp.statusCode() + ": " + resp.body());
      }
    }
    return rows / ((System.nanoTime() - start) / 1e9);
  }

  private static void truncate(ClickHouseWriter jdbc, String database) throws Exception {
    try (Statement st = jdbc.connection().createStatement()) {
      st.execute("TRUNCATE TABLE " + database + ".requests");
    }
  }

  private static void check(ClickHouseWriter jdbc, String database, long rows) throws Exception {
    try (Statement st = jdbc.connection().createStatement();
        ResultSet rs = st.executeQuery("SELECT count() FROM " + database + ".requests")) {
      rs.next();
      if (rs.getLong(1) != rows) {
        throw new IllegalStateException("expected " + rows + " rows, found " + rs.getLong(1));
      }
    }
  }

  /**
   * Bytes per row of the sink's rows under three codec choices, from system.parts_columns after
   * OPTIMIZE FINAL.
   */
  private static void codecs(ClickHouseWriter jdbc, String database) throws Exception {
    Map<String, String> variants = new LinkedHashMap<>();
    variants.put("lz4_default", "CREATE TABLE %s.requests_lz4_default AS %s.requests");
    variants.put("zstd1_only", "CREATE TABLE %s.requests_zstd1_only AS %s.requests");
    variants.put("chosen_v004", null);
    try (Statement st = jdbc.connection().createStatement()) {
      for (Map.Entry<String, String> v : variants.entrySet()) {
        if (v.getValue() == null) {
          continue;
        }
        String table = database + ".requests_" + v.getKey();
        st.execute(String.format(v.getValue(), database, database));
        String codec = v.getKey().equals("lz4_default") ? "CODEC(LZ4)" : "CODEC(ZSTD(1))";
        for (String column : Table.REQUESTS.columns()) {
          st.execute("ALTER TABLE " + table + " MODIFY COLUMN " + column + " " + codec);
        }
        st.execute("INSERT INTO " + table + " SELECT * FROM " + database + ".requests");
      }
      st.execute("OPTIMIZE TABLE " + database + ".requests FINAL");
      for (String key : variants.keySet()) {
        String table = key.equals("chosen_v004") ? "requests" : "requests_" + key;
        if (!key.equals("chosen_v004")) {
          st.execute("OPTIMIZE TABLE " + database + "." + table + " FINAL");
        }
        try (ResultSet rs =
            st.executeQuery(
                "SELECT sum(rows), sum(data_compressed_bytes), "
                    + "sum(data_uncompressed_bytes) FROM system.parts WHERE active AND database = '"
                    + database
                    + "' AND table = '"
                    + table
                    + "'")) {
          rs.next();
          long n = rs.getLong(1);
          System.out.printf(
              "codecs %-12s rows %,d compressed %,d B (%.1f B/row) uncompressed %.1f B/row%n",
              key, n, rs.getLong(2), rs.getLong(2) / (double) n, rs.getLong(3) / (double) n);
        }
        try (ResultSet rs =
            st.executeQuery(
                "SELECT column, sum(column_data_compressed_bytes) AS c, sum(rows) "
                    + "FROM system.parts_columns WHERE active AND database = '"
                    + database
                    + "' AND table = '"
                    + table
                    + "' GROUP BY column ORDER BY c DESC")) {
          StringBuilder sb = new StringBuilder("  per column:");
          while (rs.next()) {
            sb.append(
                String.format(" %s %.2f", rs.getString(1), rs.getLong(2) / (double) rs.getLong(3)));
          }
          System.out.println(sb + " (B/row)");
        }
      }
    }
  }

  /**
   * Requests of a fleet over the last 10 minutes: 50 hosts, 8 models, random v4 event ids (what
   * collectors send), request ids on most, ~2 % errors, prompt lengths 1-8k tokens skewed short,
   * output 1-1k, TTFT and decode from the lengths, a third of the requests with a batch size, two
   * small attributes.
   */
  static List<RequestEvent> generate(int count, Random random) {
    List<RequestEvent> out = new ArrayList<>(count);
    long now = System.currentTimeMillis() * 1000L;
    long start = now - 600_000_000L;
    long step = 600_000_000L / Math.max(1, count);
    String[] models = {
      "llama-3.1-8b-instruct",
      "llama-3.1-70b-instruct",
      "mistral-7b-instruct-v0.3",
      "qwen2.5-7b",
      "qwen2.5-72b",
      "gemma-2-9b-it",
      "phi-3-mini",
      "mixtral-8x7b"
    };
    for (int i = 0; i < count; i++) {
      long completed = start + i * step + random.nextInt((int) Math.max(1, step));
      int host = random.nextInt(50);
      int input = 1 + (int) Math.min(8191, Math.exp(random.nextGaussian() * 1.2 + 6));
      int output = 1 + random.nextInt(1000);
      long queue = (long) (Math.abs(random.nextGaussian()) * 20_000);
      long prefill = 5_000L + input * 40L + random.nextInt(5_000);
      long decode = output * (8_000L + random.nextInt(4_000));
      long arrival = completed - queue - prefill - decode;
      boolean error = random.nextInt(50) == 0;
      out.add(
          RequestEvent.newBuilder()
              .setEventId(
                  new UUID(
                          (random.nextLong() & ~0xF000L) | 0x4000L,
                          (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L)
                      .toString())
              .setRequestId(
                  random.nextInt(10) == 0 ? null : "cmpl-" + Long.toHexString(random.nextLong()))
              .setSource("otlp")
              .setCluster("prod-eu")
              .setRegion("eu-west-1")
              .setHost("gpu-host-" + host)
              .setDeviceId("GPU-" + host + "-" + random.nextInt(8))
              .setGpuType(host < 25 ? "H100-SXM" : "A100-80GB")
              .setModel(models[random.nextInt(models.length)])
              .setModelVersion("2024-07-23")
              .setEngine("vllm")
              .setOperation("chat")
              .setStatus(error ? RequestStatus.ERROR : RequestStatus.OK)
              .setErrorType(error ? "ContextLengthExceeded" : null)
              .setArrivalUs(arrival)
              .setScheduledUs(arrival + queue)
              .setFirstTokenUs(arrival + queue + prefill)
              .setCompletedUs(completed)
              .setInputTokens(input)
              .setOutputTokens(output)
              .setCachedTokens(random.nextInt(4) == 0 ? input / 2 : 0)
              .setBatchSize(random.nextInt(3) == 0 ? 1 + random.nextInt(64) : null)
              .setMaxBatchSize(256)
              .setColdStart(false)
              .setSloClass(random.nextInt(5) == 0 ? "batch" : "interactive")
              .setMaxInterTokenGapUs(20_000L + random.nextInt(80_000))
              .setAttributes(
                  Map.of(
                      "tenant",
                      "t" + random.nextInt(20),
                      "priority",
                      random.nextBoolean() ? "high" : "low"))
              .build());
    }
    return out;
  }

  /** http://host:port of a jdbc:clickhouse://host:port URL. */
  static String httpEndpoint(String jdbcBase) {
    String hostPort =
        jdbcBase.replaceFirst("^jdbc:(clickhouse|ch):(//)?", "").replaceFirst("^https?://", "");
    return "http://" + hostPort;
  }

  static Map<String, String> stackEnv() throws Exception {
    Map<String, String> env = new LinkedHashMap<>();
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path f = p.resolve(".local-stack").resolve("stack.env");
      if (Files.isRegularFile(f)) {
        for (String line : Files.readAllLines(f)) {
          int eq = line.indexOf('=');
          if (eq > 0 && !line.startsWith("#")) {
            env.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
          }
        }
        break;
      }
    }
    System.getenv()
        .forEach(
            (k, v) -> {
              if (k.startsWith("INFERMETER_")) {
                env.put(k, v);
              }
            });
    return env;
  }
}
