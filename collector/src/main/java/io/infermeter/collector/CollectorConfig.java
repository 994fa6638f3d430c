package io.infermeter.collector;

import io.infermeter.collector.ingest.grpc.GrpcReceiverSettings;
import io.infermeter.collector.ingest.http.HttpServerSettings;
import io.infermeter.collector.sampling.prometheus.ScrapeSettings;
import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.KafkaClientConfig;
import io.infermeter.schemas.config.KnownKeys;
import io.infermeter.schemas.config.Settings;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.Set;

/**
 * The collector's immutable configuration, built once from {@link Settings} (defaults &lt;
 * properties file &lt; {@code INFERMETER_*} environment variables &lt; system properties). Every
 * key, unit and default is listed in docs/COLLECTOR.md; an invalid value fails in {@link
 * #from(Settings)} with a {@link ConfigException} naming key and value. Thread-safe (immutable).
 */
public record CollectorConfig(
    String cluster,
    String region,
    String host,
    Optional<String> gpuType,
    Optional<String> engine,
    Optional<String> otlpDefaultModel,
    String otlpModelResourceAttribute,
    String httpHost,
    int httpPort,
    long maxBodyBytes,
    int httpMaxConnections,
    Optional<String> authToken,
    boolean metricsEnabled,
    String metricsHost,
    int metricsPort,
    String bootstrapServers,
    String schemaRegistryUrl,
    String topicPrefix,
    Map<String, String> producerOverrides,
    Map<String, String> serdeOverrides,
    int bufferCapacity,
    Path spoolDir,
    long spoolMaxBytes,
    long spoolSegmentBytes,
    Duration spoolRetryPeriod,
    String spoolFsync,
    Duration samplingPeriod,
    boolean samplingEnabled,
    boolean nvmlEnabled,
    String nvmlLibrary,
    boolean oshiEnabled,
    OptionalInt processPid,
    Optional<String> processName,
    Path raplRoot,
    boolean powerEstimateEnabled,
    double cpuTdpWatts,
    double cpuIdleWatts,
    Duration maxDuration,
    Duration maxFutureSkew,
    Duration maxAge,
    int maxTokens,
    int maxDimensionBytes,
    int maxMessageBytes,
    int recorderCapacity,
    GrpcReceiverSettings grpc,
    HttpServerSettings httpServer,
    ScrapeSettings scrape) {

  /**
   * Prefix of the environment variables: {@code INFERMETER_KAFKA_BOOTSTRAP_SERVERS} sets
   * kafka.bootstrap.servers.
   */
  public static final String ENV_PREFIX = "INFERMETER_";

  /** Every known key with its default; keys with no default are listed with an empty value. */
  public static Map<String, String> defaults() {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("cluster", "default");
    d.put("region", "unknown");
    d.put("host", "");
    d.put("gpu.type", "");
    d.put("engine", "");
    d.put("otlp.default.model", "");
    d.put("otlp.model.resource.attribute", "service.name");
    d.put("http.host", "127.0.0.1");
    d.put("http.port", "4318");
    d.put("http.max.body.bytes", String.valueOf(8L * 1024 * 1024));
    d.put("http.max.connections", "256");
    d.putAll(HttpServerSettings.defaults()); // the server's limits, TLS: docs/SECURITY.md
    d.putAll(GrpcReceiverSettings.defaults()); // OTLP/gRPC receiver: docs/COLLECTOR.md
    d.put("auth.token", "");
    d.put("metrics.enabled", "true");
    d.put("metrics.host", "127.0.0.1");
    d.put("metrics.port", "9464");
    d.put("kafka.bootstrap.servers", "127.0.0.1:9092");
    d.put("schema.registry.url", "http://127.0.0.1:8081/apis/ccompat/v7");
    // the registry is asked off the ingest path (Publisher's resolver), so a slow one may take its
    // time to answer
    d.put("schema.registry.request.timeout.ms", "30000");
    d.put("topic.prefix", "");
    d.put("buffer.capacity", "65536");
    d.put("spool.dir", defaultSpoolDir().toString());
    d.put("spool.max.bytes", String.valueOf(1024L * 1024 * 1024));
    d.put("spool.segment.bytes", String.valueOf(8L * 1024 * 1024));
    d.put("spool.retry.period", "1s");
    d.put("spool.fsync", "segment");
    d.put("sampling.period", "1s");
    d.put("sampling.enabled", "true");
    d.put("nvml.enabled", "true");
    d.put("nvml.library", "nvidia-ml");
    d.put("oshi.enabled", "true");
    d.put("process.pid", "");
    d.put("process.name", "");
    d.put("rapl.root", "/sys/class/powercap");
    d.put("power.estimate.enabled", "true");
    d.put("power.cpu.tdp.watts", "85");
    d.put("power.cpu.idle.watts", "");
    d.put("validation.max.duration", "1h");
    d.put("validation.max.future.skew", "5m");
    d.put("validation.max.age", "7d");
    d.put("validation.max.tokens", "10000000");
    d.put("validation.max.dimension.bytes", "256");
    d.put("validation.max.message.bytes", "1024");
    d.put("recorder.capacity", "65536");
    d.putAll(ScrapeSettings.defaults()); // dcgm-exporter scrape: docs/COLLECTOR.md
    return d;
  }

  /** The keys the collector reads, for reporting unknown ones at start (docs/COLLECTOR.md). */
  public static KnownKeys knownKeys() {
    return KnownKeys.forApp(
        defaults().keySet(), List.of("auth.tokens."), Set.of()); // auth.tokens.<name>.*
  }

  /**
   * Loads the layers for the CLI: defaults, the optional file, the environment and system
   * properties.
   */
  public static CollectorConfig load(
      Optional<Path> file, Map<String, String> env, Properties sysProps) {
    return from(Settings.load(defaults(), file, ENV_PREFIX, env, sysProps));
  }

  /**
   * Builds and validates the config; {@code settings} need not contain defaults (they are applied
   * underneath).
   */
  public static CollectorConfig from(Settings settings) {
    // the CLI's settings already hold the defaults (and where each value came from): lay them under
    // only when missing
    Settings s =
        settings.asMap().keySet().containsAll(defaults().keySet())
            ? settings
            : Settings.fromMap(defaults()).with(settings.asMap());
    String host = s.optional("host").orElseGet(CollectorConfig::localHostName);
    identityWithinLimit(s, host);
    int httpPort = port(s, "http.port");
    int metricsPort = port(s, "metrics.port");
    long maxBody = positiveLong(s, "http.max.body.bytes");
    long spoolMax = positiveLong(s, "spool.max.bytes");
    long segment = positiveLong(s, "spool.segment.bytes");
    if (segment > spoolMax) {
      throw new ConfigException(
          "invalid value '"
              + segment
              + "' for setting 'spool.segment.bytes': must not exceed "
              + "spool.max.bytes ("
              + spoolMax
              + ")");
    }
    Duration period = positiveDuration(s, "sampling.period");
    double tdp = s.decimal("power.cpu.tdp.watts");
    if (tdp <= 0) {
      throw new ConfigException(
          "invalid value '" + tdp + "' for setting 'power.cpu.tdp.watts': expected > 0");
    }
    double idle = s.has("power.cpu.idle.watts") ? s.decimal("power.cpu.idle.watts") : 0.3 * tdp;
    if (idle < 0 || idle > tdp) {
      throw new ConfigException(
          "invalid value '"
              + idle
              + "' for setting 'power.cpu.idle.watts': expected 0.."
              + tdp
              + " (power.cpu.tdp.watts)");
    }
    OptionalInt pid =
        s.has("process.pid") ? OptionalInt.of(s.positiveInt("process.pid")) : OptionalInt.empty();
    String bootstrap = nonBlank(s, "kafka.bootstrap.servers");
    String registry = nonBlank(s, "schema.registry.url");
    Map<String, String> serde = new LinkedHashMap<>(s.withPrefix("schema.registry."));
    Map<String, String> serdeConfig = new LinkedHashMap<>();
    serde.forEach((k, v) -> serdeConfig.put("schema.registry." + k, v));
    serdeConfig.put("schema.registry.url", registry);
    s.optional("auto.register.schemas").ifPresent(v -> serdeConfig.put("auto.register.schemas", v));
    s.withPrefix("basic.auth.").forEach((k, v) -> serdeConfig.put("basic.auth." + k, v));
    s.withPrefix("bearer.auth.").forEach((k, v) -> serdeConfig.put("bearer.auth." + k, v));
    if (s.has(
        "http.threads")) { // a removed key: failing beats silently ignoring an operator's setting
      throw new ConfigException(
          "http.threads is no longer a setting: the ingest server runs on Netty event loops; "
              + "remove http.threads and set http.event.loop.threads (default 2) and http.max.connections (default 256)");
    }
    return new CollectorConfig(
        s.string("cluster"),
        s.string("region"),
        host,
        s.optional("gpu.type"),
        s.optional("engine"),
        s.optional("otlp.default.model"),
        s.string("otlp.model.resource.attribute"),
        s.string("http.host"),
        httpPort,
        maxBody,
        s.positiveInt("http.max.connections"),
        s.optional("auth.token"),
        s.bool("metrics.enabled"),
        s.string("metrics.host"),
        metricsPort,
        bootstrap,
        registry,
        s.string("topic.prefix", ""),
        KafkaClientConfig.of(s, Set.of()).producer(),
        Map.copyOf(serdeConfig),
        s.positiveInt("buffer.capacity"),
        Path.of(s.string("spool.dir")),
        spoolMax,
        segment,
        positiveDuration(s, "spool.retry.period"),
        spoolFsync(s),
        period,
        s.bool("sampling.enabled"),
        s.bool("nvml.enabled"),
        s.string("nvml.library"),
        s.bool("oshi.enabled"),
        pid,
        s.optional("process.name"),
        Path.of(s.string("rapl.root")),
        s.bool("power.estimate.enabled"),
        tdp,
        idle,
        positiveDuration(s, "validation.max.duration"),
        positiveDuration(s, "validation.max.future.skew"),
        positiveDuration(s, "validation.max.age"),
        s.positiveInt("validation.max.tokens"),
        s.positiveInt("validation.max.dimension.bytes"),
        s.positiveInt("validation.max.message.bytes"),
        s.positiveInt("recorder.capacity"),
        GrpcReceiverSettings.from(s, HttpServerSettings.from(s)),
        HttpServerSettings.from(s),
        ScrapeSettings.from(s));
  }

  /**
   * The spool's default directory: {@code $XDG_STATE_HOME/infermeter/spool}, else {@code
   * ~/.local/state/infermeter/spool}; the collector's own (created 0700), never the shared
   * temporary directory.
   */
  static Path defaultSpoolDir() {
    String state = System.getenv("XDG_STATE_HOME");
    Path base =
        state != null && !state.isBlank() && Path.of(state).isAbsolute()
            ? Path.of(state)
            : Path.of(System.getProperty("user.home"), ".local", "state");
    return base.resolve("infermeter").resolve("spool");
  }

  /**
   * The configured identity fills the events' dimensions, so it must fit
   * validation.max.dimension.bytes: otherwise every event would be rejected on one ingest path and
   * not on the other.
   */
  private static void identityWithinLimit(Settings s, String host) {
    int max = s.positiveInt("validation.max.dimension.bytes");
    Map<String, String> identity = new LinkedHashMap<>();
    identity.put("host", host);
    identity.put("cluster", s.string("cluster"));
    identity.put("region", s.string("region"));
    identity.put("gpu.type", s.optional("gpu.type").orElse(""));
    identity.put("engine", s.optional("engine").orElse(""));
    identity.forEach(
        (key, value) -> {
          int bytes = value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
          if (bytes > max) {
            throw new ConfigException(
                "invalid value for setting '"
                    + key
                    + "': "
                    + bytes
                    + " bytes, over "
                    + "validation.max.dimension.bytes ("
                    + max
                    + ")");
          }
        });
  }

  private static String spoolFsync(Settings s) {
    String v = s.string("spool.fsync");
    try {
      io.infermeter.collector.delivery.Spool.Fsync.parse(v);
    } catch (RuntimeException e) {
      throw new ConfigException(
          "invalid value '"
              + v
              + "' for setting 'spool.fsync': expected never, segment, "
              + "always or a positive duration such as 1s");
    }
    return v.trim();
  }

  private static String nonBlank(Settings s, String key) {
    String v = s.string(key).trim();
    if (v.isEmpty()) {
      throw new ConfigException("missing required setting '" + key + "' (blank)");
    }
    return v;
  }

  private static int port(Settings s, String key) {
    int p = s.integer(key);
    if (p < 0 || p > 65535) {
      throw new ConfigException(
          "invalid value '"
              + p
              + "' for setting '"
              + key
              + "': expected a port 0-65535 "
              + "(0 = any free port)");
    }
    return p;
  }

  private static long positiveLong(Settings s, String key) {
    long v = s.longValue(key);
    if (v <= 0) {
      throw new ConfigException(
          "invalid value '" + v + "' for setting '" + key + "': expected a positive integer");
    }
    return v;
  }

  private static Duration positiveDuration(Settings s, String key) {
    Duration d = s.duration(key);
    if (d.isZero() || d.isNegative()) {
      throw new ConfigException(
          "invalid value '"
              + s.string(key)
              + "' for setting '"
              + key
              + "': expected a positive duration");
    }
    return d;
  }

  static String localHostName() {
    String env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env;
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }

  /** The effective settings with secrets masked, for the start-up log. */
  @Override
  public String toString() {
    return "CollectorConfig[cluster="
        + cluster
        + ", region="
        + region
        + ", host="
        + host
        + ", http="
        + httpHost
        + ":"
        + httpPort
        + ", auth="
        + httpServer.tokens()
        + ", tls="
        + httpServer.tls().isPresent()
        + ", metrics="
        + metricsHost
        + ":"
        + metricsPort
        + ", kafka="
        + bootstrapServers
        + ", registry="
        + schemaRegistryUrl
        + ", spool="
        + spoolDir
        + " ("
        + spoolMaxBytes
        + " bytes), sampling="
        + samplingPeriod
        + ", nvml="
        + nvmlEnabled
        + "("
        + nvmlLibrary
        + ")]";
  }
}
