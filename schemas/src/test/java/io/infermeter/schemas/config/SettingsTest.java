package io.infermeter.schemas.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The layered settings loader: precedence, env-name mapping, typed getters and their error
 * messages, masking.
 */
class SettingsTest {

  private static final String PREFIX = "INFERMETER_";

  @TempDir Path dir;

  private Path file(String content) throws IOException {
    Path f = dir.resolve("app.properties");
    Files.writeString(f, content);
    return f;
  }

  private static Properties props(String... keyValues) {
    Properties p = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      p.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return p;
  }

  private static Settings of(String key, String value) {
    return Settings.fromMap(Map.of(key, value));
  }

  @Test
  void layersApplyDefaultsThenFileThenEnvThenSystemProperties() throws IOException {
    Map<String, String> defaults =
        Map.of("a.key", "default", "b.key", "default", "c.key", "default", "d.key", "default");
    Path f = file("a.key = file\nb.key=file\nc.key=file\n");
    Map<String, String> env = Map.of("INFERMETER_A_KEY", "env", "INFERMETER_B_KEY", "env");
    Properties sys = props("a.key", "sysprop");

    Settings s = Settings.load(defaults, Optional.of(f), PREFIX, env, sys);

    assertThat(s.string("a.key")).isEqualTo("sysprop");
    assertThat(s.string("b.key")).isEqualTo("env");
    assertThat(s.string("c.key")).isEqualTo("file");
    assertThat(s.string("d.key")).isEqualTo("default");
    assertThat(s.origin("a.key")).isEqualTo("system property");
    assertThat(s.origin("b.key")).isEqualTo("env INFERMETER_B_KEY");
    assertThat(s.origin("c.key")).isEqualTo(f.toString());
    assertThat(s.origin("d.key")).isEqualTo("default");
    assertThat(s.origin("nope")).isEqualTo("unset");
  }

  @Test
  void envNamesMapBackToDottedAndDashedKeys() {
    Map<String, String> defaults =
        Map.of(
            "kafka.bootstrap.servers", "x", "http.max-connections", "4", "sink.batch_rows", "100");
    Map<String, String> env =
        Map.of(
            "INFERMETER_KAFKA_BOOTSTRAP_SERVERS", " broker:9092 ",
            "INFERMETER_HTTP_MAX_CONNECTIONS", "8",
            "INFERMETER_SINK_BATCH_ROWS", "500",
            "INFERMETER_KAFKA_PRODUCER_LINGER_MS", "20",
            "OTHER_KAFKA_BOOTSTRAP_SERVERS", "ignored",
            "INFERMETER_", "ignored too");

    Settings s = Settings.load(defaults, Optional.empty(), PREFIX, env, new Properties());

    assertThat(s.string("kafka.bootstrap.servers")).isEqualTo("broker:9092");
    assertThat(s.integer("http.max-connections")).isEqualTo(8);
    assertThat(s.integer("sink.batch_rows")).isEqualTo(500);
    assertThat(s.withPrefix("kafka.producer.")).containsExactly(Map.entry("linger.ms", "20"));
    assertThat(s.asMap())
        .containsOnlyKeys(
            "kafka.bootstrap.servers",
            "http.max-connections",
            "sink.batch_rows",
            "kafka.producer.linger.ms");
  }

  @Test
  void systemPropertiesOverrideOnlyKeysTheAppKnows() throws IOException {
    Path f = file("from.file=1\n");
    Properties sys =
        props("known", "sys", "from.file", "2", "java.version", "17", "unrelated.key", "x");

    Settings s = Settings.load(Map.of("known", "default"), Optional.of(f), PREFIX, Map.of(), sys);

    assertThat(s.asMap()).containsOnly(Map.entry("known", "sys"), Map.entry("from.file", "2"));
  }

