package io.infermeter.demo;

import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.demo.sim.FleetSimulator;
import io.infermeter.demo.sim.FleetSpec;
import io.infermeter.demo.sim.Incident;
import io.infermeter.demo.sim.Scenario;
import io.infermeter.schemas.TopicSpec;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The main job's driver: with the collector, streams app and sink already running (./infermeter
 * demo starts them), it replays a simulated fleet through the pipeline and reads the result back
 * from ClickHouse.
 *
 * <ol>
 *   <li>backfill: {@code --duration} seconds of SIMULATED traffic ending now, as fast as the
 *       pipeline takes it; requests go to the collector's JSON-lines endpoint, simulated GPU
 *       samples straight to the hardware topic (the collector samples only its own host) and
 *       simulated vLLM engine state, every 5 s, to the engine-state topic (as the collector's
 *       scrape of each instance would publish it);
 *   <li>live: {@code --live} more seconds in real time, so the last windows close and silent hosts
 *       are noticed;
 *   <li>drain: wait until ClickHouse holds every request of the run's closed windows;
 *   <li>summary: fleet percentiles, cost, energy, carbon and alerts from the shipped SQL views.
 * </ol>
 *
 * A progress line is printed every 2 s.
 */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description =
        "Drive a simulated fleet through a running collector, streams app and sink; print a summary "
            + "from ClickHouse.")
final class RunCommand implements Callable<Integer> {

