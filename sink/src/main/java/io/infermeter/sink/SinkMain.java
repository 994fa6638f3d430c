package io.infermeter.sink;

import io.infermeter.schemas.TopicCreator;
import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.health.HealthHandler;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./infermeter sink [run|migrate] --config file}: the Kafka-to-ClickHouse sink. {@code run}
 * (the default) applies pending migrations (unless {@code clickhouse.migrate.on.start=false}),
 * serves Prometheus metrics and consumes until SIGTERM, then flushes its last batch. {@code
 * migrate} applies the migrations and exits.
 */
@Command(
    name = "sink",
    mixinStandardHelpOptions = true,
    version = "infermeter sink 0.1.0",
    description =
        "Writes window aggregates, energy, bottlenecks, alerts and dead letters from Kafka into ClickHouse "
            + "(exactly once in effect). Configuration: a properties file (--config), environment variables "
            + "INFERMETER_<KEY> (dots as underscores), system properties; keys in docs/SINK.md.",
    subcommands = {SinkMain.Run.class, SinkMain.Migrate.class})
public final class SinkMain implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(SinkMain.class);

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Java properties file with sink settings.")
  Path config;

  @Option(
      names = "--strict",
      scope = CommandLine.ScopeType.INHERIT,
      description = "Fail on an unknown setting instead of logging a warning.")
  boolean strict;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    return new CommandLine(new SinkMain())
        .setExecutionExceptionHandler(
            (e, cmd, parsed) -> {
              if (e instanceof ConfigException) {
                cmd.getErr().println("invalid configuration: " + e.getMessage());
                return 2;
              }
              LOG.error("sink failed", e);
              cmd.getErr()
                  .println(
                      "sink failed: "
                          + e
                          + (e instanceof java.sql.SQLException
                              ? " (is ClickHouse up at clickhouse.url? locally: ./infermeter stack start)"
                              : ""));
              return 1;
            });
  }

  @Override
  public Integer call() throws Exception {
    return new Run(this).call();
  }

  SinkConfig load(Path override) {
    Path file = override != null ? override : config;
    SinkConfig cfg =
        SinkConfig.load(Optional.ofNullable(file), System.getenv(), System.getProperties());
    cfg.reportUnknownKeys(strict);
    TopicCreator.Plan.from(
        cfg.settings()); // an invalid topics.* setting is a configuration error too
    return cfg;
  }

  @Command(
      name = "run",
      mixinStandardHelpOptions = true,
      description = "Consume and write until SIGTERM (the default command).")
  static final class Run implements Callable<Integer> {
    @CommandLine.ParentCommand SinkMain parent;

    @Option(
        names = "--config",
        paramLabel = "FILE",
        description = "Java properties file with sink settings.")
    Path config;

    Run() {}

    Run(SinkMain parent) {
      this.parent = parent;
    }

    @Override
    public Integer call() throws Exception {
      SinkConfig cfg = parent.load(config);
      LOG.info("starting the sink with\n{}", cfg.describe());
      PrometheusRegistry registry = new PrometheusRegistry();
      JvmMetrics.builder().register(registry);
      // /-/ready: after the migrations, while the consume-insert-commit loop runs
      AtomicReference<Sink> started = new AtomicReference<>();
      HealthHandler health =
          new HealthHandler(
              () ->
                  started.get() == null
                      ? "starting (ClickHouse migrations)"
                      : started.get().isRunning() ? null : "the sink loop has stopped");
      HTTPServer server =
          cfg.metricsPort() == 0
              ? null
              : HTTPServer.builder()
                  .hostname(cfg.metricsHost())
                  .port(cfg.metricsPort())
                  .registry(registry)
                  .defaultHandler(health)
                  .buildAndStart();
      if (server != null) {
        LOG.info(
            "metrics on http://{}:{}/metrics (health: /-/healthy, /-/ready)",
            cfg.metricsHost(),
            server.getPort());
      }
      // its topics may not exist yet when the sink starts first: the broker does not auto-create
      // topics
      TopicCreator.atStart("sink", cfg.adminOverrides(), cfg.settings());
      Sink sink = Sink.create(cfg, registry).start();
      started.set(sink);
      Thread hook =
          new Thread(
              () -> {
                LOG.info("shutting down: flushing the last batch");
                sink.close();
              },
              "infermeter-sink-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      sink.awaitTermination();
      if (server != null) {
        server.close();
      }
      return 0;
    }
  }

  @Command(
      name = "migrate",
      mixinStandardHelpOptions = true,
      description =
          "Apply the ClickHouse migrations (deploy/clickhouse/migrations) and exit; a no-op when up to date.")
  static final class Migrate implements Callable<Integer> {
    @CommandLine.ParentCommand SinkMain parent;

    @Option(
        names = "--config",
        paramLabel = "FILE",
        description = "Java properties file with sink settings.")
    Path config;

    @Override
    public Integer call() throws Exception {
      SinkConfig cfg = parent.load(config);
      List<Integer> applied = Sink.migrate(cfg);
      parent
          .out()
          .println(
              applied.isEmpty()
                  ? "schema of " + cfg.database() + " is up to date"
                  : "applied migrations " + applied + " to " + cfg.database());
      return 0;
    }
  }

  private java.io.PrintStream out() {
    return System.out;
  }
}
