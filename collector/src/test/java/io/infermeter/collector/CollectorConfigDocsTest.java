package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.testsupport.ConfigDocs;
import org.junit.jupiter.api.Test;

/**
 * Every configuration key of the app's defaults is documented in docs/COLLECTOR.md, verbatim or
 * through a documented {@code <placeholder>} pattern: a key added to the defaults without its
 * reference row fails here.
 */
class CollectorConfigDocsTest {

  @Test
  void everyKeyIsDocumented() {
    assertThat(ConfigDocs.undocumentedIn(CollectorConfig.defaults().keySet(), "docs/COLLECTOR.md"))
        .isEmpty();
  }
}
