package io.infermeter.streams;

import io.infermeter.schemas.TopicCreator;
import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.ConfigKey.Type;
import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.schemas.config.KafkaClientConfig;
import io.infermeter.schemas.config.KnownKeys;
import io.infermeter.schemas.config.Settings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * Immutable configuration of the streams app, built once from {@link Settings} (defaults &lt; file
 * &lt; INFERMETER_ env vars &lt; system properties). Every invalid value fails here, naming the key
 * and the value. Thread-safe. Every key with its default, type and doc is declared once in {@link
 * #KEYS}, from which docs/STREAMS.md's configuration reference is generated.
 */
public final class StreamsSettings {

  private final Settings raw;
  private final String applicationId;
  private final String bootstrapServers;
  private final String topicPrefix;
  private final List<Duration> windowSizes;
  private final Duration grace;
  private final Duration fleetDelay;
  private final Duration fleetIdle;
  private final int fleetUpstreamTasks;
  private final Duration energyGapSpread;
  private final Duration energyDelay;
  private final Duration dedupRetention;
  private final Duration allowedLateness;
  private final Duration correctionInterval;
  private final Duration idleTimeout;
  private final Duration maxFuture;
  private final int maxKeysPerWindow;
  private final Map<String, SloClass> sloClasses;
  private final String defaultSloClass;
  private final Map<String, Double> pricePerHour;
  private final double defaultPricePerHour;
  private final String currency;
  private final Map<String, Double> carbonIntensity;
  private final double defaultCarbonIntensity;
  private final double pue;
  private final boolean priceUpdatesEnabled;
  private final boolean carbonUpdatesEnabled;
  private final Duration carbonHistoryRetention;
  private final boolean outputHdrHistogram;
  private final int replicationFactor;
  private final String stateStoreType;
  private final AlertSettings alerts;
  private final String metricsHost;
  private final int metricsPort;

  private StreamsSettings(Settings s) {
    KEYS.check(s);
    this.raw = s;
    this.applicationId = s.string("application.id");
    this.bootstrapServers = s.string("kafka.bootstrap.servers");
    this.topicPrefix = s.string("topic.prefix", "");
    List<Duration> sizes = new ArrayList<>();
    for (String w : s.list("windows.sizes")) {
      Duration d = Settings.parseDuration(w);
      if (d == null || d.toMillis() <= 0) {
        throw new ConfigException(
            "invalid value '" + w + "' in setting 'windows.sizes': expected durations like 10s,1m");
      }
      if (d.toMillis() % 10 != 0) { // windows.Occupancy.SLOT_US: whole slots per window
        throw new ConfigException(
            "invalid value '"
                + w
                + "' in setting 'windows.sizes': a window size must be a multiple of 10ms, the"
                + " resolution of device busy time");
      }
      sizes.add(d);
    }
    if (sizes.isEmpty()) {
      throw new ConfigException("setting 'windows.sizes' must name at least one window size");
    }
    sizes.sort(null);
    this.windowSizes = List.copyOf(sizes);
    this.grace = s.duration("windows.grace");
    this.fleetDelay = s.duration("windows.fleet.delay");
    this.fleetIdle = s.duration("windows.fleet.idle");
    this.fleetUpstreamTasks = s.integer("windows.fleet.upstream.tasks");
    if (fleetUpstreamTasks < 0) {
      throw new ConfigException(
          "invalid value '"
              + fleetUpstreamTasks
              + "' for setting 'windows.fleet.upstream.tasks': expected >= 0 (0: unknown)");
    }
    this.energyDelay = s.duration("energy.join.delay");
    this.energyGapSpread = s.duration("energy.gap.spread.after");
    if (energyGapSpread.toMillis() <= 0) {
      throw new ConfigException(
          "invalid value '"
              + energyGapSpread
              + "' for setting 'energy.gap.spread.after': expected > 0");
    }
    this.dedupRetention = s.duration("dedup.retention");
    if (dedupRetention.toMillis() <= 0) {
      throw new ConfigException(
          "invalid value '"
              + s.string("dedup.retention")
              + "' for setting 'dedup.retention': expected > 0");
    }
    this.allowedLateness = s.duration("windows.allowed.lateness");
    this.idleTimeout = s.duration("windows.idle.timeout");
    this.correctionInterval = s.duration("windows.corrections.interval");
    if (correctionInterval.toMillis() <= 0) {
      throw new ConfigException(
          "invalid value '"
              + s.string("windows.corrections.interval")
              + "' for setting 'windows.corrections.interval': expected > 0");
    }
    this.maxFuture = s.duration("windows.max.future");
    this.maxKeysPerWindow = s.positiveInt("keys.max.per.window");
    this.defaultSloClass = s.string("slo.default.class");
    Map<String, SloClass> classes = new LinkedHashMap<>();
    for (String name : s.list("slo.classes")) {
      String p = "slo.class." + name + ".";
      classes.put(
          name,
          new SloClass(
              name,
              s.duration(p + "ttft.max").toNanos() / 1000,
              s.duration(p + "tpot.max").toNanos() / 1000,
              s.duration(p + "e2e.max").toNanos() / 1000));
    }
    if (!classes.containsKey(defaultSloClass)) {
      throw new ConfigException(
          "invalid value '"
              + defaultSloClass
              + "' for setting 'slo.default.class': not in slo.classes "
              + classes.keySet());
    }
    this.sloClasses = Map.copyOf(classes);
    this.pricePerHour = doubleTable(s, "cost.price.per.hour.");
    this.defaultPricePerHour = nonNegative(s, "cost.default.price.per.hour");
    this.currency = s.string("cost.currency");
    this.carbonIntensity = doubleTable(s, "carbon.intensity.");
    this.defaultCarbonIntensity = nonNegative(s, "carbon.default.intensity");
    this.pue = s.decimal("energy.pue");
    if (pue < 1.0) {
      throw new ConfigException(
          "invalid value '" + pue + "' for setting 'energy.pue': expected >= 1.0");
    }
    this.priceUpdatesEnabled = s.bool("topics.price.updates.enabled");
    this.carbonUpdatesEnabled = s.bool("topics.carbon.intensity.enabled");
    this.carbonHistoryRetention = s.duration("carbon.history.retention");
    this.outputHdrHistogram = s.bool("output.hdr.histogram");
    this.replicationFactor = s.positiveInt("internal.replication.factor");
    this.stateStoreType = s.string("state.store.type").toLowerCase(Locale.ROOT);
    if (!stateStoreType.equals("rocksdb") && !stateStoreType.equals("memory")) {
      throw new ConfigException(
          "invalid value '"
              + stateStoreType
              + "' for setting 'state.store.type': expected rocksdb or memory");
    }
    this.alerts = new AlertSettings(s);
    this.metricsHost = s.string("metrics.host");
    this.metricsPort = s.integer("metrics.port");
    if (metricsPort < 0 || metricsPort > 65535) {
      throw new ConfigException(
          "invalid value '" + metricsPort + "' for setting 'metrics.port': expected 0-65535");
    }
  }

  /** Validates and freezes {@code settings} (already layered over {@link #DEFAULTS}). */
  public static StreamsSettings from(Settings settings) {
    return new StreamsSettings(settings);
  }

  /** For tests: {@link #DEFAULTS} with {@code overrides} on top. */
  public static StreamsSettings fromMap(Map<String, ?> overrides) {
    return new StreamsSettings(Settings.fromMap(DEFAULTS).with(overrides));
  }

  private static final String ILLUSTRATIVE_PRICE =
      "illustrative price per device-hour (a list price, not a quote)";
  private static final String ILLUSTRATIVE_INTENSITY = "gCO2e/kWh, an illustrative annual average";

  /**
   * Every key of the streams app with its default, type and doc: the defaults ({@link #DEFAULTS}),
   * the type check at start, and the configuration reference of docs/STREAMS.md ({@code
   * StreamsSettingsDocsTest}).
   */
  public static final ConfigTable KEYS =
      ConfigTable.builder()
          .key(
              "application.id",
              "infermeter-streams",
              Type.STRING,
              "Kafka Streams application id (consumer group, internal topic prefix)")
          .key("kafka.bootstrap.servers", "127.0.0.1:9092", Type.STRING, "brokers")
          .key(
              "kafka.*",
              null,
              Type.PASSED_THROUGH,
              "any Kafka client setting, for every client the app opens: Kafka Streams'"
                  + " producers, consumers and admin client, and the topic check's admin client"
                  + " (TLS/SASL: docs/SECURITY.md)")
          .key(
              "kafka.producer.*",
              null,
              Type.PASSED_THROUGH,
              "the producers only; wins over `kafka.*` (passed to Kafka Streams as `producer.*`)")
          .key(
              "kafka.consumer.*",
              null,
              Type.PASSED_THROUGH,
              "the consumers only; wins over `kafka.*` (passed to Kafka Streams as `consumer.*`)")
          .key(
              "kafka.admin.*",
              null,
              Type.PASSED_THROUGH,
              "the admin clients only; wins over `kafka.*` (passed to Kafka Streams as"
                  + " `admin.*`)")
          .key(
              "kafka.streams.*",
              null,
              Type.PASSED_THROUGH,
              "passed to Kafka Streams as is (e.g. `kafka.streams.num.stream.threads=2`,"
                  + " `kafka.streams.state.dir`); wins over `kafka.*`")
          .key(
              "internal.replication.factor",
              "1",
              Type.POSITIVE_INTEGER,
              "replication of changelog/repartition topics; **production: 3**")
          .key(
              "schema.registry.url",
              "http://127.0.0.1:8081/apis/ccompat/v7",
              Type.STRING,
              "Confluent-compatible registry; `auto.register.schemas`, `basic.auth.*`,"
                  + " `bearer.auth.*`, `schema.registry.ssl.*` as in the serde"
                  + " (docs/SECURITY.md)")
          .key("topic.prefix", "", Type.STRING, "prefix of every external topic name")
          .addAll(TopicCreator.CONFIG)
          .key(
              "windows.sizes",
              "10s,1m",
              Type.LIST,
              "tumbling window sizes (multiples of 10ms); the smallest is the alert window")
          .key("windows.grace", "5s", Type.DURATION, "grace after window end")
          .key(
              "windows.fleet.delay",
              "5s",
              Type.DURATION,
              "wait after the upstream watermark passes a fleet window's end")
          .key(
              "windows.fleet.idle",
              "30s",
              Type.DURATION,
              "wall-clock time after which a silent upstream request task no longer holds fleet"
                  + " windows open; also the longest wait for all upstream tasks on a first"
                  + " start")
          .key(
              "windows.fleet.upstream.tasks",
              "0",
              Type.INTEGER,
              "number of request tasks (request topic partitions); 0 = unknown, and then the app"
                  + " sets it")
          .key(
              "energy.join.delay",
              "10s",
              Type.DURATION,
              "extra wait for request usage before a device window closes")
          .key(
              "energy.gap.spread.after",
              "5s",
              Type.DURATION,
              "a sample interval longer than this is spread over the windows it spans")
          .key(
              "windows.allowed.lateness",
              "10m",
              Type.DURATION,
              "how long a closed window still takes late records as corrections (re-emitted);"
                  + " older records are dead-lettered `late`; 0 = none")
          .key(
              "windows.corrections.interval",
              "1s",
              Type.DURATION,
              "wall-clock interval at which corrected windows are re-emitted (also before each"
                  + " close pass)")
          .key(
              "windows.idle.timeout",
              "30s",
              Type.DURATION,
              "wall-clock time without records after which an idle request task moves its stream"
                  + " time on by the time that passed (0 = never)")
          .key(
              "windows.max.future",
              "5s",
              Type.DURATION,
              "how far past the app's wall clock a record's event time may move stream time"
                  + " (clamped, counted)")
          .key(
              "dedup.retention",
              "2m",
              Type.DURATION,
              "how long event ids are remembered (event time); raised to grace + allowed"
                  + " lateness + largest window when smaller")
          .key(
              "output.hdr.histogram",
              "false",
              Type.BOOLEAN,
              "also put each latency histogram in HdrHistogram's compressed encoding into the"
                  + " aggregates")
          .key(
              "keys.max.per.window",
              "10000",
              Type.POSITIVE_INTEGER,
              "distinct keys per window and task before folding into `other`")
          .key("slo.classes", "default,interactive,batch", Type.LIST, "SLO class names")
          .key(
              "slo.default.class",
              "default",
              Type.STRING,
              "class of requests without (or with an unknown) `sloClass`")
          .key("slo.class.default.ttft.max", "500ms", Type.DURATION, "TTFT threshold of `default`")
          .key("slo.class.default.tpot.max", "50ms", Type.DURATION, "TPOT threshold of `default`")
          .key("slo.class.default.e2e.max", "10s", Type.DURATION, "e2e threshold of `default`")
          .key(
              "slo.class.interactive.ttft.max",
              "200ms",
              Type.DURATION,
              "TTFT threshold of `interactive`")
          .key(
              "slo.class.interactive.tpot.max",
              "30ms",
              Type.DURATION,
              "TPOT threshold of `interactive`")
          .key(
              "slo.class.interactive.e2e.max",
              "5s",
              Type.DURATION,
              "e2e threshold of `interactive`")
          .key("slo.class.batch.ttft.max", "10s", Type.DURATION, "TTFT threshold of `batch`")
          .key("slo.class.batch.tpot.max", "200ms", Type.DURATION, "TPOT threshold of `batch`")
          .key("slo.class.batch.e2e.max", "120s", Type.DURATION, "e2e threshold of `batch`")
          .key(
              "slo.class.<name>.ttft.max",
              null,
              Type.DURATION,
              "TTFT threshold of a class of `slo.classes`; required for each")
          .key(
              "slo.class.<name>.tpot.max",
              null,
              Type.DURATION,
              "TPOT threshold of a class of `slo.classes`; required for each")
          .key(
              "slo.class.<name>.e2e.max",
              null,
              Type.DURATION,
              "e2e threshold of a class of `slo.classes`; required for each")
          .key("cost.currency", "USD", Type.STRING, "currency of cost fields")
          .key(
              "cost.default.price.per.hour",
              "1.00",
              Type.DECIMAL,
              "price of an unlisted GPU type, per device-hour, >= 0")
          // illustrative list prices, not quotes: a deployment sets its contract prices
          .key("cost.price.per.hour.H100", "2.50", Type.DECIMAL, ILLUSTRATIVE_PRICE)
          .key("cost.price.per.hour.H200", "3.50", Type.DECIMAL, ILLUSTRATIVE_PRICE)
          .key("cost.price.per.hour.A100", "1.50", Type.DECIMAL, ILLUSTRATIVE_PRICE)
          .key("cost.price.per.hour.L4", "0.70", Type.DECIMAL, ILLUSTRATIVE_PRICE)
          .key("cost.price.per.hour.T4", "0.35", Type.DECIMAL, ILLUSTRATIVE_PRICE)
          .key(
              "cost.price.per.hour.<gpuType>",
              null,
              Type.DECIMAL,
              "price per device-hour of a GPU type, >= 0 (lookup: \"Energy, cost, carbon\")")
          .key(
              "carbon.default.intensity",
              "475",
              Type.DECIMAL,
              "fallback (CodeCarbon world average), gCO2e/kWh")
          // grid intensity, illustrative annual averages
          .key("carbon.intensity.us-east-1", "380", Type.DECIMAL, ILLUSTRATIVE_INTENSITY)
          .key("carbon.intensity.us-west-2", "120", Type.DECIMAL, ILLUSTRATIVE_INTENSITY)
          .key("carbon.intensity.eu-west-1", "290", Type.DECIMAL, ILLUSTRATIVE_INTENSITY)
          .key("carbon.intensity.eu-north-1", "30", Type.DECIMAL, ILLUSTRATIVE_INTENSITY)
          .key("carbon.intensity.eu-central-1", "350", Type.DECIMAL, ILLUSTRATIVE_INTENSITY)
          .key("carbon.intensity.ap-south-1", "700", Type.DECIMAL, ILLUSTRATIVE_INTENSITY)
          .key(
              "carbon.intensity.<region>",
              null,
              Type.DECIMAL,
              "grid intensity of a region, gCO2e/kWh, >= 0")
          .key("energy.pue", "1.2", Type.DECIMAL, "power usage effectiveness, >= 1")
          .key(
              "topics.price.updates.enabled",
              "false",
              Type.BOOLEAN,
              "read the optional price topic as a global table")
          .key(
              "topics.carbon.intensity.enabled",
              "false",
              Type.BOOLEAN,
              "read the optional carbon-intensity topic as a time series")
          .key(
              "carbon.history.retention",
              "30d",
              Type.DURATION,
              "carbon-intensity points kept behind each region's newest update")
          .key(
              "state.store.type",
              "rocksdb",
              Type.STRING,
              "`rocksdb` or `memory` (both changelogged)")
          .key(
              "metrics.host",
              "127.0.0.1",
              Type.STRING,
              "address of the Prometheus endpoint `/metrics`")
          .key("metrics.port", "9404", Type.INTEGER, "its port, 0-65535")
          .addAll(AlertSettings.KEYS)
          .addAll(StreamsLimits.KEYS)
          .build();

  /** The defaults, the lowest configuration layer: those of {@link #KEYS}. */
  public static final Map<String, String> DEFAULTS = KEYS.defaults();

  private static Map<String, Double> doubleTable(Settings s, String prefix) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : s.withPrefix(prefix).entrySet()) {
      out.put(e.getKey(), nonNegative(s, prefix + e.getKey()));
    }
    return Map.copyOf(out);
  }

  private static double nonNegative(Settings s, String key) {
    double v = s.decimal(key);
    if (v < 0) {
      throw new ConfigException(
          "invalid value '" + v + "' for setting '" + key + "': expected >= 0");
    }
    return v;
  }

  /**
   * Kafka Streams properties: required ones, then {@code kafka.*} (every internal client), {@code
   * kafka.streams.*} and the {@code kafka.producer.*}/{@code kafka.consumer.*}/{@code
   * kafka.admin.*} overrides (see {@link KafkaClientConfig#streams()}).
   */
  public Properties streamsProperties() {
    Properties p = new Properties();
    p.put("application.id", applicationId);
    p.put("bootstrap.servers", bootstrapServers);
    p.put("processing.guarantee", "exactly_once_v2");
    p.put("replication.factor", String.valueOf(replicationFactor));
    p.put("commit.interval.ms", "1000");
    p.put("statestore.cache.max.bytes", "0");
    kafkaClients().streams().forEach(p::put);
    return p;
  }

  /** Serde settings (schema.registry.url and the other registry keys) for AvroSerdeConfig. */
  public Map<String, String> serdeConfig() {
    Map<String, String> m = new LinkedHashMap<>(raw.withPrefix("schema.registry."));
    Map<String, String> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put("schema.registry." + k, v));
    out.put("schema.registry.url", raw.string("schema.registry.url"));
    raw.optional("auto.register.schemas").ifPresent(v -> out.put("auto.register.schemas", v));
    raw.optional("basic.auth.credentials.source")
        .ifPresent(v -> out.put("basic.auth.credentials.source", v));
    raw.optional("basic.auth.user.info").ifPresent(v -> out.put("basic.auth.user.info", v));
    raw.withPrefix("bearer.auth.").forEach((k, v) -> out.put("bearer.auth." + k, v));
    return out;
  }

  /** The keys the streams app reads, for reporting unknown ones at start (docs/STREAMS.md). */
  public static KnownKeys knownKeys() {
    return KnownKeys.forApp(
        KEYS.exactNames(),
        List.of("cost.price.per.hour.", "carbon.intensity.", "slo.class."),
        org.apache.kafka.streams.StreamsConfig.configDef().names());
  }

  /**
   * The Kafka client settings ({@code kafka.*} and the per-client overrides) of every client of the
   * app.
   */
  public KafkaClientConfig kafkaClients() {
    return KafkaClientConfig.of(raw, Set.of());
  }

  public Settings raw() {
    return raw;
  }

  public String applicationId() {
    return applicationId;
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public String topicPrefix() {
    return topicPrefix;
  }

  /** Window sizes, ascending; the first is the alerting window. */
  public List<Duration> windowSizes() {
    return windowSizes;
  }

  /** {@link #windowSizes()} in milliseconds, smallest first as configured. */
  public List<Long> windowSizesMs() {
    return windowSizes.stream().map(Duration::toMillis).toList();
  }

  public Duration grace() {
    return grace;
  }

  public Duration fleetDelay() {
    return fleetDelay;
  }

  /**
   * How many request tasks feed the fleet rollups (the request topic's partition count; the app
   * sets it at start); 0: unknown.
   */
  public int fleetUpstreamTasks() {
    return fleetUpstreamTasks;
  }

  /**
   * Wall-clock time after which a silent upstream request task no longer holds fleet windows open.
   */
  public Duration fleetIdle() {
    return fleetIdle;
  }

  public Duration energyDelay() {
    return energyDelay;
  }

  /**
   * Sample intervals longer than this are spread over the windows they span, by time, instead of
   * being booked in the window of the later sample.
   */
  public Duration energyGapSpread() {
    return energyGapSpread;
  }

  /**
   * How long de-duplication remembers an event id, behind the stream time: {@code dedup.retention},
   * raised when needed to grace + allowed lateness + the largest window, so a retried copy of any
   * record that can still count is recognized.
   */
  public Duration dedupRetention() {
    Duration needed = grace.plus(allowedLateness).plus(windowSizes.get(windowSizes.size() - 1));
    return dedupRetention.compareTo(needed) >= 0 ? dedupRetention : needed;
  }

  /**
   * How long after it closed a window still takes late records, re-emitted as corrections. 0: late
   * is dead-lettered.
   */
  public Duration allowedLateness() {
    return allowedLateness;
  }

  /**
   * Wall-clock period at which corrected windows are re-emitted (each window once per period at
   * most).
   */
  public Duration correctionInterval() {
    return correctionInterval;
  }

  /**
   * Wall-clock time without any record moving a request task's stream time after which the task
   * moves it on by the wall-clock time that passed, so the last windows before a pause close (0:
   * never).
   */
  public Duration idleTimeout() {
    return idleTimeout;
  }

  /**
   * How far past the app's wall clock a record's event time may move a task's stream time (clock
   * skew bound).
   */
  public Duration maxFuture() {
    return maxFuture;
  }

  public int maxKeysPerWindow() {
    return maxKeysPerWindow;
  }

  public Map<String, SloClass> sloClasses() {
    return sloClasses;
  }

  public String defaultSloClass() {
    return defaultSloClass;
  }

  /**
   * Price per device-hour of a gpu type: exact table key, else the longest table key contained in
   * it, else default.
   */
  public double pricePerHour(String gpuType) {
    return lookup(pricePerHour, gpuType).orElse(defaultPricePerHour);
  }

  public String currency() {
    return currency;
  }

  /** Carbon intensity gCO2e/kWh of a region from the table, empty when the table has no entry. */
  public Optional<Double> carbonIntensity(String region) {
    return Optional.ofNullable(region == null ? null : carbonIntensity.get(region));
  }

  public double defaultCarbonIntensity() {
    return defaultCarbonIntensity;
  }

  public double pue() {
    return pue;
  }

  public boolean priceUpdatesEnabled() {
    return priceUpdatesEnabled;
  }

  public boolean carbonUpdatesEnabled() {
    return carbonUpdatesEnabled;
  }

  /**
   * How far behind its region's newest update a carbon-intensity point is kept ({@code
   * carbon.history.retention}): the oldest window a late backfill can still price at its own time.
   */
  public Duration carbonHistoryRetention() {
    return carbonHistoryRetention;
  }

  /**
   * Whether each LatencyStats also carries the histogram in HdrHistogram's compressed encoding. Off
   * by default: the bucket arrays already hold the same histogram losslessly, and deflating 12
   * histograms per window was the largest cost of emitting a window.
   */
  public boolean outputHdrHistogram() {
    return outputHdrHistogram;
  }

  public boolean persistentStores() {
    return stateStoreType.equals("rocksdb");
  }

  public AlertSettings alerts() {
    return alerts;
  }

  public String metricsHost() {
    return metricsHost;
  }

  public int metricsPort() {
    return metricsPort;
  }

  private static Optional<Double> lookup(Map<String, Double> table, String key) {
    String k = tableKey(table.keySet(), key);
    return k == null ? Optional.empty() : Optional.of(table.get(k));
  }

  /**
   * The key of {@code keys} that names {@code gpuType}: the exact key, else the longest key whose
   * words all occur as whole words of the type (words are runs of letters and digits, case
   * ignored), so {@code NVIDIA H100 80GB HBM3} and {@code A100-SXM4-80GB} find {@code H100} and
   * {@code A100}, while {@code NVIDIA L40S} does not find {@code L4}. Null when none does.
   */
  public static String tableKey(Set<String> keys, String gpuType) {
    if (gpuType == null || gpuType.isEmpty()) {
      return null;
    }
    if (keys.contains(gpuType)) {
      return gpuType;
    }
    Set<String> words = Set.of(words(gpuType));
    String best = null;
    for (String k : keys) {
      String[] kw = words(k);
      if (kw.length > 0
          && words.containsAll(List.of(kw))
          && (best == null || k.length() > best.length())) {
        best = k;
      }
    }
    return best;
  }

  private static String[] words(String s) {
    return java.util.Arrays.stream(s.toUpperCase(Locale.ROOT).split("[^A-Z0-9]+"))
        .filter(w -> !w.isEmpty())
        .distinct()
        .toArray(String[]::new);
  }

  /** The {@code cost.price.per.hour.*} key that prices {@code gpuType}, or null (the default). */
  public String priceKey(String gpuType) {
    return tableKey(pricePerHour.keySet(), gpuType);
  }

  /**
   * Thresholds of one SLO class, microseconds. A request is good when it succeeded and every
   * threshold that applies holds (TPOT applies only when the request has a TPOT, TTFT only when it
   * has a first token).
   */
  public record SloClass(String name, long ttftMaxUs, long tpotMaxUs, long e2eMaxUs) {}

  /** Alert rule thresholds (all configurable under {@code alerts.*}). */
  public static final class AlertSettings {
    public final double latencyRegressionPct;
    public final int latencyRegressionWindows;

    /**
     * Judged p99 values (taken while not firing) the latency-regression baseline is the median of.
     */
    public final int latencyRegressionBaselineWindows;

    public final double sloTargetPct;

    /** Burn rate of the fast (paging) pair of the SLO burn rule. */
    public final double sloFastRate;

    public final Duration sloFastLong;
    public final Duration sloFastShort;

    /** Burn rate of the slow (ticket) pair of the SLO burn rule. */
    public final double sloSlowRate;

    public final Duration sloSlowLong;
    public final Duration sloSlowShort;

    /** Fewest requests in a pair's long window for it to be judged. */
    public final long sloBurnMinRequests;

    public final double gpuMemoryHighPct;
    public final Duration throttleMin;

    /**
     * NVML throttle-reason bits that count as throttling (default 0xe8: HW slowdown, SW and HW
     * thermal slowdown, HW power brake; see {@code ThrottleReasons}).
     */
    public final long throttleReasonsMask;

    public final long latencyRegressionMinRequests;
    public final int latencyRegressionWarmupWindows;

    /**
     * Most windows pooled to reach the latency-regression minimum count; then the pool is dropped.
     */
    public final int latencyRegressionMaxPoolWindows;

    /** Time span the memory-leak slope is taken over. */
    public final Duration memoryLeakHorizon;

    /** Device-memory slope (MiB per minute) from which memory_leak fires. */
    public final double memoryLeakRateMibPerMin;

    public final double errorSpikePct;
    public final long errorSpikeMinRequests;
    public final long coldStartStormCount;
    public final double queueSharePct;
    public final long queueMinRequests;

    /** TPOT p99 / p50 ratio from which p99_jitter fires. */
    public final double jitterP99Ratio;

    /** Fewest warm TPOT values for p99_jitter to judge (windows are pooled until then). */
    public final long jitterMinRequests;

    /** Consecutive judged windows at or over the ratio before p99_jitter fires. */
    public final int jitterWindows;

    /**
     * KV-cache usage (percent) from which gpu_memory_high fires on a GPU whose engine reports KV
     * usage.
     */
    public final double kvCacheHighPct;

    /**
     * Device-memory percent from which gpu_memory_high fires on a GPU an engine with KV usage
     * covered within {@link #gpuMemoryEngineHold} but not in this window.
     */
    public final double gpuMemoryEngineHighPct;

    /**
     * How long a GPU stays judged as holding an engine's pre-allocation after its last coverage.
     */
    public final Duration gpuMemoryEngineHold;

    /** How long an engine instance's last sample stands for it in windows where it sent none. */
    public final Duration engineStateMaxAge;

    public final Duration hostSilent;
    public final Duration hostSilentCheck;

    /**
     * Resolve deadband, percent of a rule's threshold: a firing rule counts a window as clear only
     * when its value is below threshold x (1 - deadband / 100).
     */
    public final double deadbandPct;

    /** Consecutive clear windows after which a firing rule resolves. */
    public final int resolveWindows;

    AlertSettings(Settings s) {
      latencyRegressionPct = s.decimal("alerts.latency.regression.pct");
      latencyRegressionWindows = s.positiveInt("alerts.latency.regression.windows");
      latencyRegressionMinRequests = s.positiveInt("alerts.latency.regression.min.requests");
      latencyRegressionWarmupWindows = s.positiveInt("alerts.latency.regression.warmup.windows");
      latencyRegressionMaxPoolWindows = s.positiveInt("alerts.latency.regression.max.pool.windows");
      latencyRegressionBaselineWindows =
          s.positiveInt("alerts.latency.regression.baseline.windows");
      sloTargetPct = s.decimal("alerts.slo.target.pct");
      if (sloTargetPct <= 0 || sloTargetPct >= 100) {
        throw new ConfigException(
            "invalid value '"
                + sloTargetPct
                + "' for setting 'alerts.slo.target.pct': expected (0, 100)");
      }
      sloFastRate = s.decimal("alerts.slo.burn.fast.rate");
      sloFastLong = positive(s, "alerts.slo.burn.fast.long");
      sloFastShort = positive(s, "alerts.slo.burn.fast.short");
      sloSlowRate = s.decimal("alerts.slo.burn.slow.rate");
      sloSlowLong = positive(s, "alerts.slo.burn.slow.long");
      sloSlowShort = positive(s, "alerts.slo.burn.slow.short");
      shortWithinLong(s, "fast", sloFastShort, sloFastLong);
      shortWithinLong(s, "slow", sloSlowShort, sloSlowLong);
      if (Math.max(sloFastLong.toMillis(), sloSlowLong.toMillis())
          > Duration.ofDays(2).toMillis()) {
        throw new ConfigException(
            "invalid value for setting 'alerts.slo.burn.slow.long' or 'alerts.slo.burn.fast.long':"
                + " expected at most 2d");
      }
      sloBurnMinRequests = s.positiveInt("alerts.slo.burn.min.requests");
      gpuMemoryHighPct = s.decimal("alerts.gpu.memory.high.pct");
      throttleMin = s.duration("alerts.throttle.min");
      throttleReasonsMask = mask(s, "alerts.throttle.reasons.mask");
      memoryLeakHorizon = s.duration("alerts.memory.leak.horizon");
      if (memoryLeakHorizon.toSeconds() < 3) {
        throw new ConfigException(
            "invalid value '"
                + s.string("alerts.memory.leak.horizon")
                + "' for setting 'alerts.memory.leak.horizon': expected >= 3s");
      }
      memoryLeakRateMibPerMin = s.decimal("alerts.memory.leak.rate");
      if (memoryLeakRateMibPerMin <= 0) {
        throw new ConfigException(
            "invalid value '"
                + memoryLeakRateMibPerMin
                + "' for setting 'alerts.memory.leak.rate': expected > 0 (MiB/min)");
      }
      errorSpikePct = s.decimal("alerts.error.spike.pct");
      errorSpikeMinRequests = s.positiveInt("alerts.error.spike.min.requests");
      coldStartStormCount = s.positiveInt("alerts.cold.start.storm.count");
      queueSharePct = s.decimal("alerts.queue.share.pct");
      queueMinRequests = s.positiveInt("alerts.queue.min.requests");
      jitterP99Ratio = s.decimal("alerts.jitter.p99.ratio");
      if (jitterP99Ratio <= 1) {
        throw new ConfigException(
            "invalid value '"
                + jitterP99Ratio
                + "' for setting 'alerts.jitter.p99.ratio': expected > 1 (p99 / p50)");
      }
      jitterMinRequests = s.positiveInt("alerts.jitter.min.requests");
      jitterWindows = s.positiveInt("alerts.jitter.windows");
      kvCacheHighPct = s.decimal("alerts.kv.cache.high.pct");
      gpuMemoryEngineHighPct = s.decimal("alerts.gpu.memory.engine.high.pct");
      gpuMemoryEngineHold = s.duration("alerts.gpu.memory.engine.hold");
      engineStateMaxAge = s.duration("engine.state.max.age");
      hostSilent = s.duration("alerts.host.silent.after");
      hostSilentCheck = s.duration("alerts.host.silent.check.interval");
      deadbandPct = s.decimal("alerts.deadband.pct");
      if (deadbandPct < 0 || deadbandPct >= 100) {
        throw new ConfigException(
            "invalid value '"
                + deadbandPct
                + "' for setting 'alerts.deadband.pct': expected [0, 100)");
      }
      resolveWindows = s.positiveInt("alerts.resolve.windows");
      if (hostSilentCheck.toMillis() <= 0) {
        throw new ConfigException(
            "invalid value '"
                + s.string("alerts.host.silent.check.interval")
                + "' for setting 'alerts.host.silent.check.interval': expected > 0");
      }
    }

    /** A duration > 0. */
    private static Duration positive(Settings s, String key) {
      Duration d = s.duration(key);
      if (d.toMillis() <= 0) {
        throw new ConfigException(
            "invalid value '" + s.string(key) + "' for setting '" + key + "': expected > 0");
      }
      return d;
    }

    private static void shortWithinLong(Settings s, String pair, Duration shortD, Duration longD) {
      if (shortD.compareTo(longD) > 0) {
        String key = "alerts.slo.burn." + pair + ".short";
        throw new ConfigException(
            "invalid value '"
                + s.string(key)
                + "' for setting '"
                + key
                + "': expected at most alerts.slo.burn."
                + pair
                + ".long");
      }
    }

    /** A bit mask written in hex ({@code 0xe8}) or decimal, non-negative. */
    private static long mask(Settings s, String key) {
      String v = s.string(key).trim();
      try {
        long m = Long.decode(v);
        if (m >= 0) {
          return m;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new ConfigException(
          "invalid value '" + v + "' for setting '" + key + "': expected a bit mask like 0xe8");
    }

    /**
     * Every key of the alert rules with its default, type and doc: part of {@link
     * StreamsSettings#KEYS}.
     */
    public static final ConfigTable KEYS =
        ConfigTable.builder()
            .key(
                "alerts.latency.regression.pct",
                "15",
                Type.DECIMAL,
                "margin over the baseline's 90th percentile (percent) of `latency_regression`")
            .key(
                "alerts.latency.regression.windows",
                "3",
                Type.POSITIVE_INTEGER,
                "consecutive judgments over the margin that fire `latency_regression`")
            .key(
                "alerts.latency.regression.min.requests",
                "400",
                Type.POSITIVE_INTEGER,
                "warm requests pooled per `latency_regression` judgment")
            .key(
                "alerts.latency.regression.warmup.windows",
                "8",
                Type.POSITIVE_INTEGER,
                "judgments before the first `latency_regression` alert can fire")
            .key(
                "alerts.latency.regression.max.pool.windows",
                "30",
                Type.POSITIVE_INTEGER,
                "most windows pooled to reach `alerts.latency.regression.min.requests`; a pool"
                    + " that spans more is dropped")
            .key(
                "alerts.latency.regression.baseline.windows",
                "30",
                Type.POSITIVE_INTEGER,
                "judged p99 values (taken while not firing) whose 90th percentile +"
                    + " `alerts.latency.regression.pct` is the `latency_regression` threshold")
            .key(
                "alerts.slo.target.pct",
                "99",
                Type.DECIMAL,
                "SLO target of `slo_burn` (percent of good requests, all classes pooled), in (0,"
                    + " 100); burn rate = bad share / (1 - target)")
            .key(
                "alerts.slo.burn.fast.rate",
                "14.4",
                Type.DECIMAL,
                "burn rate of the fast (paging) pair of `slo_burn`")
            .key(
                "alerts.slo.burn.fast.long",
                "1h",
                Type.DURATION,
                "long window of the fast pair; at most 2d")
            .key(
                "alerts.slo.burn.fast.short",
                "5m",
                Type.DURATION,
                "short window of the fast pair; at most its long one")
            .key(
                "alerts.slo.burn.slow.rate",
                "6",
                Type.DECIMAL,
                "burn rate of the slow (ticket) pair of `slo_burn`")
            .key(
                "alerts.slo.burn.slow.long",
                "6h",
                Type.DURATION,
                "long window of the slow pair; at most 2d")
            .key(
                "alerts.slo.burn.slow.short",
                "30m",
                Type.DURATION,
                "short window of the slow pair; at most its long one")
            .key(
                "alerts.slo.burn.min.requests",
                "100",
                Type.POSITIVE_INTEGER,
                "fewest requests in a pair's long window for it to be judged")
            .key(
                "alerts.gpu.memory.high.pct",
                "85",
                Type.DECIMAL,
                "device-memory percent (max used / total) from which `gpu_memory_high` fires on a"
                    + " GPU no engine reporting KV usage covers")
            .key(
                "alerts.throttle.min",
                "5s",
                Type.DURATION,
                "how long a counted throttle reason must be set continuously for `throttling` to"
                    + " fire")
            .key(
                "alerts.throttle.reasons.mask",
                "0xe8",
                Type.STRING,
                "NVML throttle-reason bits that count as throttling (hex or decimal); `0xec` also"
                    + " counts SW power cap")
            .key(
                "alerts.memory.leak.horizon",
                "30m",
                Type.DURATION,
                "time span of the `memory_leak` slope (at least 3 s)")
            .key(
                "alerts.memory.leak.rate",
                "10",
                Type.DECIMAL,
                "device-memory slope, MiB per minute, from which `memory_leak` fires")
            .key(
                "alerts.error.spike.pct",
                "5",
                Type.DECIMAL,
                "failure share (lower 99 % bound, percent) of `error_spike`")
            .key(
                "alerts.error.spike.min.requests",
                "20",
                Type.POSITIVE_INTEGER,
                "fewest requests of `error_spike`")
            .key(
                "alerts.cold.start.storm.count",
                "10",
                Type.POSITIVE_INTEGER,
                "cold starts in a window from which `cold_start_storm` fires")
            .key(
                "alerts.queue.share.pct",
                "50",
                Type.DECIMAL,
                "sum queue time / sum e2e (percent) from which `queue_buildup` fires")
            .key(
                "alerts.queue.min.requests",
                "20",
                Type.POSITIVE_INTEGER,
                "fewest requests of a window on which `queue_buildup` is judged")
            .key(
                "alerts.jitter.p99.ratio",
                "3",
                Type.DECIMAL,
                "TPOT p99 / p50 from which `p99_jitter` fires (> 1)")
            .key(
                "alerts.jitter.min.requests",
                "500",
                Type.POSITIVE_INTEGER,
                "fewest warm TPOT values of one `p99_jitter` judgment (windows are pooled until"
                    + " then)")
            .key(
                "alerts.jitter.windows",
                "3",
                Type.POSITIVE_INTEGER,
                "consecutive judgments at or over the ratio before `p99_jitter` fires")
            .key(
                "alerts.kv.cache.high.pct",
                "95",
                Type.DECIMAL,
                "KV-cache usage (percent) from which `gpu_memory_high` fires on a GPU whose engine"
                    + " reports KV usage")
            .key(
                "alerts.gpu.memory.engine.high.pct",
                "98",
                Type.DECIMAL,
                "device-memory percent from which `gpu_memory_high` fires on a GPU an engine with"
                    + " KV usage covered within `alerts.gpu.memory.engine.hold` but not in this"
                    + " window")
            .key(
                "alerts.gpu.memory.engine.hold",
                "1h",
                Type.DURATION,
                "how long a GPU counts as holding an engine's pre-allocation after the engine's"
                    + " last window on it")
            .key(
                "engine.state.max.age",
                "60s",
                Type.DURATION,
                "how long an engine instance's last sample stands for it in windows where it sent"
                    + " none")
            .key(
                "alerts.host.silent.after",
                "60s",
                Type.DURATION,
                "time without a sample or request usage from a known host after which"
                    + " `host_silent` fires")
            .key(
                "alerts.host.silent.check.interval",
                "10s",
                Type.DURATION,
                "wall-clock interval of the `host_silent` check (> 0)")
            .key(
                "alerts.deadband.pct",
                "5",
                Type.DECIMAL,
                "resolve deadband, percent of a rule's threshold: a firing rule counts a window as"
                    + " clear only below threshold x (1 - 5 %)")
            .key(
                "alerts.resolve.windows",
                "3",
                Type.POSITIVE_INTEGER,
                "consecutive clear windows after which a firing rule resolves")
            .build();
  }
}