  private static final DateTimeFormatter CH_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);

  @Option(
      names = "--duration",
      defaultValue = "300",
      description = "Simulated seconds to backfill (default: ${DEFAULT-VALUE}).")
  long durationSeconds;

  @Option(
      names = "--live",
      defaultValue = "100",
      description = "Real-time seconds after the backfill (default: ${DEFAULT-VALUE}).")
  long liveSeconds;

  @Option(
      names = "--silent-host",
      defaultValue = "60",
      description =
          "Seconds one host stays silent during the live phase, from its 10th second; 0 = none; must exceed "
              + "the streams app's alerts.host.silent.after (default: ${DEFAULT-VALUE}).")
  long silentHostSeconds;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "Simulator seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--speed",
      defaultValue = "10",
      description =
          "Backfill pace as a multiple of real time (default: ${DEFAULT-VALUE}). Faster replays turn the "
              + "pipeline's wall-clock delays (commit intervals, repartitions) into event-time skew beyond the streams "
              + "app's grace, and late records go to the dead-letter topic.")
  double speed;

  @Option(
      names = "--summary-lag",
      defaultValue = "80",
      description =
          "Seconds before the end of the run that the summary stops: windows that recent are still open in "
              + "the streams app (default: ${DEFAULT-VALUE}).")
  long summaryLagSeconds;

  @Option(
      names = "--collector",
      defaultValue = "http://127.0.0.1:4318",
      description = "Collector base URL (default: ${DEFAULT-VALUE}).")
  String collectorUrl;

  @Option(
      names = "--on-live",
      defaultValue = "",
      description =
          "Shell command run once when the live phase starts (./infermeter demo starts the collector "
              + "that samples this host's hardware there).")
  String onLive;

  @Option(
      names = "--no-summary",
      description = "Skip the summary (tests read ClickHouse themselves).")
  boolean noSummary;

  @Option(
      names = "--database",
      defaultValue = "infermeter",
      description = "ClickHouse database of the sink (default: ${DEFAULT-VALUE}).")
  String database;

  @Option(
      names = "--topic-prefix",
      defaultValue = "",
      description = "Topic prefix the pipeline was started with.")
  String topicPrefix;

  @Option(
      names = "--batch",
      defaultValue = "500",
      description = "Requests per HTTP post to the collector (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(
      names = "--drain-timeout",
      defaultValue = "180",
      description = "Seconds to wait for ClickHouse to catch up (default: ${DEFAULT-VALUE}).")
  long drainTimeoutSeconds;

  /** Sees every request the collector accepted (tests compare ClickHouse against it). */
  java.util.function.Consumer<RequestEvent> sentListener = e -> {};

  /** The run's time range and incidents, set once {@link #call()} has run. */
  long startUs;

  long backfillEndUs;

  /**
   * The whole closed 10 s windows the summary (and the drain check) covers, [summaryStart,
   * summaryEndUs).
   */
  long summaryStart;

  long summaryEndUs;
  private final List<Long> completions = new ArrayList<>();

  /** Whether ClickHouse counted every request of the summary range. */
  boolean drained;

  List<Incident> incidents = List.of();

  private final AtomicLong requestsSent = new AtomicLong();
  private final AtomicLong requestsRejected = new AtomicLong();
  private final AtomicLong samplesSent = new AtomicLong();
  private final AtomicLong engineSamplesSent = new AtomicLong();

  /**
   * Event time a run must cover beyond --summary-lag, seconds: the summary starts at the first
   * whole 10 s window and ends at a window boundary, so this leaves at least one closed window.
   */
  static final long MIN_SUMMARY_SECONDS = 20;

  /** Seconds between two engine samples of an instance (a scrape interval). */
  private static final long ENGINE_EVERY_S = 5;

  @Override
  public Integer call() throws Exception {
    if (durationSeconds + liveSeconds < summaryLagSeconds + MIN_SUMMARY_SECONDS) {
      System.err.printf(
          "infermeter demo: --duration (%d s) + --live (%d s) must be at least --summary-lag (%d s)"
              + " + %d s: the summary covers whole 10 s windows that have closed, and this run would"
              + " leave none; raise --duration or lower --summary-lag%n",
          durationSeconds, liveSeconds, summaryLagSeconds, MIN_SUMMARY_SECONDS);
      return 2;
    }
    DemoEnvironment env = DemoEnvironment.resolve();
    long durationUs = durationSeconds * 1_000_000L;
    startUs = Instant.now().toEpochMilli() * 1000 - durationUs;
    backfillEndUs = startUs + durationUs;
    FleetSpec fleet = FleetSpec.defaultFleet();
    incidents = new ArrayList<>(Scenario.incidents(fleet, startUs, durationUs));
    FleetSimulator simulator = new FleetSimulator(fleet, incidents, seed, startUs);
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    System.out.printf(
        "infermeter demo: %d hosts, %d models, SIMULATED fleet (source=simulated), %d s backfill + %d s live%n",
        fleet.hosts().size(), fleet.models().size(), durationSeconds, liveSeconds);
    for (Incident i : incidents) {
      System.out.printf(
          "  scripted incident %-18s on %-40s from +%ds to +%ds%n",
          i.kind(),
          i.target(),
          (i.fromUs() - startUs) / 1_000_000,
          (i.toUs() - startUs) / 1_000_000);
    }

    try (Connection ch = DriverManager.getConnection(env.clickhouseJdbcUrl(), "default", "");
        KafkaProducer<String, HardwareSample> samples = avroProducer(env);
        KafkaProducer<String, EngineSample> engines = avroProducer(env)) {
      Progress progress = new Progress(ch);
      AtomicReference<Exception> sendFailure = new AtomicReference<>();
      List<String> pending = new ArrayList<>();
      List<RequestEvent> pendingEvents = new ArrayList<>();
      long lastProgressNanos = 0;
      long t = startUs;
      long wallStartMs = Instant.now().toEpochMilli();
      long liveStartUs = Long.MAX_VALUE;
      long liveEndUs = Long.MAX_VALUE;
      boolean hookPending = !onLive.isBlank();
      while (t + 1_000_000L <= liveEndUs) {
        t += 1_000_000L;
        if (t > backfillEndUs && liveStartUs == Long.MAX_VALUE) {
          // The backfill took some wall time: catch up with the wall clock at full speed, then go
          // live, so that
          // simulated data and the host's own (real-time) samples share one clock in the streams
          // app.
          liveStartUs = Instant.now().toEpochMilli() * 1000;
          liveEndUs = liveStartUs + liveSeconds * 1_000_000L;
          if (silentHostSeconds > 0) {
            Incident silent =
                Scenario.silentHost(
                    fleet,
                    liveStartUs + 10_000_000L,
                    liveStartUs + 10_000_000L + silentHostSeconds * 1_000_000L);
            simulator.addIncident(silent);
            incidents.add(silent);
            System.out.printf(
                "  backfill done; catching up %d s to the wall clock, then live for %d s; %s silent "
                    + "from +%ds to +%ds of the live phase%n",
                (liveStartUs - backfillEndUs) / 1_000_000,
                liveSeconds,
                silent.target(),
                10,
                10 + silentHostSeconds);
          } else {
            System.out.printf(
                "  backfill done; catching up %d s to the wall clock, then live for %d s%n",
                (liveStartUs - backfillEndUs) / 1_000_000, liveSeconds);
          }
        }
        if (t <= backfillEndUs && speed > 0) {
          long dueMs = wallStartMs + (long) ((t - startUs) / 1000.0 / speed);
          long waitMs = dueMs - Instant.now().toEpochMilli();
          if (waitMs > 0) {
            Thread.sleep(waitMs);
          }
        }
        if (t > liveStartUs) {
          if (hookPending) {
            hookPending = false;
            runHook();
          }
          long waitMs = t / 1000 - Instant.now().toEpochMilli();
          if (waitMs > 0) {
            Thread.sleep(waitMs);
          }
        }
        for (RequestEvent e : simulator.requestsCompletedBefore(t)) {
          pending.add(RequestJson.line(e));
          pendingEvents.add(e);
          if (pending.size() >= batchSize) {
            post(http, pending, pendingEvents);
          }
        }
        post(http, pending, pendingEvents);
        for (HardwareSample s : simulator.samplesAt(t, 1_000_000L)) {
          send(
              samples,
              Topics.HARDWARE,
              s.getTimestampUs(),
              s.getHost() + "/" + s.getDeviceId(),
              s,
              sendFailure);
          samplesSent.incrementAndGet();
        }
        if ((t - startUs) / 1_000_000L % ENGINE_EVERY_S == 0) {
          for (EngineSample s : simulator.engineSamplesAt(t, ENGINE_EVERY_S * 1_000_000L)) {
            send(engines, Topics.ENGINE_STATE, s.getTimestampUs(), s.getHost(), s, sendFailure);
            engineSamplesSent.incrementAndGet();
          }
        }
        if (sendFailure.get() != null) {
          throw sendFailure.get();
        }
        if (System.nanoTime() - lastProgressNanos > 2_000_000_000L) {
          lastProgressNanos = System.nanoTime();
          System.out.println(
              progress.line(
                  t <= backfillEndUs
                      ? String.format(
                          "backfill +%ds/%ds", (t - startUs) / 1_000_000, durationSeconds)
                      : t <= liveStartUs
                          ? "catching up"
                          : String.format(
                              "live +%ds/%ds", (t - liveStartUs) / 1_000_000, liveSeconds)));
        }
      }
      samples.flush();
      engines.flush();

      // Windows close only as event time moves on; once the run stops sending, the last ones stay
      // open (device
      // windows wait grace + energy.join.delay). The summary covers whole 10 s windows that have
      // closed.
      summaryEndUs = (liveEndUs - summaryLagSeconds * 1_000_000L) / 10_000_000L * 10_000_000L;
      long summaryStartUs = (startUs / 10_000_000L + 1) * 10_000_000L;
      summaryStart = summaryStartUs;
      String from = CH_TIME.format(Instant.ofEpochMilli(summaryStartUs / 1000));
      String to = CH_TIME.format(Instant.ofEpochMilli(summaryEndUs / 1000));
      long expected =
          completions.stream().filter(c -> c >= summaryStartUs && c < summaryEndUs).count();
      drain(ch, progress, from, to, expected);
      double pipelineSeconds = (Instant.now().toEpochMilli() - wallStartMs) / 1000.0;
      System.out.printf(
          "  pipeline: %,d requests from the first post to all counted in ClickHouse in %.1f s "
              + "(%,.0f requests/s end to end, backfill pace %s)%n",
          expected,
          pipelineSeconds,
          expected / pipelineSeconds,
          speed > 0 ? speed + "x real time" : "unlimited");
      if (liveSeconds >= 30) {
        freshness(
            ch,
            CH_TIME.format(Instant.ofEpochMilli(liveStartUs / 1000)),
            CH_TIME.format(Instant.ofEpochMilli((liveEndUs - 20_000_000L) / 1000)));
      }
      if (!noSummary) {
        new Summary(ch, database).print(from, to, collectorUrl, env.clickhouseJdbcUrl());
      }
    }
    return requestsRejected.get() == 0 && drained ? 0 : 1;
  }

  private void runHook() throws Exception {
    Process p = new ProcessBuilder("bash", "-c", onLive).inheritIO().start();
    int rc = p.waitFor();
    if (rc != 0) {
      throw new IllegalStateException(
          "--on-live command failed with exit code " + rc + ": " + onLive);
    }
  }

  /**
   * Sends {@code value} to {@code topic} (with this run's prefix) at {@code timestampUs}; the first
   * failure any send reports is kept in {@code failure}, which the loop checks after each step.
   */
  private <T extends org.apache.avro.specific.SpecificRecord> void send(
      KafkaProducer<String, T> producer,
      TopicSpec<T> topic,
      long timestampUs,
      String key,
      T value,
      AtomicReference<Exception> failure) {
    // the callback sees the outcome; the future would only repeat it
    Future<RecordMetadata> unused =
        producer.send(
            new ProducerRecord<>(
                topic.withPrefix(topicPrefix).name(), null, timestampUs / 1000, key, value),
            (md, ex) -> {
              if (ex != null) {
                failure.compareAndSet(null, ex);
              }
            });
  }

  private static <T extends org.apache.avro.specific.SpecificRecord>
      KafkaProducer<String, T> avroProducer(DemoEnvironment env) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, env.kafkaBootstrap());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "20");
    AvroSerdeConfig config =
        AvroSerdeConfig.from(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, env.schemaRegistryUrl()));
    return new KafkaProducer<>(
        props,
        new StringSerializer(),
        new AvroSerializer<>(new HttpSchemaRegistryClient(config), config, false));
  }

  private void post(HttpClient http, List<String> lines, List<RequestEvent> events)
      throws Exception {
    if (lines.isEmpty()) {
      return;
    }
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(collectorUrl + "/v1/requests"))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/x-ndjson")
            .POST(HttpRequest.BodyPublishers.ofString(String.join("\n", lines)))
            .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() == 200) {
      requestsSent.addAndGet(lines.size());
      events.forEach(sentListener);
      events.forEach(e -> completions.add(e.getCompletedUs()));
    } else {
      requestsRejected.addAndGet(lines.size());
      System.err.println(
          "collector answered "
              + response.statusCode()
              + ": "
              + response.body().lines().limit(5).toList());
    }
    lines.clear();
    events.clear();
  }

  /**
   * Waits until ClickHouse counts every accepted request of the summary range (event time =
   * completion time, as the streams app windows them), or the timeout passes; says which.
   */
  private void drain(Connection ch, Progress progress, String from, String to, long expected)
      throws Exception {
    String sql =
        "SELECT sum(requests) FROM "
            + database
            + ".window_aggregates FINAL WHERE scope = 'host' "
            + "AND window_size_ms = 10000 AND window_start >= '"
            + from
            + "' AND window_start < '"
            + to
            + "'";
    long deadline = System.nanoTime() + drainTimeoutSeconds * 1_000_000_000L;
    long counted = scalar(ch, sql);
    while (counted != expected && System.nanoTime() < deadline) {
      System.out.println(progress.line(String.format("draining: %,d of %,d", counted, expected)));
      Thread.sleep(2000);
      counted = scalar(ch, sql);
    }
    drained = counted == expected;
    System.out.printf(
        "  %s: %,d requests sent with completion in [%s, %s), %,d counted in ClickHouse%n",
        drained ? "conserved" : "NOT conserved (timed out)", expected, from, to, counted);
  }

  /**
   * How long after a window ends its row is visible in ClickHouse, for the live phase's host
   * windows (event time is the wall clock there): window end to the sink's insert ({@code
   * ingested_at}). A request's own freshness adds its position in the window (0-10 s).
   */
  private void freshness(Connection ch, String liveFrom, String to) throws SQLException {
    // The first version of each window: a correction (a late record re-emitting a closed window) is
    // newer by design.
    String sql =
        "SELECT count(), quantileExact(0.5)(d), quantileExact(0.99)(d), max(d) FROM (SELECT "
            + "dateDiff('millisecond', any(window_end), min(ingested_at)) AS d FROM "
            + database
            + ".window_aggregates "
            + "WHERE scope = 'host' AND window_size_ms = 10000 AND window_start >= '"
            + liveFrom
            + "' AND window_start < '"
            + to
            + "' GROUP BY window_start, cluster, region, host, model, model_version, gpu_type)";
    try (Statement st = ch.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      if (rs.next() && rs.getLong(1) > 0) {
        System.out.printf(
            "  freshness (live phase, %d host windows of 10 s): window end -> row in ClickHouse p50 %.1f s,"
                + " p99 %.1f s, max %.1f s%n",
            rs.getLong(1), rs.getLong(2) / 1000.0, rs.getLong(3) / 1000.0, rs.getLong(4) / 1000.0);
      }
    }
  }

  static long scalar(Connection ch, String sql) throws SQLException {
    try (Statement st = ch.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  /** The live progress line: events in, windows out, rows in ClickHouse, alerts. */
  private final class Progress {
    private final Connection ch;

    Progress(Connection ch) {
      this.ch = ch;
    }

    String line(String phase) {
      String rows;
      String alerts;
      try {
        rows =
            String.format(
                "%,d window rows",
                scalar(ch, "SELECT count() FROM " + database + ".window_aggregates"));
        alerts =
            String.format(
                "%,d alerts firing / %,d resolved",
                scalar(
                    ch, "SELECT count() FROM " + database + ".alerts FINAL WHERE state = 'FIRING'"),
                scalar(
                    ch,
                    "SELECT count() FROM " + database + ".alerts FINAL WHERE state = 'RESOLVED'"));
      } catch (SQLException e) {
        rows = "ClickHouse not answering (" + e.getMessage() + ")";
        alerts = "";
      }
      return String.format(
          "  %-22s | in: %,d requests, %,d GPU samples, %,d engine samples | ClickHouse: %s | %s",
          phase, requestsSent.get(), samplesSent.get(), engineSamplesSent.get(), rows, alerts);
    }
  }
}
