package io.infermeter.collector.ingest.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HttpServerSettingsTest {

  static Map<String, String> base() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("http.host", "127.0.0.1");
    m.put("http.port", "4318");
    m.put("http.max.connections", "256");
    m.put("http.max.body.bytes", String.valueOf(8 << 20));
    return m;
  }

  static HttpServerSettings from(Map<String, String> m) {
    return HttpServerSettings.from(Settings.fromMap(m));
  }

  @Test
  void documentedDefaults() {
    HttpServerSettings s = from(base());
    assertThat(s.eventLoopThreads()).isEqualTo(2);
    assertThat(s.maxConnectionsPerClient()).isEqualTo(32);
    assertThat(s.maxInflightBodyBytes()).isEqualTo(32L << 20);
    assertThat(s.maxHeaderBytes()).isEqualTo(16 * 1024);
    assertThat(s.maxHeaders()).isEqualTo(100);
    assertThat(s.maxTrailers()).isEqualTo(16);
    assertThat(s.headTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.bodyTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(s.minBodyRate()).isEqualTo(1024);
    assertThat(s.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(s.writeTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(s.tls()).isEmpty();
    assertThat(s.tokens().required()).isFalse();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "http.max.inflight.body.bytes|1000|http.max.inflight.body.bytes",
        "http.max.headers|0|http.max.headers",
        "http.head.timeout|0s|http.head.timeout",
        "http.min.body.rate.bytes|-1|http.min.body.rate.bytes",
        "http.event.loop.threads|0|http.event.loop.threads",
        "tls.cert.chain.file|/nonexistent.pem|tls",
        "tls.client.ca.file|/nonexistent.pem|tls.client.ca.file",
        "auth.tokens.a.host|h|auth.tokens.a.token",
        "auth.tokens.a.colour|red|auth.tokens.a.colour",
      })
  void invalidValuesNameTheKey(String key, String value, String named) {
    Map<String, String> m = base();
    m.put(key, value);
    assertThatThrownBy(() -> from(m))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(named);
  }

  @Test
  void tlsNeedsReadableCertificateAndKey(@TempDir Path dir) throws Exception {
    Path cert = Files.writeString(dir.resolve("c.pem"), "x");
    Path key = Files.writeString(dir.resolve("k.pem"), "x");
    Map<String, String> m = base();
    m.put("tls.cert.chain.file", cert.toString());
    m.put("tls.private.key.file", key.toString());
    m.put("tls.private.key.password", "pw");
    HttpServerSettings s = from(m);
    assertThat(s.tls())
        .hasValueSatisfying(
            t -> {
              assertThat(t.certChain()).isEqualTo(cert);
              assertThat(t.keyPassword()).contains("pw");
              assertThat(t.toString()).doesNotContain("pw");
            });
  }

  @Test
  void tokensAndTheirBindings() {
    Map<String, String> m = base();
    m.put("auth.token", "any");
    m.put("auth.tokens.node7.token", "t7");
    m.put("auth.tokens.node7.host", "gpu-node-7");
    m.put("auth.tokens.eu.token", "teu");
    m.put("auth.tokens.eu.region", "eu-west-1");
    BearerTokens tokens = from(m).tokens();
    assertThat(tokens.required()).isTrue();
    assertThat(tokens.match("Bearer any").unrestricted()).isTrue();
    assertThat(tokens.match("Bearer t7"))
        .isEqualTo(new BearerTokens.Binding("node7", "gpu-node-7", null, null));
    assertThat(tokens.match("Bearer teu").region()).isEqualTo("eu-west-1");
    assertThat(tokens.match("Bearer t8")).isNull();
    assertThat(tokens.match("bearer t7")).isNull();
    assertThat(tokens.match(null)).isNull();
    assertThat(tokens.toString()).doesNotContain("t7").doesNotContain("any");
    assertThat(BearerTokens.single(java.util.Optional.empty()).required()).isFalse();
  }
}
