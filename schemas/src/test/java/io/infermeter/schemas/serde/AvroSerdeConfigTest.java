package io.infermeter.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Parsing of the serde's Confluent-style keys and every way they can be wrong. */
class AvroSerdeConfigTest {

  private static final String URL = "http://127.0.0.1:8081/apis/ccompat/v7";

  @Test
  void defaultsNeedOnlyTheRegistryUrl() {
    AvroSerdeConfig c = AvroSerdeConfig.from(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, URL));

    assertThat(c.registryUrl()).isEqualTo(URL);
    assertThat(c.autoRegister()).isTrue();
    assertThat(c.userInfo()).isEmpty();
    assertThat(c.keyStrategy()).isEqualTo(SubjectNameStrategy.TOPIC_NAME);
    assertThat(c.valueStrategy()).isEqualTo(SubjectNameStrategy.TOPIC_NAME);
    assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void readsEveryKey() {
    Map<String, Object> m = new HashMap<>();
    m.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, "  http://a:8081, https://b:8081/apis/ccompat/v7 ");
    m.put(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, false);
    m.put(AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE, "user_info");
    m.put(AvroSerdeConfig.BASIC_AUTH_USER_INFO, "svc:s3cr:et");
    m.put(
        AvroSerdeConfig.KEY_SUBJECT_NAME_STRATEGY,
        "io.confluent.kafka.serializers.subject.RecordNameStrategy");
    m.put(AvroSerdeConfig.VALUE_SUBJECT_NAME_STRATEGY, "TOPIC_RECORD_NAME");
    m.put(AvroSerdeConfig.REQUEST_TIMEOUT_MS, 2500);

    AvroSerdeConfig c = AvroSerdeConfig.from(m);

    assertThat(c.registryUrl()).isEqualTo("http://a:8081, https://b:8081/apis/ccompat/v7");
    assertThat(c.autoRegister()).isFalse();
    assertThat(c.userInfo()).contains("svc:s3cr:et");
    assertThat(c.keyStrategy()).isEqualTo(SubjectNameStrategy.RECORD_NAME);
    assertThat(c.valueStrategy()).isEqualTo(SubjectNameStrategy.TOPIC_RECORD_NAME);
    assertThat(c.requestTimeout()).isEqualTo(Duration.ofMillis(2500));
  }

  @Test
  void toStringHidesThePassword() {
    AvroSerdeConfig c =
        AvroSerdeConfig.from(
            Map.of(
                AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                URL,
                AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE,
                "USER_INFO",
                AvroSerdeConfig.BASIC_AUTH_USER_INFO,
                "svc:hunter2"));

    assertThat(c.toString()).contains("svc:[hidden]").doesNotContain("hunter2");
  }

  @Test
  void noneCredentialsSourceIgnoresUserInfo() {
    AvroSerdeConfig c =
        AvroSerdeConfig.from(
            Map.of(
                AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                URL,
                AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE,
                "NONE",
                AvroSerdeConfig.BASIC_AUTH_USER_INFO,
                "svc:pw"));

    assertThat(c.userInfo()).isEmpty();
  }

  @ParameterizedTest(name = "url=''{0}''")
  @ValueSource(strings = {"", "   "})
  void missingOrBlankUrlIsRejectedNamingTheKey(String url) {
    assertThatThrownBy(() -> AvroSerdeConfig.from(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, url)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("missing required setting 'schema.registry.url'");
    assertThatThrownBy(() -> AvroSerdeConfig.from(Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'schema.registry.url'");
  }

  @ParameterizedTest(name = "url=''{0}''")
  @ValueSource(
      strings = {
        "127.0.0.1:8081",
        "ftp://registry:21",
        "http://",
        ",",
        "http://a:8081, not a url",
        "mailto:x@y"
      })
  void malformedUrlIsRejectedNamingKeyAndValue(String url) {
    assertThatThrownBy(() -> AvroSerdeConfig.from(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, url)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("setting 'schema.registry.url'")
        .hasMessageContaining("invalid value '");
  }

  @Test
  void unknownCredentialsSourceIsRejected() {
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                        URL,
                        AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE,
                        "sasl_inherit")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(
            "invalid value 'SASL_INHERIT' for setting 'basic.auth.credentials.source'")
        .hasMessageContaining("expected USER_INFO or NONE");
  }

  @ParameterizedTest(name = "user info ''{0}''")
  @ValueSource(strings = {"", "useronly"})
  void userInfoSourceNeedsUserColonPassword(String info) {
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                        URL,
                        AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE,
                        "USER_INFO",
                        AvroSerdeConfig.BASIC_AUTH_USER_INFO,
                        info)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'basic.auth.user.info' is not set as user:password");
  }

  @Test
  void userInfoSourceWithoutAnyUserInfoIsRejected() {
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                        URL,
                        AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE,
                        "USER_INFO")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("USER_INFO but 'basic.auth.user.info'");
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource({
    "key.subject.name.strategy, SubjectStrategyOfMyOwn",
    "value.subject.name.strategy, io.confluent.kafka.serializers.subject.Nope",
  })
  void unknownStrategyIsRejectedNamingTheKey(String key, String value) {
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, URL, key, value)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("setting '" + key + "'")
        .hasMessageContaining(value);
  }

  @ParameterizedTest(name = "timeout ''{0}''")
  @ValueSource(strings = {"abc", "10s", "0", "-5", "1.5", ""})
  void badTimeoutIsRejectedNamingKeyAndValue(String timeout) {
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                        URL,
                        AvroSerdeConfig.REQUEST_TIMEOUT_MS,
                        timeout)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(
            "invalid value '" + timeout + "' for setting 'schema.registry.request.timeout.ms'");
  }

  @ParameterizedTest(name = "auto.register ''{0}''")
  @ValueSource(strings = {"yes", "1", "maybe"})
  void autoRegisterAcceptsOnlyTrueOrFalse(String value) {
    assertThatThrownBy(
            () ->
                AvroSerdeConfig.from(
                    Map.of(
                        AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                        URL,
                        AvroSerdeConfig.AUTO_REGISTER_SCHEMAS,
                        value)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("invalid value '" + value + "' for setting 'auto.register.schemas'");
  }

  @Test
  void autoRegisterIsCaseInsensitive() {
    assertThat(
            AvroSerdeConfig.from(
                    Map.of(
                        AvroSerdeConfig.SCHEMA_REGISTRY_URL,
                        URL,
                        AvroSerdeConfig.AUTO_REGISTER_SCHEMAS,
                        " FALSE "))
                .autoRegister())
        .isFalse();
  }

  @Test
  void recordKeepsWhatItIsGiven() {
    AvroSerdeConfig c =
        new AvroSerdeConfig(
            URL,
            true,
            Optional.of("u:p"),
            SubjectNameStrategy.TOPIC_NAME,
            SubjectNameStrategy.RECORD_NAME,
            Duration.ofSeconds(3));
    assertThat(c.valueStrategy()).isEqualTo(SubjectNameStrategy.RECORD_NAME);
    assertThat(c.toString()).doesNotContain("u:p");
  }
}
