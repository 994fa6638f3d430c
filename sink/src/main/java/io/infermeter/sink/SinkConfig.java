package io.infermeter.sink;

import io.infermeter.schemas.TopicCreator;
import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.ConfigKey.Type;
import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.schemas.config.KafkaClientConfig;
import io.infermeter.schemas.config.KnownKeys;
import io.infermeter.schemas.config.Settings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * The sink's immutable configuration, built on {@link Settings} (defaults &lt; config file &lt;
 * environment variables with prefix {@code INFERMETER_} &lt; system properties). Every key, its
 * unit and its default is listed in docs/SINK.md. An invalid value fails at start-up with a {@link
 * ConfigException} naming the key and the value. The ClickHouse password comes from {@code
 * clickhouse.password} (env {@code INFERMETER_CLICKHOUSE_PASSWORD}) or the file named by {@code
 * clickhouse.password.file}; it is never logged ({@link #describe()} masks it). Thread-safe
 * (immutable).
 */
public final class SinkConfig {

  /** Tables with their own retention key {@code clickhouse.ttl.days.<table>}. */
  public static final List<String> TTL_TABLES =
      List.of(
          "window_aggregates",
          "energy",
          "bottlenecks",
          "alerts",
          "dead_letters",
          "hardware",
          "requests",
          "engine");

  /** Short names of the topics the sink can consume ({@code sink.topics}). */
  public static final List<String> TOPIC_NAMES =
      List.of(
          "window-aggregates",
          "energy",
          "bottlenecks",
          "alerts",
          "dead-letters",
          "hardware",
          "engine-state");

  private final Settings settings;
  private final String kafkaBootstrap;
  private final String groupId;
  private final String registryUrl;
  private final String topicPrefix;
  private final List<String> topics;
  private final String clickhouseUrl;
  private final String database;
  private final String user;
  private final Optional<String> password;
  private final boolean migrateOnStart;
  private final Map<String, Integer> ttlDays;
  private final int batchMaxRows;
  private final Duration batchMaxWait;
  private final Duration pollTimeout;
  private final Duration retryInitialBackoff;
  private final Duration retryMaxBackoff;
  private final Duration shutdownTimeout;
  private final int retryUnknownMaxAttempts;
  private final int deadLetterMaxPayloadBytes;
  private final String metricsHost;
  private final int metricsPort;
  private final boolean rawRequestsEnabled;
  private final double rawRequestsSampleRatio;
  private final List<Duration> rawRequestsWindowSizes;
  private final Duration rollupInterval;
  private final Duration rollupSettle;
  private final Duration rollupLookback;

  private SinkConfig(Settings s) {
    KEYS.check(s);
    this.settings = s;
    this.kafkaBootstrap = s.string("kafka.bootstrap.servers");
    this.groupId = s.string("kafka.group.id");
    this.registryUrl = s.string("schema.registry.url");
    this.topicPrefix = s.string("topic.prefix", "");
    this.topics = s.list("sink.topics");
    for (String t : topics) {
      if (!TOPIC_NAMES.contains(t)) {
        throw new ConfigException(
            "invalid value '" + t + "' in setting 'sink.topics': expected some of " + TOPIC_NAMES);
      }
    }
    if (topics.isEmpty()) {
      throw new ConfigException("setting 'sink.topics' is empty: expected some of " + TOPIC_NAMES);
    }
    this.clickhouseUrl = s.string("clickhouse.url");
    if (!clickhouseUrl.startsWith("jdbc:clickhouse:") && !clickhouseUrl.startsWith("jdbc:ch:")) {
      throw new ConfigException(
          "invalid value '"
              + clickhouseUrl
              + "' for setting 'clickhouse.url': expected a "
              + "jdbc:clickhouse://host:port URL");
    }
    this.database = s.string("clickhouse.database");
    if (!database.matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new ConfigException(
          "invalid value '"
              + database
              + "' for setting 'clickhouse.database': expected an "
              + "identifier (letters, digits, underscore)");
    }
    this.user = s.string("clickhouse.user");
    this.password = readPassword(s);
    this.migrateOnStart = s.bool("clickhouse.migrate.on.start");
    Map<String, Integer> ttl = new LinkedHashMap<>();
    int defaultTtl = s.positiveInt("clickhouse.ttl.days");
    for (String table : TTL_TABLES) {
      String key = "clickhouse.ttl.days." + table;
      ttl.put(table, s.has(key) ? s.positiveInt(key) : defaultTtl);
    }
    this.ttlDays = Map.copyOf(ttl);
    this.batchMaxRows = s.positiveInt("batch.max.rows");
    this.batchMaxWait = positive(s, "batch.max.wait");
    this.pollTimeout = positive(s, "poll.timeout");
    this.retryInitialBackoff = positive(s, "retry.initial.backoff");
    this.retryMaxBackoff = positive(s, "retry.max.backoff");
    if (retryMaxBackoff.compareTo(retryInitialBackoff) < 0) {
      throw new ConfigException(
          "invalid value '"
              + s.string("retry.max.backoff")
              + "' for setting 'retry.max.backoff': "
              + "must not be below retry.initial.backoff ("
              + s.string("retry.initial.backoff")
              + ")");
    }
    this.shutdownTimeout = positive(s, "shutdown.timeout");
    this.retryUnknownMaxAttempts = s.positiveInt("retry.unknown.max.attempts");
    this.deadLetterMaxPayloadBytes = s.positiveInt("dead.letter.max.payload.bytes");
    this.metricsHost = s.string("metrics.host");
    int port = s.integer("metrics.port");
    if (port < 0 || port > 65535) {
      throw new ConfigException(
          "invalid value '" + port + "' for setting 'metrics.port': expected 0-65535 (0: off)");
    }
    this.metricsPort = port;
    this.rawRequestsEnabled = s.bool("raw.requests.enabled");
    this.rawRequestsSampleRatio = s.decimal("raw.requests.sample.ratio");
    if (!(rawRequestsSampleRatio > 0 && rawRequestsSampleRatio <= 1)) {
      throw new ConfigException(
          "invalid value '"
              + s.string("raw.requests.sample.ratio")
              + "' for setting "
              + "'raw.requests.sample.ratio': expected a share in (0, 1]");
    }
    List<Duration> sizes = new java.util.ArrayList<>();
    for (String size : s.list("raw.requests.window.sizes")) {
      Duration d = Settings.parseDuration(size);
      if (d == null) {
        throw new ConfigException(
            "invalid value '"
                + size
                + "' in setting 'raw.requests.window.sizes': expected "
                + "durations such as 10s,1m");
      }
      if (d.toMillis() <= 0 || d.toMillis() > Integer.MAX_VALUE) {
        throw new ConfigException(
            "invalid value '"
                + size
                + "' in setting 'raw.requests.window.sizes': expected "
                + "positive durations of at most 24 days");
      }
      sizes.add(d);
    }
    this.rawRequestsWindowSizes = List.copyOf(sizes);
    this.rollupInterval = s.duration("rollup.interval");
    if (rollupInterval.isNegative()) {
      throw new ConfigException(
          "invalid value '"
              + s.string("rollup.interval")
              + "' for setting 'rollup.interval': "
              + "expected a duration (0: no rollups)");
    }
    this.rollupSettle = s.duration("rollup.settle");
    if (rollupSettle.isNegative()) {
      throw new ConfigException(
          "invalid value '"
              + s.string("rollup.settle")
              + "' for setting 'rollup.settle': "
              + "expected a duration of at least 0");
    }
    this.rollupLookback = positive(s, "rollup.lookback");
    cluster(); // an invalid clickhouse.cluster fails at start-up
  }

  private static final String UNIT_DAYS = " (days)";

  /** Every key of the sink: defaults, types and the reference table of docs/SINK.md. */
  public static final ConfigTable KEYS =
      ConfigTable.builder()
          .key("kafka.bootstrap.servers", "127.0.0.1:9092", Type.STRING, "Kafka bootstrap servers")
          .key(
              "kafka.group.id",
              "infermeter-sink",
              Type.STRING,
              "consumer group; offsets are committed only after ClickHouse acknowledged the batch")
          .key(
              "kafka.*",
              null,
              Type.PASSED_THROUGH,
              "any Kafka client setting, for the consumer and the dead-letter producer alike"
                  + " (TLS/SASL: docs/SECURITY.md)")
          .key(
              "kafka.consumer.*",
              null,
              Type.PASSED_THROUGH,
              "the consumer only; wins over `kafka.*` (`enable.auto.commit` is always false;"
                  + " `isolation.level` defaults to `read_committed`)")
          .key(
              "kafka.producer.*",
              null,
              Type.PASSED_THROUGH,
              "the dead-letter producer only; wins over `kafka.*`")
          .key(
              "schema.registry.url",
              "http://127.0.0.1:8081/apis/ccompat/v7",
              Type.STRING,
              "Confluent-compatible registry (also `schema.registry.*` incl."
                  + " `schema.registry.ssl.*`, `basic.auth.*`, `bearer.auth.*`)")
          .key("topic.prefix", "", Type.STRING, "prefix of every topic name (per deployment)")
          .addAll(TopicCreator.CONFIG)
          .key("sink.topics", String.join(",", TOPIC_NAMES), Type.LIST, "which topics to consume")
          .key(
              "clickhouse.url",
              "jdbc:clickhouse://127.0.0.1:8123",
              Type.STRING,
              "JDBC URL of ClickHouse's HTTP interface (no database part)")
          .key(
              "clickhouse.database",
              "infermeter",
              Type.STRING,
              "database (created by the migrations); an identifier")
          .key("clickhouse.user", "default", Type.STRING, "user")
          .key(
              "clickhouse.password",
              null,
              Type.STRING,
              "password; set it with env `INFERMETER_CLICKHOUSE_PASSWORD`; never logged")
          .key(
              "clickhouse.password.file",
              null,
              Type.STRING,
              "file holding the password (used when `clickhouse.password` is unset)")
          .key(
              "clickhouse.jdbc.*",
              null,
              Type.PASSED_THROUGH,
              "clickhouse-jdbc connection properties, e.g. `clickhouse.jdbc.socket_timeout=30000`")
          .key(
              "clickhouse.migrate.on.start",
              "true",
              Type.BOOLEAN,
              "`run` applies pending migrations before consuming (under the lock table"
                  + " `<database>.schema_migrations_lock`: replicas starting together apply each"
                  + " migration once; a lock older than 10 min is broken)")
          .key(
              "clickhouse.cluster",
              null,
              Type.STRING,
              "ClickHouse cluster name (`remote_servers`): migrations run `ON CLUSTER`, tables"
                  + " become `Replicated*MergeTree` (path"
                  + " `/clickhouse/tables/{shard}/<database>/<table>`, replica `{replica}`: both"
                  + " macros must be defined on every server) plus `<table>_all` Distributed"
                  + " tables for reads across shards; the sink writes the replicated tables")
          .key(
              "clickhouse.ttl.days",
              "90",
              Type.POSITIVE_INTEGER,
              "retention of every table" + UNIT_DAYS + ", the TTL in the DDL")
          .key(
              "clickhouse.ttl.days.requests",
              "7",
              Type.POSITIVE_INTEGER,
              "retention of the raw `requests` table"
                  + UNIT_DAYS
                  + ": many rows, only needed for recent drill-downs")
          .key(
              "clickhouse.ttl.days.<group>",
              null,
              Type.POSITIVE_INTEGER,
              "per group, default `clickhouse.ttl.days`"
                  + UNIT_DAYS
                  + ": `window_aggregates` (also window_latency), `energy` (device_energy,"
                  + " energy_attribution), `bottlenecks`, `alerts`, `dead_letters`, `hardware`"
                  + " (hardware_samples), `engine` (engine_samples)")
          .key(
              "batch.max.rows",
              "10000",
              Type.POSITIVE_INTEGER,
              "a batch is flushed when it holds this many rows (all tables together)")
          .key("batch.max.wait", "1s", Type.DURATION, "... or when its first record is this old")
          .key("poll.timeout", "100ms", Type.DURATION, "Kafka poll timeout")
          .key(
              "retry.initial.backoff",
              "200ms",
              Type.DURATION,
              "first retry delay after a retryable failure; doubles per attempt")
          .key(
              "retry.max.backoff",
              "30s",
              Type.DURATION,
              "retry delay cap (each delay is jittered between 50 % and 100 %)")
          .key(
              "retry.unknown.max.attempts",
              "10",
              Type.POSITIVE_INTEGER,
              "attempts of a batch that fails with neither an outage nor a rejection (an"
                  + " exception without a ClickHouse error code, or a single row over the"
                  + " server's memory limit) before the rows that still fail are dead-lettered")
          .key(
              "dead.letter.max.payload.bytes",
              "65536",
              Type.POSITIVE_INTEGER,
              "bytes of the source record kept in a dead letter the sink sends, and of any"
                  + " payload stored in `dead_letters` (the message says when it was cut)")
          .key(
              "shutdown.timeout",
              "30s",
              Type.DURATION,
              "how long a graceful shutdown tries to write the last batch")
          .key("metrics.host", "127.0.0.1", Type.STRING, "address of the Prometheus endpoint")
          .key("metrics.port", "9405", Type.INTEGER, "its port; 0 turns it off")
          .key(
              "raw.requests.enabled",
              "true",
              Type.BOOLEAN,
              "consume the request topic (`infermeter-requests`) into the `requests` table (\"Raw"
                  + " requests\" below); `false` turns it off")
          .key(
              "raw.requests.sample.ratio",
              "1.0",
              Type.DECIMAL,
              "share of request events stored, in (0, 1]; deterministic by event id (rule"
                  + " below)")
          .key(
              "raw.requests.window.sizes",
              "10s,1m",
              Type.LIST,
              "window sizes whose starts each row carries in `window_starts` (keep equal to the"
                  + " streams app's `windows.sizes`)")
          .key(
              "rollup.interval",
              "1m",
              Type.DURATION,
              "how often the hourly rollups behind the range views are brought up to date"
                  + " (\"Hourly rollups\" below); `0` turns them off (the views then read the"
                  + " source tables only)")
          .key(
              "rollup.settle",
              "15m",
              Type.DURATION,
              "an hour is rolled once its end is this old; keep it above window + grace +"
                  + " allowed lateness + the sink's delay")
          .key(
              "rollup.lookback",
              "6h",
              Type.DURATION,
              "how far before the newest rolled hour rows that arrive late are looked for (such"
                  + " an hour is rolled again)")
          .build();

  static final Map<String, String> DEFAULTS = KEYS.defaults();

  /** The keys the sink reads, for reporting unknown ones at start (docs/SINK.md). */
  public static KnownKeys knownKeys() {
    return KnownKeys.forApp(
        KEYS.exactNames(), List.of("clickhouse.jdbc.", "clickhouse.ttl.days."), Set.of());
  }

  /**
   * Reports keys the sink does not read: a WARN each, or with {@code strict} a {@link
   * ConfigException}.
   */
  public void reportUnknownKeys(boolean strict) {
    knownKeys().report(settings, strict);
  }

  /**
   * Loads defaults, the optional file, {@code INFERMETER_*} environment variables and system
   * properties.
   */
  public static SinkConfig load(Optional<Path> file, Map<String, String> env, Properties sysProps) {
    return new SinkConfig(Settings.load(DEFAULTS, file, "INFERMETER_", env, sysProps));
  }

  /** Defaults overlaid with {@code overrides} (tests, embedding, benchmarks). */
  public static SinkConfig fromMap(Map<String, ?> overrides) {
    return new SinkConfig(Settings.fromMap(DEFAULTS).with(overrides));
  }

  /** A copy with {@code overrides} applied on top. */
  public SinkConfig with(Map<String, ?> overrides) {
    return new SinkConfig(settings.with(overrides));
  }

  private static Optional<String> readPassword(Settings s) {
    if (s.has("clickhouse.password")) {
      return Optional.of(s.string("clickhouse.password"));
    }
    if (s.has("clickhouse.password.file")) {
      Path file = Path.of(s.string("clickhouse.password.file"));
      try {
        return Optional.of(Files.readString(file, StandardCharsets.UTF_8).strip());
      } catch (IOException e) {
        throw new ConfigException(
            "cannot read the file named by 'clickhouse.password.file' ("
                + file
                + "): "
                + e.getClass().getSimpleName(),
            e);
      }
    }
    return Optional.empty();
  }

  private static Duration positive(Settings s, String key) {
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

  /** The effective settings with secrets masked, for the start-up log. */
  public String describe() {
    return settings.describe();
  }

  public String kafkaBootstrap() {
    return kafkaBootstrap;
  }

  public String groupId() {
    return groupId;
  }

  public String registryUrl() {
    return registryUrl;
  }

  public String topicPrefix() {
    return topicPrefix;
  }

  /** Short names of the consumed topics (see {@link #TOPIC_NAMES}). */
  public List<String> topics() {
    return topics;
  }

  public String clickhouseUrl() {
    return clickhouseUrl;
  }

  public String database() {
    return database;
  }

  public String user() {
    return user;
  }

  public Optional<String> password() {
    return password;
  }

  public boolean migrateOnStart() {
    return migrateOnStart;
  }

  /** Retention in days per table group of {@link #TTL_TABLES}. */
  public Map<String, Integer> ttlDays() {
    return ttlDays;
  }

  /** Upper bound of rows (not records) in one batch before it is flushed. */
  public int batchMaxRows() {
    return batchMaxRows;
  }

  /** Longest time a record waits in a batch before the batch is flushed. */
  public Duration batchMaxWait() {
    return batchMaxWait;
  }

  public Duration pollTimeout() {
    return pollTimeout;
  }

  public Duration retryInitialBackoff() {
    return retryInitialBackoff;
  }

  /**
   * Attempts of a batch failing without a ClickHouse error code before its failing rows are
   * dead-lettered.
   */
  public int retryUnknownMaxAttempts() {
    return retryUnknownMaxAttempts;
  }

  /** Bytes of a source record kept in the sink's dead letter. */
  public int deadLetterMaxPayloadBytes() {
    return deadLetterMaxPayloadBytes;
  }

  public Duration retryMaxBackoff() {
    return retryMaxBackoff;
  }

  /** How long a graceful shutdown keeps trying to flush the last batch. */
  public Duration shutdownTimeout() {
    return shutdownTimeout;
  }

  public String metricsHost() {
    return metricsHost;
  }

  /** Port of the Prometheus endpoint; 0 turns it off. */
  public int metricsPort() {
    return metricsPort;
  }

  /**
   * {@code raw.requests.enabled}: whether the sink consumes the request topic into the {@code
   * requests} table.
   */
  public boolean rawRequestsEnabled() {
    return rawRequestsEnabled;
  }

  /**
   * {@code raw.requests.sample.ratio}: share of request events stored, deterministic by event id,
   * in (0, 1].
   */
  public double rawRequestsSampleRatio() {
    return rawRequestsSampleRatio;
  }

  /**
   * {@code raw.requests.window.sizes}: window sizes whose starts each raw request row carries (join
   * keys).
   */
  public List<Duration> rawRequestsWindowSizes() {
    return rawRequestsWindowSizes;
  }

  /**
   * {@code rollup.interval}: how often the hourly rollups are brought up to date; zero turns them
   * off.
   */
  public Duration rollupInterval() {
    return rollupInterval;
  }

  /**
   * {@code rollup.settle}: how long after its end an hour is left to the source tables before it is
   * rolled.
   */
  public Duration rollupSettle() {
    return rollupSettle;
  }

  /**
   * {@code rollup.lookback}: how far before the newest rolled hour rows arriving late are looked
   * for.
   */
  public Duration rollupLookback() {
    return rollupLookback;
  }

  /**
   * The settings this config was built from (topic creation at start reads its {@code topics.*}
   * keys there).
   */
  public Settings settings() {
    return settings;
  }

  /**
   * Admin client settings: {@code kafka.*} (except {@code kafka.group.id}) with {@code
   * kafka.admin.*} on top.
   */
  public Map<String, String> adminOverrides() {
    return KafkaClientConfig.of(settings, Set.of("kafka.group.id")).admin();
  }

  /**
   * Kafka consumer settings: {@code kafka.*} (except {@code kafka.group.id}) with {@code
   * kafka.consumer.*} on top.
   */
  public Map<String, String> consumerOverrides() {
    return KafkaClientConfig.of(settings, Set.of("kafka.group.id")).consumer();
  }

  /**
   * Settings of the dead-letter producer: {@code kafka.*} (except {@code kafka.group.id}), {@code
   * kafka.producer.*}.
   */
  public Map<String, String> producerOverrides() {
    return KafkaClientConfig.of(settings, Set.of("kafka.group.id")).producer();
  }

  /**
   * {@code clickhouse.cluster}: the ClickHouse cluster (a {@code remote_servers} entry) whose
   * servers get every table as {@code Replicated*MergeTree} plus a {@code <table>_all} Distributed
   * table; empty for a single server.
   */
  public Optional<String> cluster() {
    Optional<String> c =
        settings.optional("clickhouse.cluster").map(String::trim).filter(v -> !v.isEmpty());
    if (c.isPresent() && !c.get().matches("[A-Za-z0-9_.-]+")) {
      throw new ConfigException(
          "invalid value '"
              + c.get()
              + "' for setting 'clickhouse.cluster': expected a cluster "
              + "name of letters, digits, '_', '.' or '-'");
    }
    return c;
  }

  /** clickhouse-jdbc connection properties ({@code clickhouse.jdbc.*}), passed through. */
  public Map<String, String> jdbcOverrides() {
    return settings.withPrefix("clickhouse.jdbc.");
  }

  /**
   * Serde settings ({@code schema.registry.url} plus {@code schema.registry.*} / {@code
   * basic.auth.*}).
   */
  public Map<String, Object> serdeConfig() {
    Map<String, Object> m = new LinkedHashMap<>();
    settings
        .asMap()
        .forEach(
            (k, v) -> {
              if (k.startsWith("schema.registry.")
                  || k.startsWith("basic.auth.")
                  || k.startsWith("bearer.auth.")
                  || k.equals("auto.register.schemas")) {
                m.put(k, v);
              }
            });
    return m;
  }
}
