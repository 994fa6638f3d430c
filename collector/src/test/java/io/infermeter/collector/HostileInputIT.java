package io.infermeter.collector;

import static io.infermeter.collector.ingest.otlp.OtlpFixtures.str;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.ingest.otlp.OtlpFixtures;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and broken input at the collector's door, against the real local Kafka and schema
 * registry: over-long strings, agent and tool spans, prompts in rejected spans, and a record the
 * broker refuses for good.
 */
class HostileInputIT {

  @TempDir Path spool;

  private static HttpResponse<String> post(
      HttpClient http, int port, String path, String type, byte[] body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("Content-Type", type)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void overLongStringsAgentSpansAndPromptsNeverReachKafkaAndTheRestDoes() throws Exception {
    String prefix = Infra.uniqueName("hostile") + "-";
    String requests = Topics.REQUESTS.withPrefix(prefix).name();
    String deadLetters = Topics.DEAD_LETTERS.withPrefix(prefix).name();
    ItSupport.createTopics(
        Infra.get().kafkaBootstrap(),
        requests,
        Topics.HARDWARE.withPrefix(prefix).name(),
        deadLetters);
    Map<String, Object> cfg = CollectorIT.baseConfig(prefix, spool);
    cfg.put("sampling.enabled", "false");
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      HttpClient http = HttpClient.newHttpClient();
      int port = collector.httpPort();
      long a = System.currentTimeMillis() * 1000L - 2_000_000L;
      // the line: a 64 KiB model; then a valid line with a 70 kB error type; then a plain
      // valid one
      String lines =
          "{\"model\":\""
              + "m".repeat(65_536)
              + "\",\"arrivalUs\":"
              + a
              + ",\"e2eUs\":9000}\n"
              + "{\"model\":\"m-err\",\"arrivalUs\":"
              + a
              + ",\"e2eUs\":9000,\"errorType\":\""
              + "E".repeat(70_000)
              + "\"}\n"
              + "{\"model\":\"m-ok\",\"arrivalUs\":"
              + a
              + ",\"e2eUs\":9000}\n";
      HttpResponse<String> r1 =
          post(
              http,
              port,
              "/v1/requests",
              "application/x-ndjson",
              lines.getBytes(StandardCharsets.UTF_8));
      assertThat(r1.statusCode()).isEqualTo(400);
      assertThat(r1.body())
          .contains("rejected 1 of 3")
          .contains("line 1: too_long: model is 65536 bytes");
      assertThat(collector.metrics().rejectedCount("jsonl", RejectReason.TOO_LONG)).isEqualTo(1);
      assertThat(collector.metrics().truncatedCount("errorType")).isEqualTo(1);

      // an agent run's trace: the chat span is kept, the agent and tool spans skipped, the batch
      // answered 200
      long startNs = a * 1000L;
      Span chat = OtlpFixtures.vllmSpan(startNs, "agent-chat").build();
      Span agent =
          Span.newBuilder()
              .setName("invoke_agent Math Tutor")
              .setStartTimeUnixNano(startNs)
              .setEndTimeUnixNano(startNs + 5_000_000L)
              .addAttributes(str("gen_ai.operation.name", "invoke_agent"))
              .addAttributes(str("gen_ai.agent.name", "Math Tutor"))
              .addAttributes(str("gen_ai.request.model", "gpt-4"))
              .build();
      Span tool =
          Span.newBuilder()
              .setName("execute_tool get_weather")
              .setStartTimeUnixNano(startNs)
              .addAttributes(str("gen_ai.operation.name", "execute_tool"))
              .addAttributes(str("gen_ai.tool.name", "w"))
              .build();
      HttpResponse<String> r2 =
          post(
              http,
              port,
              "/v1/traces",
              "application/x-protobuf",
              OtlpFixtures.request(chat, agent, tool).toByteArray());
      assertThat(r2.statusCode()).isEqualTo(200);

      // a span rejected for having no model (the SDK's default resource names none), carrying a
      // prompt: its dead
      // letter keeps the span without the prompt
      Span noModel =
          OtlpFixtures.vllmSpan(startNs, "no-model")
              .removeAttributes(1)
              .removeAttributes(0)
              .addAttributes(str("gen_ai.prompt", "SECRET-PROMPT"))
              .addAttributes(
                  str(
                      "gen_ai.input.messages",
                      "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"SECRET-PROMPT\"}]}]"))
              .build();
      HttpResponse<String> r3 =
          post(
              http,
              port,
              "/v1/traces",
              "application/x-protobuf",
              OtlpFixtures.requestWithResource(OtlpFixtures.pythonSdkDefaultResource(), noModel)
                  .toByteArray());
      assertThat(r3.statusCode()).isEqualTo(400);

      List<ConsumerRecord<String, RequestEvent>> got =
          ItSupport.readUntil(
              requests, RequestEvent.class, Duration.ofSeconds(60), l -> l.size() >= 3);
      assertThat(got)
          .extracting(r -> r.value().getModel())
          .containsExactlyInAnyOrder("m-err", "m-ok", "meta-llama/Llama-3.1-8B-Instruct");
      RequestEvent err =
          got.stream()
              .map(ConsumerRecord::value)
              .filter(e -> e.getModel().equals("m-err"))
              .findFirst()
              .orElseThrow();
      assertThat(err.getErrorType()).hasSize(1024);

      List<ConsumerRecord<String, DeadLetter>> dead =
          ItSupport.readUntil(
              deadLetters, DeadLetter.class, Duration.ofSeconds(60), l -> l.size() >= 2);
      assertThat(dead).hasSize(2);
      DeadLetter span =
          dead.stream()
              .map(ConsumerRecord::value)
              .filter(d -> d.getMessage().startsWith("/v1/traces"))
              .findFirst()
              .orElseThrow();
      byte[] payload = new byte[span.getPayload().remaining()];
      span.getPayload().get(payload);
      assertThat(new String(payload, StandardCharsets.ISO_8859_1))
          .doesNotContain("SECRET-PROMPT")
          .contains("no-model");
      assertThat(span.getMessage()).contains("2 attribute(s)");
    }
  }

