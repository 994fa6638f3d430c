package io.infermeter.schemas.config;

import io.infermeter.schemas.TopicCreator;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.RegistryTls;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The configuration keys an app understands, so that a key it would silently ignore (a typo such as
 * {@code kafka.security.protocl}) is reported at start: a WARN naming the key, where it came from
 * and the closest known key, or with {@code --strict} a {@link ConfigException}.
 *
 * <p>A key is known when it is declared by the app, lies under one of its open prefixes (tables
 * such as {@code cost.price.per.hour.<gpu>}), or lies under a checked prefix and names a setting of
 * what the prefix feeds: {@code kafka.*} the settings of Kafka's producer, consumer or admin client
 * (from their {@code ConfigDef}s), {@code kafka.producer.*} a producer setting and so on, {@code
 * schema.registry.*} a registry client setting. A Kafka client accepts custom settings for plug-ins
 * (interceptors, callback handlers); those are reported too, as a WARN unless {@code --strict} is
 * given. Immutable and thread-safe.
 */
public final class KnownKeys {

  private static final Logger LOG = LoggerFactory.getLogger(KnownKeys.class);

  /**
   * Variables of the local stack scripts ({@code deploy/local/stack.sh}) that share the {@code
   * INFERMETER_} prefix and may be exported in the same shell: read by the scripts, never by an
   * app, and never reported.
   */
  public static final Set<String> LAUNCHER_KEYS =
      Set.of(
          "stack.dir",
          "kafka.port",
          "kafka.controller.port",
          "registry.port",
          "clickhouse.http.port",
          "clickhouse.tcp.port");

  /**
   * The registry client's keys ({@link AvroSerdeConfig}, {@link RegistryTls}), read by every app.
   */
  public static final Set<String> REGISTRY_KEYS =
      Set.of(
          AvroSerdeConfig.SCHEMA_REGISTRY_URL,
          AvroSerdeConfig.AUTO_REGISTER_SCHEMAS,
          AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE,
          AvroSerdeConfig.BASIC_AUTH_USER_INFO,
          AvroSerdeConfig.KEY_SUBJECT_NAME_STRATEGY,
          AvroSerdeConfig.VALUE_SUBJECT_NAME_STRATEGY,
          AvroSerdeConfig.REQUEST_TIMEOUT_MS,
          AvroSerdeConfig.BEARER_AUTH_CREDENTIALS_SOURCE,
          AvroSerdeConfig.BEARER_AUTH_TOKEN,
          RegistryTls.TRUSTSTORE_LOCATION,
          RegistryTls.TRUSTSTORE_PASSWORD,
          RegistryTls.TRUSTSTORE_TYPE,
          RegistryTls.KEYSTORE_LOCATION,
          RegistryTls.KEYSTORE_PASSWORD,
          RegistryTls.KEYSTORE_TYPE,
          RegistryTls.KEY_PASSWORD);

  /** Prefixes under which Kafka Streams accepts per-client and per-topic settings. */
  private static final List<String> STREAMS_OPEN_PREFIXES =
      List.of(
          "producer.",
          "consumer.",
          "main.consumer.",
          "restore.consumer.",
          "global.consumer.",
          "admin.",
          "topic.");

  private final Set<String> keys;
  private final List<String> openPrefixes;
  private final Map<String, Set<String>> checkedPrefixes;
  private final Set<String> candidates;

  private KnownKeys(
      Set<String> keys, List<String> openPrefixes, Map<String, Set<String>> checkedPrefixes) {
    this.keys = Set.copyOf(keys);
    this.openPrefixes = List.copyOf(openPrefixes);
    this.checkedPrefixes = Map.copyOf(checkedPrefixes);
    Set<String> all = new TreeSet<>(keys);
    checkedPrefixes.forEach((prefix, names) -> names.forEach(n -> all.add(prefix + n)));
    this.candidates = Set.copyOf(all);
  }

