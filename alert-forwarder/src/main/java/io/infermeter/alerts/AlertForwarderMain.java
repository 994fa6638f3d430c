package io.infermeter.alerts;

import com.sun.net.httpserver.HttpExchange;
import io.infermeter.schemas.TopicCreator;
import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.KafkaClientConfig;
import io.infermeter.schemas.config.Settings;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./infermeter alerts --config file}: forwards the alerts topic to Alertmanager until
 * SIGTERM. Serves {@code /metrics}, {@code /-/healthy} (200 while the process serves) and {@code
 * /-/ready} (200 once partitions are assigned and the firing alerts rebuilt, 503 before and after)
 * on {@code metrics.host:metrics.port}. Exit codes: 0 for --help/--print-config and after SIGTERM,
 * 2 for an invalid configuration (with {@code --strict} also for an unknown setting, otherwise a
 * WARN), 1 when start-up or the loop fails.
 */
@Command(
    name = "alerts",
    mixinStandardHelpOptions = true,
    version = "infermeter alerts 0.1.0",
    description = {
      "Forwards the alerts topic to one or more Alertmanager instances (API v2 POST /api/v2/alerts): FIRING and "
          + "RESOLVED become startsAt/endsAt, firing alerts are re-sent every alertmanager.resend.interval, failed "
          + "sends are retried with backoff, offsets are committed after delivery (exactly once in effect).",
      "Configuration: a properties file (--config), environment variables INFERMETER_<KEY> (dots as underscores), "
          + "system properties; keys in docs/ALERTING.md."
    })
public final class AlertForwarderMain implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(AlertForwarderMain.class);

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      description = "Java properties file with the settings.")
  Path config;

  @Option(
      names = "--print-config",
      description = "Print the effective configuration (secrets masked) and exit.")
  boolean printConfig;

  @Option(
      names = "--strict",
      description = "Fail on an unknown setting instead of logging a warning.")
  boolean strict;

  public static void main(String[] args) {
    System.exit(new CommandLine(new AlertForwarderMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    Settings settings;
    ForwarderConfig cfg;
    try {
      settings =
          ForwarderConfig.settings(
              Optional.ofNullable(config), System.getenv(), System.getProperties());
      cfg = ForwarderConfig.from(settings);
      cfg.reportUnknownKeys(strict);
      TopicCreator.Plan.from(settings); // an invalid topics.* setting is a configuration error too
    } catch (ConfigException e) {
      System.err.println("invalid configuration: " + e.getMessage());
      return 2;
    }
    if (printConfig) {
      System.out.print(settings.describe());
      return 0;
    }
    LOG.info("starting the alert forwarder with\n{}", cfg.describe());
    PrometheusRegistry registry = new PrometheusRegistry();
    JvmMetrics.builder().register(registry);
    AlertForwarder[] holder = new AlertForwarder[1];
    HTTPServer server = null;
    if (cfg.metricsPort() != 0) {
      try {
        server =
            serve(
                cfg.metricsHost(),
                cfg.metricsPort(),
                registry,
                () -> holder[0] != null && holder[0].isReady());
      } catch (IOException e) {
        System.err.println(
            "cannot serve metrics on "
                + cfg.metricsHost()
                + ":"
                + cfg.metricsPort()
                + ": "
                + e
                + " (another process on metrics.port? change it with INFERMETER_METRICS_PORT, 0 turns it off)");
        return 1;
      }
      LOG.info(
          "metrics on http://{}:{}/metrics, readiness on /-/ready",
          cfg.metricsHost(),
          server.getPort());
    }
    // its topic may not exist yet when the forwarder starts first: the broker does not auto-create
    // topics
    TopicCreator.atStart(
        "alert forwarder",
        KafkaClientConfig.of(settings, Set.of("kafka.group.id")).admin(),
        settings);
    AlertForwarder forwarder = AlertForwarder.start(cfg, registry);
    holder[0] = forwarder;
    Runtime.getRuntime()
        .addShutdownHook(new Thread(forwarder::close, "infermeter-alerts-shutdown"));
    RuntimeException failure = forwarder.awaitTermination();
    if (server != null) {
      server.close();
    }
    if (failure != null) {
      System.err.println(
          "alert forwarder failed: "
              + failure
              + " (is Kafka up at kafka.bootstrap.servers? locally: ./infermeter stack start)");
      return 1;
    }
    return 0;
  }

  /**
   * Starts the metrics and health server: {@code /metrics}, {@code /-/healthy}, {@code /-/ready}.
   */
  static HTTPServer serve(
      String host, int port, PrometheusRegistry registry, BooleanSupplier isReady)
      throws IOException {
    return HTTPServer.builder()
        .hostname(host)
        .port(port)
        .registry(registry)
        .defaultHandler(ex -> ready(ex, isReady))
        .buildAndStart();
  }

  /**
   * The library serves {@code /metrics} and {@code /-/healthy}; every other path reaches this
   * handler: {@code /-/ready} answers 200 or 503, anything else 404.
   */
  static void ready(HttpExchange ex, BooleanSupplier isReady) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      int status;
      String body;
      if (path.equals("/-/ready")) {
        boolean ready = isReady.getAsBoolean();
        status = ready ? 200 : 503;
        body =
            ready
                ? "ready\n"
                : "not ready: partitions not assigned or firing alerts not rebuilt yet\n";
      } else {
        status = 404;
        body = "not found; try /metrics, /-/healthy, /-/ready\n";
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
      ex.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
  }
}
