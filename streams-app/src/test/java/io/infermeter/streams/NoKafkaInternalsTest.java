package io.infermeter.streams;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Kafka internals ({@code org.apache.kafka.streams.*.internals}, {@code org.apache.kafka.common.*.internals}) are
 * used by ONE adapter class only, {@code state/WriteBehindStore.java}, whose Javadoc says which hook and why; any
 * other main source that names an internals package (import or fully qualified name in code) fails this test.
 */
class NoKafkaInternalsTest {

  static final Path MAIN = Path.of("src", "main", "java");
  static final Path ADAPTER = MAIN.resolve(Path.of("io", "infermeter", "streams", "state", "WriteBehindStore.java"));
  static final Pattern INTERNALS = Pattern.compile("org\\.apache\\.kafka\\.(streams|common)(\\.\\w+)*\\.internals\\b");

  static final Pattern COMMENT = Pattern.compile("/\\*.*?\\*/|//[^\n]*", Pattern.DOTALL);

  /** Lines of {@code source}, comments removed, that name a Kafka internals package. */
  static List<String> offendingLines(String source) {
    List<String> out = new ArrayList<>();
    for (String line : COMMENT.matcher(source).replaceAll(" ").split("\n", -1)) {
      if (INTERNALS.matcher(line).find()) {
        out.add(line.strip());
      }
    }
    return out;
  }

  @Test
  void onlyTheAdapterUsesKafkaInternals() throws IOException {
    List<String> violations = new ArrayList<>();
    int scanned = 0;
    try (Stream<Path> files = Files.walk(MAIN)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
        scanned++;
        if (f.equals(ADAPTER)) {
          continue;
        }
        for (String line : offendingLines(Files.readString(f))) {
          violations.add(f + ": " + line);
        }
      }
    }
    assertThat(scanned).as("main sources scanned").isGreaterThan(10);
    assertThat(violations).as("Kafka internals outside %s", ADAPTER).isEmpty();
  }

  @Test
  void theAdapterIsStillTheOneThatUsesThem() throws IOException {
    // if the adapter stops needing internals, drop the exemption (and this test) rather than keep a stale one
    assertThat(offendingLines(Files.readString(ADAPTER))).isNotEmpty();
  }

  @Test
  void theScanCatchesImportsAndQualifiedNamesButNotComments() {
    assertThat(offendingLines("import org.apache.kafka.streams.processor.internals.ProcessorRecordContext;"))
        .hasSize(1);
    assertThat(offendingLines("import org.apache.kafka.common.header.internals.RecordHeaders;")).hasSize(1);
    assertThat(offendingLines("import static org.apache.kafka.streams.state.internals.X.y;")).hasSize(1);
    assertThat(offendingLines("var h = new org.apache.kafka.common.header.internals.RecordHeaders();")).hasSize(1);
    assertThat(offendingLines("x(); /* c */ Object o = org.apache.kafka.streams.internals.Foo.BAR;")).hasSize(1);
    assertThat(offendingLines("// see org.apache.kafka.streams.processor.internals.StreamTask")).isEmpty();
    assertThat(offendingLines("/**\n * calls org.apache.kafka.streams.state.internals.CachedStateStore\n */\nclass A {}"))
        .isEmpty();
    assertThat(offendingLines("import org.apache.kafka.streams.processor.api.Record;")).isEmpty();
    assertThat(offendingLines("import org.apache.kafka.streams.internalsfoo.X;")).isEmpty();
    // only streams and common are policed (the scope); clients internals are not used here
    assertThat(offendingLines("import org.apache.kafka.clients.consumer.internals.X;")).isEmpty();
  }
}
