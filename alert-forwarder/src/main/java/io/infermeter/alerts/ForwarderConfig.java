package io.infermeter.alerts;

import io.infermeter.schemas.TopicCreator;
import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.ConfigKey.Type;
import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.schemas.config.KafkaClientConfig;
import io.infermeter.schemas.config.KnownKeys;
import io.infermeter.schemas.config.Settings;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The alert forwarder's immutable configuration, built on {@link Settings} (defaults &lt; config
 * file &lt; {@code INFERMETER_*} environment variables &lt; system properties). Every key, its unit
 * and its default is listed in docs/ALERTING.md. An invalid value fails at start-up with a {@link
 * ConfigException} naming the key and the value. Thread-safe (immutable).
 */
public final class ForwarderConfig {

  /** Environment variable prefix of every key. */
  public static final String ENV_PREFIX = "INFERMETER_";

  /** Prefix of the static labels added to every alert, like Prometheus' {@code external_labels}. */
  public static final String LABEL_PREFIX = "alertmanager.label.";

  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

  private final Settings settings;
  private final String kafkaBootstrap;
  private final String groupId;
  private final String topicPrefix;
  private final List<URI> alertmanagers;
  private final Duration resendInterval;
  private final Duration resendTimeout;
  private final Duration requestTimeout;
  private final Duration retryInitialBackoff;
  private final Duration retryMaxBackoff;
  private final Duration retryGiveUpAfter;
  private final Duration rebuildLookback;
  private final Optional<String> generatorUrl;
  private final Map<String, String> externalLabels;
  private final int firingMax;
  private final Optional<String> authorization;
  private final Duration pollTimeout;
  private final String metricsHost;
  private final int metricsPort;

  private ForwarderConfig(Settings s) {
    KEYS.check(s);
    this.settings = s;
    this.kafkaBootstrap = s.string("kafka.bootstrap.servers");
    this.groupId = s.string("kafka.group.id");
    s.string("schema.registry.url");
    this.topicPrefix = s.string("topic.prefix", "");
    this.alertmanagers = parseUrls(s);
    this.resendInterval = positive(s, "alertmanager.resend.interval");
    this.resendTimeout = positive(s, "alertmanager.resend.timeout");
    if (resendTimeout.compareTo(resendInterval) <= 0) {
      throw new ConfigException(
          "invalid value '"
              + s.string("alertmanager.resend.timeout")
              + "' for setting 'alertmanager.resend.timeout': must be longer than alertmanager.resend.interval ("
              + s.string("alertmanager.resend.interval")
              + "), or Alertmanager resolves a firing alert between two sends");
    }
    this.requestTimeout = positive(s, "alertmanager.request.timeout");
    this.retryInitialBackoff = positive(s, "alertmanager.retry.initial.backoff");
    this.retryMaxBackoff = positive(s, "alertmanager.retry.max.backoff");
    if (retryMaxBackoff.compareTo(retryInitialBackoff) < 0) {
      throw new ConfigException(
          "invalid value '"
              + s.string("alertmanager.retry.max.backoff")
              + "' for setting 'alertmanager.retry.max.backoff': must not be below alertmanager.retry.initial.backoff ("
              + s.string("alertmanager.retry.initial.backoff")
              + ")");
    }
    this.retryGiveUpAfter = positive(s, "alertmanager.retry.give.up.after");
    this.rebuildLookback = positive(s, "alertmanager.rebuild.lookback");
    String generator = s.string("alertmanager.generator.url", "");
    if (!generator.isEmpty()) {
      checkHttpUrl("alertmanager.generator.url", generator);
    }
    this.generatorUrl = generator.isEmpty() ? Optional.empty() : Optional.of(generator);
    Map<String, String> labels = new LinkedHashMap<>();
    s.withPrefix(LABEL_PREFIX)
        .forEach(
            (name, value) -> {
              if (!LABEL_NAME.matcher(name).matches()) {
                throw new ConfigException(
                    "invalid setting '"
                        + LABEL_PREFIX
                        + name
                        + "': '"
                        + name
                        + "' is not an Alertmanager label name ([a-zA-Z_][a-zA-Z0-9_]*)");
              }
              if (!value.isEmpty()) {
                labels.put(name, value);
              }
            });
    this.externalLabels = Map.copyOf(labels);
    this.firingMax = s.positiveInt("alertmanager.firing.max");
    this.authorization = authorization(s);
    this.pollTimeout = positive(s, "poll.timeout");
    this.metricsHost = s.string("metrics.host");
    int port = s.integer("metrics.port");
    if (port < 0 || port > 65535) {
      throw new ConfigException(
          "invalid value '" + port + "' for setting 'metrics.port': expected 0-65535 (0: off)");
    }
    this.metricsPort = port;
  }

