package io.infermeter.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.testsupport.ConfigDocs;
import org.junit.jupiter.api.Test;

/**
 * The configuration reference in docs/STREAMS.md is the table generated from {@link
 * StreamsSettings#KEYS} (with the alert rules' and the limits' keys): a key declared, changed or
 * removed without regenerating the docs fails here. Regenerate with {@code mvn -pl streams-app -am
 * test -Dtest=StreamsSettingsDocsTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dconfig.docs.write=true}.
 */
class StreamsSettingsDocsTest {

  @Test
  void theReferenceTableIsGeneratedFromTheDeclaration() {
    assertThat(
            ConfigDocs.generatedIsCurrent(
                "docs/STREAMS.md",
                doc -> ConfigTable.withTable(doc, StreamsSettings.KEYS.markdown())))
        .as("docs/STREAMS.md's configuration table is stale; see this test's comment")
        .isTrue();
  }

  @Test
  void everyDefaultKeyIsDeclaredInTheTable() {
    assertThat(StreamsSettings.KEYS.exactNames()).containsAll(StreamsSettings.DEFAULTS.keySet());
    assertThat(StreamsSettings.KEYS.exactNames()).containsAll(StreamsLimits.DEFAULTS.keySet());
  }
}
