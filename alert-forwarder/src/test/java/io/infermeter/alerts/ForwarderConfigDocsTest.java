package io.infermeter.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.testsupport.ConfigDocs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every configuration key of the app's defaults is documented in docs/ALERTING.md, verbatim or
 * through a documented {@code <placeholder>} pattern: a key added to the defaults without its
 * reference row fails here.
 */
class ForwarderConfigDocsTest {

  @Test
  void everyKeyIsDocumented() throws IOException {
    List<String> keys = new ArrayList<>();
    keys.addAll(ForwarderConfig.DEFAULTS.keySet());
    String doc = Files.readString(Path.of("..").resolve("docs/ALERTING.md"));
    assertThat(ConfigDocs.undocumented(keys, doc)).isEmpty();
    assertThat(ConfigDocs.undocumented(List.of("no.such.key.documented"), doc))
        .containsExactly("no.such.key.documented");
  }
}
