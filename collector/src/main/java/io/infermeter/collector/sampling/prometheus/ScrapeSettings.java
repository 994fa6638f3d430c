package io.infermeter.collector.sampling.prometheus;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.Settings;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code scrape.*} keys of the collector (docs/COLLECTOR.md "Prometheus scrape: dcgm-exporter"). Immutable,
 * thread-safe.
 *
 * @param dcgmTargets dcgm-exporter {@code /metrics} URLs (http or https); empty: scraping off
 * @param interval time between the starts of two scrapes of all targets
 * @param timeout limit of one target's whole scrape (connect, headers and body)
 * @param maxBodyBytes largest body read from a target; a larger one fails the scrape (nothing of it is used)
 */
public record ScrapeSettings(List<URI> dcgmTargets, Duration interval, Duration timeout, long maxBodyBytes) {

  public ScrapeSettings {
    dcgmTargets = List.copyOf(dcgmTargets);
  }

  /** Every {@code scrape.*} key with its default. */
  public static Map<String, String> defaults() {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("scrape.dcgm.targets", "");
    d.put("scrape.interval", "10s");
    d.put("scrape.timeout", "5s");
    d.put("scrape.max.body.bytes", String.valueOf(4L * 1024 * 1024));
    return d;
  }

  /** Reads and validates the keys; a bad URL, a non-positive duration or size fails naming the key. */
  public static ScrapeSettings from(Settings s) {
    List<URI> targets = new ArrayList<>();
    for (String part : s.string("scrape.dcgm.targets", "").split(",")) {
      String t = part.trim();
      if (t.isEmpty()) {
        continue;
      }
      URI u;
      try {
        u = new URI(t);
      } catch (Exception e) {
        throw new ConfigException("invalid value '" + t + "' for setting 'scrape.dcgm.targets': not a URL");
      }
      if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
        throw new ConfigException("invalid value '" + t + "' for setting 'scrape.dcgm.targets': expected an "
            + "http(s) URL such as http://127.0.0.1:9400/metrics");
      }
      targets.add(u);
    }
    Duration interval = positive(s, "scrape.interval");
    Duration timeout = positive(s, "scrape.timeout");
    long max = s.longValue("scrape.max.body.bytes");
    if (max <= 0) {
      throw new ConfigException("invalid value '" + max + "' for setting 'scrape.max.body.bytes': expected a "
          + "positive integer");
    }
    return new ScrapeSettings(targets, interval, timeout, max);
  }

  private static Duration positive(Settings s, String key) {
    Duration d = s.duration(key);
    if (d.isZero() || d.isNegative()) {
      throw new ConfigException("invalid value '" + s.string(key) + "' for setting '" + key
          + "': expected a positive duration");
    }
    return d;
  }

  /** A target as a metric label: scheme, host, port and path only (never user info or query). */
  static String label(URI u) {
    return u.getScheme() + "://" + u.getHost() + (u.getPort() >= 0 ? ":" + u.getPort() : "")
        + (u.getRawPath() == null ? "" : u.getRawPath());
  }
}