  /** Every key of the forwarder: defaults, types and the reference table of docs/ALERTING.md. */
  public static final ConfigTable KEYS =
      ConfigTable.builder()
          .key("kafka.bootstrap.servers", "127.0.0.1:9092", Type.STRING, "Kafka bootstrap servers")
          .key(
              "kafka.group.id",
              "infermeter-alert-forwarder",
              Type.STRING,
              "consumer group; its committed offsets are where a restart resumes")
          .key(
              "kafka.*",
              null,
              Type.PASSED_THROUGH,
              "any Kafka consumer setting, for both consumers (TLS/SASL: [SECURITY.md](SECURITY.md)); `kafka.group.id` is the forwarder's own key, not passed to the rebuild consumer")
          .key(
              "kafka.consumer.*",
              null,
              Type.PASSED_THROUGH,
              "both consumers only; wins over `kafka.*`; `enable.auto.commit` is always false, `isolation.level` defaults to `read_committed`")
          .key(
              "schema.registry.url",
              "http://127.0.0.1:8081/apis/ccompat/v7",
              Type.STRING,
              "Confluent-compatible registry (also `schema.registry.*`, `basic.auth.*`)")
          .key("topic.prefix", "", Type.STRING, "prefix of the topic name (per deployment)")
          .addAll(TopicCreator.CONFIG)
          .key(
              "alertmanager.urls",
              "http://127.0.0.1:9093",
              Type.LIST,
              "comma-separated base URLs of every Alertmanager (`/api/v2/alerts` is appended; a path prefix such as `/alertmanager` is kept); each gets every alert")
          .key(
              "alertmanager.resend.interval",
              "60s",
              Type.DURATION,
              "every firing alert is sent again this often")
          .key(
              "alertmanager.resend.timeout",
              "4m",
              Type.DURATION,
              "a firing alert's `endsAt` is the send time plus this; must exceed the resend interval. Alertmanager resolves an alert whose `endsAt` passed without a re-send (forwarder down): 4 × the interval, as Prometheus does")
          .key(
              "alertmanager.request.timeout",
              "10s",
              Type.DURATION,
              "connect and answer timeout of one POST")
          .key(
              "alertmanager.retry.initial.backoff",
              "500ms",
              Type.DURATION,
              "first wait after a 5xx, 429 or no answer; doubles per attempt")
          .key("alertmanager.retry.max.backoff", "30s", Type.DURATION, "cap of the wait")
          .key(
              "alertmanager.retry.give.up.after",
              "2m",
              Type.DURATION,
              "a delivery to one Alertmanager still failing after this is given up (counted)")
          .key(
              "alertmanager.rebuild.lookback",
              "7d",
              Type.DURATION,
              "how far back (record timestamps) the topic is re-read at start to rebuild the firing alerts")
          .key(
              "alertmanager.generator.url",
              "",
              Type.STRING,
              "`generatorURL` of every alert (e.g. a Grafana dashboard); empty leaves it out")
          .key(
              "alertmanager.label.<name>",
              null,
              Type.STRING,
              "a static label on every alert that has none of that name, like Prometheus' `external_labels` (e.g. `alertmanager.label.env=prod`); names with `_` are set in the properties file (an environment variable turns `_` into `.`)")
          .key(
              "alertmanager.basic.auth.username",
              null,
              Type.STRING,
              "HTTP basic auth to every Alertmanager (Alertmanager's `--web.config.file` `basic_auth_users`); needs a password")
          .key("alertmanager.basic.auth.password", null, Type.STRING, "its password; never logged")
          .key(
              "alertmanager.basic.auth.password.file",
              null,
              Type.STRING,
              "a file holding the password instead")
          .key(
              "alertmanager.bearer.token",
              null,
              Type.STRING,
              "a bearer token instead of basic auth (e.g. an authenticating proxy in front of Alertmanager); never logged")
          .key(
              "alertmanager.bearer.token.file",
              null,
              Type.STRING,
              "a file holding the bearer token instead")
          .key(
              "alertmanager.firing.max",
              "10000",
              Type.POSITIVE_INTEGER,
              "most firing alerts kept for re-sending (alerts); a FIRING beyond this is forwarded once and counted")
          .key("poll.timeout", "500ms", Type.DURATION, "Kafka poll timeout")
          .key("metrics.host", "127.0.0.1", Type.STRING, "metrics and health endpoint address")
          .key("metrics.port", "9406", Type.INTEGER, "its port; 0 turns it off")
          .build();

