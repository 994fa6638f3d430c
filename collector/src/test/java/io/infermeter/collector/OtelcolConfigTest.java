package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.infermeter.collector.ingest.grpc.GrpcReceiverSettings;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The shipped OpenTelemetry Collector config (deploy/otelcol/config.yaml): every pipeline names
 * defined receivers, processors and exporters; it receives OTLP on the standard ports, scrapes
 * dcgm-exporter (:9400) and vLLM (:8000), and forwards traces to the infermeter collector's default
 * OTLP/gRPC port and metrics to its default OTLP/HTTP {@code /v1/metrics}, with a bearer token.
 */
class OtelcolConfigTest {

  private static final Path CONFIG = Path.of("..", "deploy", "otelcol", "config.yaml");

  private static JsonNode config() throws Exception {
    assertThat(CONFIG).isRegularFile();
    return new ObjectMapper(new YAMLFactory()).readTree(Files.readString(CONFIG));
  }

  private static List<String> names(JsonNode list) {
    List<String> out = new ArrayList<>();
    list.forEach(n -> out.add(n.asText()));
    return out;
  }

  @Test
  void pipelinesReferenceDefinedComponents() throws Exception {
    JsonNode c = config();
    JsonNode pipelines = c.path("service").path("pipelines");
    assertThat(pipelines.has("traces")).isTrue();
    assertThat(pipelines.has("metrics")).isTrue();
    pipelines
        .fields()
        .forEachRemaining(
            p -> {
              for (String kind : List.of("receivers", "processors", "exporters")) {
                for (String name : names(p.getValue().path(kind))) {
                  assertThat(c.path(kind).has(name))
                      .as("%s of pipeline %s is defined", name, p.getKey())
                      .isTrue();
                }
              }
              assertThat(names(p.getValue().path("receivers"))).as(p.getKey()).isNotEmpty();
              assertThat(names(p.getValue().path("exporters"))).as(p.getKey()).isNotEmpty();
            });
    assertThat(names(pipelines.path("traces").path("exporters"))).containsExactly("otlp");
    assertThat(names(pipelines.path("metrics").path("exporters"))).containsExactly("otlphttp");
    assertThat(names(pipelines.path("metrics").path("receivers"))).contains("otlp", "prometheus");
  }

  @Test
  void endpointsAreTheCollectorsDefaultPorts() throws Exception {
    JsonNode c = config();
    String httpPort = CollectorConfig.defaults().get("http.port");
    // the engines' side: the standard OTLP ports, on every interface of the otelcol pod
    assertThat(c.at("/receivers/otlp/protocols/grpc/endpoint").asText()).isEqualTo("0.0.0.0:4317");
    assertThat(c.at("/receivers/otlp/protocols/http/endpoint").asText()).isEqualTo("0.0.0.0:4318");
    // the infermeter collector's side: gRPC for traces, OTLP/HTTP /v1/metrics for metrics, both
    // with the token
    String traces = c.at("/exporters/otlp/endpoint").asText();
    assertThat(traces).endsWith(":" + GrpcReceiverSettings.DEFAULT_PORT).doesNotContain("/");
    URI metrics =
        URI.create(
            c.at("/exporters/otlphttp/metrics_endpoint")
                .asText()
                .replace("${env:INFERMETER_COLLECTOR_HOST}", "collector.example"));
    assertThat(metrics.getPort()).isEqualTo(Integer.parseInt(httpPort));
    assertThat(metrics.getPath()).isEqualTo("/v1/metrics");
    assertThat(c.at("/exporters/otlp/headers/authorization").asText()).startsWith("Bearer ${env:");
    assertThat(c.at("/exporters/otlphttp/headers/Authorization").asText())
        .startsWith("Bearer ${env:");
  }

  @Test
  void scrapesDcgmExporterAndVllm() throws Exception {
    JsonNode jobs = config().at("/receivers/prometheus/config/scrape_configs");
    List<String> targets = new ArrayList<>();
    jobs.forEach(
        j -> j.path("static_configs").forEach(s -> targets.addAll(names(s.path("targets")))));
    assertThat(targets)
        .anySatisfy(t -> assertThat(t).endsWith(":9400")) // dcgm-exporter's default port
        .anySatisfy(t -> assertThat(t).endsWith(":8000")); // vLLM's OpenAI server and /metrics
    jobs.forEach(j -> assertThat(j.path("metrics_path").asText("/metrics")).isEqualTo("/metrics"));
  }
}
