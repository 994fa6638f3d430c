package io.infermeter.collector;

import io.infermeter.schemas.TopicCreator;
import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.KafkaClientConfig;
import io.infermeter.schemas.config.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Command line of the collector: {@code ./infermeter collector --config collector.properties}.
 * Loads the configuration (defaults &lt; file &lt; INFERMETER_* environment &lt; system properties
 * &lt; --set), starts the {@link Collector} and runs until SIGTERM/SIGINT, then shuts down
 * gracefully (the JVM then exits with 143/130, as for any signal). Exit codes otherwise: 0 for
 * --help/--print-config, 2 for an invalid configuration, 1 when start-up fails.
 */
@Command(
    name = "infermeter collector",
    mixinStandardHelpOptions = true,
    version = "infermeter collector 0.1.0",
    description = {
      "Lightweight agent on inference hosts: takes per-request timings (OTLP/HTTP traces at /v1/traces, JSON lines at "
          + "/v1/requests, in-process Java API), samples GPU (NVML), CPU/memory (OSHI) and energy (RAPL or an "
          + "estimate), and publishes Avro events to Kafka with a disk spool for outages.",
      "Every setting can also be given as an environment variable: INFERMETER_ + the key upper-cased with dots as "
          + "underscores (kafka.bootstrap.servers -> INFERMETER_KAFKA_BOOTSTRAP_SERVERS). Keys: docs/COLLECTOR.md."
    })
public final class CollectorMain implements Callable<Integer> {

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      description = "Java properties file with the settings.")
  Path config;

  @Option(
      names = {"-s", "--set"},
      paramLabel = "KEY=VALUE",
      description = "Override one setting (highest precedence); repeatable.")
  Map<String, String> overrides = Map.of();

  @Option(names = "--print-config", description = "Print the effective configuration and exit.")
  boolean printConfig;

  @Option(
      names = "--strict",
      description = "Fail on an unknown setting instead of logging a warning.")
  boolean strict;

  private final CountDownLatch stopped = new CountDownLatch(1);

  public static void main(String[] args) {
    System.exit(new CommandLine(new CollectorMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    CollectorConfig cfg;
    Settings settings;
    try {
      settings =
          Settings.load(
                  CollectorConfig.defaults(),
                  Optional.ofNullable(config),
                  CollectorConfig.ENV_PREFIX,
                  System.getenv(),
                  System.getProperties())
              .with(overrides);
      cfg = CollectorConfig.from(settings);
      CollectorConfig.knownKeys().report(settings, strict);
      TopicCreator.Plan.from(settings); // an invalid topics.* setting is a configuration error too
    } catch (ConfigException e) {
      System.err.println("invalid configuration: " + e.getMessage());
      return 2;
    }
    if (printConfig) {
      System.out.print(
          settings.describe()); // every key, its value (secrets masked) and where it came from
      return 0;
    }
    // every topic before the first record: the broker does not auto-create them; at most 10 s while
    // Kafka is down,
    // then the creator keeps retrying in the background while the collector spools
    TopicCreator.inBackground(
            "collector",
            KafkaClientConfig.of(settings, Set.of()).admin(),
            settings,
            Duration.ofSeconds(5))
        .join(10_000);
    Collector collector;
    try {
      collector = Collector.start(cfg);
    } catch (java.io.IOException e) {
      System.err.println(
          "cannot start the collector: "
              + e
              + " (is another process on http.port "
              + cfg.httpPort()
              + " or metrics.port "
              + cfg.metricsPort()
              + "? change them with --set http.port=... or INFERMETER_HTTP_PORT)");
      return 1;
    }
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  collector.close();
                  stopped.countDown();
                },
                "infermeter-shutdown"));
    stopped.await();
    return 0;
  }
}
