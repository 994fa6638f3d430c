package io.infermeter.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.testsupport.ConfigDocs;
import org.junit.jupiter.api.Test;

/**
 * The configuration reference in docs/SINK.md is the table generated from {@link SinkConfig#KEYS}:
 * a key declared, changed or removed without regenerating the docs fails here. Regenerate with
 * {@code mvn -pl sink test -Dtest=SinkConfigDocsTest -Dconfig.docs.write=true}.
 */
class SinkConfigDocsTest {

  @Test
  void theReferenceTableIsGeneratedFromTheDeclaration() {
    assertThat(
            ConfigDocs.generatedIsCurrent(
                "docs/SINK.md", doc -> ConfigTable.withTable(doc, SinkConfig.KEYS.markdown())))
        .as("docs/SINK.md's configuration table is stale; see this test's comment")
        .isTrue();
  }

  @Test
  void everyDefaultKeyIsDeclaredInTheTable() {
    assertThat(SinkConfig.KEYS.exactNames()).containsAll(SinkConfig.DEFAULTS.keySet());
  }
}
