package io.infermeter.streams.latency;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every latency metric the streams app writes (a {@code window_latency.metric} value) is defined in
 * docs/METRICS.md under its wire name, listed in docs/queries.sql and shown by the latency
 * dashboard: a metric added to {@link LatencyMetric} without steps 7 and 8 of ARCHITECTURE.md's
 * recipe "(a) Add a metric" fails here.
 */
class LatencyMetricDocsTest {

  private static final Path ROOT = Path.of("..");

  static List<String> missing(String text, String where) {
    List<String> out = new ArrayList<>();
    for (LatencyMetric m : LatencyMetric.all()) {
      if (!text.contains(where.endsWith(".md") ? "`" + m.wireName() + "`" : m.wireName())) {
        out.add(m.wireName() + " in " + where);
      }
    }
    return out;
  }

  @Test
  void everyMetricIsDefinedListedAndShown() throws IOException {
    List<String> missing = new ArrayList<>();
    for (String file :
        List.of(
            "docs/METRICS.md",
            "docs/queries.sql",
            "deploy/grafana/dashboards/infermeter-latency.json")) {
      missing.addAll(missing(Files.readString(ROOT.resolve(file)), file));
    }
    assertThat(missing).isEmpty();
  }

  @Test
  void aMetricMissingFromTheDefinitionsIsReported() throws IOException {
    String metrics = Files.readString(ROOT.resolve("docs/METRICS.md"));
    assertThat(missing(metrics.replace("`max_itl`", "max_itl"), "docs/METRICS.md"))
        .containsExactly("max_itl in docs/METRICS.md");
  }
}
