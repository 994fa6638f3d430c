package io.infermeter.collector.ingest.grpc;

import static io.infermeter.collector.ingest.JsonLinesParserTest.DEFAULTS;
import static io.infermeter.collector.ingest.JsonLinesParserTest.NOW_US;
import static io.infermeter.collector.ingest.JsonLinesParserTest.VALIDATOR;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.ingest.IngestServer;
import io.infermeter.collector.ingest.http.BearerTokens;
import io.infermeter.collector.ingest.http.HttpServerSettings;
import io.infermeter.collector.ingest.otlp.OtlpFixtures;
import io.infermeter.collector.support.CollectorMetrics;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.MetricsServiceGrpc;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.metrics.v1.Gauge;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The OTLP/gRPC receiver through a real grpc-java client: the same mapping, validation, dead
 * letters and identity checks as OTLP/HTTP, partial success, and abuse (random bytes, oversized, no
 * token), after which it still answers.
 */
class OtlpGrpcReceiverTest {

  static final long A = NOW_US - 5_000_000L;
  static final int MAX_BYTES = 4096;
  private final List<RequestEvent> accepted = new CopyOnWriteArrayList<>();
  private final List<DeadLetter> deadLetters = new CopyOnWriteArrayList<>();
  private final CollectorMetrics metrics = new CollectorMetrics();
  private IngestServer ingest;
  private OtlpGrpcReceiver receiver;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    HttpServerSettings http =
        HttpServerSettings.of(
            "127.0.0.1", 0, 2, MAX_BYTES, BearerTokens.single(Optional.of("tok")));
    ingest =
        new IngestServer(http, DEFAULTS, VALIDATOR, accepted::add, null, deadLetters::add, metrics);
    receiver = new OtlpGrpcReceiver(GrpcReceiverSettings.of("127.0.0.1", 0, http), ingest);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", receiver.port()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    receiver.close();
    ingest.close();
  }

  private TraceServiceGrpc.TraceServiceBlockingStub stub(String token) {
    TraceServiceGrpc.TraceServiceBlockingStub s =
        TraceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    if (token == null) {
      return s;
    }
    Metadata m = new Metadata();
    m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
  }

  @Test
  void acceptsSpansAndAnswersPartialSuccess() {
    long startNs = A * 1000;
    ExportTraceServiceResponse ok =
        stub("tok").export(OtlpFixtures.request(OtlpFixtures.vllmSpan(startNs, "g1").build()));
    assertThat(ok.hasPartialSuccess()).isFalse();
    var bad =
        OtlpFixtures.vllmSpan(startNs, "bad")
            .addAttributes(OtlpFixtures.dbl("gen_ai.latency.time_in_queue", -1))
            .build();
    ExportTraceServiceResponse partial =
        stub("tok")
            .withCompression("gzip")
            .export(OtlpFixtures.request(OtlpFixtures.vllmSpan(startNs, "g2").build(), bad));
    assertThat(partial.getPartialSuccess().getRejectedSpans()).isEqualTo(1);
    assertThat(partial.getPartialSuccess().getErrorMessage())
        .contains("rejected 1 of 2")
        .contains("negative_duration");
    assertThat(accepted).extracting(RequestEvent::getRequestId).containsExactly("g1", "g2");
    assertThat(metrics.receivedCount("otlp")).isEqualTo(2);
    assertThat(metrics.rejectedCount("otlp", RejectReason.NEGATIVE_DURATION)).isEqualTo(1);
    assertThat(deadLetters)
        .singleElement()
        .satisfies(d -> assertThat(d.getMessage()).startsWith("grpc TraceService"));

    // every span invalid: nothing usable, a permanent failure
    assertThatThrownBy(() -> stub("tok").export(OtlpFixtures.request(bad)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription()).contains("rejected 1 of 1");
            });
  }

  @Test
  void noOrWrongTokenIsUnauthenticated() {
    ExportTraceServiceRequest req =
        OtlpFixtures.request(OtlpFixtures.vllmSpan(A * 1000, "x").build());
    for (String token : new String[] {null, "wrong"}) {
      assertThatThrownBy(() -> stub(token).export(req))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    }
    assertThat(accepted).isEmpty();
    assertStillAnswers();
  }

  /** Random bytes as the message: INVALID_ARGUMENT, counted malformed, kept as a dead letter. */
  @Test
  void randomBytesAreInvalidArgument() throws Exception {
    byte[] junk = new byte[512];
    new Random(13).nextBytes(junk);
    junk[0] = 0x0a; // field 1, length-delimited, with a length past the end
    junk[1] = (byte) 0x7f;
    Status s = rawCall(junk);
    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).startsWith("malformed");
    assertThat(metrics.rejectedCount("otlp", RejectReason.MALFORMED)).isEqualTo(1);
    assertThat(deadLetters)
        .singleElement()
        .satisfies(d -> assertThat(d.getReason()).isEqualTo("deserialization"));
    assertStillAnswers();
  }

  /** A message over the limit (http.max.body.bytes), also when it arrives gzip-compressed small. */
  @Test
  void oversizedIsResourceExhausted() throws Exception {
    Status s = rawCall(new byte[MAX_BYTES + 1]);
    assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    var big =
        OtlpFixtures.vllmSpan(A * 1000, "big")
            .addAttributes(OtlpFixtures.str("pad", "x".repeat(MAX_BYTES)))
            .build();
    assertThatThrownBy(() -> stub("tok").withCompression("gzip").export(OtlpFixtures.request(big)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    assertThat(accepted).isEmpty();
    assertStillAnswers();
  }

  @Test
  void metricsAreAnsweredAsRejectedUntilSupported() {
    Metric gauge =
        Metric.newBuilder()
            .setName("vllm:num_requests_running")
            .setGauge(
                Gauge.newBuilder()
                    .addDataPoints(NumberDataPoint.newBuilder().setAsDouble(3))
                    .addDataPoints(NumberDataPoint.newBuilder().setAsDouble(4)))
            .build();
    ExportMetricsServiceRequest req =
        ExportMetricsServiceRequest.newBuilder()
            .addResourceMetrics(
                ResourceMetrics.newBuilder()
                    .addScopeMetrics(ScopeMetrics.newBuilder().addMetrics(gauge)))
            .build();
    Metadata m = new Metadata();
    m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer tok");
    var resp =
        MetricsServiceGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m))
            .export(req);
    assertThat(resp.getPartialSuccess().getRejectedDataPoints()).isEqualTo(2);
    assertThat(resp.getPartialSuccess().getErrorMessage())
        .isEqualTo("metrics ingest not yet supported");
  }

  /**
   * TLS from the HTTP server's PEM settings (a self-signed certificate made by the JDK's keytool):
   * an export over TLS succeeds; a plaintext client gets no answer.
   */
  @Test
  void tlsFromTheHttpPemSettings(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path ks = dir.resolve("c.p12");
    Process p =
        new ProcessBuilder(
                java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-alias",
                "c",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=c",
                "-ext",
                "SAN=ip:127.0.0.1",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                ks.toString(),
                "-storepass",
                "changeit",
                "-keypass",
                "changeit")
            .redirectErrorStream(true)
            .start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
    try (var in = java.nio.file.Files.newInputStream(ks)) {
      store.load(in, "changeit".toCharArray());
    }
    java.util.Base64.Encoder b64 = java.util.Base64.getMimeEncoder(64, new byte[] {'\n'});
    java.nio.file.Path cert =
        java.nio.file.Files.writeString(
            dir.resolve("c.crt.pem"),
            "-----BEGIN CERTIFICATE-----\n"
                + b64.encodeToString(store.getCertificate("c").getEncoded())
                + "\n-----END CERTIFICATE-----\n");
    java.nio.file.Path key =
        java.nio.file.Files.writeString(
            dir.resolve("c.key.pem"),
            "-----BEGIN PRIVATE KEY-----\n"
                + b64.encodeToString(store.getKey("c", "changeit".toCharArray()).getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
    HttpServerSettings http =
        HttpServerSettings.from(
            io.infermeter.schemas.config.Settings.fromMap(
                java.util.Map.of(
                    "http.host",
                    "127.0.0.1",
                    "http.port",
                    "0",
                    "http.max.body.bytes",
                    String.valueOf(MAX_BYTES),
                    "http.max.connections",
                    "4",
                    "tls.cert.chain.file",
                    cert.toString(),
                    "tls.private.key.file",
                    key.toString())));
    try (OtlpGrpcReceiver tls =
        new OtlpGrpcReceiver(GrpcReceiverSettings.of("127.0.0.1", 0, http), ingest)) {
      ManagedChannel secure =
          NettyChannelBuilder.forAddress("127.0.0.1", tls.port())
              .sslContext(
                  io.grpc.netty.GrpcSslContexts.forClient().trustManager(cert.toFile()).build())
              .build();
      ManagedChannel plain =
          NettyChannelBuilder.forAddress("127.0.0.1", tls.port()).usePlaintext().build();
      try {
        TraceServiceGrpc.newBlockingStub(secure)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .export(OtlpFixtures.request(OtlpFixtures.vllmSpan(A * 1000, "over-tls").build()));
        assertThat(accepted).extracting(RequestEvent::getRequestId).containsExactly("over-tls");
        assertThatThrownBy(
                () ->
                    TraceServiceGrpc.newBlockingStub(plain)
                        .withDeadlineAfter(5, TimeUnit.SECONDS)
                        .export(
                            OtlpFixtures.request(OtlpFixtures.vllmSpan(A * 1000, "plain").build())))
            .isInstanceOf(StatusRuntimeException.class);
        assertThat(accepted).hasSize(1);
      } finally {
        secure.shutdownNow();
        plain.shutdownNow();
      }
    }
  }

  private void assertStillAnswers() {
    stub("tok").export(OtlpFixtures.request(OtlpFixtures.vllmSpan(A * 1000, "after").build()));
    assertThat(accepted).extracting(RequestEvent::getRequestId).contains("after");
  }

  /** TraceService/Export with the given bytes as the request message (authorized). */
  private Status rawCall(byte[] message) {
    MethodDescriptor<byte[], byte[]> m =
        TraceServiceGrpc.getExportMethod().toBuilder(Raw.INSTANCE, Raw.INSTANCE).build();
    Metadata h = new Metadata();
    h.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer tok");
    try {
      ClientCalls.blockingUnaryCall(
          ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(h)),
          m,
          CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
          message);
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  private enum Raw implements MethodDescriptor.Marshaller<byte[]> {
    INSTANCE;

    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }
}