  /**
   * The keys of an app: its declared keys, the registry keys, the topic-creation keys ({@link
   * TopicCreator#KEYS}), {@code kafka.*} checked against Kafka's client settings, and its open
   * prefixes.
   *
   * @param declared the app's own keys (its defaults' key set plus keys read without a default)
   * @param openPrefixes prefixes of key tables the app reads whole (e.g. {@code clickhouse.jdbc.})
   * @param streamsKeys the settings of {@code StreamsConfig} for the streams app (then {@code
   *     kafka.streams.*} is accepted); empty for an app without Kafka Streams
   */
  public static KnownKeys forApp(
      Collection<String> declared, Collection<String> openPrefixes, Set<String> streamsKeys) {
    Set<String> keys = new TreeSet<>(declared);
    keys.addAll(REGISTRY_KEYS);
    keys.addAll(TopicCreator.KEYS);
    keys.addAll(LAUNCHER_KEYS);
    Set<String> clients = new TreeSet<>(ProducerConfig.configNames());
    clients.addAll(ConsumerConfig.configNames());
    clients.addAll(AdminClientConfig.configNames());
    Map<String, Set<String>> checked = new LinkedHashMap<>();
    checked.put(KafkaClientConfig.PRODUCER_PREFIX, ProducerConfig.configNames());
    checked.put(KafkaClientConfig.CONSUMER_PREFIX, ConsumerConfig.configNames());
    checked.put(KafkaClientConfig.ADMIN_PREFIX, AdminClientConfig.configNames());
    List<String> open = new ArrayList<>(openPrefixes);
    if (!streamsKeys.isEmpty()) {
      checked.put(KafkaClientConfig.STREAMS_PREFIX, Set.copyOf(streamsKeys));
      STREAMS_OPEN_PREFIXES.forEach(p -> open.add(KafkaClientConfig.STREAMS_PREFIX + p));
      clients.addAll(streamsKeys);
    }
    checked.put(KafkaClientConfig.PREFIX, clients);
    return new KnownKeys(keys, open, checked);
  }

  /** True when the app reads {@code key}. */
  public boolean isKnown(String key) {
    if (keys.contains(key) || openPrefixes.stream().anyMatch(key::startsWith)) {
      return true;
    }
    // the longest checked prefix decides: kafka.producer.x is checked against the producer, not
    // against kafka.*
    Optional<String> prefix =
        checkedPrefixes.keySet().stream()
            .filter(key::startsWith)
            .max(Comparator.comparingInt(String::length));
    return prefix.isPresent()
        && checkedPrefixes.get(prefix.get()).contains(key.substring(prefix.get().length()));
  }

  /**
   * The known key closest to {@code key} by edit distance, when it is close enough to be a likely
   * typo.
   */
  public Optional<String> closest(String key) {
    int limit = Math.max(2, key.length() / 6);
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : candidates) {
      if (Math.abs(candidate.length() - key.length()) > limit) {
        continue;
      }
      int d = distance(key, candidate, limit);
      if (d < bestDistance
          || (d == bestDistance && best != null && candidate.compareTo(best) < 0)) {
        best = candidate;
        bestDistance = d;
      }
    }
    return bestDistance <= limit ? Optional.ofNullable(best) : Optional.empty();
  }

  /** One line per key set by the user (not a default) that the app does not read. */
  public List<String> problems(Settings settings) {
    List<String> out = new ArrayList<>();
    for (String key : settings.asMap().keySet()) {
      String origin = settings.origin(key);
      if (origin.equals("default") || isKnown(key)) {
        continue;
      }
      out.add(
          "unknown setting '"
              + key
              + "' ("
              + origin
              + ") is ignored"
              + closest(key).map(k -> "; did you mean '" + k + "'?").orElse(""));
    }
    return out;
  }

  /**
   * Reports the unknown keys of {@code settings}: a WARN each, or with {@code strict} one {@link
   * ConfigException} listing them all.
   */
  public void report(Settings settings, boolean strict) {
    List<String> problems = problems(settings);
    if (problems.isEmpty()) {
      return;
    }
    if (strict) {
      throw new ConfigException(
          String.join("; ", problems) + " (--strict: unknown settings are errors)");
    }
    problems.forEach(p -> LOG.warn("{} (start with --strict to make this an error)", p));
  }

  /**
   * Levenshtein distance, giving up (returning limit + 1) once every path exceeds {@code limit}.
   */
  static int distance(String a, String b, int limit) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      int rowMin = cur[0];
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
        rowMin = Math.min(rowMin, cur[j]);
      }
      if (rowMin > limit) {
        return limit + 1;
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
