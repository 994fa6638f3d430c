package io.infermeter.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Unit tests of {@link ConfigDocs}. */
class ConfigDocsTest {

  private static final String DOC = "test-support/target/config-docs-test.md";

  @Test
  void aStaleFileIsReportedAndLeftAsItIsUnlessWritingIsAsked() throws IOException {
    Path file = Path.of("..").resolve(DOC);
    Files.createDirectories(file.getParent());
    Files.writeString(file, "table: old\n");

    assertThat(ConfigDocs.generatedIsCurrent(DOC, doc -> doc.replace("old", "new"))).isFalse();
    assertThat(Files.readString(file)).isEqualTo("table: old\n");
    assertThat(ConfigDocs.generatedIsCurrent(DOC, doc -> doc)).isTrue();

    System.setProperty("config.docs.write", "true");
    try {
      assertThat(ConfigDocs.generatedIsCurrent(DOC, doc -> doc.replace("old", "new"))).isTrue();
    } finally {
      System.clearProperty("config.docs.write");
    }
    assertThat(Files.readString(file)).isEqualTo("table: new\n");
  }
}
