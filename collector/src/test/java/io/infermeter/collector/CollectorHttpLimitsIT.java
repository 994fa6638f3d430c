package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.collector.ingest.http.HttpLimitMetrics;
import io.infermeter.collector.ingest.http.HttpLimitMetrics.Limit;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole collector (real Kafka and registry) under the two connection attacks, with its
 * health endpoints: 80 trickling connections do not keep a legitimate client from a 200 within 1 s,
 * and 64 connections declaring 8 MiB each leave the heap bounded by the in-flight budget;
 * /-/healthy and /-/ready answer 200 on the metrics port, and the limit counters are on /metrics.
 */
class CollectorHttpLimitsIT {

  @TempDir Path spool;

  @Test
  void trickleAndHeaderFloodLeaveIngestAnsweringAndHeapBounded() throws Exception {
    String prefix = Infra.uniqueName("httplimits") + "-";
    ItSupport.createTopics(
        Infra.get().kafkaBootstrap(),
        Topics.REQUESTS.withPrefix(prefix).name(),
        Topics.HARDWARE.withPrefix(prefix).name(),
        Topics.DEAD_LETTERS.withPrefix(prefix).name());
    Map<String, Object> cfg = CollectorIT.baseConfig(prefix, spool);
    cfg.put("sampling.enabled", "false");
    cfg.put("metrics.enabled", "true");
    cfg.put("metrics.port", "0");
    cfg.put("http.max.connections.per.client", "256");
    cfg.put("http.head.timeout", "4s");
    cfg.put(
        "http.min.body.rate.bytes",
        "0"); // else the flood's heads alone are cut after 1 s, before the budget acts
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      HttpClient http = HttpClient.newHttpClient();
      String metricsBase = "http://127.0.0.1:" + collector.metricsPort();
      assertThat(get(http, metricsBase + "/-/healthy").statusCode()).isEqualTo(200);
      assertThat(get(http, metricsBase + "/-/ready").statusCode()).isEqualTo(200);

      int port = collector.httpPort();
      List<Socket> sockets = new ArrayList<>();
      try {
        // slowloris: 80 connections (all admitted here) each send one byte of a head
        for (int i = 0; i < 80; i++) {
          Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
          s.getOutputStream().write('P');
          sockets.add(s);
        }
        long a = System.currentTimeMillis() * 1000L - 2_000_000L;
        byte[] line =
            ("{\"model\":\"legit\",\"arrivalUs\":" + a + ",\"e2eUs\":9000}\n")
                .getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < 3; i++) {
          long t0 = System.nanoTime();
          HttpResponse<String> r =
              http.send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/requests"))
                      .POST(HttpRequest.BodyPublishers.ofByteArray(line))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
          assertThat(r.statusCode()).isEqualTo(200);
          assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (collector.ingest().limitMetrics().countOf(Limit.HEAD_TIMEOUT) < 80
            && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        assertThat(collector.ingest().limitMetrics().countOf(Limit.HEAD_TIMEOUT)).isEqualTo(80);
        closeAll(sockets);

        // header-only flood: 64 connections declare 8 MiB each; nothing is allocated for it
        System.gc();
        long heapBefore = usedHeap();
        for (int i = 0; i < 64; i++) {
          Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
          s.getOutputStream()
              .write(
                  ("POST /v1/requests HTTP/1.1\r\nHost: x\r\nContent-Length: "
                          + (8 << 20)
                          + "\r\n\r\n")
                      .getBytes(StandardCharsets.US_ASCII));
          sockets.add(s);
        }
        Thread.sleep(500);
        assertThat(collector.ingest().inflightBodyBytes()).isZero();
        // then each sends 1 MiB of its body: at most the budget (32 MiB) is held, the rest get 503
        byte[] mib = new byte[1 << 20];
        for (Socket s : sockets) {
          try {
            s.getOutputStream().write(mib);
          } catch (IOException refused) {
            // answered 503 and closed
          }
          assertThat(collector.ingest().inflightBodyBytes()).isLessThanOrEqualTo(32L << 20);
        }
        long until =
            System.nanoTime()
                + Duration.ofSeconds(20).toNanos(); // the bytes are read as they arrive
        HttpLimitMetrics limits = collector.ingest().limitMetrics();
        while (limits.countOf(Limit.INFLIGHT_BUDGET) < 64 - 32 && System.nanoTime() < until) {
          assertThat(collector.ingest().inflightBodyBytes()).isLessThanOrEqualTo(32L << 20);
          Thread.sleep(50);
        }
        assertThat(collector.ingest().limitMetrics().countOf(Limit.INFLIGHT_BUDGET))
            .isGreaterThanOrEqualTo(64 - 32);
        System.gc();
        assertThat(usedHeap() - heapBefore).isLessThan(3 * (32L << 20)); // not 64 x 8 MiB (512 MiB)
        HttpResponse<String> ok =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/requests"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(line))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(ok.statusCode())
            .isIn(200, 503); // 503 only while the admitted flood still holds the budget
      } finally {
        closeAll(sockets);
      }
      String metrics = get(http, metricsBase + "/metrics").body();
      assertThat(metrics)
          .contains("infermeter_collector_http_limited_total{reason=\"head_timeout\"} 80.0")
          .contains("infermeter_collector_http_limited_total{reason=\"inflight_budget\"}");
    }
  }

  private static long usedHeap() {
    var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    return heap.getUsed();
  }

  private static void closeAll(List<Socket> sockets) {
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    sockets.clear();
  }

  private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
