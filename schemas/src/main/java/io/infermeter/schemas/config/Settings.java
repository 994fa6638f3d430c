package io.infermeter.schemas.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Immutable, layered configuration shared by the apps' config types. Layers, lowest precedence
 * first: defaults, a properties file, environment variables, system properties. Keys are dotted
 * lower-case ({@code kafka.bootstrap.servers}); the environment variable of a key is its upper-case
 * form with dots and dashes as underscores under the app's prefix ({@code
 * INFERMETER_KAFKA_BOOTSTRAP_SERVERS}); a system property uses the key itself.
 *
 * <p>Typed getters fail with {@link ConfigException} naming the key, the value and what was
 * expected, so an invalid value stops an app at start-up. Durations accept {@code 250ms}, {@code
 * 10s}, {@code 5m}, {@code 1h}, {@code 2d} or a bare number of milliseconds. Thread-safe
 * (immutable).
 */
public final class Settings {

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");

  private final Map<String, String> values;
  private final Map<String, String> origins;

  private Settings(Map<String, String> values, Map<String, String> origins) {
    this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    this.origins = Collections.unmodifiableMap(new TreeMap<>(origins));
  }

  /** Settings from a plain map (tests, embedded use). */
  public static Settings fromMap(Map<String, ?> map) {
    Map<String, String> values = new LinkedHashMap<>();
    Map<String, String> origins = new LinkedHashMap<>();
    map.forEach(
        (k, v) -> {
          if (v != null) {
            values.put(k, String.valueOf(v));
            origins.put(k, "map");
          }
        });
    return new Settings(values, origins);
  }

  /**
   * Loads the layers. {@code knownKeys} are the keys looked up in the environment (with {@code
   * envPrefix}); every environment variable starting with {@code envPrefix} is also mapped back to
   * a dotted key, so pass-through keys such as {@code kafka.producer.linger.ms} can be set as
   * {@code INFERMETER_KAFKA_PRODUCER_LINGER_MS}.
   *
   * @param defaults lowest layer
   * @param file optional properties file (absent: skipped; unreadable: {@link ConfigException})
   * @param envPrefix e.g. {@code INFERMETER_}
   * @param env the environment (System.getenv() in production)
   * @param sysProps system properties (System.getProperties() in production)
   */
  public static Settings load(
      Map<String, String> defaults,
      Optional<Path> file,
      String envPrefix,
      Map<String, String> env,
      Properties sysProps) {
    Map<String, String> values = new LinkedHashMap<>(defaults);
    Map<String, String> origins = new LinkedHashMap<>();
    defaults.keySet().forEach(k -> origins.put(k, "default"));
    if (file.isPresent()) {
      Path path = file.get();
      if (!Files.isReadable(path)) {
        throw new ConfigException(
            "config file "
                + path
                + " does not exist or is not readable (omit --config to run "
                + "on the defaults, INFERMETER_* environment variables and -D properties)");
      }
      Properties props = new Properties();
      try (Reader reader = Files.newBufferedReader(path)) {
        props.load(reader);
      } catch (IOException e) {
        throw new ConfigException("cannot read config file " + path + ": " + e.getMessage(), e);
      }
      for (String name : props.stringPropertyNames()) {
        values.put(name, props.getProperty(name).trim());
        origins.put(name, path.toString());
      }
    }
    for (Map.Entry<String, String> e : env.entrySet()) {
      if (e.getKey().startsWith(envPrefix) && e.getKey().length() > envPrefix.length()) {
        String key =
            e.getKey().substring(envPrefix.length()).toLowerCase(Locale.ROOT).replace('_', '.');
        String known = matchKnownKey(key, values.keySet());
        values.put(known, e.getValue().trim());
        origins.put(known, "env " + e.getKey());
      }
    }
    for (String name : sysProps.stringPropertyNames()) {
      if (values.containsKey(name) || defaults.containsKey(name)) {
        values.put(name, sysProps.getProperty(name).trim());
        origins.put(name, "system property");
      }
    }
    return new Settings(values, origins);
  }

  /**
   * Env names lose the difference between '.', '-' and '_': map back to a known key with
   * dashes/underscores.
   */
  private static String matchKnownKey(String dotted, Iterable<String> known) {
    for (String k : known) {
      if (k.replace('-', '.').replace('_', '.').equals(dotted)) {
        return k;
      }
    }
    return dotted;
  }

  /** A copy with {@code overrides} applied on top (e.g. command-line options). */
  public Settings with(Map<String, ?> overrides) {
    Map<String, String> v = new LinkedHashMap<>(values);
    Map<String, String> o = new LinkedHashMap<>(origins);
    overrides.forEach(
        (k, val) -> {
          if (val != null) {
            v.put(k, String.valueOf(val));
            o.put(k, "override");
          }
        });
    return new Settings(v, o);
  }

