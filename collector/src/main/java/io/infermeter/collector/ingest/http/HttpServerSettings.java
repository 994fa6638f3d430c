package io.infermeter.collector.ingest.http;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.ConfigKey.Type;
import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.schemas.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Limits, TLS and auth of the collector's HTTP ingest server (the {@code http.*}, {@code tls.*} and
 * {@code auth.*} keys; docs/SECURITY.md "Collector HTTP server" lists each with its counter). Sizes
 * in bytes, rates in bytes per second. Immutable, thread-safe.
 *
 * @param host address to bind
 * @param port port to bind (0: any free port)
 * @param eventLoopThreads Netty event loop threads (accept, I/O and request handling)
 * @param maxConnections open connections in all (beyond: 503 and close)
 * @param maxConnectionsPerClient open connections per client IP address (beyond: 503 and close)
 * @param maxBodyBytes largest body, on the wire and again after decompression (beyond: 413)
 * @param maxInflightBodyBytes body bytes held by all requests in progress together, counted as they
 *     arrive and again as they are decompressed (beyond: 503 with {@code Retry-After})
 * @param maxHeaderBytes request line plus headers (beyond: 431)
 * @param maxHeaders header fields per request (beyond: 431)
 * @param maxTrailers trailer fields of a chunked body (beyond: 431; their bytes count in
 *     maxHeaderBytes)
 * @param headTimeout from the first byte of a request to the end of its headers (beyond: 408 and
 *     close)
 * @param bodyTimeout from the end of the headers to the last body byte (beyond: 408 and close)
 * @param minBodyRate slowest body transfer, averaged since the end of the headers after a
 *     one-second grace (slower: 408 and close); 0 turns the check off
 * @param idleTimeout a kept-alive connection with no request in progress is closed after this long
 * @param writeTimeout a connection whose responses the client does not read for this long is closed
 * @param tls TLS, when configured
 * @param tokens bearer tokens and their identity bindings (none: no authentication)
 */
