package io.infermeter.schemas.serde;

import io.infermeter.schemas.config.ConfigException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Serde settings, under the usual Confluent keys so existing client configs carry over.
 *
 * @param registryUrl {@code schema.registry.url}: base URL of a Confluent-compatible registry API;
 *     for Apicurio include {@code /apis/ccompat/v7}. Several comma-separated URLs are tried in
 *     order.
 * @param autoRegister {@code auto.register.schemas} (default true): register the writer schema on
 *     first use; when false the schema must already be registered (production registries are often
 *     read-only for apps)
 * @param userInfo {@code basic.auth.user.info} ({@code user:password}) used when {@code
 *     basic.auth.credentials.source} is {@code USER_INFO}; empty for none
 * @param keyStrategy {@code key.subject.name.strategy}
 * @param valueStrategy {@code value.subject.name.strategy}
 * @param requestTimeout {@code schema.registry.request.timeout.ms} (default 10000)
 * @param bearerToken {@code bearer.auth.token}, sent as {@code Authorization: Bearer <token>} when
 *     {@code bearer.auth.credentials.source} is {@code STATIC_TOKEN}; empty for none. Exclusive
 *     with basic auth.
 * @param tls {@code schema.registry.ssl.*} trust and key stores for {@code https://} registries
 */
public record AvroSerdeConfig(
    String registryUrl,
    boolean autoRegister,
    Optional<String> userInfo,
    SubjectNameStrategy keyStrategy,
    SubjectNameStrategy valueStrategy,
    Duration requestTimeout,
    Optional<String> bearerToken,
    RegistryTls tls) {

  public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
  public static final String AUTO_REGISTER_SCHEMAS = "auto.register.schemas";
  public static final String BASIC_AUTH_CREDENTIALS_SOURCE = "basic.auth.credentials.source";
  public static final String BASIC_AUTH_USER_INFO = "basic.auth.user.info";
  public static final String KEY_SUBJECT_NAME_STRATEGY = "key.subject.name.strategy";
  public static final String VALUE_SUBJECT_NAME_STRATEGY = "value.subject.name.strategy";
  public static final String REQUEST_TIMEOUT_MS = "schema.registry.request.timeout.ms";
  public static final String BEARER_AUTH_CREDENTIALS_SOURCE = "bearer.auth.credentials.source";
  public static final String BEARER_AUTH_TOKEN = "bearer.auth.token";

  /** A config without bearer auth and with the JVM's default TLS trust. */
  public AvroSerdeConfig(
      String registryUrl,
      boolean autoRegister,
      Optional<String> userInfo,
      SubjectNameStrategy keyStrategy,
      SubjectNameStrategy valueStrategy,
      Duration requestTimeout) {
    this(
        registryUrl,
        autoRegister,
        userInfo,
        keyStrategy,
        valueStrategy,
        requestTimeout,
        Optional.empty(),
        RegistryTls.NONE);
  }

  /**
   * Reads the keys above from a Kafka-style config map; fails naming the key on an invalid value.
   */
  public static AvroSerdeConfig from(Map<String, ?> configs) {
    Object url = configs.get(SCHEMA_REGISTRY_URL);
    if (url == null || url.toString().isBlank()) {
      throw new ConfigException(
          "missing required setting '"
              + SCHEMA_REGISTRY_URL
              + "' (e.g. http://127.0.0.1:8081 for Confluent, http://127.0.0.1:8081/apis/ccompat/v7 for Apicurio)");
    }
    boolean autoRegister = parseBool(configs, AUTO_REGISTER_SCHEMAS, true);
    String source =
        String.valueOf(Objects.requireNonNullElse(configs.get(BASIC_AUTH_CREDENTIALS_SOURCE), ""))
            .trim()
            .toUpperCase(Locale.ROOT);
    Optional<String> userInfo = Optional.empty();
    if (source.equals("USER_INFO")) {
      Object info = configs.get(BASIC_AUTH_USER_INFO);
      if (info == null || !info.toString().contains(":")) {
        throw new ConfigException(
            "'"
                + BASIC_AUTH_CREDENTIALS_SOURCE
                + "' is USER_INFO but '"
                + BASIC_AUTH_USER_INFO
                + "' is not set as user:password");
      }
      userInfo = Optional.of(info.toString());
    } else if (!source.isEmpty() && !source.equals("NONE")) {
      throw new ConfigException(
          "invalid value '"
              + source
              + "' for setting '"
              + BASIC_AUTH_CREDENTIALS_SOURCE
              + "': expected USER_INFO or NONE");
    }
    Optional<String> bearerToken = bearerToken(configs);
    if (bearerToken.isPresent() && userInfo.isPresent()) {
      throw new ConfigException(
          "both '"
              + BASIC_AUTH_CREDENTIALS_SOURCE
              + "' and '"
              + BEARER_AUTH_CREDENTIALS_SOURCE
              + "' are set: a registry request carries one Authorization header; keep one of them");
    }
    SubjectNameStrategy keyStrategy = parseStrategy(configs, KEY_SUBJECT_NAME_STRATEGY);
    SubjectNameStrategy valueStrategy = parseStrategy(configs, VALUE_SUBJECT_NAME_STRATEGY);
    long timeoutMs;
    try {
      timeoutMs =
          Long.parseLong(
              String.valueOf(Objects.requireNonNullElse(configs.get(REQUEST_TIMEOUT_MS), "10000"))
                  .trim());
    } catch (NumberFormatException e) {
      timeoutMs = -1;
    }
    // HttpClient rejects a zero or negative timeout with an IllegalArgumentException at first use:
    // fail here instead.
    if (timeoutMs <= 0) {
      throw new ConfigException(
          "invalid value '"
              + configs.get(REQUEST_TIMEOUT_MS)
              + "' for setting '"
              + REQUEST_TIMEOUT_MS
              + "': expected a positive number of milliseconds");
    }
    String urls = url.toString().trim();
    validateUrls(urls);
    RegistryTls tls = RegistryTls.from(configs);
    if (tls.isConfigured() && !urls.toLowerCase(Locale.ROOT).contains("https://")) {
      throw new ConfigException(
          "'"
              + RegistryTls.TRUSTSTORE_LOCATION
              + "' or '"
              + RegistryTls.KEYSTORE_LOCATION
              + "' is set but '"
              + SCHEMA_REGISTRY_URL
              + "' ("
              + urls
              + ") has no https:// URL: the stores would be unused");
    }
    return new AvroSerdeConfig(
        urls,
        autoRegister,
        userInfo,
        keyStrategy,
        valueStrategy,
        Duration.ofMillis(timeoutMs),
        bearerToken,
        tls);
  }

  /** {@code bearer.auth.token} when {@code bearer.auth.credentials.source} is STATIC_TOKEN. */
  private static Optional<String> bearerToken(Map<String, ?> configs) {
    String source =
        String.valueOf(Objects.requireNonNullElse(configs.get(BEARER_AUTH_CREDENTIALS_SOURCE), ""))
            .trim()
            .toUpperCase(Locale.ROOT);
    if (source.isEmpty() || source.equals("NONE")) {
      return Optional.empty();
    }
    if (!source.equals("STATIC_TOKEN")) {
      throw new ConfigException(
          "invalid value '"
              + source
              + "' for setting '"
              + BEARER_AUTH_CREDENTIALS_SOURCE
              + "': expected STATIC_TOKEN or NONE (OAuth client credentials are not supported: fetch the token outside "
              + "and pass it as "
              + BEARER_AUTH_TOKEN
              + ")");
    }
    Object token = configs.get(BEARER_AUTH_TOKEN);
    String t = token == null ? "" : token.toString().trim();
    // a header value must not carry a line break or a control character (header injection)
    if (t.isEmpty() || t.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
      throw new ConfigException(
          "'"
              + BEARER_AUTH_CREDENTIALS_SOURCE
              + "' is STATIC_TOKEN but '"
              + BEARER_AUTH_TOKEN
              + "' is "
              + (t.isEmpty() ? "not set" : "not a printable token without spaces"));
    }
    return Optional.of(t);
  }

  /** Masks the password of {@code basic.auth.user.info}: configs end up in start-up logs. */
  @Override
  public String toString() {
    return "AvroSerdeConfig[registryUrl="
        + registryUrl
        + ", autoRegister="
        + autoRegister
        + ", userInfo="
        + userInfo
            .map(info -> info.substring(0, Math.max(0, info.indexOf(':'))) + ":[hidden]")
            .orElse("none")
        + ", bearerToken="
        + (bearerToken.isPresent() ? "[hidden]" : "none")
        + ", keyStrategy="
        + keyStrategy
        + ", valueStrategy="
        + valueStrategy
        + ", requestTimeout="
        + requestTimeout
        + ", tls="
        + tls
        + "]";
  }

  /**
   * Every comma-separated URL must be absolute http(s) with a host; otherwise the HTTP client would
   * fail only at the first record with an IllegalArgumentException instead of at start-up naming
   * the setting.
   */
  private static void validateUrls(String urls) {
    boolean any = false;
    for (String part : urls.split(",", -1)) {
      String u = part.trim();
      if (u.isEmpty()) {
        continue;
      }
      any = true;
      URI uri;
      try {
        uri = new URI(u);
      } catch (URISyntaxException e) {
        throw new ConfigException(
            "invalid value '"
                + u
                + "' for setting '"
                + SCHEMA_REGISTRY_URL
                + "': not a URL ("
                + e.getMessage()
                + ")",
            e);
      }
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
        throw new ConfigException(
            "invalid value '"
                + u
                + "' for setting '"
                + SCHEMA_REGISTRY_URL
                + "': expected an http:// or https:// URL with a host, e.g. http://127.0.0.1:8081");
      }
    }
    if (!any) {
      throw new ConfigException(
          "invalid value '" + urls + "' for setting '" + SCHEMA_REGISTRY_URL + "': no URL in it");
    }
  }

  private static boolean parseBool(Map<String, ?> configs, String key, boolean fallback) {
    Object v = configs.get(key);
    if (v == null) {
      return fallback;
    }
    String s = v.toString().trim().toLowerCase(Locale.ROOT);
    if (s.equals("true") || s.equals("false")) {
      return Boolean.parseBoolean(s);
    }
    throw new ConfigException(
        "invalid value '" + v + "' for setting '" + key + "': expected true or false");
  }

  private static SubjectNameStrategy parseStrategy(Map<String, ?> configs, String key) {
    Object v = configs.get(key);
    if (v == null || v.toString().isBlank()) {
      return SubjectNameStrategy.TOPIC_NAME;
    }
    try {
      return SubjectNameStrategy.parse(v.toString());
    } catch (IllegalArgumentException e) {
      throw new ConfigException("invalid value for setting '" + key + "': " + e.getMessage(), e);
    }
  }
}
