package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.ingest.otlp.OtlpFixtures;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole collector against the real local Kafka and schema registry. */
class CollectorIT {

  @TempDir Path spool;

  static Map<String, Object> baseConfig(String prefix, Path spoolDir) {
    Infra infra = Infra.get();
    Map<String, Object> m = new HashMap<>();
    m.put("kafka.bootstrap.servers", infra.kafkaBootstrap());
    m.put("schema.registry.url", infra.schemaRegistryUrl());
    m.put("topic.prefix", prefix);
    m.put("http.port", 0);
    m.put("metrics.port", 0);
    m.put("spool.dir", spoolDir.toString());
    m.put("host", "it-host");
    m.put("cluster", "it-cluster");
    m.put("region", "eu-north-1");
    m.put("nvml.library", System.getProperty("nvml.stub.library"));
    m.put("sampling.period", "300ms");
    m.put("kafka.producer.linger.ms", 5);
    return m;
  }

  @Test
  void everySourceReachesKafkaAsAvroWithEveryMappedField() throws Exception {
    String prefix = Infra.uniqueName("it") + "-";
    String requests = Topics.REQUESTS.withPrefix(prefix).name();
    String hardware = Topics.HARDWARE.withPrefix(prefix).name();
    String deadLetters = Topics.DEAD_LETTERS.withPrefix(prefix).name();
    ItSupport.createTopics(Infra.get().kafkaBootstrap(), requests, hardware, deadLetters);
    Map<String, Object> cfg = baseConfig(prefix, spool);
    cfg.put("auth.token", "it-token");
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      HttpClient http = HttpClient.newHttpClient();
      long nowUs = System.currentTimeMillis() * 1000L;
      long a = nowUs - 2_000_000L;
      String lines =
          "{\"requestId\":\"jl-1\",\"model\":\"m-json\",\"arrivalUs\":"
              + a
              + ",\"scheduledUs\":"
              + (a + 10)
              + ",\"firstTokenUs\":"
              + (a + 300)
              + ",\"completedUs\":"
              + (a + 9000)
              + ",\"inputTokens\":7,\"outputTokens\":9,\"batchSize\":4,\"coldStart\":true,\"sloClass\":\"gold\"}\n"
              + "{\"model\":\"bad\",\"arrivalUs\":"
              + a
              + ",\"e2eUs\":-5}\n";
      HttpResponse<String> r1 =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + collector.httpPort() + "/v1/requests"))
                  .header("Authorization", "Bearer it-token")
                  .POST(HttpRequest.BodyPublishers.ofString(lines))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r1.statusCode()).isEqualTo(400);
      assertThat(r1.body()).contains("rejected 1 of 2").contains("line 2: negative_duration");

      long startNs = a * 1000L;
      HttpResponse<String> r2 =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + collector.httpPort() + "/v1/traces"))
                  .header("Authorization", "Bearer it-token")
                  .header("Content-Type", "application/x-protobuf")
                  .POST(
                      HttpRequest.BodyPublishers.ofByteArray(
                          OtlpFixtures.request(
                                  OtlpFixtures.vllmSpan(startNs, "otlp-pb")
                                      // another span than the OTLP/JSON fixture's (same trace and
                                      // span id would be the same request, one id)
                                      .setSpanId(
                                          com.google.protobuf.ByteString.copyFrom(
                                              new byte[] {0, 0, 0, 0, 0, 0, 0, (byte) 0xaa}))
                                      .build())
                              .toByteArray()))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r2.statusCode()).isEqualTo(200);
      HttpResponse<String> r3 =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + collector.httpPort() + "/v1/traces"))
                  .header("Authorization", "Bearer it-token")
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(OtlpFixtures.json(startNs, "otlp-json")))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r3.statusCode()).isEqualTo(200);

      RequestRecorder rec = collector.recorder();
      long t = rec.nowMicros() - 5_000;
      rec.record("m-java", t, t + 100, t + 1_000, t + 4_000, 3, 2, RequestStatus.OK, null);

      List<ConsumerRecord<String, RequestEvent>> got =
          ItSupport.readUntil(
              requests, RequestEvent.class, Duration.ofSeconds(60), l -> l.size() >= 4);
      assertThat(got).hasSize(4);
      assertThat(got)
          .extracting(ConsumerRecord::key)
          .containsOnly("it-host"); // OTLP too: the configured node
      Map<String, RequestEvent> bySource = new HashMap<>();
      for (ConsumerRecord<String, RequestEvent> r : got) {
        RequestEvent e = r.value();
        bySource.put(e.getSource() + (e.getRequestId() == null ? "" : ":" + e.getRequestId()), e);
        assertThat(r.key()).isEqualTo(e.getHost());
      }
      RequestEvent jl = bySource.get("jsonl:jl-1");
      assertThat(jl.getModel()).isEqualTo("m-json");
      assertThat(jl.getHost()).isEqualTo("it-host");
      assertThat(jl.getCluster()).isEqualTo("it-cluster");
      assertThat(jl.getRegion()).isEqualTo("eu-north-1");
      assertThat(jl.getArrivalUs()).isEqualTo(a);
      assertThat(jl.getScheduledUs()).isEqualTo(a + 10);
      assertThat(jl.getFirstTokenUs()).isEqualTo(a + 300);
      assertThat(jl.getCompletedUs()).isEqualTo(a + 9000);
      assertThat(jl.getInputTokens()).isEqualTo(7);
      assertThat(jl.getOutputTokens()).isEqualTo(9);
      assertThat(jl.getBatchSize()).isEqualTo(4);
      assertThat(jl.getColdStart()).isTrue();
      assertThat(jl.getSloClass()).isEqualTo("gold");
      assertThat(jl.getStatus()).isEqualTo(RequestStatus.OK);
      for (String id : List.of("otlp:otlp-pb", "otlp:otlp-json")) {
        RequestEvent o = bySource.get(id);
        assertThat(o).as(id).isNotNull();
        long arrival = startNs / 1000;
        assertThat(o.getArrivalUs()).isEqualTo(arrival);
        assertThat(o.getScheduledUs()).isEqualTo(arrival + 50_000);
        assertThat(o.getFirstTokenUs()).isEqualTo(arrival + 250_000);
        assertThat(o.getCompletedUs()).isEqualTo(arrival + 1_500_000);
        assertThat(o.getModel()).isEqualTo("meta-llama/Llama-3.1-8B-Instruct");
        assertThat(o.getOperation()).isEqualTo("chat");
        assertThat(o.getInputTokens()).isEqualTo(128);
        assertThat(o.getOutputTokens()).isEqualTo(64);
        assertThat(o.getEngine()).isEqualTo("vllm");
        assertThat(o.getHost())
            .isEqualTo("it-host"); // the configured node; the resource's host.name is the pod
        assertThat(o.getAttributes()).containsEntry("pod", "gpu-node-7");
        assertThat(o.getRegion()).isEqualTo("us-central1");
        assertThat(o.getCluster()).isEqualTo("prod-a");
        assertThat(o.getAttributes()).containsEntry("trace.id", OtlpFixtures.TRACE_ID);
      }
      RequestEvent java = bySource.get("java-api");
      assertThat(java.getModel()).isEqualTo("m-java");
      assertThat(java.getArrivalUs()).isEqualTo(t);
      assertThat(java.getScheduledUs()).isEqualTo(t + 100);
      assertThat(java.getFirstTokenUs()).isEqualTo(t + 1_000);
      assertThat(java.getCompletedUs()).isEqualTo(t + 4_000);
      assertThat(got).extracting(r -> r.value().getEventId()).doesNotHaveDuplicates();

      List<ConsumerRecord<String, HardwareSample>> hw =
          ItSupport.readUntil(
              hardware,
              HardwareSample.class,
              Duration.ofSeconds(60),
              l ->
                  l.stream().anyMatch(r -> r.value().getDeviceKind() == DeviceKind.MIG)
                      && l.stream().anyMatch(r -> r.value().getSource().equals("estimated"))
                      && l.stream().anyMatch(r -> r.value().getDeviceKind() == DeviceKind.HOST));
      HardwareSample gpu0 =
          hw.stream()
              .map(ConsumerRecord::value)
              .filter(s -> s.getDeviceId().equals("GPU-00000000-0000-0000-0000-000000000000"))
              .findFirst()
              .orElseThrow();
      assertThat(gpu0.getSource()).isEqualTo("nvml");
      assertThat(gpu0.getHost()).isEqualTo("it-host");
      assertThat(gpu0.getGpuType()).isEqualTo("NVIDIA H100 80GB HBM3");
      assertThat(gpu0.getPowerW()).isEqualTo(250.0);
      assertThat(gpu0.getEnergyMj()).isEqualTo(1_234_567_890L);
      assertThat(gpu0.getUtilizationPct()).isEqualTo(40.0);
      assertThat(gpu0.getThrottleReasons()).isEqualTo(4L);
      assertThat(gpu0.getProcesses()).hasSize(2);
      assertThat(hw)
          .filteredOn(
              r -> r.value().getDeviceId().startsWith("GPU-00000000-0000-0000-0000-000000000000"))
          .extracting(ConsumerRecord::key)
          .containsOnly("it-host/GPU-00000000-0000-0000-0000-000000000000");
      HardwareSample host =
          hw.stream()
              .map(ConsumerRecord::value)
              .filter(s -> s.getDeviceKind() == DeviceKind.HOST)
              .findFirst()
              .orElseThrow();
      assertThat(host.getSource()).isEqualTo("oshi");
      assertThat(host.getMemoryTotalBytes()).isPositive();

      // the rejected line is kept on the dead-letter topic with its reason and raw bytes
      List<ConsumerRecord<String, DeadLetter>> dlq =
          ItSupport.readUntil(
              deadLetters, DeadLetter.class, Duration.ofSeconds(30), l -> !l.isEmpty());
      assertThat(dlq)
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.key()).isEqualTo("it-host");
                assertThat(r.value().getStage()).isEqualTo("collector");
                assertThat(r.value().getReason()).isEqualTo("validation");
                assertThat(r.value().getMessage()).contains("line 2").contains("negative_duration");
                assertThat(StandardCharsets.UTF_8.decode(r.value().getPayload()).toString())
                    .isEqualTo("{\"model\":\"bad\",\"arrivalUs\":" + a + ",\"e2eUs\":-5}");
              });

      // the collector's own health
      assertThat(collector.metrics().rejectedCount("jsonl", RejectReason.NEGATIVE_DURATION))
          .isEqualTo(1);
      Infra.await(
          Duration.ofSeconds(10),
          "sent counted",
          () -> collector.metrics().sentCount(requests) == 4);
      String metrics =
          http.send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + collector.metricsPort() + "/metrics"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(metrics)
          .contains("infermeter_collector_received_total{source=\"jsonl\"} 1.0")
          .contains("infermeter_collector_received_total{source=\"otlp\"} 2.0")
          .contains(
              "infermeter_collector_rejected_total{reason=\"negative_duration\",source=\"jsonl\"} 1.0")
          .contains("infermeter_collector_send_latency_seconds_bucket")
          .contains("infermeter_collector_sample_duration_seconds_bucket")
          .contains("infermeter_collector_spool_events 0.0");
    }
  }
}
