package io.infermeter.streams;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.Settings;
import io.infermeter.schemas.health.HealthHandler;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.streams.support.StreamsCounters;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code infermeter streams}: loads the config, builds the topology, starts Kafka Streams and a
 * Prometheus /metrics endpoint, and closes cleanly on SIGTERM. Nothing else lives here.
 */
@Command(
    name = "infermeter streams",
    mixinStandardHelpOptions = true,
    description =
        "Kafka Streams app: window aggregates (percentiles, jitter, goodput, batching), energy/cost/carbon "
            + "attribution, bottlenecks and alerts. Config: --config file, env vars INFERMETER_<KEY> (dots as _), "
            + "-Dkey=value; see docs/STREAMS.md.")
public final class StreamsMain implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(StreamsMain.class);

  @Option(names = "--config", description = "Java properties file (keys in docs/STREAMS.md).")
  Path config;

  @Option(names = "--print-topology", description = "Print the topology description and exit.")
  boolean printTopology;

  @Option(
      names = "--strict",
      description = "Fail on an unknown setting instead of logging a warning.")
  boolean strict;

  public static void main(String[] args) {
    System.exit(new CommandLine(new StreamsMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    StreamsSettings settings;
    try {
      settings =
          StreamsSettings.from(
              Settings.load(
                  StreamsSettings.DEFAULTS,
                  Optional.ofNullable(config),
                  "INFERMETER_",
                  System.getenv(),
                  System.getProperties()));
      StreamsSettings.knownKeys().report(settings.raw(), strict);
      io.infermeter.schemas.TopicCreator.Plan.from(
          settings.raw()); // invalid topics.* settings fail here too
    } catch (ConfigException e) {
      System.err.println("invalid configuration: " + e.getMessage());
      return 2;
    }
    LOG.info("effective configuration:\n{}", settings.raw().describe());
    AvroSerdeConfig serdeConfig = AvroSerdeConfig.from(settings.serdeConfig());
    TopologySerdes serdes =
        TopologySerdes.of(new HttpSchemaRegistryClient(serdeConfig), serdeConfig);
    StreamsCounters counters = new StreamsCounters();
    Clock clock = Clock.systemUTC();
    Topology topology = InfermeterTopology.build(settings, serdes, counters, clock);
    if (printTopology) {
      System.out.println(topology.describe());
      return 0;
    }
    // whichever app starts first creates every topic (the broker does not auto-create them); off:
    // pre-created
    TopicBootstrap.createMissing(settings);
    String mismatch = TopicBootstrap.inputPartitionMismatch(settings);
    if (mismatch != null) {
      LOG.error("{}", mismatch);
      return 2;
    }
    int[] partitions = TopicBootstrap.inputPartitions(settings);
    if (settings.fleetUpstreamTasks() == 0 && partitions != null) {
      // one request task per partition: the fleet rollups wait for all of them on a first start
      settings =
          StreamsSettings.from(
              settings.raw().with(Map.of("windows.fleet.upstream.tasks", partitions[0])));
      topology = InfermeterTopology.build(settings, serdes, counters, clock);
    }
    KafkaStreams streams =
        new KafkaStreams(
            topology, InfermeterTopology.streamsProperties(settings, serdes, counters, clock));
    PrometheusRegistry registry = new PrometheusRegistry();
    registerMetrics(registry, streams, counters);
    JvmMetrics.builder().register(registry);
    // /-/ready: RUNNING only; REBALANCING, a restore, PENDING_ERROR and later states are not ready
    HTTPServer http =
        HTTPServer.builder()
            .hostname(settings.metricsHost())
            .port(settings.metricsPort())
            .registry(registry)
            .defaultHandler(
                new HealthHandler(
                    () ->
                        streams.state() == KafkaStreams.State.RUNNING
                            ? null
                            : "Kafka Streams state " + streams.state()))
            .buildAndStart();
    LOG.info(
        "metrics on http://{}:{}/metrics (health: /-/healthy, /-/ready)",
        settings.metricsHost(),
        http.getPort());
    CountDownLatch done = new CountDownLatch(1);
    streams.setUncaughtExceptionHandler(
        e -> {
          LOG.error("stream thread failed; replacing it", e);
          return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
              .StreamThreadExceptionResponse.REPLACE_THREAD;
        });
    streams.setStateListener(
        (now, before) -> {
          LOG.info("streams state {} -> {}", before, now);
          if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
            done.countDown();
          }
        });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  LOG.info("shutting down");
                  // leave the group so the remaining instances take over the partitions at once,
                  // not after session.timeout.ms
                  streams.close(
                      CloseOptions.timeout(Duration.ofSeconds(30))
                          .withGroupMembershipOperation(
                              CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
                  http.close();
                  done.countDown();
                },
                "streams-shutdown"));
    streams.start();
    try {
      done.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return streams.state() == KafkaStreams.State.ERROR ? 1 : 0;
  }

  static void registerMetrics(
      PrometheusRegistry registry, KafkaStreams streams, StreamsCounters c) {
    CounterWithCallback.builder()
        .name("infermeter_streams_late_records_total")
        .help("Records past window end + grace + allowed lateness, sent to dead letters")
        .callback(cb -> cb.call(c.lateRecords.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_late_corrected_total")
        .help("Late records applied to a closed window within the allowed lateness (a correction)")
        .callback(cb -> cb.call(c.lateCorrected.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_in_flight_dropped_total")
        .help(
            "Parts of a request's in-flight time in an earlier energy window that arrived after"
                + " its allowed lateness (not counted as busy time)")
        .callback(cb -> cb.call(c.inFlightDropped.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_carbon_updates_refused_total")
        .help(
            "Carbon-intensity updates refused (no region, or an intensity outside 0..5000"
                + " gCO2e/kWh, or a negative effective time)")
        .callback(cb -> cb.call(c.carbonUpdatesRefused.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_energy_gaps_spread_total")
        .help(
            "Intervals between two samples of a device longer than energy.gap.spread.after, whose"
                + " energy was spread over the windows they span")
        .callback(cb -> cb.call(c.energyGapsSpread.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_energy_gap_parts_dropped_total")
        .help(
            "Parts of a spread interval that fell in windows past their allowed lateness (energy"
                + " not booked)")
        .callback(cb -> cb.call(c.energyGapPartsDropped.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_windows_corrected_total")
        .help("Closed windows changed by late records (once per correction round)")
        .callback(cb -> cb.call(c.windowsCorrected.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_corrections_emitted_total")
        .help("Corrected windows re-emitted as a new version")
        .callback(cb -> cb.call(c.correctionsEmitted.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_idle_advances_total")
        .help(
            "Times an idle request task moved its stream time on by the wall clock (windows.idle.timeout)")
        .callback(cb -> cb.call(c.idleAdvances.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_future_clamped_total")
        .help("Records more than windows.max.future ahead of the wall clock (stream time clamped)")
        .callback(cb -> cb.call(c.futureClamped.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_dead_letters_total")
        .help("Records sent to the dead-letter topic, by reason")
        .labelNames("reason")
        .callback(cb -> c.deadLetters().forEach((r, v) -> cb.call(v.sum(), r)))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_duplicates_total")
        .help("Re-sent request events dropped by event id")
        .callback(cb -> cb.call(c.duplicates.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_key_cap_folded_total")
        .help("Requests folded into the 'other' key by the key cap")
        .callback(cb -> cb.call(c.keyCapFolded.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_energy_counter_resets_total")
        .help("Negative energy counter deltas dropped")
        .callback(cb -> cb.call(c.counterResets.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_windows_emitted_total")
        .help("Window aggregates emitted")
        .callback(cb -> cb.call(c.windowsEmitted.sum()))
        .register(registry);
    CounterWithCallback.builder()
        .name("infermeter_streams_punctuation_seconds_total")
        .help("Time spent in punctuators")
        .callback(cb -> cb.call(c.punctuationNanos.sum() / 1e9))
        .register(registry);
    LimitMetrics.register(registry, c);
    GaugeWithCallback.builder()
        .name("infermeter_streams_state")
        .help("Kafka Streams state (1 for the current state)")
        .labelNames("state")
        .callback(cb -> cb.call(1, streams.state().name()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("infermeter_streams_consumer_lag_records")
        .help("Max consumer lag over the app's partitions (Kafka Streams records-lag-max)")
        .callback(cb -> cb.call(maxMetric(streams, "records-lag-max")))
        .register(registry);
  }

  private static double maxMetric(KafkaStreams streams, String name) {
    double max = 0;
    for (java.util.Map.Entry<MetricName, ? extends Metric> e : streams.metrics().entrySet()) {
      if (e.getKey().name().equals(name)
          && e.getValue().metricValue() instanceof Number n
          && !Double.isNaN(n.doubleValue())) {
        max = Math.max(max, n.doubleValue());
      }
    }
    return max;
  }
}
