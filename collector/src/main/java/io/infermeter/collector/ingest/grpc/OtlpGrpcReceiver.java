package io.infermeter.collector.ingest.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.infermeter.collector.ingest.IngestServer;
import io.infermeter.collector.ingest.http.BearerTokens;
import io.infermeter.collector.ingest.http.HttpServerSettings;
import io.infermeter.collector.ingest.otlp.OtlpResponses;
import io.infermeter.collector.ingest.otlpmetrics.OtlpMetricsIngest;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.metrics.v1.MetricsServiceGrpc;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The collector's OTLP/gRPC receiver (default 127.0.0.1:4317): {@code
 * opentelemetry.proto.collector.trace.v1. TraceService/Export} goes through the same parsing,
 * mapping, validation, identity checks, dead letters and publisher as OTLP/HTTP {@code POST
 * /v1/traces} ({@link IngestServer#exportTraces}); {@code MetricsService/Export} goes through the
 * same path as OTLP/HTTP {@code POST /v1/metrics} ({@link OtlpMetricsIngest}), or, built without
 * one, is answered with every data point rejected. gzip-compressed messages are accepted.
 *
 * <p>Answers: OK with an empty response when every span was kept; OK with {@code partial_success}
 * (rejected_spans, error_message) when some were kept and some rejected, per the OTLP specification
 * (the client must not retry them); INVALID_ARGUMENT when the message does not parse or every span
 * in it was rejected as invalid (nothing kept, a permanent failure); PERMISSION_DENIED when every
 * rejected span claimed a host, cluster or region the caller's token is not bound to and none was
 * kept; UNAUTHENTICATED without an accepted {@code authorization: Bearer <token>} (when tokens are
 * configured); RESOURCE_EXHAUSTED (grpc-java) for a message over {@code maxMessageBytes},
 * compressed or not; UNAVAILABLE (retryable) when forwarding fails unexpectedly.
 *
 * <p>Runs on grpc-java's Netty transport (grpc-netty, sharing the collector's Netty version) with
 * its own NIO event loops: one boss thread and {@code threads} workers; calls run on a fixed pool
 * of {@code threads} threads, since the publisher may wait briefly for room (back-pressure) and
 * must not block an event loop. Thread-safe.
 */
public final class OtlpGrpcReceiver implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(OtlpGrpcReceiver.class);
  private static final Context.Key<BearerTokens.Binding> BINDING =
      Context.key("infermeter-binding");
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** Largest metadata (headers) of a call. */
  static final int MAX_METADATA_BYTES = 16 * 1024;

  /** Calls in progress at once on one connection; more wait (HTTP/2 flow control). */
  static final int MAX_CONCURRENT_CALLS_PER_CONNECTION = 64;

  static final String METRICS_NOT_SUPPORTED = "metrics ingest not yet supported";

  private final IngestServer ingest;
  private final OtlpMetricsIngest metricsIngest;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final ExecutorService executor;
  private final Server server;

  /**
   * Binds and starts the receiver.
   *
   * @param ingest the HTTP ingest whose OTLP traces path this receiver shares
   * @throws IOException when the address cannot be bound or the TLS files cannot be read
   */
  public OtlpGrpcReceiver(GrpcReceiverSettings settings, IngestServer ingest) throws IOException {
    this(settings, ingest, null);
  }

  /**
   * Binds and starts the receiver, taking metrics through {@code metricsIngest} (null: answered as
   * not supported).
   *
   * @throws IOException when the address cannot be bound or the TLS files cannot be read
   */
  public OtlpGrpcReceiver(
      GrpcReceiverSettings settings, IngestServer ingest, OtlpMetricsIngest metricsIngest)
      throws IOException {
    this.ingest = ingest;
    this.metricsIngest = metricsIngest;
    this.boss = new NioEventLoopGroup(1, new DefaultThreadFactory("infermeter-grpc-boss", true));
    this.workers =
        new NioEventLoopGroup(
            settings.threads(), new DefaultThreadFactory("infermeter-grpc", true));
    this.executor =
        Executors.newFixedThreadPool(
            settings.threads(), new DefaultThreadFactory("infermeter-grpc-call", true));
    Auth auth = new Auth(settings.tokens());
    try {
      NettyServerBuilder b =
          NettyServerBuilder.forAddress(new InetSocketAddress(settings.host(), settings.port()))
              .channelType(NioServerSocketChannel.class)
              .bossEventLoopGroup(boss)
              .workerEventLoopGroup(workers)
              .executor(executor)
              .maxInboundMessageSize((int) settings.maxMessageBytes())
              .maxInboundMetadataSize(MAX_METADATA_BYTES)
              .maxConcurrentCallsPerConnection(MAX_CONCURRENT_CALLS_PER_CONNECTION)
              .addService(ServerInterceptors.intercept(traceService(), auth))
              .addService(ServerInterceptors.intercept(metricsService(), auth));
      if (settings.tls().isPresent()) {
        b.sslContext(sslContext(settings.tls().get()));
      }
      this.server = b.build().start();
    } catch (IOException | RuntimeException e) {
      shutdownThreads();
      throw e;
    }
    LOG.info(
        "OTLP/gRPC listening on {}:{}{}",
        settings.host(),
        port(),
        settings.tls().isPresent() ? " with TLS" : "");
  }

  /** The bound port. */
  public int port() {
    return server.getPort();
  }

  private static io.netty.handler.ssl.SslContext sslContext(HttpServerSettings.Tls tls)
      throws IOException {
    SslContextBuilder b =
        SslContextBuilder.forServer(
            tls.certChain().toFile(), tls.privateKey().toFile(), tls.keyPassword().orElse(null));
    if (tls.clientCa().isPresent()) {
      b.trustManager(tls.clientCa().get().toFile()).clientAuth(ClientAuth.REQUIRE);
    }
    return GrpcSslContexts.configure(b).build();
  }

  private ServerServiceDefinition traceService() {
    MethodDescriptor<Incoming, ExportTraceServiceResponse> export =
        TraceServiceGrpc.getExportMethod().toBuilder(
                RawMessage.INSTANCE,
                ProtoUtils.marshaller(ExportTraceServiceResponse.getDefaultInstance()))
            .build();
    return ServerServiceDefinition.builder(TraceServiceGrpc.SERVICE_NAME)
        .addMethod(export, ServerCalls.asyncUnaryCall(this::exportTraces))
        .build();
  }

  private ServerServiceDefinition metricsService() {
    MethodDescriptor<Incoming, ExportMetricsServiceResponse> export =
        MetricsServiceGrpc.getExportMethod().toBuilder(
                RawMessage.INSTANCE,
                ProtoUtils.marshaller(ExportMetricsServiceResponse.getDefaultInstance()))
            .build();
    return ServerServiceDefinition.builder(MetricsServiceGrpc.SERVICE_NAME)
        .addMethod(export, ServerCalls.asyncUnaryCall(this::exportMetrics))
        .build();
  }

  /**
   * The answer while the collector's spool is full: UNAVAILABLE (retryable, as OTLP/gRPC says) with
   * a {@code google.rpc.RetryInfo} detail asking for {@link IngestServer#RETRY_AFTER_SECONDS} s of
   * patience.
   */
  static io.grpc.StatusRuntimeException spoolFull() {
    return io.grpc.protobuf.StatusProto.toStatusRuntimeException(
        com.google.rpc.Status.newBuilder()
            .setCode(Status.Code.UNAVAILABLE.value())
            .setMessage(IngestServer.SPOOL_FULL_MESSAGE)
            .addDetails(
                com.google.protobuf.Any.pack(
                    com.google.rpc.RetryInfo.newBuilder()
                        .setRetryDelay(
                            com.google.protobuf.Duration.newBuilder()
                                .setSeconds(IngestServer.RETRY_AFTER_SECONDS))
                        .build()))
            .build());
  }

  private void exportTraces(Incoming in, StreamObserver<ExportTraceServiceResponse> out) {
    if (in.failure() != null) {
      out.onError(in.failure().asRuntimeException());
      return;
    }
    if (ingest.refusing()) {
      out.onError(spoolFull());
      return;
    }
    byte[] message = in.bytes();
    IngestServer.TracesOutcome r;
    try {
      r =
          ingest.exportTraces(
              message, message.length, false, BINDING.get(), "grpc TraceService/Export");
    } catch (RuntimeException e) {
      LOG.warn("OTLP/gRPC export failed", e);
      out.onError(
          Status.UNAVAILABLE
              .withDescription("the collector cannot take the spans now: " + e)
              .asRuntimeException());
      return;
    }
    if (r.unusable() != null) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(r.unusable()).asRuntimeException());
      return;
    }
    IngestServer.Result res = r.result();
    if (res.rejected() > 0 && res.accepted() == 0) {
      out.onError(
          (res.forbidden() == res.rejected() ? Status.PERMISSION_DENIED : Status.INVALID_ARGUMENT)
              .withDescription(OtlpResponses.summary(res))
              .asRuntimeException());
      return;
    }
    out.onNext(OtlpResponses.traces(res));
    out.onCompleted();
  }

  private void exportMetrics(Incoming in, StreamObserver<ExportMetricsServiceResponse> out) {
    if (in.failure() != null) {
      out.onError(in.failure().asRuntimeException());
      return;
    }
    if (metricsIngest != null) {
      metricsIngest.exportGrpc(in.bytes(), out);
      return;
    }
    ExportMetricsServiceRequest req;
    try {
      req = ExportMetricsServiceRequest.parseFrom(in.bytes());
    } catch (IOException e) {
      out.onError(
          Status.INVALID_ARGUMENT
              .withDescription("malformed: not an ExportMetricsServiceRequest: " + e.getMessage())
              .asRuntimeException());
      return;
    }
    long points = dataPoints(req);
    ExportMetricsServiceResponse.Builder resp = ExportMetricsServiceResponse.newBuilder();
    if (points > 0) {
      resp.setPartialSuccess(
          ExportMetricsPartialSuccess.newBuilder()
              .setRejectedDataPoints(points)
              .setErrorMessage(METRICS_NOT_SUPPORTED));
    }
    out.onNext(resp.build());
    out.onCompleted();
  }

  /** Data points of every metric in the request (each kind's points). */
  static long dataPoints(ExportMetricsServiceRequest req) {
    long n = 0;
    for (ResourceMetrics rm : req.getResourceMetricsList()) {
      for (ScopeMetrics sm : rm.getScopeMetricsList()) {
        for (Metric m : sm.getMetricsList()) {
          n +=
              switch (m.getDataCase()) {
                case GAUGE -> m.getGauge().getDataPointsCount();
                case SUM -> m.getSum().getDataPointsCount();
                case HISTOGRAM -> m.getHistogram().getDataPointsCount();
                case EXPONENTIAL_HISTOGRAM -> m.getExponentialHistogram().getDataPointsCount();
                case SUMMARY -> m.getSummary().getDataPointsCount();
                case DATA_NOT_SET -> 0;
              };
        }
      }
    }
    return n;
  }

  /**
   * Checks the bearer token and puts its identity binding (null: unrestricted) in the call's
   * context.
   */
  private static final class Auth implements ServerInterceptor {
    private final BearerTokens tokens;

    Auth(BearerTokens tokens) {
      this.tokens = tokens;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      if (!tokens.required()) {
        return next.startCall(call, headers);
      }
      BearerTokens.Binding b = tokens.match(headers.get(AUTHORIZATION));
      if (b == null) {
        call.close(
            Status.UNAUTHENTICATED.withDescription(
                "missing or wrong bearer token: send the metadata "
                    + "'authorization: Bearer <token>' with one of the collector's tokens"),
            new Metadata());
        return new ServerCall.Listener<>() {};
      }
      return Contexts.interceptCall(
          Context.current().withValue(BINDING, b.unrestricted() ? null : b), call, headers, next);
    }
  }

  /** A request message as its bytes, or why it could not be read (then bytes is null). */
  record Incoming(byte[] bytes, Status failure) {}

  /**
   * Reads a request message as its bytes, parsed by the handler, so a message that does not parse
   * is answered INVALID_ARGUMENT and kept as a dead letter. grpc-java checks a plain message's size
   * before this reads and a compressed one's while this reads it: that failure (RESOURCE_EXHAUSTED)
   * is handed to the handler, which answers with it, since a marshaller's exception would reach the
   * client as UNKNOWN.
   */
  private enum RawMessage implements MethodDescriptor.Marshaller<Incoming> {
    INSTANCE;

    @Override
    public InputStream stream(Incoming value) {
      return new ByteArrayInputStream(value.bytes());
    }

    @Override
    public Incoming parse(InputStream stream) {
      try {
        return new Incoming(stream.readAllBytes(), null);
      } catch (StatusRuntimeException e) {
        return new Incoming(null, e.getStatus());
      } catch (IOException e) {
        return new Incoming(
            null, Status.INVALID_ARGUMENT.withDescription("cannot read the message: " + e));
      }
    }
  }

  private void shutdownThreads() {
    executor.shutdownNow();
    // not awaited: the event loops end on their own (daemon threads) within the 1 s timeout
    Future<?> unusedBoss = boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    Future<?> unusedWorkers = workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  /**
   * Stops accepting calls, lets calls in progress finish for up to 5 s, then releases the threads.
   */
  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
    shutdownThreads();
  }
}
