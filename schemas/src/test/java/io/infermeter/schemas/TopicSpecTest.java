package io.infermeter.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.PriceUpdate;
import io.infermeter.avro.RequestEvent;
import java.util.HashSet;
import java.util.Set;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Topic descriptor validation and the topic catalogue. */
class TopicSpecTest {

  @ParameterizedTest(name = "''{0}''")
  @ValueSource(strings = {"infermeter-requests", "a", "0abc", "staging.requests_v2", "x-1"})
  void acceptsLowerCaseTopicNames(String name) {
    assertThat(new TopicSpec<>(name, RequestEvent.class, "host").name()).isEqualTo(name);
  }

  @ParameterizedTest(name = "''{0}''")
  @ValueSource(
      strings = {
        "",
        "Infermeter-Requests",
        "-requests",
        ".hidden",
        "_internal",
        "has space",
        "a/b",
        "été"
      })
  void rejectsOtherNamesQuotingThem(String name) {
    assertThatThrownBy(() -> new TopicSpec<>(name, RequestEvent.class, "host"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("topic name must be lower-case kebab-case, got '" + name + "'");
  }

  @Test
  void rejectsNulls() {
    assertThatThrownBy(() -> new TopicSpec<>(null, RequestEvent.class, "host"))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("name");
    assertThatThrownBy(() -> new TopicSpec<RequestEvent>("t", null, "host"))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("valueType");
  }

  @Test
  void prefixesNamesKeepingTypeAndKey() {
    TopicSpec<PriceUpdate> staged = Topics.PRICE_UPDATES.withPrefix("staging-");

    assertThat(staged)
        .isEqualTo(
            new TopicSpec<>("staging-infermeter-price-updates", PriceUpdate.class, "gpuType"));
    assertThat(Topics.PRICE_UPDATES.withPrefix("")).isSameAs(Topics.PRICE_UPDATES);
    assertThat(Topics.PRICE_UPDATES.withPrefix(null)).isSameAs(Topics.PRICE_UPDATES);
    assertThatThrownBy(() -> Topics.PRICE_UPDATES.withPrefix("Staging-"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Staging-infermeter-price-updates");
  }

  @Test
  void catalogueHasUniqueNamesAndOneTopicPerRecordType() {
    Set<String> names = new HashSet<>();
    Set<Class<? extends SpecificRecord>> types = new HashSet<>();
    for (TopicSpec<?> t : Topics.ALL) {
      assertThat(names.add(t.name())).as("duplicate topic %s", t.name()).isTrue();
      assertThat(types.add(t.valueType())).as("two topics of %s", t.valueType()).isTrue();
      assertThat(t.name()).startsWith("infermeter-");
      assertThat(t.keyDescription()).isNotBlank();
    }
    // every top-level schema of src/main/avro has its topic
    assertThat(types)
        .containsExactlyInAnyOrderElementsOf(
            SampleRecords.all().values().stream().map(r -> r.getClass()).toList());
  }
}
