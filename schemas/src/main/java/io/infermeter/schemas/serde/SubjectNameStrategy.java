package io.infermeter.schemas.serde;

import java.util.Locale;
import org.apache.avro.Schema;

/** How a subject name is derived, as Confluent's serializers do it. */
public enum SubjectNameStrategy {
  /** {@code <topic>-value} / {@code <topic>-key} (the default). */
  TOPIC_NAME,
  /** The record's full name. */
  RECORD_NAME,
  /** {@code <topic>-<record full name>}. */
  TOPIC_RECORD_NAME;

  public String subject(String topic, boolean isKey, Schema schema) {
    return switch (this) {
      case TOPIC_NAME -> topic + (isKey ? "-key" : "-value");
      case RECORD_NAME -> schema.getFullName();
      case TOPIC_RECORD_NAME -> topic + "-" + schema.getFullName();
    };
  }

  /**
   * Parses the enum name or Confluent's class names ({@code io.confluent...TopicNameStrategy},
   * {@code RecordNameStrategy}, {@code TopicRecordNameStrategy}).
   */
  public static SubjectNameStrategy parse(String value) {
    String v = value.trim();
    int dot = v.lastIndexOf('.');
    String simple = (dot >= 0 ? v.substring(dot + 1) : v).replace("_", "").toLowerCase(Locale.ROOT);
    return switch (simple) {
      case "topicname", "topicnamestrategy" -> TOPIC_NAME;
      case "recordname", "recordnamestrategy" -> RECORD_NAME;
      case "topicrecordname", "topicrecordnamestrategy" -> TOPIC_RECORD_NAME;
      default ->
          throw new IllegalArgumentException(
              "unknown subject name strategy '"
                  + value
                  + "': expected TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy");
    };
  }
}
