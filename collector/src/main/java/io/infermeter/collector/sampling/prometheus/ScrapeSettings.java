package io.infermeter.collector.sampling.prometheus;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.ConfigKey.Type;
import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.schemas.config.Settings;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code scrape.*} keys of the collector (docs/COLLECTOR.md "Prometheus scrape: dcgm-exporter",
 * docs/INTEGRATIONS.md "Engine metrics"). Immutable, thread-safe.
 *
 * @param dcgmTargets dcgm-exporter {@code /metrics} URLs (http or https); empty: scraping off
 * @param engineTargets serving-engine {@code /metrics} URLs (vLLM, SGLang, TGI, Triton, NIM);
 *     empty: off
 * @param interval time between the starts of two scrapes of all targets
 * @param timeout limit of one target's whole scrape (connect, headers and body)
 * @param maxBodyBytes largest body read from a target; a larger one fails the scrape (nothing of it
 *     is used)
 */
public record ScrapeSettings(
    List<URI> dcgmTargets,
    List<URI> engineTargets,
    Duration interval,
    Duration timeout,
    long maxBodyBytes) {

  public ScrapeSettings {
    dcgmTargets = List.copyOf(dcgmTargets);
    engineTargets = List.copyOf(engineTargets);
  }

  /** dcgm-exporter targets only. */
  public ScrapeSettings(
      List<URI> dcgmTargets, Duration interval, Duration timeout, long maxBodyBytes) {
    this(dcgmTargets, List.of(), interval, timeout, maxBodyBytes);
  }

  /** The scrape keys (part of CollectorConfig's table). */
  public static final ConfigTable KEYS =
      ConfigTable.builder()
          .key(
              "scrape.dcgm.targets",
              "",
              "(empty: off)",
              Type.LIST,
              "comma-separated dcgm-exporter URLs, e.g. `http://127.0.0.1:9400/metrics` (http or https); \"Prometheus scrape: dcgm-exporter\" below")
          .key(
              "scrape.engine.targets",
              "",
              "(empty: off)",
              Type.LIST,
              "comma-separated serving-engine `/metrics` URLs (vLLM, SGLang, TGI, Triton, NIM: docs/INTEGRATIONS.md), read as `EngineSample`s")
          .key("scrape.interval", "10s", Type.DURATION, "pause between two rounds over all targets")
          .key(
              "scrape.timeout",
              "5s",
              Type.DURATION,
              "limit of one target's whole scrape: connect, headers and body")
          .key(
              "scrape.max.body.bytes",
              String.valueOf(4L * 1024 * 1024),
              "`4194304` (4 MiB)",
              Type.LONG,
              "largest scrape body, bytes; a larger one is abandoned while it arrives and nothing of it is used")
          .build();

  /** The keys with their defaults (a new map). */
  public static Map<String, String> defaults() {
    return new LinkedHashMap<>(KEYS.defaults());
  }

  /**
   * Reads and validates the keys; a bad URL, a non-positive duration or size fails naming the key.
   */
  public static ScrapeSettings from(Settings s) {
    List<URI> targets = targets(s, "scrape.dcgm.targets", 9400);
    List<URI> engines = targets(s, "scrape.engine.targets", 8000);
    Duration interval = positive(s, "scrape.interval");
    Duration timeout = positive(s, "scrape.timeout");
    long max = s.longValue("scrape.max.body.bytes");
    if (max <= 0) {
      throw new ConfigException(
          "invalid value '"
              + max
              + "' for setting 'scrape.max.body.bytes': expected a "
              + "positive integer");
    }
    return new ScrapeSettings(targets, engines, interval, timeout, max);
  }

  private static List<URI> targets(Settings s, String key, int examplePort) {
    List<URI> targets = new ArrayList<>();
    for (String part : s.string(key, "").split(",", -1)) {
      String t = part.trim();
      if (t.isEmpty()) {
        continue;
      }
      URI u;
      try {
        u = new URI(t);
      } catch (Exception e) {
        throw new ConfigException("invalid value '" + t + "' for setting '" + key + "': not a URL");
      }
      if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
        throw new ConfigException(
            "invalid value '"
                + t
                + "' for setting '"
                + key
                + "': expected an "
                + "http(s) URL such as http://127.0.0.1:"
                + examplePort
                + "/metrics");
      }
      targets.add(u);
    }
    return targets;
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

  /** A target as a metric label: scheme, host, port and path only (never user info or query). */
  public static String label(URI u) {
    return u.getScheme()
        + "://"
        + u.getHost()
        + (u.getPort() >= 0 ? ":" + u.getPort() : "")
        + (u.getRawPath() == null ? "" : u.getRawPath());
  }
}
