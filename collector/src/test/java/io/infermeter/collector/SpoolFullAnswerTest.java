package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.MetadataUtils;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.IngestServer;
import io.infermeter.collector.ingest.RequestValidator;
import io.infermeter.collector.ingest.grpc.GrpcReceiverSettings;
import io.infermeter.collector.ingest.grpc.OtlpGrpcReceiver;
import io.infermeter.collector.ingest.http.BearerTokens;
import io.infermeter.collector.ingest.http.HttpServerSettings;
import io.infermeter.collector.ingest.otlp.OtlpFixtures;
import io.infermeter.collector.support.CollectorMetrics;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * While the spool is full, ingest answers as OTLP says a receiver asks for a retry: HTTP 503 with
 * {@code Retry-After} (both endpoints, before the body is read), gRPC UNAVAILABLE with a {@code
 * google.rpc.RetryInfo} detail; and the real OpenTelemetry SDK exporters do retry on that answer
 * and deliver once the spool has room.
 */
class SpoolFullAnswerTest {

  private final List<RequestEvent> accepted = new CopyOnWriteArrayList<>();
  private volatile boolean full = true;
  private IngestServer ingest;
  private OtlpGrpcReceiver grpc;

  @BeforeEach
  void start() throws Exception {
    HttpServerSettings http =
        HttpServerSettings.of("127.0.0.1", 0, 8, 1 << 20, BearerTokens.single(Optional.of("tok")));
    EventDefaults defaults =
        new EventDefaults("c", "r", "h", null, null, "Qwen/Qwen3-8B", "service.name");
    RequestValidator validator =
        new RequestValidator(
            Clock.systemUTC(),
            Duration.ofHours(1),
            Duration.ofMinutes(5),
            Duration.ofDays(7),
            10_000_000);
    ingest =
        new IngestServer(
            http, defaults, validator, accepted::add, null, d -> {}, new CollectorMetrics());
    ingest.refuseWhile(() -> full);
    grpc = new OtlpGrpcReceiver(GrpcReceiverSettings.of("127.0.0.1", 0, http), ingest);
  }

  @AfterEach
  void stop() {
    grpc.close();
    ingest.close();
  }

  @Test
  void httpAnswers503WithRetryAfter() throws Exception {
    HttpClient client = HttpClient.newHttpClient();
    for (String[] pathAndType :
        new String[][] {
          {"/v1/requests", "application/x-ndjson"},
          {"/v1/traces", "application/x-protobuf"},
          {"/v1/traces", "application/json"}
        }) {
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + ingest.port() + pathAndType[0]))
                  .header("Authorization", "Bearer tok")
                  .header("Content-Type", pathAndType[1])
                  .POST(
                      HttpRequest.BodyPublishers.ofByteArray(
                          OtlpFixtures.request(
                                  OtlpFixtures.vllmSpan(
                                          System.currentTimeMillis() * 1_000_000L, "x")
                                      .build())
                              .toByteArray()))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as("%s %s", pathAndType[0], pathAndType[1]).isEqualTo(503);
      assertThat(r.headers().firstValue("Retry-After"))
          .hasValue(String.valueOf(IngestServer.RETRY_AFTER_SECONDS));
    }
    // the token is still checked first: no answer about the collector's state to an unauthenticated
    // client
    HttpResponse<String> anonymous =
        client.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ingest.port() + "/v1/requests"))
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(accepted).isEmpty();
  }

  @Test
  void grpcAnswersUnavailableWithRetryInfo() throws Exception {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", grpc.port()).usePlaintext().build();
    try {
      Metadata m = new Metadata();
      m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer tok");
      TraceServiceGrpc.TraceServiceBlockingStub stub =
          TraceServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
      assertThatThrownBy(
              () ->
                  stub.export(
                      OtlpFixtures.request(
                          OtlpFixtures.vllmSpan(System.currentTimeMillis() * 1_000_000L, "x")
                              .build())))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                com.google.rpc.Status detail = StatusProto.fromThrowable(e);
                assertThat(detail).isNotNull();
                assertThat(detail.getDetailsList())
                    .anySatisfy(
                        any -> {
                          assertThat(any.is(com.google.rpc.RetryInfo.class)).isTrue();
                          assertThat(
                                  any.unpack(com.google.rpc.RetryInfo.class)
                                      .getRetryDelay()
                                      .getSeconds())
                              .isEqualTo(IngestServer.RETRY_AFTER_SECONDS);
                        });
              });
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * The SDK exporters' default retry policy treats the answers as retryable: the export succeeds
   * once room is back.
   */
  @Test
  void sdkExportersRetryAndDeliverOnceTheSpoolHasRoom() throws Exception {
    List<SpanExporter> exporters =
        List.of(
            OtlpHttpSpanExporter.builder()
                .setEndpoint("http://127.0.0.1:" + ingest.port() + "/v1/traces")
                .addHeader("Authorization", "Bearer tok")
                .setTimeout(Duration.ofSeconds(10))
                .build(),
            OtlpGrpcSpanExporter.builder()
                .setEndpoint("http://127.0.0.1:" + grpc.port())
                .addHeader("authorization", "Bearer tok")
                .setTimeout(Duration.ofSeconds(10))
                .build());
    try {
      int n = 5;
      for (SpanExporter e : exporters) {
        full = true;
        CompletableResultCode result = e.export(OtelSdkExportIT.spans("retry-", n));
        Thread.sleep(300); // the first attempt is refused; the retry comes after the SDK's backoff
        assertThat(accepted).hasSize(exporters.indexOf(e) * n);
        full = false;
        assertThat(result.join(20, TimeUnit.SECONDS).isSuccess())
            .as("%s", result.getFailureThrowable())
            .isTrue();
        assertThat(accepted).hasSize((exporters.indexOf(e) + 1) * n);
      }
    } finally {
      for (SpanExporter e : exporters) {
        e.shutdown().join(5, TimeUnit.SECONDS);
      }
    }
  }
}
