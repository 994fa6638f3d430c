package io.infermeter.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.JsonProperties;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The house rules of docs/SCHEMAS.md that can be read off the .avsc files themselves: every record
 * and field documented, optional fields as {@code ["null", T]} with default null, enums with a
 * default symbol, one top-level record per file named like the file.
 */
class SchemaRulesTest {

  /** Surefire runs in the module directory. */
  private static final Path AVRO = Path.of("src/main/avro");

  static Stream<Path> avscFiles() throws IOException {
    try (Stream<Path> files = Files.list(AVRO)) {
      List<Path> list = files.filter(p -> p.toString().endsWith(".avsc")).sorted().toList();
      assertThat(list).isNotEmpty();
      return list.stream();
    }
  }

  static Schema parse(Path file) throws IOException {
    return new Schema.Parser().parse(file.toFile());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("avscFiles")
  void fileHoldsOneDocumentedRecordNamedLikeTheFile(Path file) throws IOException {
    Schema schema = parse(file);

    assertThat(schema.getType()).isEqualTo(Schema.Type.RECORD);
    assertThat(schema.getNamespace()).isEqualTo("io.infermeter.avro");
    assertThat(schema.getName() + ".avsc").isEqualTo(file.getFileName().toString());
    assertThat(schema.getDoc()).as("doc of %s", schema.getFullName()).isNotBlank();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("avscFiles")
  void everyFieldHasADoc(Path file) throws IOException {
    List<String> undocumented = new ArrayList<>();
    for (Schema record : records(parse(file))) {
      if (record.getDoc() == null || record.getDoc().isBlank()) {
        undocumented.add(record.getFullName());
      }
      for (Schema.Field f : record.getFields()) {
        if (f.doc() == null || f.doc().isBlank()) {
          undocumented.add(record.getName() + "." + f.name());
        }
      }
    }
    assertThat(undocumented).as("records and fields without doc in %s", file).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("avscFiles")
  void everyNullableFieldIsNullFirstWithDefaultNull(Path file) throws IOException {
    List<String> wrong = new ArrayList<>();
    for (Schema record : records(parse(file))) {
      for (Schema.Field f : record.getFields()) {
        if (f.schema().getType() == Schema.Type.UNION && f.schema().isNullable()) {
          boolean nullFirst = f.schema().getTypes().get(0).getType() == Schema.Type.NULL;
          if (!nullFirst || !f.hasDefaultValue() || f.defaultVal() != JsonProperties.NULL_VALUE) {
            wrong.add(
                record.getName()
                    + "."
                    + f.name()
                    + " "
                    + f.schema()
                    + " default "
                    + f.defaultVal());
          }
        }
      }
    }
    assertThat(wrong)
        .as("nullable fields not [\"null\", T] with default null in %s", file)
        .isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("avscFiles")
  void everyEnumHasADefaultSymbol(Path file) throws IOException {
    List<String> withoutDefault = new ArrayList<>();
    for (Schema e : named(parse(file), Schema.Type.ENUM)) {
      if (e.getEnumDefault() == null) {
        withoutDefault.add(e.getFullName());
      }
    }
    assertThat(withoutDefault).as("enums without a default symbol in %s", file).isEmpty();
  }

  @Test
  void everyTopLevelSchemaHasASampleAndATopic() throws IOException {
    List<String> names =
        avscFiles().map(p -> p.getFileName().toString().replace(".avsc", "")).toList();

    assertThat(SampleRecords.all().keySet()).containsExactlyInAnyOrderElementsOf(names);
    assertThat(Topics.ALL)
        .extracting(t -> t.valueType().getSimpleName())
        .containsExactlyInAnyOrderElementsOf(names);
  }

  /** Every record schema reachable from {@code root}, root first. */
  static List<Schema> records(Schema root) {
    return named(root, Schema.Type.RECORD);
  }

  static List<Schema> named(Schema root, Schema.Type type) {
    List<Schema> out = new ArrayList<>();
    walk(root, type, out, new IdentityHashMap<>());
    return out;
  }

  private static void walk(
      Schema s, Schema.Type type, List<Schema> out, Map<Schema, Boolean> seen) {
    if (seen.put(s, Boolean.TRUE) != null) {
      return;
    }
    if (s.getType() == type) {
      out.add(s);
    }
    switch (s.getType()) {
      case RECORD -> s.getFields().forEach(f -> walk(f.schema(), type, out, seen));
      case UNION -> s.getTypes().forEach(t -> walk(t, type, out, seen));
      case ARRAY -> walk(s.getElementType(), type, out, seen);
      case MAP -> walk(s.getValueType(), type, out, seen);
      default -> {}
    }
  }
}
