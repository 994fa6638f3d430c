package io.infermeter.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry client over real TLS: a JDK {@link HttpsServer} on 127.0.0.1 with self-signed
 * certificates made by the JDK's own keytool answers the Confluent registry calls and records the
 * Authorization header.
 */
class RegistryTlsTest {

  private static final String PASS = "changeit";

  @TempDir static Path dir;
  private static Path serverStore;
  private static Path clientStore;
  private static Path trustServer;
  private static Path trustClient;
  private static Path otherTrust;

  private HttpsServer server;
  private final List<String> authHeaders = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void certificates() throws Exception {
    serverStore = keyPair("server", "CN=127.0.0.1", "ip:127.0.0.1");
    clientStore = keyPair("client", "CN=infermeter-client", null);
    Path other = keyPair("other", "CN=127.0.0.1", "ip:127.0.0.1");
    trustServer = trustStoreOf("server", serverStore, "JKS");
    trustClient = trustStoreOf("client", clientStore, "PKCS12");
    otherTrust = trustStoreOf("other", other, "PKCS12");
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  @Test
  void trustsARegistryCertificateFromItsTrustStoreAndSendsTheBearerToken() throws Exception {
    String url = start(false);
    HttpSchemaRegistryClient client =
        new HttpSchemaRegistryClient(
            AvroSerdeConfig.from(
                Map.of(
                    "schema.registry.url",
                    url,
                    "schema.registry.ssl.truststore.location",
                    trustServer.toString(),
                    "schema.registry.ssl.truststore.password",
                    PASS,
                    "schema.registry.ssl.truststore.type",
                    "JKS",
                    "bearer.auth.credentials.source",
                    "STATIC_TOKEN",
                    "bearer.auth.token",
                    "tok-123")));
    assertThat(client.register("requests-value", RequestEvent.getClassSchema())).isEqualTo(7);
    assertThat(client.byId(8)).isNotNull();
    assertThat(authHeaders).containsOnly("Bearer tok-123").hasSize(2);
  }

  @Test
  void presentsTheClientCertificateWhenTheRegistryRequiresOne() throws Exception {
    String url = start(true);
    Map<String, Object> cfg =
        new HashMap<>(
            Map.of(
                "schema.registry.url",
                url,
                "schema.registry.request.timeout.ms",
                "3000",
                "schema.registry.ssl.truststore.location",
                trustServer.toString(),
                "schema.registry.ssl.truststore.password",
                PASS));
    // without a key store the handshake fails: the registry wants a client certificate
    HttpSchemaRegistryClient anonymous = new HttpSchemaRegistryClient(AvroSerdeConfig.from(cfg));
    assertThatThrownBy(() -> anonymous.register("requests-value", RequestEvent.getClassSchema()))
        .isInstanceOf(SchemaRegistryException.class)
        .hasMessageContaining("unreachable");
    cfg.put("schema.registry.ssl.keystore.location", clientStore.toString());
    cfg.put("schema.registry.ssl.keystore.password", PASS);
    cfg.put("schema.registry.ssl.keystore.type", "PKCS12");
    HttpSchemaRegistryClient client = new HttpSchemaRegistryClient(AvroSerdeConfig.from(cfg));
    assertThat(client.register("requests-value", RequestEvent.getClassSchema())).isEqualTo(7);
    assertThat(authHeaders).isEmpty();
  }

  @Test
  void refusesARegistryCertificateItDoesNotTrust() throws Exception {
    String url = start(false);
    HttpSchemaRegistryClient defaultTrust =
        new HttpSchemaRegistryClient(
            AvroSerdeConfig.from(
                Map.of("schema.registry.url", url, "schema.registry.request.timeout.ms", "3000")));
    assertThatThrownBy(() -> defaultTrust.register("s", RequestEvent.getClassSchema()))
        .isInstanceOf(SchemaRegistryException.class)
        .hasMessageContaining("unreachable");
    HttpSchemaRegistryClient wrongTrust =
        new HttpSchemaRegistryClient(
            AvroSerdeConfig.from(
                Map.of(
                    "schema.registry.url",
                    url,
                    "schema.registry.request.timeout.ms",
                    "3000",
                    "schema.registry.ssl.truststore.location",
                    otherTrust.toString(),
                    "schema.registry.ssl.truststore.password",
                    PASS,
                    "schema.registry.ssl.truststore.type",
                    "PKCS12")));
    assertThatThrownBy(() -> wrongTrust.register("s", RequestEvent.getClassSchema()))
        .isInstanceOf(SchemaRegistryException.class)
        .hasMessageContaining("unreachable");
    assertThat(authHeaders).isEmpty();
  }

  @Test
  void badStoresFailAtStartUpNamingTheKey() throws IOException {
    Path garbage = Files.writeString(dir.resolve("garbage.jks"), "not a key store");
    String https = "https://127.0.0.1:1";
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        "schema.registry.url",
                        https,
                        "schema.registry.ssl.truststore.location",
                        dir.resolve("missing.jks").toString())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("schema.registry.ssl.truststore.location");
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        "schema.registry.url",
                        https,
                        "schema.registry.ssl.truststore.location",
                        garbage.toString())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("schema.registry.ssl.truststore.location");
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        "schema.registry.url",
                        https,
                        "schema.registry.ssl.truststore.location",
                        trustServer.toString(),
                        "schema.registry.ssl.truststore.password",
                        "wrong")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("wrong password");
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        "schema.registry.url",
                        https,
                        "schema.registry.ssl.keystore.location",
                        clientStore.toString(),
                        "schema.registry.ssl.keystore.password",
                        PASS,
                        "schema.registry.ssl.keystore.type",
                        "PEMX")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("schema.registry.ssl.keystore.type");
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        "schema.registry.url",
                        "http://127.0.0.1:8081",
                        "schema.registry.ssl.truststore.location",
                        trustServer.toString(),
                        "schema.registry.ssl.truststore.password",
                        PASS)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("no https://");
  }

  @Test
  void bearerAuthIsValidated() {
    String url = "https://127.0.0.1:1";
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        "schema.registry.url",
                        url,
                        "bearer.auth.credentials.source",
                        "STATIC_TOKEN")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("bearer.auth.token");
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        "schema.registry.url",
                        url,
                        "bearer.auth.credentials.source",
                        "STATIC_TOKEN",
                        "bearer.auth.token",
                        "a\r\nX-Injected: 1")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("printable");
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        "schema.registry.url",
                        url,
                        "bearer.auth.credentials.source",
                        "OAUTHBEARER")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("STATIC_TOKEN");
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        "schema.registry.url",
                        url,
                        "bearer.auth.credentials.source",
                        "STATIC_TOKEN",
                        "bearer.auth.token",
                        "t",
                        "basic.auth.credentials.source",
                        "USER_INFO",
                        "basic.auth.user.info",
                        "u:p")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("one Authorization header");
    AvroSerdeConfig ok =
        AvroSerdeConfig.from(
            Map.of(
                "schema.registry.url",
                url,
                "bearer.auth.credentials.source",
                "static_token",
                "bearer.auth.token",
                "s3cret-token"));
    assertThat(ok.bearerToken()).contains("s3cret-token");
    assertThat(ok.toString()).doesNotContain("s3cret-token").contains("bearerToken=[hidden]");
  }

  /**
   * Starts an HTTPS registry stub; with {@code needClientAuth} it trusts only the client
   * certificate.
   */
  private String start(boolean needClientAuth) throws Exception {
    SSLContext ssl = SSLContext.getInstance("TLS");
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(load(serverStore, "PKCS12"), PASS.toCharArray());
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(load(trustClient, "PKCS12"));
    ssl.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setHttpsConfigurator(
        new HttpsConfigurator(ssl) {
          @Override
          public void configure(HttpsParameters params) {
            // HttpsParameters.setNeedClientAuth alone is not applied by the JDK server: pass full
            // SSLParameters
            javax.net.ssl.SSLParameters sp = getSSLContext().getDefaultSSLParameters();
            sp.setNeedClientAuth(needClientAuth);
            params.setSSLParameters(sp);
          }
        });
    server.createContext(
        "/",
        exchange -> {
          String auth = exchange.getRequestHeaders().getFirst("Authorization");
          if (auth != null) {
            authHeaders.add(auth);
          }
          exchange.getRequestBody().readAllBytes();
          String path = exchange.getRequestURI().getPath();
          String body =
              path.startsWith("/schemas/ids/")
                  ? "{\"schema\":"
                      + new com.fasterxml.jackson.databind.ObjectMapper()
                          .writeValueAsString(RequestEvent.getClassSchema().toString())
                      + "}"
                  : "{\"id\":7}";
          byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
          exchange
              .getResponseHeaders()
              .add("Content-Type", "application/vnd.schemaregistry.v1+json");
          exchange.sendResponseHeaders(200, bytes.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
          }
        });
    server.start();
    return "https://127.0.0.1:" + server.getAddress().getPort();
  }

  private static KeyStore load(Path path, String type) throws Exception {
    try (InputStream in = Files.newInputStream(path)) {
      KeyStore ks = KeyStore.getInstance(type);
      ks.load(in, PASS.toCharArray());
      return ks;
    }
  }

  private static Path keyPair(String alias, String dname, String san) throws Exception {
    Path store = dir.resolve(alias + ".p12");
    List<String> cmd =
        new java.util.ArrayList<>(
            List.of(
                keytool(),
                "-genkeypair",
                "-alias",
                alias,
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                dname,
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                store.toString(),
                "-storepass",
                PASS,
                "-keypass",
                PASS));
    if (san != null) {
      cmd.addAll(List.of("-ext", "san=" + san));
    }
    run(cmd);
    return store;
  }

  private static Path trustStoreOf(String alias, Path keyStore, String type) throws Exception {
    Path cert = dir.resolve(alias + ".crt");
    run(
        List.of(
            keytool(),
            "-exportcert",
            "-alias",
            alias,
            "-keystore",
            keyStore.toString(),
            "-storepass",
            PASS,
            "-rfc",
            "-file",
            cert.toString()));
    Path trust = dir.resolve(alias + "-trust." + type.toLowerCase(java.util.Locale.ROOT));
    run(
        List.of(
            keytool(),
            "-importcert",
            "-noprompt",
            "-alias",
            alias,
            "-file",
            cert.toString(),
            "-storetype",
            type,
            "-keystore",
            trust.toString(),
            "-storepass",
            PASS));
    return trust;
  }

  private static String keytool() {
    return Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
  }

  private static void run(List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
    }
  }
}
