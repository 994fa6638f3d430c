package io.infermeter.collector.sampling.prometheus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The strict text-format 0.0.4 parser: the dcgm-exporter fixture, the grammar's edges, malformed
 * input, fuzzing.
 */
class PrometheusTextTest {

  static String fixture() throws IOException {
    try (InputStream in =
        PrometheusTextTest.class.getResourceAsStream("/field/dcgm-exporter-metrics.txt")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void readsTheDcgmExporterFixtureCompletely() throws IOException {
    String body = fixture();
    PrometheusText.Parsed p = PrometheusText.parse(body);
    long sampleLines = body.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).count();
    assertThat(p.malformedLines()).isZero();
    assertThat(p.duplicateSeries()).isZero();
    assertThat(p.samples()).hasSize((int) sampleLines);
    assertThat(p.types())
        .containsEntry("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter")
        .containsEntry("DCGM_FI_DEV_POWER_USAGE", "gauge");
    PrometheusText.Sample first = p.samples().get(0);
    assertThat(first.name()).isEqualTo("DCGM_FI_DEV_SM_CLOCK");
    assertThat(first.labels())
        .containsKeys(
            "gpu",
            "UUID",
            "pci_bus_id",
            "device",
            "modelName",
            "Hostname",
            "DCGM_FI_DRIVER_VERSION",
            "container",
            "namespace",
            "pod");
    assertThat(first.labels().get("modelName")).isEqualTo("NVIDIA H100 80GB HBM3");
  }

  @Test
  void readsTheReadmeFormWithSpacesAfterCommasAndEmptyPodLabels() {
    // dcgm-exporter README.md, "Quickstart on Kubernetes" example output
    PrometheusText.Parsed p =
        PrometheusText.parse(
            "DCGM_FI_DEV_SM_CLOCK{gpu=\"0\", UUID=\"GPU-604ac76c-d9cf-fef3-"
                + "62e9-d92044ab6e52\",container=\"\",namespace=\"\",pod=\"\"} 139\n");
    assertThat(p.malformedLines()).isZero();
    assertThat(p.samples())
        .singleElement()
        .satisfies(
            s -> {
              assertThat(s.labels())
                  .containsEntry("UUID", "GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52")
                  .containsEntry("pod", "");
              assertThat(s.value()).isEqualTo(139.0);
            });
  }

  @Test
  void labelEscapesAreDecodedAndOnlyTheThreeDefinedOnesAccepted() {
    PrometheusText.Parsed p =
        PrometheusText.parse(
            "m{a=\"x\\\"y\",b=\"back\\\\slash\",c=\"line\\nbreak\"} 1\n"
                + "m{a=\"bad \\t escape\"} 2\n");
    assertThat(p.samples())
        .singleElement()
        .satisfies(
            s ->
                assertThat(s.labels())
                    .containsEntry("a", "x\"y")
                    .containsEntry("b", "back\\slash")
                    .containsEntry("c", "line\nbreak"));
    assertThat(p.malformedLines()).isEqualTo(1);
    assertThat(p.firstError()).contains("line 2").contains("escape");
  }

  @Test
  void specialValuesTimestampsTrailingCommaAndCrlf() {
    PrometheusText.Parsed p =
        PrometheusText.parse(
            "a NaN\r\nb +Inf\nc -Inf 1700000000000\nd{x=\"1\",} 1.5e3\n" + "e\t-0.25\n");
    assertThat(p.malformedLines()).isZero();
    assertThat(p.samples())
        .extracting(PrometheusText.Sample::value)
        .containsExactly(
            Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1500.0, -0.25);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "m{a=\"1\"",
        "m{a=\"1} 2",
        "m{a=1} 2",
        "m{1a=\"x\"} 2",
        "m{a=\"x\",a=\"y\"} 2",
        "m 1 2 3",
        "m one",
        "m 0x10",
        "m 1d",
        "m Infinity",
        "m 1 12.5",
        "m{a=\"x\" b=\"y\"} 1",
        "{a=\"x\"} 1",
        "9m 1",
        "m",
        "m{} ",
        "# TYPE m sometype",
        "# TYPE",
        "m 1_000"
      })
  void malformedLinesAreSkippedAndCounted(String line) {
    PrometheusText.Parsed p = PrometheusText.parse("ok 1\n" + line + "\nok2 2\n");
    assertThat(p.malformedLines()).as(line).isEqualTo(1);
    assertThat(p.samples()).extracting(PrometheusText.Sample::name).containsExactly("ok", "ok2");
  }

