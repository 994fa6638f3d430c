package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import io.infermeter.testsupport.TcpProxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka unreachable for a while, then back: every accepted event arrives (or is counted as
 * dropped), events spooled during the outage keep their event id, and every request during the
 * outage is answered within the bound. The outage is made with our own broker process behind a
 * proxy we pause, never by touching the shared broker; the schema registry is the shared one.
 */
class OutageIT {

  @TempDir Path dir;

  private static String lines(String prefix, int n, long arrivalUs) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append("{\"requestId\":\"")
          .append(prefix)
          .append(i)
          .append("\",\"model\":\"m\",\"arrivalUs\":")
          .append(arrivalUs + i)
          .append(",\"e2eUs\":1000}\n");
    }
    return sb.toString();
  }

  /** Posts the lines; returns how long the answer took (ns). */
  private static long post(HttpClient http, int port, String body) throws Exception {
    long t0 = System.nanoTime();
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/requests"))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    long took = System.nanoTime() - t0;
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return took;
  }

  @Test
  void eventsSpooledDuringAnOutageAreAllDeliveredWithTheirIds() throws Exception {
    int proxyPort = OwnBroker.freePort();
    Path brokerDir = dir.resolve("broker");
    java.nio.file.Files.createDirectories(brokerDir);
    try (OwnBroker broker = new OwnBroker(brokerDir, proxyPort);
        TcpProxy proxy = TcpProxy.on(proxyPort, broker.port, Duration.ZERO)) {
      String bootstrap = "127.0.0.1:" + proxyPort;
      String prefix = Infra.uniqueName("outage") + "-";
      String topic = Topics.REQUESTS.withPrefix(prefix).name();
      Infra.await(
          Duration.ofSeconds(90),
          "own broker up",
          () -> {
            try (Admin admin =
                Admin.create(
                    Map.of(
                        "bootstrap.servers",
                        bootstrap,
                        "request.timeout.ms",
                        3000,
                        "default.api.timeout.ms",
                        5000))) {
              admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
              return true;
            } catch (Exception e) {
              return false;
            }
          });

      Map<String, Object> cfg = CollectorIT.baseConfig(prefix, dir.resolve("spool"));
      cfg.put("kafka.bootstrap.servers", bootstrap);
      cfg.put("sampling.enabled", false);
      cfg.put("kafka.producer.delivery.timeout.ms", 4000);
      cfg.put("kafka.producer.request.timeout.ms", 1500);
      cfg.put("kafka.producer.reconnect.backoff.max.ms", 300);
      cfg.put("spool.retry.period", "300ms");
      HttpClient http = HttpClient.newHttpClient();
      long a = System.currentTimeMillis() * 1000L - 10_000_000L;
      try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
        post(http, collector.httpPort(), lines("before-", 200, a));
        Infra.await(
            Duration.ofSeconds(30),
            "first batch acknowledged",
            () -> collector.metrics().sentCount(topic) >= 200);

        proxy.down();
        long slowest = 0;
        for (int i = 0; i < 5; i++) {
          slowest =
              Math.max(
                  slowest,
                  post(
                      http,
                      collector.httpPort(),
                      lines("during-" + i + "-", 100, a + 1000 + i * 100L)));
        }
        // the broker being unreachable costs the clients nothing: answered within the bound
        // (docs/COLLECTOR.md)
        assertThat(java.time.Duration.ofNanos(slowest)).isLessThan(SlowRegistryIT.BOUND);
        Infra.await(
            Duration.ofSeconds(60),
            "outage events spooled",
            () -> collector.publisher().spoolPending() >= 500);
        assertThat(collector.publisher().kafkaHealthy()).isFalse();
        assertThat(collector.metrics().spooledCount()).isGreaterThanOrEqualTo(500);

        proxy.up();
        post(http, collector.httpPort(), lines("after-", 100, a + 2000));
        Infra.await(
            Duration.ofSeconds(90),
            "spool drained",
            () ->
                collector.publisher().spoolPending() == 0
                    && collector.metrics().sentCount(topic) >= 800);
        assertThat(collector.metrics().droppedCount("spool_full")).isZero();
      }

      Infra infraWithOwnBroker = Infra.get(); // registry stays the shared one
      assertThat(infraWithOwnBroker.schemaRegistryUrl()).isNotBlank();
      List<ConsumerRecord<String, RequestEvent>> got = readOwn(bootstrap, topic, 800);
      Map<String, Set<String>> idsByRequest = new HashMap<>();
      for (ConsumerRecord<String, RequestEvent> r : got) {
        idsByRequest
            .computeIfAbsent(r.value().getRequestId(), k -> new HashSet<>())
            .add(r.value().getEventId());
      }
      // every accepted request arrived; a re-sent one (if any) carries the same event id
      assertThat(idsByRequest).hasSize(800);
      assertThat(idsByRequest.values()).allSatisfy(ids -> assertThat(ids).hasSize(1));
      assertThat(idsByRequest.keySet()).filteredOn(k -> k.startsWith("during-")).hasSize(500);
    }
  }

  private static List<ConsumerRecord<String, RequestEvent>> readOwn(
      String bootstrap, String topic, int distinct) {
    return ItSupport.readUntil(
        bootstrap,
        topic,
        RequestEvent.class,
        Duration.ofSeconds(60),
        l -> l.stream().map(r -> r.value().getRequestId()).distinct().count() >= distinct);
  }
}
