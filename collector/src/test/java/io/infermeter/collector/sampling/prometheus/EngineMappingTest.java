package io.infermeter.collector.sampling.prometheus;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.EngineSample;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The engine metric mapping against the engines' own names. Sources of the names (checked with the
 * search tool): vLLM {@code vllm/v1/metrics/loggers.py} (PrometheusStatLogger:
 * vllm:num_requests_running, vllm:num_requests_waiting, vllm:kv_cache_usage_perc, the deprecated
 * vllm:gpu_cache_usage_perc, counter vllm:num_preemptions; labels model_name, engine); SGLang
 * {@code docs/references/production_metrics.md} and {@code python/sglang/srt/metrics/collector.py}
 * (sglang:token_usage, sglang:num_running_reqs, sglang:num_queue_reqs); TGI docs
 * "reference/metrics" (tgi_queue_size, tgi_batch_current_size); Triton {@code
 * docs/user_guide/metrics.md} (nv_inference_pending_request_count, label model); NVIDIA NIM for
 * LLMs "Observability" (gpu_cache_usage_perc, num_requests_running, num_requests_waiting). Expected
 * values are read from the fixtures, not restated.
 */
class EngineMappingTest {

  private final EngineMapping mapping = new EngineMapping("c1", "r1", "node-a");

  static String fixture(String name) throws IOException {
    try (InputStream in = EngineMappingTest.class.getResourceAsStream("/field/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** Every value of {@code metric} in the body, in order. */
  static List<Double> values(String body, String metric) {
    return PrometheusText.parse(body).samples().stream()
        .filter(s -> s.name().equals(metric))
        .map(PrometheusText.Sample::value)
        .toList();
  }

  static double sum(List<Double> l) {
    return l.stream().mapToDouble(Double::doubleValue).sum();
  }

  static String label(String body, String metric, String label) {
    return PrometheusText.parse(body).samples().stream()
        .filter(s -> s.name().equals(metric))
        .findFirst()
        .orElseThrow()
        .labels()
        .get(label);
  }

  @Test
  void vllmDataParallelCoresBecomeOneSamplePerModel() throws IOException {
    String body = fixture("vllm-metrics.txt");
    EngineMapping.Result r =
        mapping.map(PrometheusText.parse(body).samples(), "10.0.3.17:8000", null, "scrape", 42L);

    assertThat(r.invalid()).isEmpty();
    assertThat(r.samples()).hasSize(1);
    EngineSample e = r.samples().get(0);
    assertThat(e.getEngine()).isEqualTo("vllm");
    assertThat(e.getModel()).isEqualTo(label(body, "vllm:num_requests_running", "model_name"));
    assertThat(e.getHost()).isEqualTo("node-a");
    assertThat(e.getCluster()).isEqualTo("c1");
    assertThat(e.getInstance()).isEqualTo("10.0.3.17:8000");
    assertThat(e.getSource()).isEqualTo("scrape");
    assertThat(e.getTimestampUs()).isEqualTo(42L);
    assertThat(e.getRequestsRunning())
        .isEqualTo(Math.round(sum(values(body, "vllm:num_requests_running"))));
    assertThat(e.getRequestsWaiting())
        .isEqualTo(Math.round(sum(values(body, "vllm:num_requests_waiting"))));
    assertThat(e.getPreemptionsTotal())
        .isEqualTo(Math.round(sum(values(body, "vllm:num_preemptions_total"))));
    assertThat(e.getKvCacheUsage())
        .as("the most pressed core's cache")
        .isEqualTo(
            values(body, "vllm:kv_cache_usage_perc").stream()
                .mapToDouble(Double::doubleValue)
                .max()
                .orElseThrow());
    assertThat(r.unknown())
        .as("histograms, token counters, _created, cache_config_info are left alone")
        .isPositive();
  }

  @Test
  void sglangFixtureMapsItsThreeGauges() throws IOException {
    String body = fixture("sglang-metrics.txt");
    EngineMapping.Result r =
        mapping.map(PrometheusText.parse(body).samples(), "sglang-0:30000", "sglang-0", "otlp", 7L);

    assertThat(r.invalid()).isEmpty();
    assertThat(r.samples())
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getEngine()).isEqualTo("sglang");
              assertThat(e.getModel()).isEqualTo(label(body, "sglang:token_usage", "model_name"));
              assertThat(e.getPod()).isEqualTo("sglang-0");
              assertThat(e.getKvCacheUsage()).isEqualTo(values(body, "sglang:token_usage").get(0));
              assertThat(e.getRequestsRunning())
                  .isEqualTo(Math.round(values(body, "sglang:num_running_reqs").get(0)));
              assertThat(e.getRequestsWaiting())
                  .isEqualTo(Math.round(values(body, "sglang:num_queue_reqs").get(0)));
              assertThat(e.getPreemptionsTotal()).isNull();
            });
  }

