package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import io.infermeter.testsupport.TcpProxy;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11's slow registry: the real schema registry behind a proxy that delays every answer by 15
 * s, a freshly started collector (so its schema ids are not known yet) and clients exporting at
 * once: the real OpenTelemetry SDK exporters (OTLP/HTTP protobuf, OTLP/gRPC) and JSON-lines posts.
 * Every ingest request is answered within the bound (well under the exporters' 10 s timeout, so
 * none retries), and once the registry answers every event is on the real Kafka topic exactly once
 * (total == distinct event ids == requests sent).
 */
class SlowRegistryIT {

  static final Duration REGISTRY_DELAY = Duration.ofSeconds(15);

  /** The answer bound asserted for every ingest request (docs/COLLECTOR.md, "Delivery"). */
  static final Duration BOUND = Duration.ofSeconds(1);

  @TempDir Path dir;

  @Test
  void everyRequestIsAnsweredFastWhileTheRegistryIsSlowAndNothingIsLostOrDoubled()
      throws Exception {
    URI registry = URI.create(Infra.get().schemaRegistryUrl());
    int proxyPort = OwnBroker.freePort();
    String prefix = Infra.uniqueName("it-slowreg") + "-";
    String requests = Topics.REQUESTS.withPrefix(prefix).name();
    ItSupport.createTopics(
        Infra.get().kafkaBootstrap(),
        requests,
        Topics.HARDWARE.withPrefix(prefix).name(),
        Topics.DEAD_LETTERS.withPrefix(prefix).name());
    Map<String, Object> cfg = CollectorIT.baseConfig(prefix, dir.resolve("spool"));
    cfg.put("schema.registry.url", "http://127.0.0.1:" + proxyPort + registry.getRawPath());
    cfg.put("auth.token", "it-token");
    cfg.put("sampling.enabled", false);
    cfg.put("otlp.default.model", "Qwen/Qwen3-8B");
    cfg.put("spool.retry.period", "200ms");

    int rounds =
        40; // every 100 ms: 4 s of exports per client, all before the registry's first answer
    int spansPerExport = 25;
    int linesPerPost = 50;
    List<Long> latenciesNanos = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger failures = new AtomicInteger();
    try (TcpProxy proxy = TcpProxy.on(proxyPort, registry.getPort(), REGISTRY_DELAY);
        Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      HttpClient http = HttpClient.newHttpClient();
      List<SpanExporter> exporters =
          List.of(
              OtlpHttpSpanExporter.builder()
                  .setEndpoint("http://127.0.0.1:" + collector.httpPort() + "/v1/traces")
                  .addHeader("Authorization", "Bearer it-token")
                  .setTimeout(Duration.ofSeconds(10))
                  .build(),
              OtlpGrpcSpanExporter.builder()
                  .setEndpoint("http://127.0.0.1:" + collector.grpcPort().orElseThrow())
                  .addHeader("authorization", "Bearer it-token")
                  .setTimeout(Duration.ofSeconds(10))
                  .build());
      ExecutorService clients = Executors.newFixedThreadPool(4);
      List<Future<?>> done = new ArrayList<>();
      long a = System.currentTimeMillis() * 1000L - 5_000_000L;
      for (int c = 0; c < exporters.size(); c++) {
        SpanExporter exporter = exporters.get(c);
        String name = "sdk" + c + "-";
        done.add(
            clients.submit(
                () -> {
                  for (int r = 0; r < rounds; r++) {
                    var spans = OtelSdkExportIT.spans(name + r + "-", spansPerExport);
                    long t0 = System.nanoTime();
                    CompletableResultCode result =
                        exporter.export(spans).join(15, TimeUnit.SECONDS);
                    latenciesNanos.add(System.nanoTime() - t0);
                    if (!result.isSuccess()) {
                      failures.incrementAndGet();
                    }
                    sleep(100);
                  }
                  return null;
                }));
      }
      for (int c = 0; c < 2; c++) {
        String name = "jsonl" + c + "-";
        done.add(
            clients.submit(
                () -> {
                  for (int r = 0; r < rounds; r++) {
                    StringBuilder body = new StringBuilder();
                    for (int i = 0; i < linesPerPost; i++) {
                      body.append("{\"requestId\":\"")
                          .append(name)
                          .append(r)
                          .append('-')
                          .append(i)
                          .append("\",\"model\":\"m\",\"arrivalUs\":")
                          .append(a + r * 1000L + i)
                          .append(",\"e2eUs\":1000}\n");
                    }
                    long t0 = System.nanoTime();
                    HttpResponse<String> resp =
                        http.send(
                            HttpRequest.newBuilder(
                                    URI.create(
                                        "http://127.0.0.1:"
                                            + collector.httpPort()
                                            + "/v1/requests"))
                                .header("Authorization", "Bearer it-token")
                                .timeout(Duration.ofSeconds(10))
                                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                                .build(),
                            HttpResponse.BodyHandlers.ofString());
                    latenciesNanos.add(System.nanoTime() - t0);
                    if (resp.statusCode() != 200) {
                      failures.incrementAndGet();
                    }
                    sleep(100);
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get(120, TimeUnit.SECONDS);
      }
      clients.shutdown();
      // the clients were done before the registry gave the collector its first schema id
      assertThat(collector.publisher().requestHeader()).isNull();
      for (SpanExporter e : exporters) {
        e.shutdown().join(5, TimeUnit.SECONDS);
      }

      int expected = 2 * rounds * spansPerExport + 2 * rounds * linesPerPost;
      List<Long> sorted = new ArrayList<>(latenciesNanos);
      Collections.sort(sorted);
      long p99 = sorted.get((int) Math.ceil(sorted.size() * 0.99) - 1);
      long max = sorted.get(sorted.size() - 1);
      System.out.printf(
          "SlowRegistryIT: %d ingest requests (%d events) while the registry answered after %s: "
              + "p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
          sorted.size(),
          expected,
          REGISTRY_DELAY,
          sorted.get(sorted.size() / 2) / 1e6,
          p99 / 1e6,
          max / 1e6);
      assertThat(failures.get()).isZero();
      assertThat(sorted).hasSize(4 * rounds);
      assertThat(Duration.ofNanos(max)).isLessThan(BOUND);

      Infra.await(
          Duration.ofSeconds(120),
          "the registry answered and the spool drained",
          () ->
              collector.publisher().spoolPending() == 0
                  && collector.metrics().sentCount(requests) >= expected);
      List<ConsumerRecord<String, RequestEvent>> got =
          ItSupport.readUntil(
              requests, RequestEvent.class, Duration.ofSeconds(60), l -> l.size() >= expected);
      assertThat(got).hasSize(expected);
      assertThat(got.stream().map(r -> r.value().getEventId()).distinct().count())
          .isEqualTo(expected);
      assertThat(got.stream().map(r -> r.value().getRequestId()).distinct().count())
          .isEqualTo(expected);
      assertThat(collector.metrics().sentCount(requests)).isEqualTo(expected);
      assertThat(collector.metrics().spooledCount())
          .isGreaterThan(0); // they waited in the spool, as designed
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
