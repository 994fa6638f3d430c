package io.infermeter.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.testsupport.ConfigDocs;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every configuration key of the app's defaults is documented in docs/STREAMS.md, verbatim or
 * through a documented {@code <placeholder>} pattern: a key added to the defaults without its
 * reference row fails here.
 */
class StreamsSettingsDocsTest {

  @Test
  void everyKeyIsDocumented() {
    List<String> keys = new ArrayList<>(StreamsSettings.DEFAULTS.keySet());
    keys.addAll(StreamsLimits.DEFAULTS.keySet());
    assertThat(ConfigDocs.undocumentedIn(keys, "docs/STREAMS.md")).isEmpty();
  }
}
