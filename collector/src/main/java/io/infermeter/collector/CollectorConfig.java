package io.infermeter.collector;

import io.infermeter.collector.ingest.grpc.GrpcReceiverSettings;
import io.infermeter.collector.ingest.http.HttpServerSettings;
import io.infermeter.collector.sampling.prometheus.ScrapeSettings;
import io.infermeter.schemas.TopicCreator;
import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.ConfigKey.Type;
import io.infermeter.schemas.config.ConfigTable;
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

  /** Every key of the collector: defaults, types and the reference table of docs/COLLECTOR.md. */
  public static final ConfigTable KEYS =
      ConfigTable.builder()
          .key(
              "kafka.bootstrap.servers",
              "127.0.0.1:9092",
              Type.STRING,
              "Kafka brokers (the local stack's by default, like the other apps)")
          .key(
              "schema.registry.url",
              "http://127.0.0.1:8081/apis/ccompat/v7",
              Type.STRING,
              "Confluent-compatible registry API (Apicurio: `.../apis/ccompat/v7`); `basic.auth.*`, `bearer.auth.*`, `schema.registry.ssl.*`, `auto.register.schemas` pass through to the serde")
          .key(
              "schema.registry.request.timeout.ms",
              "30000",
              Type.POSITIVE_INTEGER,
              "one registry call's timeout (ms); the collector asks the registry only on its resolver threads, never while answering a client (\"Delivery\")")
          .key(
              "topic.prefix",
              "",
              Type.STRING,
              "prefix of the topic names (`infermeter-requests`, `infermeter-hardware`)")
          .addAll(TopicCreator.CONFIG)
          .key(
              "kafka.*",
              null,
              Type.PASSED_THROUGH,
              "any Kafka client setting for the producer (TLS/SASL, written the same way in every app: docs/SECURITY.md)")
          .key(
              "kafka.producer.*",
              null,
              "see below",
              Type.PASSED_THROUGH,
              "any Kafka producer setting, passed through (e.g. `kafka.producer.linger.ms=5`); wins over `kafka.*`")
          .key(
              "cluster",
              "default",
              Type.STRING,
              "cluster of every event (an OTLP resource's `k8s.cluster.name` wins)")
          .key("region", "unknown", Type.STRING, "region (an OTLP resource's `cloud.region` wins)")
          .key(
              "host",
              "",
              "`$HOSTNAME`, else the local host name",
              Type.STRING,
              "host, the node whose GPU samples the requests join (an OTLP resource's `host.name` does not replace it: it is kept as the attribute `pod`; a JSON line's `host` wins)")
          .key(
              "gpu.type",
              "",
              Type.STRING,
              "gpu type override (else NVML's device name for hardware samples; request events carry it when set)")
          .key(
              "engine",
              "",
              Type.STRING,
              "engine name for events without one (OTLP spans with vLLM latency attributes get `vllm`)")
          .key(
              "otlp.default.model",
              "",
              Type.STRING,
              "model of OTLP spans that name none on the span nor in the resource (vLLM V1 sends no model attribute); empty = such spans are rejected (`missing_field`)")
          .key(
              "otlp.model.resource.attribute",
              "service.name",
              Type.STRING,
              "resource attribute that names the model of spans without `gen_ai.response.model`/`gen_ai.request.model`; the SDK default `unknown_service*` and TGI's `text-generation-inference.router` are not models")
          .key("http.host", "127.0.0.1", Type.STRING, "ingest bind address (loopback by default)")
          .key(
              "http.port",
              "4318",
              Type.INTEGER,
              "ingest port (the OTLP/HTTP default); 0 = any free port")
          .addAll(GrpcReceiverSettings.KEYS)
          .key(
              "http.max.body.bytes",
              String.valueOf(8L * 1024 * 1024),
              "`8388608` (8 MiB)",
              Type.LONG,
              "request body limit, compressed and decompressed, bytes (413 above it)")
          .key(
              "http.max.connections",
              "256",
              Type.POSITIVE_INTEGER,
              "most ingest connections open at once (idle kept-alive ones included); a connection beyond it is answered 503 and closed. A configuration that still sets the removed `http.threads` fails at start with a message saying so")
          .addAll(HttpServerSettings.KEYS)
          .key(
              "auth.token",
              "",
              Type.STRING,
              "when set, every ingest request needs `Authorization: Bearer <token>` (401 otherwise); never logged")
          .key(
              "auth.tokens.<name>.token",
              null,
              Type.STRING,
              "further tokens (with `.host`, `.cluster`, `.region` below): events sent with one that carry another identity are refused (403, `infermeter_collector_http_limited_total{reason=\"identity_mismatch\"}`)")
          .key(
              "auth.tokens.<name>.host",
              null,
              Type.STRING,
              "the host that token's events must carry (unset: any)")
          .key(
              "auth.tokens.<name>.cluster",
              null,
              Type.STRING,
              "the cluster that token's events must carry (unset: any)")
          .key(
              "auth.tokens.<name>.region",
              null,
              Type.STRING,
              "the region that token's events must carry (unset: any)")
          .key("metrics.enabled", "true", Type.BOOLEAN, "serve Prometheus `/metrics`")
          .key("metrics.host", "127.0.0.1", Type.STRING, "`/metrics` bind address")
          .key("metrics.port", "9464", Type.INTEGER, "`/metrics` port")
          .key(
              "buffer.capacity",
              "65536",
              Type.POSITIVE_INTEGER,
              "in-memory buffer between ingest and the Kafka sender (events); overflow goes to the spool")
          .key(
              "spool.dir",
              defaultSpoolDir().toString(),
              "`$XDG_STATE_HOME/infermeter/spool`, else `~/.local/state/infermeter/spool`",
              Type.STRING,
              "disk spool directory, created 0700; one writable by others is tightened or refused (docs/SECURITY.md)")
          .key(
              "spool.max.bytes",
              String.valueOf(1024L * 1024 * 1024),
              "`1073741824` (1 GiB)",
              Type.LONG,
              "spool size bound, bytes; beyond it the oldest segments are dropped (and counted)")
          .key(
              "spool.segment.bytes",
              String.valueOf(8L * 1024 * 1024),
              "`8388608` (8 MiB)",
              Type.LONG,
              "spool segment file size, bytes (the unit of drop-oldest)")
          .key(
              "spool.retry.period",
              "1s",
              Type.DURATION,
              "how often the drainer retries Kafka while the spool is not empty")
          .key(
              "spool.fsync",
              "segment",
              Type.STRING,
              "when spooled records are flushed to the device: `never`, `segment`, `always` or a duration (`1s`)")
          .key("sampling.period", "1s", Type.DURATION, "hardware sampling period")
          .key("sampling.enabled", "true", Type.BOOLEAN, "hardware sampling on/off")
          .key("nvml.enabled", "true", Type.BOOLEAN, "try to load NVML")
          .key(
              "nvml.library",
              "nvidia-ml",
              Type.STRING,
              "NVML library name or path (`/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1`, a stub in tests)")
          .key("oshi.enabled", "true", Type.BOOLEAN, "host CPU/memory through OSHI")
          .key(
              "process.pid",
              "",
              Type.INTEGER,
              "pid of the inference server process to sample (CPU share, RSS)")
          .key("process.name", "", Type.STRING, "name of that process, when no pid is given")
          .key("rapl.root", "/sys/class/powercap", Type.STRING, "powercap tree with the RAPL zones")
          .key(
              "power.estimate.enabled",
              "true",
              Type.BOOLEAN,
              "estimate CPU power when there is no RAPL")
          .key(
              "power.cpu.tdp.watts",
              "85",
              Type.DECIMAL,
              "TDP of the host's CPUs for the estimate, W (CodeCarbon's fallback for an unknown CPU)")
          .key(
              "power.cpu.idle.watts",
              "",
              "30 % of TDP",
              Type.DECIMAL,
              "idle power for the estimate, W")
          .key("validation.max.duration", "1h", Type.DURATION, "longest accepted e2e latency")
          .key(
              "validation.max.future.skew",
              "5m",
              Type.DURATION,
              "how far in the future a completion time may be (clock skew)")
          .key("validation.max.age", "7d", Type.DURATION, "oldest accepted arrival time")
          .key(
              "validation.max.tokens",
              "10000000",
              Type.POSITIVE_INTEGER,
              "largest accepted token count")
          .key(
              "validation.max.dimension.bytes",
              "256",
              Type.POSITIVE_INTEGER,
              "longest model, host, cluster, region, gpu type, device id, SLO class, request id, ... (UTF-8 bytes); longer: rejected (`too_long`)")
          .key(
              "validation.max.message.bytes",
              "1024",
              Type.POSITIVE_INTEGER,
              "longest error type or attribute value (UTF-8 bytes); longer: cut and counted")
          .key(
              "recorder.capacity",
              "65536",
              Type.POSITIVE_INTEGER,
              "slots of the in-process recorder's ring (rounded up to a power of two)")
          .addAll(ScrapeSettings.KEYS)
          .build();

  /** The keys with their defaults (a new map). */
  public static Map<String, String> defaults() {
    return new LinkedHashMap<>(KEYS.defaults());
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
    KEYS.check(s);
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