  static final Map<String, String> DEFAULTS = KEYS.defaults();

  /** The keys the forwarder reads, for reporting unknown ones at start (docs/ALERTING.md). */
  public static KnownKeys knownKeys() {
    return KnownKeys.forApp(KEYS.exactNames(), List.of(LABEL_PREFIX), Set.of());
  }

  /**
   * Reports keys the forwarder does not read: a WARN each, or with {@code strict} a {@link
   * ConfigException}.
   */
  public void reportUnknownKeys(boolean strict) {
    knownKeys().report(settings, strict);
  }

  /**
   * Defaults, the optional file, {@code INFERMETER_*} environment variables and system properties,
   * as Settings.
   */
  public static Settings settings(
      Optional<Path> file, Map<String, String> env, Properties sysProps) {
    return Settings.load(DEFAULTS, file, ENV_PREFIX, env, sysProps);
  }

  /**
   * Loads defaults, the optional file, {@code INFERMETER_*} environment variables and system
   * properties.
   */
  public static ForwarderConfig load(
      Optional<Path> file, Map<String, String> env, Properties sysProps) {
    return from(settings(file, env, sysProps));
  }

  /** Validates {@code settings}. */
  public static ForwarderConfig from(Settings settings) {
    return new ForwarderConfig(settings);
  }

  /** Defaults overlaid with {@code overrides} (tests, embedding). */
  public static ForwarderConfig fromMap(Map<String, ?> overrides) {
    return new ForwarderConfig(Settings.fromMap(DEFAULTS).with(overrides));
  }

  /** A copy with {@code overrides} applied on top. */
  public ForwarderConfig with(Map<String, ?> overrides) {
    return new ForwarderConfig(settings.with(overrides));
  }

  private static List<URI> parseUrls(Settings s) {
    List<URI> out = new ArrayList<>();
    for (String u : s.list("alertmanager.urls")) {
      URI uri = checkHttpUrl("alertmanager.urls", u);
      String base = uri.toString().replaceAll("/+$", "");
      out.add(URI.create(base + "/api/v2/alerts"));
    }
    if (out.isEmpty()) {
      throw new ConfigException(
          "setting 'alertmanager.urls' is empty: expected one or more comma-separated "
              + "Alertmanager base URLs, e.g. http://127.0.0.1:9093");
    }
    if (out.stream().distinct().count() != out.size()) {
      throw new ConfigException(
          "invalid value '"
              + s.string("alertmanager.urls")
              + "' for setting 'alertmanager.urls': the same Alertmanager is listed twice");
    }
    return List.copyOf(out);
  }