public record HttpServerSettings(
    String host,
    int port,
    int eventLoopThreads,
    int maxConnections,
    int maxConnectionsPerClient,
    long maxBodyBytes,
    long maxInflightBodyBytes,
    int maxHeaderBytes,
    int maxHeaders,
    int maxTrailers,
    Duration headTimeout,
    Duration bodyTimeout,
    long minBodyRate,
    Duration idleTimeout,
    Duration writeTimeout,
    Optional<Tls> tls,
    BearerTokens tokens) {

  /**
   * PEM files for TLS: the certificate chain, its PKCS#8 private key (optionally encrypted with
   * {@code keyPassword}), and when {@code clientCa} is set, the CA whose client certificates are
   * required (mTLS).
   */
  public record Tls(
      Path certChain, Path privateKey, Optional<String> keyPassword, Optional<Path> clientCa) {

    @Override
    public String toString() {
      return "Tls[cert="
          + certChain
          + ", key="
          + privateKey
          + ", clientCa="
          + clientCa.map(Path::toString).orElse("none")
          + "]";
    }
  }

  /** The ingest server's limits and TLS keys (part of CollectorConfig's table). */
  public static final ConfigTable KEYS =
      ConfigTable.builder()
          .key(
              "http.event.loop.threads",
              "2",
              Type.POSITIVE_INTEGER,
              "Netty event loop threads of the ingest server (accept, I/O and request handling)")
          .key(
              "http.max.connections.per.client",
              "32",
              Type.POSITIVE_INTEGER,
              "open connections per client IP; beyond it 503 and closed (docs/SECURITY.md, \"Collector HTTP server\", for every limit's counter and answer)")
          .key(
              "http.max.inflight.body.bytes",
              String.valueOf(32L * 1024 * 1024),
              "`33554432` (32 MiB)",
              Type.LONG,
              "body bytes in flight over all requests together (charged as they arrive and as they are decompressed); at least `http.max.body.bytes`; beyond it 503 `Retry-After: 1`")
          .key(
              "http.max.header.bytes",
              String.valueOf(16 * 1024),
              "`16384` (16 KiB)",
              Type.POSITIVE_INTEGER,
              "request line + headers (and, separately, trailers), bytes; beyond it 431")
          .key(
              "http.max.headers",
              "100",
              Type.POSITIVE_INTEGER,
              "header fields of a request; beyond it 431")
          .key(
              "http.max.trailers",
              "16",
              Type.POSITIVE_INTEGER,
              "trailer fields of a chunked body; beyond it 431")
          .key(
              "http.head.timeout",
              "10s",
              Type.DURATION,
              "deadline from a request's first byte to the end of its headers; 408")
          .key(
              "http.body.timeout",
              "60s",
              Type.DURATION,
              "deadline from the end of the headers to the body's last byte; 408")
          .key(
              "http.min.body.rate.bytes",
              "1024",
              Type.LONG,
              "minimum average body rate since the end of the headers (B/s, after 1 s grace; 0 = off); slower: 408")
          .key(
              "http.idle.timeout",
              "60s",
              Type.DURATION,
              "a kept-alive connection idle this long is closed")
          .key(
              "http.write.timeout",
              "30s",
              Type.DURATION,
              "a client that does not read its answers (more than 64 KiB buffered) this long is disconnected")
          .key(
              "tls.cert.chain.file",
              "",
              Type.STRING,
              "PEM certificate chain: with `tls.private.key.file`, ingest (HTTP and gRPC) takes TLS only")
          .key("tls.private.key.file", "", Type.STRING, "PEM private key of that chain")
          .key(
              "tls.private.key.password",
              "",
              Type.STRING,
              "password of an encrypted private key; never logged")
          .key(
              "tls.client.ca.file",
              "",
              Type.STRING,
              "PEM CA bundle: when set, client certificates signed by it are required (mTLS)")
          .build();

  /** The keys with their defaults (a new map). */
  public static Map<String, String> defaults() {
    return new LinkedHashMap<>(KEYS.defaults());
  }

  /**
   * Settings for embedding and tests: the given address, connection limit, body limit and tokens;
   * the rest as documented.
   */
  public static HttpServerSettings of(
      String host, int port, int maxConnections, long maxBodyBytes, BearerTokens tokens) {
    Map<String, String> m = new LinkedHashMap<>(defaults());
    m.put("http.host", host);
    m.put("http.port", String.valueOf(port));
    m.put("http.max.connections", String.valueOf(maxConnections));
    m.put("http.max.body.bytes", String.valueOf(maxBodyBytes));
    m.put(
        "http.max.inflight.body.bytes",
        String.valueOf(
            Math.max(maxBodyBytes, Long.parseLong(m.get("http.max.inflight.body.bytes")))));
    return from(Settings.fromMap(m), tokens);
  }

  /**
   * Reads and checks the keys; an invalid value throws {@link ConfigException} naming key and
   * value.
   */
  public static HttpServerSettings from(Settings settings) {
    return from(settings, BearerTokens.from(settings));
  }

  private static HttpServerSettings from(Settings settings, BearerTokens tokens) {
    Settings s = Settings.fromMap(defaults()).with(settings.asMap());
    long maxBody = positive(s, "http.max.body.bytes");
    long inflight = positive(s, "http.max.inflight.body.bytes");
    if (inflight < maxBody) {
      throw new ConfigException(
          "invalid value '"
              + inflight
              + "' for setting 'http.max.inflight.body.bytes': must be "
              + "at least http.max.body.bytes ("
              + maxBody
              + "), else a body of the largest allowed size never fits");
    }
    long rate = s.longValue("http.min.body.rate.bytes");
    if (rate < 0) {
      throw new ConfigException(
          "invalid value '" + rate + "' for setting 'http.min.body.rate.bytes': expected >= 0");
    }
    int port = s.integer("http.port");
    if (port < 0 || port > 65535) {
      throw new ConfigException(
          "invalid value '" + port + "' for setting 'http.port': expected a port 0-65535");
    }
    return new HttpServerSettings(
        s.string("http.host"),
        port,
        s.positiveInt("http.event.loop.threads"),
        s.positiveInt("http.max.connections"),
        s.positiveInt("http.max.connections.per.client"),
        maxBody,
        inflight,
        s.positiveInt("http.max.header.bytes"),
        s.positiveInt("http.max.headers"),
        s.positiveInt("http.max.trailers"),
        duration(s, "http.head.timeout"),
        duration(s, "http.body.timeout"),
        rate,
        duration(s, "http.idle.timeout"),
        duration(s, "http.write.timeout"),
        tls(s),
        tokens);
  }

  private static Optional<Tls> tls(Settings s) {
    boolean cert = s.has("tls.cert.chain.file");
    boolean key = s.has("tls.private.key.file");
    if (!cert && !key) {
      if (s.has("tls.client.ca.file")) {
        throw new ConfigException(
            "setting 'tls.client.ca.file' needs tls.cert.chain.file and tls.private.key.file");
      }
      return Optional.empty();
    }
    if (cert != key) {
      throw new ConfigException(
          "TLS needs both 'tls.cert.chain.file' and 'tls.private.key.file' (PEM); only "
              + (cert ? "the certificate chain" : "the private key")
              + " is set");
    }
    return Optional.of(
        new Tls(
            file(s, "tls.cert.chain.file"),
            file(s, "tls.private.key.file"),
            s.optional("tls.private.key.password"),
            s.has("tls.client.ca.file")
                ? Optional.of(file(s, "tls.client.ca.file"))
                : Optional.empty()));
  }

  private static Path file(Settings s, String key) {
    Path p = Path.of(s.string(key));
    if (!Files.isReadable(p)) {
      throw new ConfigException(
          "invalid value '" + p + "' for setting '" + key + "': not a readable file");
    }
    return p;
  }

  private static long positive(Settings s, String key) {
    long v = s.longValue(key);
    if (v <= 0) {
      throw new ConfigException(
          "invalid value '" + v + "' for setting '" + key + "': expected a positive integer");
    }
    return v;
  }

  private static Duration duration(Settings s, String key) {
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
}