  @ParameterizedTest
  @CsvSource({
    "tgi_queue_size, tgi, REQUESTS_WAITING",
    "tgi_batch_current_size, tgi, REQUESTS_RUNNING",
    "nv_inference_pending_request_count, triton, REQUESTS_WAITING",
    "gpu_cache_usage_perc, nim, KV_CACHE_USAGE",
    "num_requests_running, nim, REQUESTS_RUNNING",
    "num_requests_waiting, nim, REQUESTS_WAITING",
    "vllm:gpu_cache_usage_perc, vllm, KV_CACHE_USAGE",
    "vllm:num_preemptions, vllm, PREEMPTIONS"
  })
  void otherEnginesNamesAndACounterWithoutTotal(
      String name, String engine, EngineMapping.Field field) {
    assertThat(EngineMapping.lookup(name)).isEqualTo(new EngineMapping.Known(engine, field));
  }

  @Test
  void gaugesAreNotFoundUnderATotalSuffixNorUnknownNames() {
    assertThat(EngineMapping.lookup("vllm:num_requests_running_total")).isNull();
    assertThat(EngineMapping.lookup("vllm:prompt_tokens_total")).isNull();
    assertThat(EngineMapping.lookup("DCGM_FI_DEV_POWER_USAGE")).isNull();
  }

  @Test
  void tritonPendingCountsOfModelVersionsAddUpPerModel() {
    List<PrometheusText.Sample> series =
        List.of(
            new PrometheusText.Sample(
                "nv_inference_pending_request_count",
                Map.of("model", "ensemble", "version", "1"),
                4),
            new PrometheusText.Sample(
                "nv_inference_pending_request_count",
                Map.of("model", "ensemble", "version", "2"),
                2),
            new PrometheusText.Sample(
                "nv_inference_pending_request_count", Map.of("model", "bert", "version", "1"), 0));

    EngineMapping.Result r = mapping.map(series, "triton:8002", null, "scrape", 1L);

    assertThat(r.samples())
        .extracting(EngineSample::getModel, EngineSample::getRequestsWaiting)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("ensemble", 6L),
            org.assertj.core.groups.Tuple.tuple("bert", 0L));
    assertThat(r.samples()).allSatisfy(e -> assertThat(e.getKvCacheUsage()).isNull());
  }

  @ParameterizedTest
  @CsvSource({
    "vllm:kv_cache_usage_perc, NaN, not a finite",
    "vllm:kv_cache_usage_perc, 1.5, above 1",
    "vllm:kv_cache_usage_perc, -0.1, negative",
    "vllm:num_requests_running, -3, negative",
    "vllm:num_requests_waiting, Infinity, not a finite",
    "vllm:num_preemptions_total, 1e300, above"
  })
  void absurdValuesAreRefusedNeverStored(String name, double value, String why) {
    List<PrometheusText.Sample> series =
        List.of(
            new PrometheusText.Sample(name, Map.of("model_name", "m"), value),
            new PrometheusText.Sample("vllm:num_requests_running", Map.of("model_name", "m"), 2));

    EngineMapping.Result r = mapping.map(series, "i", null, "scrape", 1L);

    if (!name.equals("vllm:num_requests_running")) {
      assertThat(r.samples())
          .singleElement()
          .satisfies(
              e -> {
                assertThat(e.getKvCacheUsage()).isNull();
                assertThat(e.getRequestsWaiting()).isNull();
                assertThat(e.getPreemptionsTotal()).isNull();
              });
    }
    assertThat(r.invalid()).singleElement().asString().startsWith(name).contains(why);
  }

  @Test
  void anInstanceWithOnlyRefusedValuesGivesNoSampleAndOverlongNamesAreRefused() {
    String longName = "m".repeat(EngineMapping.MAX_NAME_CHARS + 1);
    List<PrometheusText.Sample> series =
        List.of(
            new PrometheusText.Sample("sglang:token_usage", Map.of("model_name", "m"), 7.0),
            new PrometheusText.Sample(
                "sglang:num_running_reqs", Map.of("model_name", longName), 1.0));

    EngineMapping.Result r = mapping.map(series, "i", null, "scrape", 1L);

    assertThat(r.samples()).isEmpty();
    assertThat(r.invalid()).hasSize(2);
    assertThat(r.used()).isZero();
  }

  @Test
  void everyNameInTheTableIsDocumentedInIntegrationsMd() throws IOException {
    String doc = java.nio.file.Files.readString(java.nio.file.Path.of("../docs/INTEGRATIONS.md"));
    for (String name : EngineMapping.names().keySet()) {
      assertThat(doc).as("docs/INTEGRATIONS.md names %s", name).contains("`" + name + "`");
    }
  }
}