  /**
   * The Authorization header value: HTTP basic auth or a bearer token, each from a value or a file;
   * empty for none.
   */
  private static Optional<String> authorization(Settings s) {
    Optional<String> user = s.optional("alertmanager.basic.auth.username");
    Optional<String> password = secret(s, "alertmanager.basic.auth.password");
    Optional<String> token = secret(s, "alertmanager.bearer.token");
    if (token.isPresent() && (user.isPresent() || password.isPresent())) {
      throw new ConfigException(
          "settings 'alertmanager.bearer.token' and 'alertmanager.basic.auth.*' are both set: "
              + "choose one way to authenticate to Alertmanager");
    }
    if (token.isPresent()) {
      return Optional.of("Bearer " + token.get());
    }
    if (user.isPresent() != password.isPresent()) {
      throw new ConfigException(
          "setting 'alertmanager.basic.auth.username' needs 'alertmanager.basic.auth.password' "
              + "(or .password.file) and the other way round");
    }
    if (user.isPresent()) {
      if (user.get().contains(":")) {
        throw new ConfigException(
            "invalid value for setting 'alertmanager.basic.auth.username': HTTP basic auth "
                + "user names cannot contain ':'");
      }
      String pair = user.get() + ":" + password.get();
      return Optional.of(
          "Basic "
              + java.util.Base64.getEncoder()
                  .encodeToString(pair.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }
    return Optional.empty();
  }

  /** {@code key} itself, else the stripped content of the file named by {@code key.file}. */
  private static Optional<String> secret(Settings s, String key) {
    if (s.has(key)) {
      return Optional.of(s.string(key));
    }
    if (s.has(key + ".file")) {
      Path file = Path.of(s.string(key + ".file"));
      try {
        String v =
            java.nio.file.Files.readString(file, java.nio.charset.StandardCharsets.UTF_8).strip();
        if (v.isEmpty()) {
          throw new ConfigException("the file named by '" + key + ".file' (" + file + ") is empty");
        }
        return Optional.of(v);
      } catch (java.io.IOException e) {
        throw new ConfigException(
            "cannot read the file named by '"
                + key
                + ".file' ("
                + file
                + "): "
                + e.getClass().getSimpleName(),
            e);
      }
    }
    return Optional.empty();
  }

  private static URI checkHttpUrl(String key, String value) {
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      throw new ConfigException(
          "invalid value '"
              + value
              + "' for setting '"
              + key
              + "': not a URL ("
              + e.getMessage()
              + ")",
          e);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https"))
        || uri.getHost() == null
        || uri.getQuery() != null
        || uri.getFragment() != null) {
      throw new ConfigException(
          "invalid value '"
              + value
              + "' for setting '"
              + key
              + "': expected an http:// or https:// URL with a host and no query, e.g. http://127.0.0.1:9093");
    }
    return uri;
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

  /**
   * The effective settings with secrets masked, for the start-up log and {@code --print-config}.
   */
  public String describe() {
    return settings.describe();
  }

  public String kafkaBootstrap() {
    return kafkaBootstrap;
  }

  public String groupId() {
    return groupId;
  }

  public String topicPrefix() {
    return topicPrefix;
  }

  /**
   * The {@code POST /api/v2/alerts} endpoint of every configured Alertmanager, in configuration
   * order.
   */
  public List<URI> alertmanagers() {
    return alertmanagers;
  }

  /** How often every firing alert is sent again (pushing its endsAt forward). */
  public Duration resendInterval() {
    return resendInterval;
  }

  /**
   * A firing alert's endsAt is the send time plus this; Alertmanager resolves it then unless it is
   * sent again.
   */
  public Duration resendTimeout() {
    return resendTimeout;
  }

  /** Connect and response timeout of one POST. */
  public Duration requestTimeout() {
    return requestTimeout;
  }

  public Duration retryInitialBackoff() {
    return retryInitialBackoff;
  }

  public Duration retryMaxBackoff() {
    return retryMaxBackoff;
  }

  /**
   * After this long of 5xx answers or connection errors, one delivery to one Alertmanager is given
   * up (counted).
   */
  public Duration retryGiveUpAfter() {
    return retryGiveUpAfter;
  }

  /** How far back the alerts topic is re-read at start to rebuild the set of firing alerts. */
  public Duration rebuildLookback() {
    return rebuildLookback;
  }

  /** The generatorURL of every alert (e.g. a dashboard); empty: left out. */
  public Optional<String> generatorUrl() {
    return generatorUrl;
  }

  /**
   * Static labels ({@code alertmanager.label.NAME=VALUE}) added to every alert that does not carry
   * them already.
   */
  public Map<String, String> externalLabels() {
    return externalLabels;
  }

  /**
   * Most firing alerts kept for re-sending; a FIRING beyond this is forwarded once and not re-sent
   * (counted).
   */
  public int firingMax() {
    return firingMax;
  }

  /**
   * The {@code Authorization} header sent to every Alertmanager ({@code Basic ...} or {@code Bearer
   * ...}); empty for none. A secret: never log it.
   */
  public Optional<String> authorization() {
    return authorization;
  }

  public Duration pollTimeout() {
    return pollTimeout;
  }

  public String metricsHost() {
    return metricsHost;
  }

  /** Port of the Prometheus endpoint; 0 turns it off. */
  public int metricsPort() {
    return metricsPort;
  }

  /**
   * Kafka consumer settings: {@code kafka.*} (except {@code kafka.group.id}, read by the forwarder
   * itself) with {@code kafka.consumer.*} on top, prefixes removed; security settings go under
   * {@code kafka.*}.
   */
  public Map<String, String> consumerOverrides() {
    return KafkaClientConfig.of(settings, Set.of("kafka.group.id")).consumer();
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
              if (k.startsWith("schema.registry.") || k.startsWith("basic.auth.")) {
                m.put(k, v);
              }
            });
    return m;
  }
}
