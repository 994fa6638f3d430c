package io.infermeter.schemas.serde;

import io.infermeter.schemas.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS settings of the schema registry client, under the names Confluent's Java client reads ({@code
 * schema.registry.ssl.*}): a trust store for a registry whose certificate is not signed by a CA the
 * JVM trusts, and a key store for registries that require a client certificate (mutual TLS). Both
 * stores are loaded at start-up, so a wrong path, password or type fails there naming the key.
 * Without a trust store the JVM's default trust store applies. The registry's host name is always
 * verified against its certificate. Immutable.
 *
 * @param trustStore {@code schema.registry.ssl.truststore.location}
 * @param trustStorePassword {@code schema.registry.ssl.truststore.password} (may be empty)
 * @param trustStoreType {@code schema.registry.ssl.truststore.type}: {@code JKS} (default, as in
 *     Kafka) or {@code PKCS12}
 * @param keyStore {@code schema.registry.ssl.keystore.location}
 * @param keyStorePassword {@code schema.registry.ssl.keystore.password}
 * @param keyStoreType {@code schema.registry.ssl.keystore.type}: {@code JKS} (default) or {@code
 *     PKCS12}
 * @param keyPassword {@code schema.registry.ssl.key.password}; the key store password when absent
 */
public record RegistryTls(
    Optional<Path> trustStore,
    String trustStorePassword,
    String trustStoreType,
    Optional<Path> keyStore,
    String keyStorePassword,
    String keyStoreType,
    Optional<String> keyPassword) {

  public static final String TRUSTSTORE_LOCATION = "schema.registry.ssl.truststore.location";
  public static final String TRUSTSTORE_PASSWORD = "schema.registry.ssl.truststore.password";
  public static final String TRUSTSTORE_TYPE = "schema.registry.ssl.truststore.type";
  public static final String KEYSTORE_LOCATION = "schema.registry.ssl.keystore.location";
  public static final String KEYSTORE_PASSWORD = "schema.registry.ssl.keystore.password";
  public static final String KEYSTORE_TYPE = "schema.registry.ssl.keystore.type";
  public static final String KEY_PASSWORD = "schema.registry.ssl.key.password";

  /** No stores: the JVM's default trust and no client certificate. */
  public static final RegistryTls NONE =
      new RegistryTls(Optional.empty(), "", "JKS", Optional.empty(), "", "JKS", Optional.empty());

  /** Reads the keys above; a named store must exist and be readable. */
  public static RegistryTls from(Map<String, ?> configs) {
    Optional<Path> trust = path(configs, TRUSTSTORE_LOCATION);
    Optional<Path> key = path(configs, KEYSTORE_LOCATION);
    RegistryTls tls =
        new RegistryTls(
            trust,
            text(configs, TRUSTSTORE_PASSWORD).orElse(""),
            type(configs, TRUSTSTORE_TYPE),
            key,
            text(configs, KEYSTORE_PASSWORD).orElse(""),
            type(configs, KEYSTORE_TYPE),
            text(configs, KEY_PASSWORD));
    if (tls.isConfigured()) {
      tls.sslContext(); // load both stores now: a wrong password fails at start-up, not at the
      // first record
    }
    return tls;
  }

  /** True when a trust store or a key store is set. */
  public boolean isConfigured() {
    return trustStore.isPresent() || keyStore.isPresent();
  }

  /**
   * The TLS context for the registry's HTTP client, or the JVM's default context when no store is
   * set.
   *
   * @throws ConfigException naming the key of a store that cannot be loaded
   */
  public SSLContext sslContext() {
    try {
      if (!isConfigured()) {
        return SSLContext.getDefault();
      }
      TrustManagerFactory tmf = null;
      if (trustStore.isPresent()) {
        KeyStore ts =
            load(trustStore.get(), trustStorePassword, trustStoreType, TRUSTSTORE_LOCATION);
        tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
      }
      KeyManagerFactory kmf = null;
      if (keyStore.isPresent()) {
        KeyStore ks = load(keyStore.get(), keyStorePassword, keyStoreType, KEYSTORE_LOCATION);
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        try {
          kmf.init(ks, keyPassword.orElse(keyStorePassword).toCharArray());
        } catch (GeneralSecurityException e) {
          throw new ConfigException(
              "cannot read the private key in "
                  + keyStore.get()
                  + " ('"
                  + KEYSTORE_LOCATION
                  + "'): check '"
                  + KEY_PASSWORD
                  + "' ("
                  + e.getMessage()
                  + ")",
              e);
        }
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(
          kmf == null ? null : kmf.getKeyManagers(),
          tmf == null ? null : tmf.getTrustManagers(),
          null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new ConfigException("cannot set up TLS for the schema registry: " + e.getMessage(), e);
    }
  }

  private static KeyStore load(Path path, String password, String type, String key) {
    try (InputStream in = Files.newInputStream(path)) {
      KeyStore store = KeyStore.getInstance(type);
      store.load(in, password.toCharArray());
      return store;
    } catch (IOException | GeneralSecurityException e) {
      throw new ConfigException(
          "cannot load the "
              + type
              + " store "
              + path
              + " named by '"
              + key
              + "': wrong password, wrong type or not a key store ("
              + e.getMessage()
              + ")",
          e);
    }
  }

  private static Optional<String> text(Map<String, ?> configs, String key) {
    Object v = configs.get(key);
    return v == null || v.toString().isEmpty() ? Optional.empty() : Optional.of(v.toString());
  }

  private static Optional<Path> path(Map<String, ?> configs, String key) {
    Optional<String> v = text(configs, key).map(String::trim).filter(s -> !s.isEmpty());
    if (v.isEmpty()) {
      return Optional.empty();
    }
    Path p = Path.of(v.get());
    if (!Files.isReadable(p) || Files.isDirectory(p)) {
      throw new ConfigException(
          "invalid value '" + v.get() + "' for setting '" + key + "': no readable file there");
    }
    return Optional.of(p);
  }

  private static String type(Map<String, ?> configs, String key) {
    String t = text(configs, key).map(s -> s.trim().toUpperCase(Locale.ROOT)).orElse("JKS");
    if (!t.equals("JKS") && !t.equals("PKCS12")) {
      throw new ConfigException(
          "invalid value '" + t + "' for setting '" + key + "': expected JKS or PKCS12");
    }
    return t;
  }

  /** Paths and types only: the passwords never reach a log. */
  @Override
  public String toString() {
    return "RegistryTls[trustStore="
        + trustStore.map(Path::toString).orElse("default")
        + " ("
        + trustStoreType
        + "), keyStore="
        + keyStore.map(Path::toString).orElse("none")
        + " ("
        + keyStoreType
        + ")]";
  }
}
