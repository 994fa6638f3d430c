package io.infermeter.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.KnownKeys;
import io.infermeter.schemas.config.Settings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The settings of {@link TopicCreator} and the command's argument handling; the broker side is
 * TopicCreatorIT.
 */
class TopicCreatorTest {

  @Test
  void anAppWithoutTheKeysInItsDefaultsGetsTheDocumentedDefaults() {
    TopicCreator.Plan plan =
        TopicCreator.Plan.from(Settings.fromMap(Map.of("kafka.bootstrap.servers", "x:9092")));
    assertThat(plan.createMissing())
        .isEqualTo(Boolean.parseBoolean(TopicCreator.DEFAULTS.get(TopicCreator.CREATE_MISSING)));
    assertThat(plan.partitions())
        .isEqualTo(Integer.parseInt(TopicCreator.DEFAULTS.get(TopicCreator.PARTITIONS)));
    assertThat(plan.replicationFactor())
        .isEqualTo(Short.parseShort(TopicCreator.DEFAULTS.get(TopicCreator.REPLICATION_FACTOR)));
    assertThat(plan.prefix()).isEmpty();
  }

  @Test
  void thePlanNamesEveryTopicWithThePrefix() {
    TopicCreator.Plan plan =
        TopicCreator.Plan.from(
            Settings.fromMap(
                Map.of(
                    "topic.prefix",
                    "staging-",
                    TopicCreator.PARTITIONS,
                    "12",
                    TopicCreator.REPLICATION_FACTOR,
                    "3",
                    TopicCreator.CREATE_MISSING,
                    "off")));
    assertThat(plan.names())
        .hasSize(Topics.ALL.size())
        .allMatch(n -> n.startsWith("staging-infermeter-"))
        .contains("staging-" + Topics.REQUESTS.name(), "staging-" + Topics.HARDWARE.name());
    assertThat(plan.partitions()).isEqualTo(12);
    assertThat(plan.replicationFactor()).isEqualTo((short) 3);
    assertThat(plan.createMissing()).isFalse();
  }

  @ParameterizedTest
  @CsvSource({
    "topics.partitions,0",
    "topics.partitions,-4",
    "topics.partitions,four",
    "topics.partitions,4.0",
    "topics.partitions,99999999999",
    "topics.replication.factor,0",
    "topics.replication.factor,40000",
    "topics.replication.factor,1e3",
    "topics.create.missing,maybe",
    "topics.create.missing,tru"
  })
  void anInvalidValueFailsNamingTheKeyAndTheValue(String key, String value) {
    assertThatThrownBy(() -> TopicCreator.Plan.from(Settings.fromMap(Map.of(key, value))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(key)
        .hasMessageContaining(value);
  }

  @Test
  void theRequestAndHardwareCountsMustBeEqual() {
    TopicCreator.Plan plan = TopicCreator.Plan.from(Settings.fromMap(Map.of()));
    String requests = plan.name(Topics.REQUESTS);
    String hardware = plan.name(Topics.HARDWARE);
    assertThat(TopicCreator.inputMismatch(plan, Map.of(requests, 4, hardware, 4))).isNull();
    assertThat(TopicCreator.inputMismatch(plan, Map.of(requests, 4))).isNull();
    // the start-order failure of issue 11: the broker auto-created the hardware topic with its
    // num.partitions
    assertThat(TopicCreator.inputMismatch(plan, Map.of(requests, 4, hardware, 3)))
        .contains(requests + " has 4 partitions", hardware + " has 3");
    // engine samples join the same energy task by partition too
    String engine = plan.name(Topics.ENGINE_STATE);
    assertThat(TopicCreator.inputMismatch(plan, Map.of(requests, 4, hardware, 4, engine, 4)))
        .isNull();
    assertThat(TopicCreator.inputMismatch(plan, Map.of(requests, 4, hardware, 4, engine, 2)))
        .contains(requests + " has 4 partitions", engine + " has 2");
  }

  @Test
  void aMismatchNamesTheTopicAndBothCounts() {
    assertThat(new TopicCreator.Mismatch("infermeter-alerts", 3, 4).describe())
        .isEqualTo("topic infermeter-alerts has 3 partitions, topics.partitions is 4");
  }

  @Test
  void everyAppKnowsTheTopicKeys() {
    KnownKeys keys = KnownKeys.forApp(Set.of("kafka.bootstrap.servers"), List.of(), Set.of());
    assertThat(TopicCreator.KEYS).allMatch(keys::isKnown);
    assertThat(keys.problems(Settings.fromMap(Map.of(TopicCreator.PARTITIONS, "8")))).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "delete", "create list", "CREATE"})
  void theCommandRejectsAnythingButCreateOrList(String args) throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] argv = args.isEmpty() ? new String[0] : args.split(" ");
    int rc =
        TopicsCommand.run(
            argv,
            Map.of(),
            new Properties(),
            new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(rc).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("usage: topics create|list");
  }

  @Test
  void theCommandRejectsAnInvalidSettingBeforeContactingKafka() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        TopicsCommand.run(
            new String[] {"create"},
            Map.of("INFERMETER_TOPICS_PARTITIONS", "-1"),
            new Properties(),
            new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(rc).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("topics.partitions").contains("'-1'");
  }
}
