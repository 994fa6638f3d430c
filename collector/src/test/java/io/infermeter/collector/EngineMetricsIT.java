package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.collector.sampling.prometheus.PrometheusText;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableDoublePointData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableGaugeData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableMetricData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableSumData;
import io.opentelemetry.sdk.resources.Resource;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Serving-engine state through the whole collector into the real local Kafka: the checked-in vLLM
 * and SGLang {@code /metrics} samples (field/vllm-metrics.txt, field/sglang-metrics.txt; sources
 * named in EngineMappingTest) scraped from local HTTP servers, and OTLP metrics sent by the real
 * OpenTelemetry Java SDK metric exporters (OTLP/HTTP and OTLP/gRPC) as an OpenTelemetry Collector's
 * Prometheus receiver forwards them (engine and dcgm-exporter names, labels as attributes, resource
 * service.instance.id and k8s.pod.name).
 */
class EngineMetricsIT {

  @TempDir Path spool;

  private static byte[] resource(String name) throws Exception {
    try (InputStream in = EngineMetricsIT.class.getResourceAsStream("/field/" + name)) {
      return in.readAllBytes();
    }
  }

  private static HttpServer serve(byte[] body) throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    s.createContext(
        "/metrics",
        ex -> {
          ex.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    s.start();
    return s;
  }

  private static double value(byte[] body, String metric) {
    return PrometheusText.parse(new String(body, StandardCharsets.UTF_8)).samples().stream()
        .filter(s -> s.name().equals(metric))
        .mapToDouble(PrometheusText.Sample::value)
        .sum();
  }

  @Test
  void scrapedVllmAndSglangStateReachesTheEngineTopic() throws Exception {
    byte[] vllmBody = resource("vllm-metrics.txt");
    byte[] sglangBody = resource("sglang-metrics.txt");
    HttpServer vllm = serve(vllmBody);
    HttpServer sglang = serve(sglangBody);
    String prefix = Infra.uniqueName("it-engine") + "-";
    String engine = Topics.ENGINE_STATE.withPrefix(prefix).name();
    ItSupport.createTopics(
        Infra.get().kafkaBootstrap(),
        Topics.REQUESTS.withPrefix(prefix).name(),
        Topics.HARDWARE.withPrefix(prefix).name(),
        Topics.DEAD_LETTERS.withPrefix(prefix).name(),
        engine);
    Map<String, Object> cfg = CollectorIT.baseConfig(prefix, spool);
    cfg.put("sampling.enabled", false);
    String vllmTarget = "127.0.0.1:" + vllm.getAddress().getPort();
    String sglangTarget = "127.0.0.1:" + sglang.getAddress().getPort();
    cfg.put(
        "scrape.engine.targets",
        "http://" + vllmTarget + "/metrics, http://" + sglangTarget + "/metrics");
    cfg.put("scrape.interval", "500ms");
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      List<ConsumerRecord<String, EngineSample>> got =
          ItSupport.readUntil(
              engine,
              EngineSample.class,
              Duration.ofSeconds(60),
              l -> l.stream().map(r -> r.value().getEngine()).distinct().count() == 2);
      EngineSample v =
          got.stream()
              .map(ConsumerRecord::value)
              .filter(e -> e.getEngine().equals("vllm"))
              .findFirst()
              .orElseThrow();
      EngineSample s =
          got.stream()
              .map(ConsumerRecord::value)
              .filter(e -> e.getEngine().equals("sglang"))
              .findFirst()
              .orElseThrow();
      assertThat(v.getInstance()).isEqualTo(vllmTarget);
      assertThat(v.getSource()).isEqualTo("scrape");
      assertThat(v.getRequestsRunning())
          .isEqualTo(Math.round(value(vllmBody, "vllm:num_requests_running")));
      assertThat(v.getRequestsWaiting())
          .isEqualTo(Math.round(value(vllmBody, "vllm:num_requests_waiting")));
      assertThat(v.getPreemptionsTotal())
          .isEqualTo(Math.round(value(vllmBody, "vllm:num_preemptions_total")));
      assertThat(v.getKvCacheUsage()).isBetween(0.0, 1.0);
      assertThat(s.getInstance()).isEqualTo(sglangTarget);
      assertThat(s.getKvCacheUsage()).isEqualTo(value(sglangBody, "sglang:token_usage"));
      assertThat(s.getRequestsWaiting())
          .isEqualTo(Math.round(value(sglangBody, "sglang:num_queue_reqs")));
      assertThat(got)
          .allSatisfy(
              r -> {
                assertThat(r.key()).isEqualTo("it-host");
                assertThat(r.value().getHost()).isEqualTo("it-host");
                assertThat(r.value().getCluster()).isEqualTo("it-cluster");
              });
    } finally {
      vllm.stop(0);
      sglang.stop(0);
    }
  }

