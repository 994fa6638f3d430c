package io.infermeter.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.testsupport.ConfigDocs;
import org.junit.jupiter.api.Test;

/**
 * Every configuration key of the app's defaults is documented in docs/ALERTING.md, verbatim or
 * through a documented {@code <placeholder>} pattern: a key added to the defaults without its
 * reference row fails here.
 */
class ForwarderConfigDocsTest {

  @Test
  void everyKeyIsDocumented() {
    assertThat(ConfigDocs.undocumentedIn(ForwarderConfig.DEFAULTS.keySet(), "docs/ALERTING.md"))
        .isEmpty();
  }
}
