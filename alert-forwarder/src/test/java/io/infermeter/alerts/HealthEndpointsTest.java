package io.infermeter.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The metrics server of the forwarder on a real socket: metrics, liveness and readiness. */
class HealthEndpointsTest {

  private final HttpClient http = HttpClient.newHttpClient();

  private HttpResponse<String> get(HTTPServer server, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.getPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void readyFollowsTheForwarderHealthyAndMetricsAlwaysAnswer() throws Exception {
    PrometheusRegistry registry = new PrometheusRegistry();
    Counter.builder().name("infermeter_alerts_probe_total").help("probe").register(registry).inc();
    AtomicBoolean ready = new AtomicBoolean(false);
    try (HTTPServer server = AlertForwarderMain.serve("127.0.0.1", 0, registry, ready::get)) {
      assertThat(get(server, "/-/ready").statusCode()).isEqualTo(503);
      assertThat(get(server, "/-/healthy").statusCode()).isEqualTo(200);
      ready.set(true);
      assertThat(get(server, "/-/ready").statusCode()).isEqualTo(200);
      HttpResponse<String> metrics = get(server, "/metrics");
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.body()).contains("infermeter_alerts_probe_total 1.0");
      assertThat(get(server, "/-/nothing").statusCode()).isEqualTo(404);
      assertThat(get(server, "/../etc/passwd").statusCode()).isEqualTo(404);
    }
  }
}
