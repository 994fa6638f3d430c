package io.infermeter.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.testsupport.ConfigDocs;
import org.junit.jupiter.api.Test;

/**
 * The configuration reference in docs/ALERTING.md is the table generated from {@link
 * ForwarderConfig#KEYS}: a key declared, changed or removed without regenerating the docs fails
 * here. Regenerate with {@code mvn -pl alert-forwarder test -Dtest=ForwarderConfigDocsTest
 * -Dconfig.docs.write=true}.
 */
class ForwarderConfigDocsTest {

  @Test
  void theReferenceTableIsGeneratedFromTheDeclaration() {
    assertThat(
            ConfigDocs.generatedIsCurrent(
                "docs/ALERTING.md",
                doc -> ConfigTable.withTable(doc, ForwarderConfig.KEYS.markdown())))
        .as("docs/ALERTING.md's configuration table is stale; see this test's comment")
        .isTrue();
  }

  @Test
  void everyDefaultKeyIsDeclaredInTheTable() {
    assertThat(ForwarderConfig.KEYS.exactNames()).containsAll(ForwarderConfig.DEFAULTS.keySet());
  }
}
