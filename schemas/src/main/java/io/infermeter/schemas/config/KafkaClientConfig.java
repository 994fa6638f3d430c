package io.infermeter.schemas.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The Kafka client settings of an app, assembled in one place for every client it opens. Keys under
 * {@code kafka.*} apply to every client (producer, consumer, admin and Kafka Streams' internal
 * clients), so TLS and SASL settings such as {@code kafka.security.protocol}, {@code
 * kafka.sasl.mechanism} or {@code kafka.ssl.truststore.location} are written once. Keys under
 * {@code kafka.producer.*}, {@code kafka.consumer.*}, {@code kafka.admin.*} and {@code
 * kafka.streams.*} apply to that client only and win over the common {@code kafka.*} value of the
 * same key.
 *
 * <p>Keys under {@code kafka.*} that the app reads itself (for example the sink's {@code
 * kafka.group.id}) are given as {@code appKeys} and are not passed through, nor are the local stack
 * scripts' {@link KnownKeys#LAUNCHER_KEYS}. An app's built-in client settings go underneath these
 * maps and its non-negotiable ones (acks, idempotence, auto-commit) on top: that order is the
 * caller's.
 *
 * <p>Immutable and thread-safe.
 */
public final class KafkaClientConfig {

  /** The prefix shared by every Kafka client of an app. */
  public static final String PREFIX = "kafka.";

  public static final String PRODUCER_PREFIX = "kafka.producer.";
  public static final String CONSUMER_PREFIX = "kafka.consumer.";
  public static final String ADMIN_PREFIX = "kafka.admin.";
  public static final String STREAMS_PREFIX = "kafka.streams.";

  /** The per-client prefixes; a key under one of them is never a common key. */
  public static final List<String> CLIENT_PREFIXES =
      List.of(PRODUCER_PREFIX, CONSUMER_PREFIX, ADMIN_PREFIX, STREAMS_PREFIX);

  private final Map<String, String> common;
  private final Map<String, String> producer;
  private final Map<String, String> consumer;
  private final Map<String, String> admin;
  private final Map<String, String> streamsOnly;

  private KafkaClientConfig(Settings settings, Set<String> appKeys) {
    Map<String, String> c = new TreeMap<>();
    settings
        .asMap()
        .forEach(
            (key, value) -> {
              if (key.startsWith(PREFIX)
                  && key.length() > PREFIX.length()
                  && !appKeys.contains(key)
                  && !KnownKeys.LAUNCHER_KEYS.contains(key)
                  && CLIENT_PREFIXES.stream().noneMatch(key::startsWith)
                  && !value.isEmpty()) {
                c.put(key.substring(PREFIX.length()), value);
              }
            });
    this.common = Collections.unmodifiableMap(c);
    this.producer = merged(c, settings.withPrefix(PRODUCER_PREFIX));
    this.consumer = merged(c, settings.withPrefix(CONSUMER_PREFIX));
    this.admin = merged(c, settings.withPrefix(ADMIN_PREFIX));
    this.streamsOnly = settings.withPrefix(STREAMS_PREFIX);
  }

  /**
   * The client settings of {@code settings}.
   *
   * @param appKeys keys under {@code kafka.*} that the app reads itself and must not pass to the
   *     clients
   */
  public static KafkaClientConfig of(Settings settings, Set<String> appKeys) {
    return new KafkaClientConfig(settings, Set.copyOf(appKeys));
  }

  /** The {@code kafka.*} settings common to every client, prefix removed. */
  public Map<String, String> common() {
    return common;
  }

  /**
   * {@code kafka.*} with {@code kafka.producer.*} on top, prefixes removed: for a {@code
   * KafkaProducer}.
   */
  public Map<String, String> producer() {
    return producer;
  }

  /**
   * {@code kafka.*} with {@code kafka.consumer.*} on top, prefixes removed: for a {@code
   * KafkaConsumer}.
   */
  public Map<String, String> consumer() {
    return consumer;
  }

  /**
   * {@code kafka.*} with {@code kafka.admin.*} on top, prefixes removed: for an {@code Admin}
   * client.
   */
  public Map<String, String> admin() {
    return admin;
  }

  /**
   * The properties for {@code KafkaStreams}: the common settings unprefixed (Kafka Streams hands
   * unprefixed client settings to all its internal clients), {@code kafka.streams.*} unprefixed on
   * top, and the per-client overrides under Kafka Streams' own {@code producer.}, {@code consumer.}
   * and {@code admin.} prefixes, which Kafka Streams ranks above the unprefixed value for that
   * client.
   */
  public Map<String, String> streams() {
    Map<String, String> out = new LinkedHashMap<>(common);
    out.putAll(streamsOnly);
    overrides(producer).forEach((k, v) -> out.put("producer." + k, v));
    overrides(consumer).forEach((k, v) -> out.put("consumer." + k, v));
    overrides(admin).forEach((k, v) -> out.put("admin." + k, v));
    return Collections.unmodifiableMap(out);
  }

  /**
   * The entries of a merged client map that differ from the common map (the per-client overrides).
   */
  private Map<String, String> overrides(Map<String, String> client) {
    Map<String, String> out = new TreeMap<>();
    client.forEach(
        (k, v) -> {
          if (!v.equals(common.get(k))) {
            out.put(k, v);
          }
        });
    return out;
  }

  private static Map<String, String> merged(Map<String, String> base, Map<String, String> top) {
    Map<String, String> out = new TreeMap<>(base);
    out.putAll(top);
    return Collections.unmodifiableMap(out);
  }

  /** Key names only: values may be credentials ({@code sasl.jaas.config}). */
  @Override
  public String toString() {
    return "KafkaClientConfig[common="
        + common.keySet()
        + ", producer="
        + producer.keySet()
        + ", consumer="
        + consumer.keySet()
        + ", admin="
        + admin.keySet()
        + ", streams="
        + streamsOnly.keySet()
        + "]";
  }
}
