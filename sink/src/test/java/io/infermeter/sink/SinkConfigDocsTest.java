package io.infermeter.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.testsupport.ConfigDocs;
import org.junit.jupiter.api.Test;

/**
 * Every configuration key of the app's defaults is documented in docs/SINK.md, verbatim or through
 * a documented {@code <placeholder>} pattern: a key added to the defaults without its reference row
 * fails here. How a pattern matches: test-support's {@code ConfigDocsTest}.
 */
class SinkConfigDocsTest {

  @Test
  void everyKeyIsDocumented() {
    assertThat(ConfigDocs.undocumentedIn(SinkConfig.DEFAULTS.keySet(), "docs/SINK.md")).isEmpty();
  }
}
