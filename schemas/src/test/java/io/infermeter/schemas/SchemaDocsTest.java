package io.infermeter.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/**
 * The field index of docs/SCHEMAS.md against the {@code .avsc} files: one row per record (nested
 * records included) listing exactly its fields, in schema order. A field added to a schema without
 * deciding where it is stored and described fails here (recipe "add a metric" of
 * docs/ARCHITECTURE.md).
 */
class SchemaDocsTest {

  /** Surefire runs in the module directory. */
  private static final Path SCHEMAS_MD = Path.of("../docs/SCHEMAS.md");

  private static final Pattern ROW =
      Pattern.compile("^\\| `([A-Za-z0-9]+)`[^|]*\\|[^|]*\\|(.*)\\|\\s*$");
  private static final Pattern NAME = Pattern.compile("`([A-Za-z0-9_]+)`");

  /** Record name to its fields as the index lists them. */
  static Map<String, List<String>> index(String markdown) {
    int from = markdown.indexOf("### Field index");
    assertThat(from).as("docs/SCHEMAS.md has a '### Field index' section").isNotNegative();
    Map<String, List<String>> out = new LinkedHashMap<>();
    boolean inTable = false;
    for (String line : markdown.substring(from).lines().toList()) {
      Matcher row = ROW.matcher(line);
      if (row.matches()) {
        inTable = true;
        List<String> fields = new ArrayList<>();
        Matcher name = NAME.matcher(row.group(2));
        while (name.find()) {
          fields.add(name.group(1));
        }
        out.put(row.group(1), fields);
      } else if (inTable && !line.startsWith("|")) {
        break;
      }
    }
    return out;
  }

  /** Every record of every .avsc, by simple name, with its fields in schema order. */
  static Map<String, List<String>> schemas() throws IOException {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (Path file : SchemaRulesTest.avscFiles().toList()) {
      for (Schema record : SchemaRulesTest.records(SchemaRulesTest.parse(file))) {
        out.put(record.getName(), record.getFields().stream().map(Schema.Field::name).toList());
      }
    }
    return out;
  }

  /** What differs between the schemas and the index; empty when they agree. */
  static List<String> differences(
      Map<String, List<String>> schemas, Map<String, List<String>> index) {
    List<String> out = new ArrayList<>();
    schemas.forEach(
        (record, fields) -> {
          List<String> listed = index.get(record);
          if (listed == null) {
            out.add("record " + record + " has no row in the field index of docs/SCHEMAS.md");
          } else if (!listed.equals(fields)) {
            List<String> missing = new ArrayList<>(fields);
            missing.removeAll(listed);
            List<String> stale = new ArrayList<>(listed);
            stale.removeAll(fields);
            out.add(
                record
                    + ": the schema has "
                    + fields
                    + ", the index lists "
                    + listed
                    + " (missing "
                    + missing
                    + ", not in the schema "
                    + stale
                    + ")");
          }
        });
    index.keySet().stream()
        .filter(r -> !schemas.containsKey(r))
        .forEach(r -> out.add("the field index lists " + r + ", which no .avsc defines"));
    return out;
  }

  @Test
  void everySchemaFieldHasItsRowInTheFieldIndex() throws IOException {
    assertThat(differences(schemas(), index(Files.readString(SCHEMAS_MD)))).isEmpty();
  }

  @Test
  void aFieldAddedToASchemaButNotToTheIndexIsReported() throws IOException {
    Map<String, List<String>> schemas = schemas();
    List<String> withNew = new ArrayList<>(schemas.get("WindowAggregate"));
    withNew.add("prefixCacheHits");
    schemas.put("WindowAggregate", withNew);
    assertThat(differences(schemas, index(Files.readString(SCHEMAS_MD))))
        .singleElement()
        .asString()
        .contains("WindowAggregate", "missing [prefixCacheHits]");
  }
}
