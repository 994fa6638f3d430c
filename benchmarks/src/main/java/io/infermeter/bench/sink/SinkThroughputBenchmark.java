package io.infermeter.bench.sink;

import io.infermeter.avro.LatencyStats;
import io.infermeter.avro.SloAttainment;
import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.sink.SinkConfig;
import io.infermeter.sink.internal.ClickHouseWriter;
import io.infermeter.sink.internal.MigrationRunner;
import io.infermeter.sink.internal.RowMappers;
import io.infermeter.sink.internal.SinkFactory;
import io.infermeter.sink.internal.SinkLoop;
import io.infermeter.sink.internal.SinkMetrics;
import io.infermeter.sink.internal.Table;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Sink throughput against its ceiling, in one run on the real local Kafka and ClickHouse:
 *
 * <ol>
 *   <li>ceiling: the same rows the sink would write, inserted with plain clickhouse-jdbc batches
 *       (the sink's {@link ClickHouseWriter}, batch size {@code batch.max.rows}), no Kafka, no Avro
 *       decoding;
 *   <li>sink: the records produced to a fresh topic first (not timed), then a fresh {@link
 *       SinkLoop} consumes them from the beginning; timed from the loop's start (group join
 *       included) to the last row acknowledged by ClickHouse.
 * </ol>
 *
 * <p>Usage: {@code java -cp 'benchmarks/target/infermeter-benchmarks.jar:benchmarks/target/lib/*'
 * io.infermeter.bench.sink.SinkThroughputBenchmark [records] [batchRows] [rounds] [jdbcProps]}
 * (defaults 100000, 10000, 3, none; jdbcProps: comma-separated clickhouse-jdbc properties for both
 * phases, e.g. {@code beta.row_binary_for_simple_insert=true}). Server addresses come from
 * .local-stack/stack.env or INFERMETER_* environment variables. Each phase uses its own database,
 * dropped at the end.
 */
public final class SinkThroughputBenchmark {

  private static String jdbcProperties = "";

  private SinkThroughputBenchmark() {}

  public static void main(String[] args) throws Exception {
    int records = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int batchRows = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    // e.g. beta.row_binary_for_simple_insert=true: clickhouse-jdbc properties for both phases
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    jdbcProperties = args.length > 3 ? args[3] : "";
    Map<String, String> env = stackEnv();
    String kafka = env.getOrDefault("INFERMETER_KAFKA_BOOTSTRAP", "127.0.0.1:9092");
    String registry =
        env.getOrDefault("INFERMETER_SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7");
    String chUrl =
        env.getOrDefault("INFERMETER_CLICKHOUSE_URL", "jdbc:clickhouse://127.0.0.1:8123/default")
            .replaceAll("/default.*$", "");
    String run = UUID.randomUUID().toString().replace("-", "").substring(0, 10);

    List<WindowAggregate> data = generate(records, new Random(1));
    System.out.printf(
        "records: %d window aggregates per round (%d rows: 1 window_aggregates + 1 window_latency "
            + "each), batch.max.rows=%d, rounds=%d, jdbc properties: [%s]%n",
        records, 2 * records, batchRows, rounds, jdbcProperties);
    SinkConfig ceilingConfig =
        config(kafka, registry, chUrl, "bench_ceiling_" + run, "", batchRows);
    ceiling(
        ceilingConfig,
        data.subList(0, Math.min(data.size(), 20_000)),
        batchRows); // JIT warm-up, untimed

    // Load on a shared 2-core machine drifts, so ceiling and sink alternate in rounds and each
    // round compares its
    // own pair; the median ratio is the result.
    List<Double> ratios = new ArrayList<>();
    for (int round = 1; round <= rounds; round++) {
      double ceilingSeconds = ceiling(ceilingConfig, data, batchRows);
      double ceilingRate = records / ceilingSeconds;
      double sinkRate = sinkRound(kafka, registry, chUrl, run + "r" + round, data, batchRows);
      double ratio = sinkRate / ceilingRate;
      ratios.add(ratio);
      System.out.printf(
          "round %d: ceiling (plain JDBC batches, no Kafka) %.0f records/s (%.0f rows/s); "
              + "sink (Kafka -> Avro -> JDBC -> commit) %.0f records/s (%.0f rows/s); sink/ceiling %.1f %%%n",
          round, ceilingRate, 2 * ceilingRate, sinkRate, 2 * sinkRate, 100 * ratio);
    }
    List<Double> sorted = new ArrayList<>(ratios);
    java.util.Collections.sort(sorted);
    System.out.printf(
        "median sink/ceiling over %d rounds = %.1f %% (target >= 70 %%)%n",
        rounds, 100 * sorted.get(sorted.size() / 2));
  }

