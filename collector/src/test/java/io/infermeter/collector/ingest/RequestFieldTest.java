package io.infermeter.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/**
 * The request-field table against what it stands for: the RequestEvent schema (each field that is
 * not a duration from arrival is a schema field of a matching type) and the JSON-lines reference in
 * docs/COLLECTOR.md (each key documented). A field added to {@link RequestField} without its schema
 * field or its line in the docs fails here.
 */
class RequestFieldTest {

  @Test
  void everyFieldButTheDurationsIsARequestEventFieldOfAMatchingType() {
    Schema schema = RequestEvent.getClassSchema();
    List<String> mismatched = new ArrayList<>();
    for (RequestField f : RequestField.all()) {
      if (f.kind == RequestField.Kind.DURATION) {
        assertThat(schema.getField(f.jsonName)).as(f.jsonName).isNull();
        continue;
      }
      Schema.Field field = schema.getField(f.jsonName);
      if (field == null) {
        mismatched.add(f.jsonName + ": not in RequestEvent");
        continue;
      }
      Schema.Type type = valueType(field.schema());
      Schema.Type expected =
          switch (f.kind) {
            case DIMENSION, SOURCE, FREE_TEXT -> Schema.Type.STRING;
            case STATUS -> Schema.Type.ENUM;
            case TIMESTAMP, MICROS -> Schema.Type.LONG;
            case COUNT -> Schema.Type.INT;
            case BOOLEAN -> Schema.Type.BOOLEAN;
            case MAP -> Schema.Type.MAP;
            case DURATION -> throw new AssertionError("handled above");
          };
      if (type != expected) {
        mismatched.add(f.jsonName + ": " + type + " in the schema, " + f.kind + " here");
      }
    }
    assertThat(mismatched).isEmpty();
  }

  /** The type of a field's value: the non-null branch of an optional field. */
  private static Schema.Type valueType(Schema s) {
    if (s.getType() != Schema.Type.UNION) {
      return s.getType();
    }
    return s.getTypes().stream()
        .filter(t -> t.getType() != Schema.Type.NULL)
        .findFirst()
        .orElseThrow()
        .getType();
  }

  @Test
  void everyFieldIsDocumentedInTheJsonLinesReference() throws IOException {
    String doc = Files.readString(Path.of("../docs/COLLECTOR.md"));
    int from = doc.indexOf("### JSON lines: `POST /v1/requests`");
    int to = doc.indexOf("\n### ", from + 1);
    String section = doc.substring(from, to < 0 ? doc.length() : to);
    List<String> missing = new ArrayList<>();
    for (RequestField f : RequestField.all()) {
      if (!section.contains("`" + f.jsonName + "`")) {
        missing.add(f.jsonName);
      }
    }
    assertThat(missing).isEmpty();
  }

  @Test
  void namesLookUpTheirFieldAndUnknownNamesNone() {
    for (RequestField f : RequestField.all()) {
      assertThat(RequestField.byName(f.jsonName)).isSameAs(f);
      assertThat(RequestField.of(f.id)).isSameAs(f);
    }
    assertThat(RequestField.byName("eventId")).isNull();
    assertThat(RequestField.byName("modelversion")).isNull();
  }
}
