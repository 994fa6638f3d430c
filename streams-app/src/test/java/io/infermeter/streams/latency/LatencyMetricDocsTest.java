package io.infermeter.streams.latency;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every latency metric the streams app writes (a {@code window_latency.metric} value) is defined in
 * docs/METRICS.md under its wire name, listed in docs/queries.sql and shown by the latency
 * dashboard: a metric added to {@link LatencyMetric} without steps 7 and 8 of ARCHITECTURE.md's
 * recipe "(a) Add a metric" fails here.
 */
class LatencyMetricDocsTest {

  private static final Path ROOT = Path.of("..");

  /**
   * The metrics {@code text} does not name: in Markdown as {@code `name`}, elsewhere as a whole
   * token (not inside a longer identifier such as a column {@code ttft_us}).
   */
  static List<String> missing(String text, String where) {
    List<String> out = new ArrayList<>();
    for (LatencyMetric m : LatencyMetric.all()) {
      Pattern named =
          where.endsWith(".md")
              ? Pattern.compile(Pattern.quote("`" + m.wireName() + "`"))
              : Pattern.compile(
                  "(?<![A-Za-z0-9_])" + Pattern.quote(m.wireName()) + "(?![A-Za-z0-9_])");
      if (!named.matcher(text).find()) {
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

  @Test
  void aColumnNamedAfterAMetricDoesNotCountAsTheMetric() throws IOException {
    String queries = Files.readString(ROOT.resolve("docs/queries.sql"));
    // the view's list names ttft; the raw table's columns ttft_us stay
    String withoutTheName = queries.replaceAll("(?<![A-Za-z0-9_])ttft(?![A-Za-z0-9_])", "x");
    assertThat(withoutTheName).contains("ttft_us");
    assertThat(missing(withoutTheName, "docs/queries.sql"))
        .containsExactly("ttft in docs/queries.sql");
  }
}