  /**
   * Produces {@code data} to a fresh topic (untimed), then times a fresh sink loop over it; records
   * per second.
   */
  private static double sinkRound(
      String kafka,
      String registry,
      String chUrl,
      String run,
      List<WindowAggregate> data,
      int batchRows)
      throws Exception {
    int records = data.size();
    String prefix = "bench-" + run + "-";
    String topic = Topics.WINDOW_AGGREGATES.withPrefix(prefix).name();
    String dlq = Topics.DEAD_LETTERS.withPrefix(prefix).name();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka))) {
      // historic event times: keep the records from the broker's 7-day retention check (every 5
      // min)
      Map<String, String> keep = Map.of("retention.ms", "-1");
      admin
          .createTopics(
              List.of(
                  new NewTopic(topic, 3, (short) 1).configs(keep),
                  new NewTopic(dlq, 1, (short) 1).configs(keep)))
          .all()
          .get();
      try {
        produce(kafka, registry, topic, data);
        SinkConfig sinkConfig =
            config(kafka, registry, chUrl, "bench_sink_" + run, prefix, batchRows);
        try (ClickHouseWriter writer = SinkFactory.writer(sinkConfig)) {
          MigrationRunner.fromClasspath()
              .migrate(writer.connection(), SinkFactory.placeholders(sinkConfig));
          SinkMetrics metrics = new SinkMetrics(new PrometheusRegistry());
          SinkLoop loop = SinkFactory.loop(sinkConfig, metrics, Clock.systemUTC());
          Thread thread = new Thread(loop, "bench-sink");
          long launched = System.nanoTime();
          thread.start();
          long done;
          try {
            while (metrics.rowsWritten("window_latency") < records
                || metrics.rowsWritten("window_aggregates") < records) {
              if ((System.nanoTime() - launched) / 1e9 > 100) {
                throw new IllegalStateException(
                    "sink did not finish within 100 s: wrote "
                        + metrics.rowsWritten("window_aggregates")
                        + " aggregate rows of "
                        + records
                        + ", consumed "
                        + metrics.recordsConsumedTotal()
                        + " records, "
                        + metrics.batches()
                        + " batches, "
                        + metrics.retries()
                        + " retries");
              }
              Thread.sleep(1);
            }
            done = System.nanoTime();
          } finally {
            loop.stop();
            thread.join(30_000);
          }
          drop(writer, sinkConfig.database());
          // Timed from the loop's start, so the consumer group join counts against the sink
          // (conservative).
          double seconds = (done - launched) / 1e9;
          System.out.printf(
              "  sink: %.2f s including the group join, of which %.2f s in JDBC inserts, %d batches%n",
              seconds, metrics.insertSecondsTotal(), (long) metrics.batches());
          return records / seconds;
        }
      } finally {
        admin.deleteTopics(List.of(topic, dlq)).all().get();
      }
    }
  }

  /**
   * Inserts the rows of {@code data} with plain JDBC batches into a fresh database; returns the
   * seconds taken.
   */
  private static double ceiling(SinkConfig config, List<WindowAggregate> data, int batchRows)
      throws Exception {
    try (ClickHouseWriter writer = SinkFactory.writer(config)) {
      drop(writer, config.database());
      MigrationRunner.fromClasspath()
          .migrate(writer.connection(), SinkFactory.placeholders(config));
      Map<Table, List<Object[]>> pending = new EnumMap<>(Table.class);
      int[] rows = {0};
      long start = System.nanoTime();
      long offset = 0;
      for (WindowAggregate w : data) {
        RowMappers.windowAggregate(
            w,
            0,
            offset++,
            (t, row) -> {
              pending.computeIfAbsent(t, k -> new ArrayList<>()).add(row);
              rows[0]++;
            });
        if (rows[0] >= batchRows) {
          flush(writer, pending);
          rows[0] = 0;
        }
      }
      flush(writer, pending);
      double seconds = (System.nanoTime() - start) / 1e9;
      drop(writer, config.database());
      return seconds;
    }
  }

  private static void flush(ClickHouseWriter writer, Map<Table, List<Object[]>> pending)
      throws Exception {
    for (Map.Entry<Table, List<Object[]>> e : pending.entrySet()) {
      writer.insert(e.getKey(), e.getValue());
    }
    pending.clear();
  }

  private static void drop(ClickHouseWriter writer, String database) throws Exception {
    try (Statement st = writer.connection().createStatement()) {
      st.execute("DROP DATABASE IF EXISTS " + database);
    }
  }

  private static SinkConfig config(
      String kafka, String registry, String chUrl, String database, String prefix, int batchRows) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("kafka.bootstrap.servers", kafka);
    m.put("schema.registry.url", registry);
    m.put("clickhouse.url", chUrl);
    m.put("clickhouse.database", database);
    m.put("topic.prefix", prefix);
    m.put("sink.topics", "window-aggregates,dead-letters");
    m.put(
        "raw.requests.enabled",
        false); // aggregates only, as the figures in docs/BENCHMARKS.md were measured
    m.put("kafka.group.id", "bench-" + database);
    m.put("batch.max.rows", batchRows);
    m.put("metrics.port", 0);
    for (String kv : jdbcProperties.split(",", -1)) {
      if (kv.contains("=")) {
        m.put(
            "clickhouse.jdbc." + kv.substring(0, kv.indexOf('=')),
            kv.substring(kv.indexOf('=') + 1));
      }
    }
    return SinkConfig.fromMap(m);
  }

  private static void produce(
      String kafka, String registry, String topic, List<WindowAggregate> data) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    AvroSerdeConfig serde =
        AvroSerdeConfig.from(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry));
    java.util.concurrent.atomic.AtomicReference<Exception> failure =
        new java.util.concurrent.atomic.AtomicReference<>();
    try (KafkaProducer<String, WindowAggregate> producer =
        new KafkaProducer<>(
            p,
            new StringSerializer(),
            new AvroSerializer<>(new HttpSchemaRegistryClient(serde), serde, false))) {
      int i = 0;
      for (WindowAggregate w : data) {
        // the callback sees the outcome; the future would only repeat it
        Future<RecordMetadata> unused =
            producer.send(
                new ProducerRecord<>(topic, w.getHost() + "|" + i++, w),
                (md, e) -> {
                  if (e != null) {
                    failure.compareAndSet(null, e);
                  }
                });
      }
      producer.flush();
    }
    // A record missing from the topic would make the sink phase wait forever: fail here, loudly.
    if (failure.get() != null) {
      throw new IllegalStateException(
          "producing the benchmark records failed; rerun", failure.get());
    }
  }

  /**
   * Realistic aggregates: 40 hosts x 4 models, an e2e histogram of ~60 non-empty buckets, two SLO
   * classes.
   */
  static List<WindowAggregate> generate(int count, Random random) {
    List<WindowAggregate> out = new ArrayList<>(count);
    long t0 = 1_790_000_000_000_000L;
    for (int i = 0; i < count; i++) {
      int buckets = 40 + random.nextInt(40);
      List<Long> values = new ArrayList<>(buckets);
      List<Long> counts = new ArrayList<>(buckets);
      long v = 1000L + random.nextInt(1000);
      long total = 0;
      for (int b = 0; b < buckets; b++) {
        v += 1 + random.nextInt(v > 2048 ? (int) (v / 50) : 20);
        values.add(v);
        long c = 1L + random.nextInt(20);
        counts.add(c);
        total += c;
      }
      LatencyStats e2e =
          LatencyStats.newBuilder()
              .setMetric("e2e")
              .setCohort("warm")
              .setCount(total)
              .setMinUs(values.get(0))
              .setMaxUs(v)
              .setMeanUs(v / 2.0)
              .setStddevUs(v / 10.0)
              .setP50Us(values.get(buckets / 2))
              .setP90Us(values.get(buckets * 9 / 10))
              .setP95Us(values.get(buckets * 95 / 100))
              .setP99Us(values.get(buckets - 1))
              .setP999Us(v)
              .setBucketValuesUs(values)
              .setBucketCounts(counts)
              .build();
      long start = t0 + (i / 160) * 10_000_000L;
      out.add(
          WindowAggregate.newBuilder()
              .setWindowStartUs(start)
              .setWindowEndUs(start + 10_000_000L)
              .setWindowSizeMs(10_000)
              .setScope("host")
              .setCluster("c1")
              .setRegion("eu-west")
              .setHost("host-" + (i % 40))
              .setModel("model-" + (i / 40 % 4))
              .setModelVersion("v1")
              .setGpuType("H100")
              .setRequests(total)
              .setOk(total)
              .setErrors(0)
              .setTimeouts(0)
              .setCancelled(0)
              .setColdStarts(0)
              .setErrorsByType(Map.of())
              .setQps(total / 10.0)
              .setInputTokens(total * 200)
              .setOutputTokens(total * 100)
              .setOutputTokensPerSec(total * 10.0)
              .setBusyTimeUs(total * 50_000)
              .setOutputTokensPerBusySec(2000.0)
              .setLatencies(List.of(e2e))
              .setJitter(List.of())
              .setSlo(
                  List.of(
                      SloAttainment.newBuilder()
                          .setSloClass("interactive")
                          .setRequests(total)
                          .setGood(total - 1)
                          .setGoodputRps(total / 10.0)
                          .setAttainmentPct(99.0)
                          .build()))
              .setBatching(null)
              .build());
    }
    return out;
  }

  private static Map<String, String> stackEnv() throws Exception {
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