  /**
   * What an OpenTelemetry Collector scraping one vLLM pod and dcgm-exporter forwards, for one
   * instance id.
   */
  static List<MetricData> forwarded(
      String instance, String pod, double kv, long running, long waiting, long preemptions) {
    Resource res =
        Resource.create(
            Attributes.builder()
                .put("service.name", "vllm")
                .put("service.instance.id", instance)
                .put("k8s.pod.name", pod)
                .build());
    InstrumentationScopeInfo scope = InstrumentationScopeInfo.create("otelcol/prometheusreceiver");
    long now = System.currentTimeMillis() * 1_000_000L;
    Attributes model =
        Attributes.builder()
            .put("model_name", "meta-llama/Llama-3.1-8B-Instruct")
            .put("engine", "0")
            .build();
    List<MetricData> out = new ArrayList<>();
    out.add(
        ImmutableMetricData.createDoubleGauge(
            res,
            scope,
            "vllm:kv_cache_usage_perc",
            "",
            "",
            ImmutableGaugeData.create(
                List.of(ImmutableDoublePointData.create(0, now, model, kv)))));
    out.add(
        ImmutableMetricData.createDoubleGauge(
            res,
            scope,
            "vllm:num_requests_running",
            "",
            "",
            ImmutableGaugeData.create(
                List.of(ImmutableDoublePointData.create(0, now, model, running)))));
    out.add(
        ImmutableMetricData.createDoubleGauge(
            res,
            scope,
            "vllm:num_requests_waiting",
            "",
            "",
            ImmutableGaugeData.create(
                List.of(ImmutableDoublePointData.create(0, now, model, waiting)))));
    out.add(
        ImmutableMetricData.createDoubleSum(
            res,
            scope,
            "vllm:num_preemptions_total",
            "",
            "",
            ImmutableSumData.create(
                true,
                AggregationTemporality.CUMULATIVE,
                List.of(
                    ImmutableDoublePointData.create(
                        now - 60_000_000_000L, now, model, preemptions)))));
    out.add(
        ImmutableMetricData.createDoubleGauge(
            res,
            scope,
            "vllm:prompt_tokens_total",
            "",
            "",
            ImmutableGaugeData.create(
                List.of(ImmutableDoublePointData.create(0, now, model, 1234)))));
    Attributes gpu =
        Attributes.builder()
            .put("gpu", "0")
            .put("UUID", "GPU-" + pod)
            .put("modelName", "NVIDIA H100 80GB HBM3")
            .put("Hostname", "gpu-node-07")
            .put("namespace", "inference")
            .put("pod", pod)
            .put("container", "vllm")
            .build();
    out.add(
        ImmutableMetricData.createDoubleGauge(
            res,
            scope,
            "DCGM_FI_DEV_POWER_USAGE",
            "",
            "",
            ImmutableGaugeData.create(
                List.of(ImmutableDoublePointData.create(0, now, gpu, 612.5)))));
    out.add(
        ImmutableMetricData.createDoubleSum(
            res,
            scope,
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
            "",
            "",
            ImmutableSumData.create(
                true,
                AggregationTemporality.CUMULATIVE,
                List.of(
                    ImmutableDoublePointData.create(now - 60_000_000_000L, now, gpu, 9.87e9)))));
    return out;
  }

