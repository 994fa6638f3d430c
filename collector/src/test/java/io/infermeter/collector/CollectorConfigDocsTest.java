package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.testsupport.ConfigDocs;
import org.junit.jupiter.api.Test;

/**
 * The configuration reference in docs/COLLECTOR.md is the table generated from {@link
 * CollectorConfig#KEYS}: a key declared, changed or removed without regenerating the docs fails
 * here. Regenerate with {@code mvn -pl collector test -Dtest=CollectorConfigDocsTest
 * -Dconfig.docs.write=true}.
 */
class CollectorConfigDocsTest {

  @Test
  void theReferenceTableIsGeneratedFromTheDeclaration() {
    assertThat(
            ConfigDocs.generatedIsCurrent(
                "docs/COLLECTOR.md",
                doc -> ConfigTable.withTable(doc, CollectorConfig.KEYS.markdown())))
        .as("docs/COLLECTOR.md's configuration table is stale; see this test's comment")
        .isTrue();
  }

  @Test
  void theReferenceShowsNoDefaultOfThisMachine() {
    // the spool directory's default is computed from the home directory: the docs show the rule
    assertThat(CollectorConfig.KEYS.markdown())
        .doesNotContain(System.getProperty("user.home") + "/")
        .contains("`$XDG_STATE_HOME/infermeter/spool`");
  }
}
