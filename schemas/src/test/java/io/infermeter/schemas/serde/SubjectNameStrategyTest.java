package io.infermeter.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.RequestEvent;
import org.apache.avro.Schema;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Subject names as Confluent's serializers derive them, and the names the strategy setting accepts.
 */
class SubjectNameStrategyTest {

  private static final Schema SCHEMA = RequestEvent.getClassSchema();

  @ParameterizedTest(name = "{0} key={1}")
  @CsvSource({
    "TOPIC_NAME,        false, infermeter-requests-value",
    "TOPIC_NAME,        true,  infermeter-requests-key",
    "RECORD_NAME,       false, io.infermeter.avro.RequestEvent",
    "RECORD_NAME,       true,  io.infermeter.avro.RequestEvent",
    "TOPIC_RECORD_NAME, false, infermeter-requests-io.infermeter.avro.RequestEvent",
    "TOPIC_RECORD_NAME, true,  infermeter-requests-io.infermeter.avro.RequestEvent",
  })
  void derivesSubjects(SubjectNameStrategy strategy, boolean isKey, String expected) {
    assertThat(strategy.subject("infermeter-requests", isKey, SCHEMA)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
    "TOPIC_NAME, TOPIC_NAME",
    "topic_name, TOPIC_NAME",
    "TopicNameStrategy, TOPIC_NAME",
    "io.confluent.kafka.serializers.subject.TopicNameStrategy, TOPIC_NAME",
    "RECORD_NAME, RECORD_NAME",
    "RecordNameStrategy, RECORD_NAME",
    "io.confluent.kafka.serializers.subject.RecordNameStrategy, RECORD_NAME",
    "TOPIC_RECORD_NAME, TOPIC_RECORD_NAME",
    "TopicRecordNameStrategy, TOPIC_RECORD_NAME",
    "'  io.confluent.kafka.serializers.subject.TopicRecordNameStrategy  ', TOPIC_RECORD_NAME",
  })
  void parsesEnumAndConfluentClassNames(String text, SubjectNameStrategy expected) {
    assertThat(SubjectNameStrategy.parse(text)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "''{0}''")
  @ValueSource(
      strings = {
        "",
        "Topic",
        "io.confluent.kafka.serializers.subject.strategy.SubjectNameStrategy",
        "RECORD"
      })
  void rejectsUnknownNamesListingTheValidOnes(String text) {
    assertThatThrownBy(() -> SubjectNameStrategy.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown subject name strategy '" + text + "'")
        .hasMessageContaining("TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy");
  }
}