  private static void export(MetricExporter exporter, List<MetricData> data) {
    try {
      CompletableResultCode r = exporter.export(data).join(15, TimeUnit.SECONDS);
      assertThat(r.isSuccess()).as("export: %s", r.getFailureThrowable()).isTrue();
    } finally {
      exporter.shutdown().join(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void sdkMetricExportersOverHttpAndGrpcGiveEngineAndHardwareSamples() throws Exception {
    String prefix = Infra.uniqueName("it-otlpmetrics") + "-";
    String engine = Topics.ENGINE_STATE.withPrefix(prefix).name();
    String hardware = Topics.HARDWARE.withPrefix(prefix).name();
    ItSupport.createTopics(
        Infra.get().kafkaBootstrap(),
        Topics.REQUESTS.withPrefix(prefix).name(),
        hardware,
        Topics.DEAD_LETTERS.withPrefix(prefix).name(),
        engine);
    Map<String, Object> cfg = CollectorIT.baseConfig(prefix, spool);
    cfg.put("auth.token", "it-token");
    cfg.put("sampling.enabled", false);
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      export(
          OtlpHttpMetricExporter.builder()
              .setEndpoint("http://127.0.0.1:" + collector.httpPort() + "/v1/metrics")
              .addHeader("Authorization", "Bearer it-token")
              .setCompression("gzip")
              .setTimeout(Duration.ofSeconds(10))
              .build(),
          forwarded("10.0.3.17:8000", "vllm-a-0", 0.93, 31, 4, 2));
      export(
          OtlpGrpcMetricExporter.builder()
              .setEndpoint("http://127.0.0.1:" + collector.grpcPort().orElseThrow())
              .addHeader("authorization", "Bearer it-token")
              .setTimeout(Duration.ofSeconds(10))
              .build(),
          forwarded("10.0.3.18:8000", "vllm-b-0", 0.41, 7, 0, 0));

      List<ConsumerRecord<String, EngineSample>> got =
          ItSupport.readUntil(
              engine, EngineSample.class, Duration.ofSeconds(60), l -> l.size() >= 2);
      assertThat(got).hasSize(2);
      assertThat(got)
          .extracting(r -> r.value().getInstance())
          .containsExactlyInAnyOrder("10.0.3.17:8000", "10.0.3.18:8000");
      EngineSample a =
          got.stream()
              .map(ConsumerRecord::value)
              .filter(e -> e.getPod().equals("vllm-a-0"))
              .findFirst()
              .orElseThrow();
      assertThat(a.getEngine()).isEqualTo("vllm");
      assertThat(a.getSource()).isEqualTo("otlp");
      assertThat(a.getModel()).isEqualTo("meta-llama/Llama-3.1-8B-Instruct");
      assertThat(a.getKvCacheUsage()).isEqualTo(0.93);
      assertThat(a.getRequestsRunning()).isEqualTo(31L);
      assertThat(a.getRequestsWaiting()).isEqualTo(4L);
      assertThat(a.getPreemptionsTotal()).isEqualTo(2L);
      assertThat(got).allSatisfy(r -> assertThat(r.value().getHost()).isEqualTo("it-host"));

      List<ConsumerRecord<String, HardwareSample>> hw =
          ItSupport.readUntil(
              hardware, HardwareSample.class, Duration.ofSeconds(60), l -> l.size() >= 2);
      assertThat(hw)
          .extracting(r -> r.value().getPod())
          .containsExactlyInAnyOrder("vllm-a-0", "vllm-b-0");
      assertThat(hw)
          .allSatisfy(
              r -> {
                assertThat(r.value().getHost()).isEqualTo("it-host");
                assertThat(r.value().getSource()).isEqualTo("dcgm");
                assertThat(r.value().getPowerW()).isPositive();
                assertThat(r.value().getEnergyMj()).isPositive();
              });
    }
  }
}
