package io.infermeter.schemas.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigKey.Type;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Unit tests of {@link ConfigTable} and {@link ConfigKey}. */
class ConfigTableTest {

  private static final ConfigTable TABLE =
      ConfigTable.builder()
          .key("batch.max.rows", "100", Type.POSITIVE_INTEGER, "rows per batch")
          .key("batch.max.wait", "1s", Type.DURATION, "age of a batch")
          .key("topic.prefix", "", Type.STRING, "prefix | of topics")
          .key("cost.price.per.hour.<gpuType>", null, Type.DECIMAL, "price per device-hour")
          .key("kafka.*", null, Type.PASSED_THROUGH, "client settings")
          .build();

  @Test
  void defaultsAreTheExactKeysWithADefaultInOrder() {
    assertThat(TABLE.defaults())
        .containsExactly(
            Map.entry("batch.max.rows", "100"),
            Map.entry("batch.max.wait", "1s"),
            Map.entry("topic.prefix", ""));
    assertThat(TABLE.exactNames())
        .containsExactly("batch.max.rows", "batch.max.wait", "topic.prefix");
  }

  @Test
  void everyValueIsCheckedAgainstItsKeysTypePatternsIncluded() {
    TABLE.check(Settings.fromMap(Map.of("batch.max.rows", "5", "cost.price.per.hour.H100", "2.5")));
    assertThatThrownBy(() -> TABLE.check(Settings.fromMap(Map.of("batch.max.rows", "0"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("batch.max.rows");
    assertThatThrownBy(() -> TABLE.check(Settings.fromMap(Map.of("batch.max.wait", "soon"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("batch.max.wait");
    assertThatThrownBy(
            () -> TABLE.check(Settings.fromMap(Map.of("cost.price.per.hour.H100", "cheap"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cost.price.per.hour.H100");
    // passed through, and keys no declaration matches, are left to the client and to KnownKeys
    TABLE.check(Settings.fromMap(Map.of("kafka.linger.ms", "x", "unknown.key", "y")));
  }

  @Test
  void patternsMatchOneSegmentAndPrefixesAnyRest() {
    ConfigKey price = TABLE.keys().get(3);
    assertThat(price.matches("cost.price.per.hour.H100")).isTrue();
    assertThat(price.matches("cost.price.per.hour.a.b")).isFalse();
    assertThat(price.matches("cost.price.per.hour.")).isFalse();
    ConfigKey kafka = TABLE.keys().get(4);
    assertThat(kafka.matches("kafka.producer.linger.ms")).isTrue();
    assertThat(kafka.matches("kafka.")).isFalse();
  }

  @Test
  void theMarkdownTableGoesBetweenTheMarkersAndEscapesPipes() {
    String doc = "# Ref\n\n" + ConfigTable.BEGIN + "\nold\n" + ConfigTable.END + "\nafter\n";
    String out = ConfigTable.withTable(doc, TABLE.markdown());
    assertThat(out)
        .startsWith("# Ref\n\n" + ConfigTable.BEGIN + "\n| key | default | type | meaning |")
        .contains("| `batch.max.wait` | `1s` | duration | age of a batch |")
        .contains("| `topic.prefix` | (empty) | string | prefix \\| of topics |")
        .contains("| `kafka.*` | (none) | passed through | client settings |")
        .endsWith(ConfigTable.END + "\nafter\n")
        .doesNotContain("old");
    assertThatThrownBy(() -> ConfigTable.withTable("no markers", TABLE.markdown()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aKeyDeclaredTwiceOrWithoutADocIsRefused() {
    assertThatThrownBy(
            () ->
                ConfigTable.builder()
                    .key("a.b", "1", Type.INTEGER, "x")
                    .key("a.b", "2", Type.INTEGER, "y"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ConfigKey("a.b", "1", Type.INTEGER, " "))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ConfigKey("A B", "1", Type.INTEGER, "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aSegmentAfterTheFirstMayHoldUpperCaseAsAGpuTypeDoes() {
    ConfigKey h100 = new ConfigKey("cost.price.per.hour.H100", "2.50", Type.DECIMAL, "price");
    assertThat(h100.exact()).isTrue();
    assertThat(h100.matches("cost.price.per.hour.H100")).isTrue();
    assertThat(h100.matches("cost.price.per.hour.h100")).isFalse();
    assertThatThrownBy(() -> new ConfigKey("Cost.price", "1", Type.DECIMAL, "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
