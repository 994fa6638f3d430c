package io.infermeter.collector.ingest.grpc;

import io.infermeter.collector.ingest.http.BearerTokens;
import io.infermeter.collector.ingest.http.HttpServerSettings;
import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.ConfigKey.Type;
import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.schemas.config.Settings;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Settings of the OTLP/gRPC receiver ({@link OtlpGrpcReceiver}). Its own keys are {@code
 * grpc.enabled} (default true), {@code grpc.bind} (default 127.0.0.1) and {@code grpc.port}
 * (default 4317, the OTLP/gRPC port, except when {@code http.port} is 0: then 0 too, so an embedded
 * or test collector on any free HTTP port does not claim 4317; 0: any free port); the largest
 * message ({@code http.max.body.bytes}), the TLS PEM files ({@code tls.*}) and the bearer tokens
 * ({@code auth.*}) are the HTTP server's, so both transports accept the same clients with the same
 * limits.
 *
 * @param enabled whether the collector starts the receiver
 * @param host address to bind
 * @param port port to bind (0: any free one)
 * @param maxMessageBytes largest request message, after decompression (larger: RESOURCE_EXHAUSTED)
 * @param threads event-loop threads of the receiver's own Netty worker group, also the number of
 *     threads that run calls ({@code http.event.loop.threads})
 * @param tls TLS (HTTP/2 over TLS with ALPN), when configured
 * @param tokens bearer tokens (none: no authentication)
 */
public record GrpcReceiverSettings(
    boolean enabled,
    String host,
    int port,
    long maxMessageBytes,
    int threads,
    Optional<HttpServerSettings.Tls> tls,
    BearerTokens tokens) {

  /** The OTLP/gRPC port of the OpenTelemetry specification. */
  public static final int DEFAULT_PORT = 4317;

  /** The OTLP/gRPC receiver's keys (part of CollectorConfig's table). */
  public static final ConfigTable KEYS =
      ConfigTable.builder()
          .key(
              "grpc.enabled",
              "true",
              Type.BOOLEAN,
              "the OTLP/gRPC receiver (traces; metrics answered as not yet supported), \"OTLP/gRPC traces\" below")
          .key(
              "grpc.bind", "127.0.0.1", Type.STRING, "OTLP/gRPC bind address (loopback by default)")
          .key(
              "grpc.port",
              "",
              "`4317` (`0` when `http.port` is 0)",
              Type.INTEGER,
              "OTLP/gRPC port (the OTLP default); 0 = any free port. Message limit, TLS and tokens are the HTTP server's: `http.max.body.bytes`, `tls.*`, `auth.*`")
          .build();

  /** The keys with their defaults (a new map). */
  public static Map<String, String> defaults() {
    return new LinkedHashMap<>(KEYS.defaults());
  }

  /**
   * Reads {@code grpc.*} (defaults underneath) and takes the limits, TLS and tokens of {@code
   * http}.
   */
  public static GrpcReceiverSettings from(Settings settings, HttpServerSettings http) {
    Settings s = Settings.fromMap(defaults()).with(settings.asMap());
    int port = s.has("grpc.port") ? s.integer("grpc.port") : http.port() == 0 ? 0 : DEFAULT_PORT;
    if (port < 0 || port > 65535) {
      throw new ConfigException(
          "invalid value '" + port + "' for setting 'grpc.port': expected a port 0-65535");
    }
    if (http.maxBodyBytes() > Integer.MAX_VALUE) {
      throw new ConfigException(
          "invalid value '"
              + http.maxBodyBytes()
              + "' for setting 'http.max.body.bytes': the "
              + "OTLP/gRPC receiver's message limit is at most "
              + Integer.MAX_VALUE
              + " bytes");
    }
    return new GrpcReceiverSettings(
        s.bool("grpc.enabled"),
        s.string("grpc.bind"),
        port,
        http.maxBodyBytes(),
        http.eventLoopThreads(),
        http.tls(),
        http.tokens());
  }

  /**
   * For embedding and tests: enabled, on {@code host:port}, with the HTTP server's limits, TLS and
   * tokens.
   */
  public static GrpcReceiverSettings of(String host, int port, HttpServerSettings http) {
    return new GrpcReceiverSettings(
        true, host, port, http.maxBodyBytes(), http.eventLoopThreads(), http.tls(), http.tokens());
  }
}