  /**
   * A real topic whose max.message.bytes (4096) is smaller than one event: the broker refuses it
   * for good, the collector counts it, keeps it as a dead letter with its payload, and goes on
   * delivering.
   */
  @Test
  void aRecordTheBrokerRefusesForGoodIsDeadLetteredAndDeliveryGoesOn() throws Exception {
    String prefix = Infra.uniqueName("refused") + "-";
    String requests = Topics.REQUESTS.withPrefix(prefix).name();
    String deadLetters = Topics.DEAD_LETTERS.withPrefix(prefix).name();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", Infra.get().kafkaBootstrap()))) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(requests, 1, (short) 1).configs(Map.of("max.message.bytes", "4096")),
                  new NewTopic(deadLetters, 1, (short) 1),
                  new NewTopic(Topics.HARDWARE.withPrefix(prefix).name(), 1, (short) 1)))
          .all()
          .get();
    }
    Map<String, Object> cfg = CollectorIT.baseConfig(prefix, spool);
    cfg.put("sampling.enabled", "false");
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      HttpClient http = HttpClient.newHttpClient();
      int port = collector.httpPort();
      long a = System.currentTimeMillis() * 1000L - 2_000_000L;
      // incompressible attribute values (lz4 would shrink repeated characters below the limit)
      Random random = new Random(5);
      StringBuilder attrs = new StringBuilder();
      for (int i = 0; i < 30; i++) {
        byte[] noise = new byte[700];
        random.nextBytes(noise);
        attrs
            .append(i == 0 ? "" : ",")
            .append("\"a")
            .append(i)
            .append("\":\"")
            .append(Base64.getEncoder().encodeToString(noise))
            .append('"');
      }
      String big =
          "{\"model\":\"m-big\",\"arrivalUs\":"
              + a
              + ",\"e2eUs\":9000,\"attributes\":{"
              + attrs
              + "}}\n";
      assertThat(
              post(
                      http,
                      port,
                      "/v1/requests",
                      "application/x-ndjson",
                      big.getBytes(StandardCharsets.UTF_8))
                  .statusCode())
          .isEqualTo(200);
      Infra.await(
          Duration.ofSeconds(60),
          "the refusal counted",
          () -> collector.metrics().droppedCount("kafka_rejected") == 1);
      String small = "{\"model\":\"m-small\",\"arrivalUs\":" + a + ",\"e2eUs\":9000}\n";
      assertThat(
              post(
                      http,
                      port,
                      "/v1/requests",
                      "application/x-ndjson",
                      small.getBytes(StandardCharsets.UTF_8))
                  .statusCode())
          .isEqualTo(200);
      List<ConsumerRecord<String, RequestEvent>> got =
          ItSupport.readUntil(
              requests, RequestEvent.class, Duration.ofSeconds(60), l -> !l.isEmpty());
      assertThat(got).extracting(r -> r.value().getModel()).containsExactly("m-small");
      List<ConsumerRecord<String, DeadLetter>> dead =
          ItSupport.readUntil(
              deadLetters, DeadLetter.class, Duration.ofSeconds(60), l -> !l.isEmpty());
      DeadLetter d = dead.get(0).value();
      assertThat(d.getReason()).isEqualTo("kafka-rejected");
      assertThat(d.getSourceTopic()).isEqualTo(requests);
      assertThat(d.getErrorClass()).endsWith("RecordTooLargeException");
      assertThat(d.getPayload().remaining()).isGreaterThan(4096);
      assertThat(collector.metrics().droppedCount("kafka_rejected")).isEqualTo(1);
    }
  }
}
