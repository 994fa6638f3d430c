package io.infermeter.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** How {@link ConfigDocs} reads a reference table. Unit test. */
class ConfigDocsTest {

  private static final String DOC =
      "| `http.port` | `4318` | port |\n"
          + "| `cost.price.per.hour.<gpuType>` | H100 2.50 | price |\n"
          + "| `slo.class.<c>.ttft.max` / `slo.class.<c>.e2e.max` | 500ms / 10s | thresholds |\n";

  @Test
  void aKeyIsDocumentedVerbatimOrThroughAPlaceholderPattern() {
    assertThat(
            ConfigDocs.undocumented(
                List.of(
                    "http.port",
                    "cost.price.per.hour.H100",
                    "slo.class.batch.ttft.max",
                    "slo.class.batch.e2e.max"),
                DOC))
        .isEmpty();
  }

  @Test
  void aMissingKeyOrOneThePatternDoesNotCoverIsReported() {
    assertThat(
            ConfigDocs.undocumented(
                List.of("http.host", "slo.class.batch.tpot.max", "http.port"), DOC))
        .containsExactly("http.host", "slo.class.batch.tpot.max");
  }
}