  @Test
  void aRepeatedSeriesKeepsItsFirstValueWhateverTheLabelOrder() {
    PrometheusText.Parsed p =
        PrometheusText.parse("m{a=\"1\",b=\"2\"} 1\nm{b=\"2\",a=\"1\"} 9\nm{a=\"1\"} 3\n");
    assertThat(p.duplicateSeries()).isEqualTo(1);
    assertThat(p.samples()).extracting(PrometheusText.Sample::value).containsExactly(1.0, 3.0);
  }

  @Test
  void aSecondTypeLineForOneFamilyIsMalformed() {
    PrometheusText.Parsed p = PrometheusText.parse("# TYPE m gauge\n# TYPE m counter\nm 1\n");
    assertThat(p.types()).containsEntry("m", "gauge");
    assertThat(p.malformedLines()).isEqualTo(1);
  }

  /**
   * Random label values (quotes, backslashes, newlines, non-ASCII) written escaped read back
   * exactly.
   */
  @Test
  void escapedLabelValuesRoundTrip() {
    Random rnd = new Random(42);
    String alphabet = "ab\"\\\n ,={}#é🚀\t";
    StringBuilder body = new StringBuilder();
    List<Map<String, String>> expected = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      Map<String, String> labels = new LinkedHashMap<>();
      labels.put("i", Integer.toString(i));
      StringBuilder v = new StringBuilder();
      int len = rnd.nextInt(12);
      for (int k = 0; k < len; k++) {
        v.appendCodePoint(
            alphabet.codePointAt(
                alphabet.offsetByCodePoints(
                    0, rnd.nextInt(alphabet.codePointCount(0, alphabet.length())))));
      }
      labels.put("v", v.toString());
      expected.add(labels);
      body.append("m{i=\"")
          .append(i)
          .append("\",v=\"")
          .append(v.toString().replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n"))
          .append("\"} ")
          .append(i)
          .append('\n');
    }
    PrometheusText.Parsed p = PrometheusText.parse(body.toString());
    assertThat(p.malformedLines()).isZero();
    assertThat(p.samples())
        .extracting(PrometheusText.Sample::labels)
        .containsExactlyElementsOf(expected);
  }

  /**
   * Fuzzing: the fixture with random byte flips, insertions and deletions, and random garbage. The
   * parser never throws, every line is either a sample, skipped (comment/blank) or counted as
   * malformed, and every sample it returns has a well-formed name.
   */
  @Test
  void fuzzedBodiesNeverThrowAndEveryLineIsAccountedFor() throws IOException {
    String base = fixture();
    Random rnd = new Random(7);
    String alphabet = "{}=\",\\# \n\tabcXYZ_:019.+-eEInfNaN\u0000\u00ff";
    for (int round = 0; round < 2000; round++) {
      StringBuilder b = new StringBuilder(round % 10 == 0 ? "" : base);
      int edits = 1 + rnd.nextInt(20);
      for (int e = 0; e < edits; e++) {
        int pos = b.length() == 0 ? 0 : rnd.nextInt(b.length());
        char c = alphabet.charAt(rnd.nextInt(alphabet.length()));
        switch (rnd.nextInt(3)) {
          case 0 -> b.insert(pos, c);
          case 1 -> {
            if (b.length() > 0) {
              b.deleteCharAt(pos);
            }
          }
          default -> {
            if (b.length() > 0) {
              b.setCharAt(pos, c);
            }
          }
        }
      }
      String body = b.toString();
      assertThatNoException().isThrownBy(() -> PrometheusText.parse(body));
      PrometheusText.Parsed p = PrometheusText.parse(body);
      long contentLines =
          body.lines().filter(l -> !l.isBlank() && !l.stripLeading().startsWith("#")).count();
      assertThat(p.samples().size() + p.malformedLines() + p.duplicateSeries())
          .as("round %d", round)
          .isGreaterThanOrEqualTo((int) contentLines);
      assertThat(p.samples())
          .allSatisfy(s -> assertThat(s.name()).matches("[a-zA-Z_:][a-zA-Z0-9_:]*"));
    }
  }
}
