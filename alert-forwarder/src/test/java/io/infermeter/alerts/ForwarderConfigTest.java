package io.infermeter.alerts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ForwarderConfigTest {

  @Test
  void defaultsMatchTheDocumentation() {
    ForwarderConfig c = ForwarderConfig.fromMap(Map.of());
    assertThat(c.alertmanagers())
        .containsExactly(URI.create("http://127.0.0.1:9093/api/v2/alerts"));
    assertThat(c.resendInterval()).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.resendTimeout()).isEqualTo(Duration.ofMinutes(4));
    assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.retryInitialBackoff()).isEqualTo(Duration.ofMillis(500));
    assertThat(c.retryMaxBackoff()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.retryGiveUpAfter()).isEqualTo(Duration.ofMinutes(2));
    assertThat(c.rebuildLookback()).isEqualTo(Duration.ofDays(7));
    assertThat(c.firingMax()).isEqualTo(10000);
    assertThat(c.metricsHost()).isEqualTo("127.0.0.1");
    assertThat(c.metricsPort()).isEqualTo(9406);
    assertThat(c.groupId()).isEqualTo("infermeter-alert-forwarder");
    assertThat(c.generatorUrl()).isEmpty();
    assertThat(c.externalLabels()).isEmpty();
  }

  @Test
  void severalAlertmanagersWithOrWithoutTrailingSlashOrPath() {
    ForwarderConfig c =
        ForwarderConfig.fromMap(
            Map.of(
                "alertmanager.urls",
                "http://am-0:9093/, https://am-1.example:443/alertmanager ,http://am-2:9093"));
    assertThat(c.alertmanagers())
        .containsExactly(
            URI.create("http://am-0:9093/api/v2/alerts"),
            URI.create("https://am-1.example:443/alertmanager/api/v2/alerts"),
            URI.create("http://am-2:9093/api/v2/alerts"));
  }

  @Test
  void layersFileEnvironmentAndSystemProperties(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("alerts.properties");
    Files.writeString(
        file,
        "alertmanager.resend.interval=30s\nalertmanager.urls=http://file:9093\n"
            + "alertmanager.label.k8s_cluster=prod-eu\n");
    Properties sys = new Properties();
    sys.setProperty("alertmanager.resend.interval", "45s");
    ForwarderConfig c =
        ForwarderConfig.load(
            Optional.of(file),
            Map.of(
                "INFERMETER_ALERTMANAGER_URLS",
                "http://env:9093",
                "INFERMETER_KAFKA_CONSUMER_SECURITY_PROTOCOL",
                "SSL"),
            sys);
    assertThat(c.resendInterval()).isEqualTo(Duration.ofSeconds(45));
    assertThat(c.alertmanagers()).containsExactly(URI.create("http://env:9093/api/v2/alerts"));
    assertThat(c.externalLabels()).containsExactly(Map.entry("k8s_cluster", "prod-eu"));
    assertThat(c.consumerOverrides()).containsEntry("security.protocol", "SSL");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = ';',
      value = {
        "alertmanager.urls; ''; alertmanager.urls",
        "alertmanager.urls; ' , '; alertmanager.urls",
        "alertmanager.urls; ftp://am:21; alertmanager.urls",
        "alertmanager.urls; am:9093; alertmanager.urls",
        "alertmanager.urls; http://am:9093?x=1; alertmanager.urls",
        "alertmanager.urls; 'http://am:9093,http://am:9093/'; twice",
        "alertmanager.urls; http://a b; alertmanager.urls",
        "alertmanager.resend.interval; 0s; alertmanager.resend.interval",
        "alertmanager.resend.interval; soon; alertmanager.resend.interval",
        "alertmanager.resend.timeout; 60s; must be longer than alertmanager.resend.interval",
        "alertmanager.request.timeout; -1s; alertmanager.request.timeout",
        "alertmanager.retry.max.backoff; 100ms; alertmanager.retry.initial.backoff",
        "alertmanager.retry.give.up.after; 0; alertmanager.retry.give.up.after",
        "alertmanager.rebuild.lookback; 0d; alertmanager.rebuild.lookback",
        "alertmanager.generator.url; javascript:alert(1); alertmanager.generator.url",
        "alertmanager.firing.max; 0; alertmanager.firing.max",
        "alertmanager.firing.max; many; alertmanager.firing.max",
        "alertmanager.label.bad-name; x; bad-name",
        "alertmanager.label.9lives; x; 9lives",
        "metrics.port; 70000; metrics.port",
        "metrics.port; -1; metrics.port",
        "poll.timeout; 0ms; poll.timeout",
        "kafka.group.id; ''; kafka.group.id",
        "schema.registry.url; ''; schema.registry.url",
      })
  void invalidValuesFailNamingTheKey(String key, String value, String message) {
    assertThatThrownBy(() -> ForwarderConfig.fromMap(Map.of(key, value)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(message);
  }

  @Test
  void anEmptyExternalLabelIsLeftOut() {
    assertThat(ForwarderConfig.fromMap(Map.of("alertmanager.label.env", "")).externalLabels())
        .isEmpty();
  }

  @Test
  void describeMasksSecrets() {
    String text =
        ForwarderConfig.fromMap(
                Map.of(
                    "kafka.consumer.sasl.jaas.config",
                    "secret-jaas",
                    "basic.auth.user.info",
                    "u:p"))
            .describe();
    assertThat(text)
        .doesNotContain("secret-jaas")
        .doesNotContain("u:p")
        .contains("alertmanager.urls");
  }

  @Test
  void serdeConfigCarriesTheRegistrySettings() {
    assertThat(
            ForwarderConfig.fromMap(Map.of("schema.registry.url", "http://r:8081")).serdeConfig())
        .containsEntry("schema.registry.url", "http://r:8081");
    assertThat(List.copyOf(ForwarderConfig.fromMap(Map.of()).serdeConfig().keySet()))
        .contains("schema.registry.url");
  }

  @Test
  void theRebuildConsumerHasNoGroupAndNeitherCommitsAutomatically() {
    ForwarderConfig c =
        ForwarderConfig.fromMap(
            Map.of(
                "kafka.consumer.enable.auto.commit",
                "true",
                "kafka.consumer.group.instance.id",
                "a-0"));
    Map<String, Object> main = AlertForwarder.consumerProps(c, true);
    Map<String, Object> rebuild = AlertForwarder.consumerProps(c, false);
    assertThat(main)
        .containsEntry("enable.auto.commit", false)
        .containsEntry("group.id", "infermeter-alert-forwarder")
        .containsEntry("isolation.level", "read_committed");
    assertThat(rebuild)
        .containsEntry("enable.auto.commit", false)
        .doesNotContainKeys("group.id", "group.instance.id");
    assertThat((Integer) main.get("max.poll.interval.ms")).isGreaterThanOrEqualTo(300_000);
  }

  @Test
  void basicAuthAndBearerTokenBecomeTheAuthorizationHeader(@TempDir Path dir) throws Exception {
    assertThat(ForwarderConfig.fromMap(Map.of()).authorization()).isEmpty();
    assertThat(
            ForwarderConfig.fromMap(
                    Map.of(
                        "alertmanager.basic.auth.username",
                        "forwarder",
                        "alertmanager.basic.auth.password",
                        "s3cret"))
                .authorization())
        .contains(
            "Basic "
                + java.util.Base64.getEncoder()
                    .encodeToString("forwarder:s3cret".getBytes(StandardCharsets.UTF_8)));
    Path token = dir.resolve("token");
    Files.writeString(token, "abc.def\n");
    assertThat(
            ForwarderConfig.fromMap(Map.of("alertmanager.bearer.token.file", token.toString()))
                .authorization())
        .contains("Bearer abc.def");
    String described =
        ForwarderConfig.fromMap(
                Map.of(
                    "alertmanager.basic.auth.username",
                    "forwarder",
                    "alertmanager.basic.auth.password",
                    "s3cret"))
            .describe();
    assertThat(described).doesNotContain("s3cret");
  }

  @Test
  void inconsistentOrUnreadableCredentialsFailAtStart(@TempDir Path dir) throws Exception {
    assertThatThrownBy(
            () ->
                ForwarderConfig.fromMap(
                    Map.of(
                        "alertmanager.bearer.token",
                        "t",
                        "alertmanager.basic.auth.username",
                        "u",
                        "alertmanager.basic.auth.password",
                        "p")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("both set");
    assertThatThrownBy(
            () -> ForwarderConfig.fromMap(Map.of("alertmanager.basic.auth.username", "u")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("alertmanager.basic.auth.password");
    assertThatThrownBy(
            () ->
                ForwarderConfig.fromMap(
                    Map.of(
                        "alertmanager.basic.auth.username",
                        "a:b",
                        "alertmanager.basic.auth.password",
                        "p")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("':'");
    assertThatThrownBy(
            () ->
                ForwarderConfig.fromMap(
                    Map.of("alertmanager.bearer.token.file", dir.resolve("absent").toString())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("alertmanager.bearer.token.file");
    Path empty = dir.resolve("empty");
    Files.writeString(empty, "  \n");
    assertThatThrownBy(
            () ->
                ForwarderConfig.fromMap(
                    Map.of(
                        "alertmanager.basic.auth.username",
                        "u",
                        "alertmanager.basic.auth.password.file",
                        empty.toString())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("is empty");
  }
}