  @Test
  void missingConfigFileFailsNamingThePath() {
    Path missing = dir.resolve("nope.properties");

    assertThatThrownBy(
            () -> Settings.load(Map.of(), Optional.of(missing), PREFIX, Map.of(), new Properties()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("does not exist or is not readable");
  }

  @Test
  void directoryAsConfigFileFailsNamingThePath() {
    assertThatThrownBy(
            () -> Settings.load(Map.of(), Optional.of(dir), PREFIX, Map.of(), new Properties()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot read config file " + dir);
  }

  @ParameterizedTest(name = "''{0}'' = {1} ms")
  @CsvSource({
    "250ms,  250",
    "10s,    10000",
    "5m,     300000",
    "1h,     3600000",
    "2d,     172800000",
    "1500,   1500",
    "0s,     0",
    "' 10 s ', 10000",
    "10S,    10000",
    "3MS,    3",
  })
  void parsesDurations(String text, long millis) {
    assertThat(of("poll.interval", text).duration("poll.interval"))
        .isEqualTo(Duration.ofMillis(millis));
    assertThat(Settings.parseDuration(text)).isEqualTo(Duration.ofMillis(millis));
  }

  @ParameterizedTest(name = "''{0}''")
  @ValueSource(
      strings = {
        "ten",
        "-5s",
        "1.5s",
        "10w",
        "s",
        "10 seconds",
        "99999999999999999999s",
        "999999999999999999d"
      })
  void rejectsBadDurationsNamingKeyAndValue(String text) {
    assertThatThrownBy(() -> of("poll.interval", text).duration("poll.interval"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("invalid value '" + text.trim() + "' for setting 'poll.interval'")
        .hasMessageContaining("a duration such as 250ms, 10s");
    assertThat(Settings.parseDuration(text)).isNull();
  }

  @Test
  void missingRequiredValueNamesTheKey() {
    Settings s = Settings.fromMap(Map.of("empty", ""));

    assertThatThrownBy(() -> s.string("absent"))
        .isInstanceOf(ConfigException.class)
        .hasMessage("missing required setting 'absent'");
    assertThatThrownBy(() -> s.duration("empty"))
        .isInstanceOf(ConfigException.class)
        .hasMessage("missing required setting 'empty'");
    assertThat(s.has("empty")).isFalse();
    assertThat(s.optional("empty")).isEmpty();
    assertThat(s.string("absent", "fallback")).isEqualTo("fallback");
  }

  @ParameterizedTest(name = "''{0}''")
  @CsvSource(
      delimiter = '|',
      value = {
        "a,b,c        | a;b;c",
        "' a , b ,, c ,' | a;b;c",
        "single       | single",
        "','          | ''",
      })
  void splitsListsDroppingEmptyEntries(String text, String expected) {
    List<String> want = expected.isEmpty() ? List.of() : List.of(expected.split(";"));
    assertThat(of("hosts", text).list("hosts")).isEqualTo(want);
  }

  @Test
  void absentListIsEmpty() {
    assertThat(Settings.fromMap(Map.of()).list("hosts")).isEmpty();
  }

  @ParameterizedTest(name = "''{0}'' -> {1}")
  @CsvSource({
    "true, true",
    "YES, true",
    "on, true",
    "1, true",
    "false, false",
    "No, false",
    "OFF, false",
    "0, false"
  })
  void parsesBooleans(String text, boolean expected) {
    assertThat(of("flag", text).bool("flag")).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}=''{1}''")
  @CsvSource({
    "bool,        Maybe,  true or false",
    "integer,     12x,    an integer",
    "integer,     3000000000, an integer",
    "longValue,   1e3,    an integer",
    "decimal,     abc,    a number",
    "decimal,     NaN,    a finite number",
    "decimal,     Infinity, a finite number",
    "positiveInt, 0,      a positive integer",
    "positiveInt, -3,     a positive integer",
    "positiveInt, seven,  an integer",
  })
  void rejectsInvalidTypedValuesNamingKeyAndValue(String getter, String text, String expected) {
    Settings s = of("some.key", text);
    Runnable call =
        switch (getter) {
          case "bool" -> () -> s.bool("some.key");
          case "integer" -> () -> s.integer("some.key");
          case "longValue" -> () -> s.longValue("some.key");
          case "decimal" -> () -> s.decimal("some.key");
          case "positiveInt" -> () -> s.positiveInt("some.key");
          default -> throw new IllegalArgumentException(getter);
        };

    assertThatThrownBy(call::run)
        .isInstanceOf(ConfigException.class)
        .hasMessage("invalid value '" + text + "' for setting 'some.key': expected " + expected);
  }

  @Test
  void parsesValidNumbers() {
    Settings s = Settings.fromMap(Map.of("i", "-42", "l", "3000000000", "d", "0.25", "p", "7"));

    assertThat(s.integer("i")).isEqualTo(-42);
    assertThat(s.longValue("l")).isEqualTo(3_000_000_000L);
    assertThat(s.decimal("d")).isEqualTo(0.25);
    assertThat(s.positiveInt("p")).isEqualTo(7);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "clickhouse.password",
        "api.secret",
        "auth.token",
        "basic.auth.credentials",
        "schema.registry.basic.auth.user.info",
        "kafka.producer.sasl.jaas.config",
        "ssl.key.PASSWORD"
      })
  void describeHidesSecrets(String key) {
    Settings s = Settings.fromMap(Map.of(key, "hunter2", "kafka.bootstrap.servers", "broker:9092"));

    String text = s.describe();

    assertThat(text)
        .doesNotContain("hunter2")
        .contains(key + " = [hidden]  (map)")
        .contains("kafka.bootstrap.servers = broker:9092  (map)");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "jdbc:clickhouse://h:8123/db?user=u&password=hunter2      | jdbc:clickhouse://h:8123/db?user=u&password=[hidden]",
        "jdbc:clickhouse://h:8123/db?PASSWORD=hunter2&ssl=true     | jdbc:clickhouse://h:8123/db?PASSWORD=[hidden]&ssl=true",
        "https://api/x?token=hunter2;secret=hunter2                | https://api/x?token=[hidden];secret=[hidden]",
        "http://h:8123/db?user=u                                   | http://h:8123/db?user=u",
      })
  void describeHidesCredentialsInsideUrls(String url, String shown) {
    assertThat(of("clickhouse.url", url).describe())
        .isEqualTo("  clickhouse.url = " + shown + "  (map)\n");
  }

  @Test
  void withPrefixStripsThePrefixAndIgnoresTheBarePrefix() {
    Settings s =
        Settings.fromMap(
            Map.of(
                "kafka.producer.linger.ms",
                "5",
                "kafka.producer.acks",
                "all",
                "kafka.producer.",
                "bare",
                "kafka.consumer.max.poll.records",
                "10"));

    Map<String, String> producer = s.withPrefix("kafka.producer.");

    assertThat(producer).containsOnly(Map.entry("linger.ms", "5"), Map.entry("acks", "all"));
    assertThat(s.withPrefix("nothing.")).isEmpty();
    assertThatThrownBy(() -> producer.put("x", "y"))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void overridesWinAndNullsAreSkipped() {
    Map<String, Object> overrides = new HashMap<>();
    overrides.put("port", 9400);
    overrides.put("host", null);
    Settings s = Settings.fromMap(Map.of("port", "1", "host", "127.0.0.1")).with(overrides);

    assertThat(s.integer("port")).isEqualTo(9400);
    assertThat(s.origin("port")).isEqualTo("override");
    assertThat(s.string("host")).isEqualTo("127.0.0.1");
    assertThat(s.origin("host")).isEqualTo("map");
  }

  @Test
  void fromMapSkipsNullsAndIsImmutable() {
    Map<String, Object> m = new HashMap<>();
    m.put("a", 1);
    m.put("b", null);
    Settings s = Settings.fromMap(m);
    m.put("a", 2);

    assertThat(s.asMap()).containsExactly(Map.entry("a", "1"));
    assertThatThrownBy(() -> s.asMap().put("c", "3"))
        .isInstanceOf(UnsupportedOperationException.class);
  }
}