  public boolean has(String key) {
    String v = values.get(key);
    return v != null && !v.isEmpty();
  }

  public Optional<String> optional(String key) {
    return has(key) ? Optional.of(values.get(key)) : Optional.empty();
  }

  public String string(String key) {
    return optional(key)
        .orElseThrow(() -> new ConfigException("missing required setting '" + key + "'"));
  }

  public String string(String key, String fallback) {
    return optional(key).orElse(fallback);
  }

  public int integer(String key) {
    String v = string(key);
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw invalid(key, v, "an integer");
    }
  }

  public long longValue(String key) {
    String v = string(key);
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw invalid(key, v, "an integer");
    }
  }

  public double decimal(String key) {
    String v = string(key);
    try {
      double d = Double.parseDouble(v);
      if (Double.isNaN(d) || Double.isInfinite(d)) {
        throw invalid(key, v, "a finite number");
      }
      return d;
    } catch (NumberFormatException e) {
      throw invalid(key, v, "a number");
    }
  }

  public boolean bool(String key) {
    String v = string(key);
    switch (v.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on", "1":
        return true;
      case "false", "no", "off", "0":
        return false;
      default:
        throw invalid(key, v, "true or false");
    }
  }

  public Duration duration(String key) {
    String v = string(key);
    Duration d = parseDuration(v);
    if (d == null) {
      throw invalid(key, v, "a duration such as 250ms, 10s, 5m, 1h, 2d");
    }
    return d;
  }

  /** A comma-separated list; empty entries are dropped. */
  public List<String> list(String key) {
    List<String> out = new ArrayList<>();
    optional(key)
        .ifPresent(
            v -> {
              for (String part : v.split(",", -1)) {
                if (!part.isBlank()) {
                  out.add(part.trim());
                }
              }
            });
    return List.copyOf(out);
  }

  /** Positive-int getter used for sizes and counts. */
  public int positiveInt(String key) {
    int v = integer(key);
    if (v <= 0) {
      throw invalid(key, String.valueOf(v), "a positive integer");
    }
    return v;
  }

  /**
   * All settings under {@code prefix} with the prefix removed, e.g. {@code
   * withPrefix("kafka.producer.")} gives the producer overrides passed through to the Kafka client.
   */
  public Map<String, String> withPrefix(String prefix) {
    Map<String, String> out = new TreeMap<>();
    values.forEach(
        (k, v) -> {
          if (k.startsWith(prefix) && k.length() > prefix.length()) {
            out.put(k.substring(prefix.length()), v);
          }
        });
    return Collections.unmodifiableMap(out);
  }

  public Map<String, String> asMap() {
    return values;
  }

  /**
   * Where a key's value came from (default, a file path, env NAME, system property, map, override).
   */
  public String origin(String key) {
    return origins.getOrDefault(key, "unset");
  }

  /**
   * The effective configuration for start-up logs and {@code --print-config}, through the one rule
   * of {@link Redaction}: values of keys that look secret are masked whole; in other values PEM
   * private keys, URL user-info, secret query parameters and secret name=value pairs are masked.
   */
  public String describe() {
    StringBuilder sb = new StringBuilder();
    values.forEach(
        (k, v) ->
            sb.append("  ")
                .append(k)
                .append(" = ")
                .append(Redaction.redactValue(k, v))
                .append("  (")
                .append(origin(k))
                .append(")\n"));
    return sb.toString();
  }

  static boolean isSecret(String key) {
    return Redaction.isSecretKey(key);
  }

  /**
   * Parses {@code 250ms}, {@code 10s}, {@code 5m}, {@code 1h}, {@code 2d} or bare milliseconds;
   * null if invalid.
   */
  public static Duration parseDuration(String text) {
    Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      return null;
    }
    String unit = m.group(2) == null ? "ms" : m.group(2);
    try {
      long n = Long.parseLong(m.group(1));
      return switch (unit) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        case "d" -> Duration.ofDays(n);
        default -> null;
      };
    } catch (NumberFormatException | ArithmeticException e) {
      // more digits than a long holds, or more seconds than a Duration holds: invalid, reported
      // with key and value
      return null;
    }
  }

  private static ConfigException invalid(String key, String value, String expected) {
    // the message is logged and printed: a secret key's value never appears in it (Redaction)
    return new ConfigException(
        "invalid value '"
            + Redaction.redactValue(key, value)
            + "' for setting '"
            + key
            + "': expected "
            + expected);
  }
}
