package io.infermeter.schemas;

import java.util.Objects;
import org.apache.avro.specific.SpecificRecord;

/**
 * A typed topic descriptor: the topic name, the Avro record type of its values and what its
 * (string) key holds.
 *
 * @param name kebab-case topic name
 * @param valueType generated Avro class of the values
 * @param keyDescription what the record key is, for docs and producers
 * @param <V> value type
 */
public record TopicSpec<V extends SpecificRecord>(
    String name, Class<V> valueType, String keyDescription) {

  public TopicSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(valueType, "valueType");
    if (!name.matches("[a-z0-9][a-z0-9._-]*")) {
      throw new IllegalArgumentException(
          "topic name must be lower-case kebab-case, got '" + name + "'");
    }
  }

  /**
   * The same topic with {@code prefix} prepended (e.g. {@code "staging-"}); an empty prefix returns
   * this.
   */
  public TopicSpec<V> withPrefix(String prefix) {
    if (prefix == null || prefix.isEmpty()) {
      return this;
    }
    return new TopicSpec<>(prefix + name, valueType, keyDescription);
  }
}
