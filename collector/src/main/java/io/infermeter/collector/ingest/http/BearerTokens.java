package io.infermeter.collector.ingest.http;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.Settings;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The bearer tokens ingest accepts: {@code auth.token} (any identity) and named tokens {@code
 * auth.tokens.<name>.token} that may each be bound to a {@code .host}, {@code .cluster} and/or
 * {@code .region}: events sent with such a token must carry exactly those values (after the
 * collector's defaults are applied), else they are refused with 403. No token configured: no
 * authentication. Immutable, thread-safe.
 */
public final class BearerTokens {

  /** One accepted token and the identity it may write as (null: any value). */
  public record Binding(String name, String host, String cluster, String region) {

    /** Whether this token may write events of any identity. */
    public boolean unrestricted() {
      return host == null && cluster == null && region == null;
    }

    @Override
    public String toString() { // never the token itself
      return "Binding["
          + name
          + ", host="
          + host
          + ", cluster="
          + cluster
          + ", region="
          + region
          + "]";
    }
  }

  private static final BearerTokens NONE = new BearerTokens(List.of(), List.of());

  private final List<byte[]> expected; // "Bearer <token>" per binding
  private final List<Binding> bindings;

  private BearerTokens(List<byte[]> expected, List<Binding> bindings) {
    this.expected = expected;
    this.bindings = bindings;
  }

  /** No authentication. */
  public static BearerTokens none() {
    return NONE;
  }

  /** The single unbound token of {@code auth.token}, when present. */
  public static BearerTokens single(Optional<String> token) {
    return token
        .map(
            t ->
                new BearerTokens(
                    List.of(header(t)), List.of(new Binding("auth.token", null, null, null))))
        .orElse(NONE);
  }

  /** From {@code auth.token} and {@code auth.tokens.<name>.(token|host|cluster|region)}. */
  public static BearerTokens from(Settings s) {
    List<byte[]> expected = new ArrayList<>();
    List<Binding> bindings = new ArrayList<>();
    s.optional("auth.token")
        .ifPresent(
            t -> {
              expected.add(header(t));
              bindings.add(new Binding("auth.token", null, null, null));
            });
    Map<String, Map<String, String>> named = new TreeMap<>();
    s.withPrefix("auth.tokens.")
        .forEach(
            (k, v) -> {
              int dot = k.lastIndexOf('.');
              String attr = dot < 0 ? "" : k.substring(dot + 1);
              if (dot <= 0 || !List.of("token", "host", "cluster", "region").contains(attr)) {
                throw new ConfigException(
                    "unknown setting 'auth.tokens."
                        + k
                        + "': expected auth.tokens.<name>.token, "
                        + ".host, .cluster or .region");
              }
              named.computeIfAbsent(k.substring(0, dot), n -> new TreeMap<>()).put(attr, v);
            });
    named.forEach(
        (name, attrs) -> {
          String token = attrs.get("token");
          if (token == null || token.isBlank()) {
            throw new ConfigException("missing required setting 'auth.tokens." + name + ".token'");
          }
          expected.add(header(token));
          bindings.add(
              new Binding(
                  name,
                  blankToNull(attrs.get("host")),
                  blankToNull(attrs.get("cluster")),
                  blankToNull(attrs.get("region"))));
        });
    return expected.isEmpty()
        ? NONE
        : new BearerTokens(List.copyOf(expected), List.copyOf(bindings));
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }

  private static byte[] header(String token) {
    if (token.isBlank()) {
      throw new ConfigException("a bearer token must not be blank");
    }
    return ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
  }

  /** Whether requests must carry a token. */
  public boolean required() {
    return !expected.isEmpty();
  }

  /**
   * The binding of the token in an {@code Authorization} header value, or null when it matches
   * none. Compares with every configured token in constant time per token, so the time taken says
   * nothing about which one nearly matched.
   */
  public Binding match(String authorization) {
    if (authorization == null) {
      return null;
    }
    byte[] got = authorization.getBytes(StandardCharsets.UTF_8);
    Binding found = null;
    for (int i = 0; i < expected.size(); i++) {
      if (MessageDigest.isEqual(expected.get(i), got) && found == null) {
        found = bindings.get(i);
      }
    }
    return found;
  }

  @Override
  public String toString() {
    return required() ? "bearer(" + bindings.size() + " tokens)" : "none";
  }
}
