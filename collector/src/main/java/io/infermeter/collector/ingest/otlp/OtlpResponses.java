package io.infermeter.collector.ingest.otlp;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import com.google.rpc.Status;
import io.infermeter.collector.ingest.IngestServer.Result;
import io.infermeter.collector.ingest.http.NettyHttpServer.Response;
import io.opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import java.nio.charset.StandardCharsets;

/**
 * OTLP answers shared by OTLP/HTTP and OTLP/gRPC, as the OTLP specification ("Partial Success",
 * "Failures") says: an ExportTraceServiceResponse, with {@code partial_success} when some spans
 * were rejected, and a {@code google.rpc.Status} body for a failed request, each in the request's
 * encoding (protobuf, or OTLP JSON with lowerCamelCase field names). Stateless; thread-safe.
 */
public final class OtlpResponses {

  private static final JsonFormat.Printer JSON =
      JsonFormat.printer().omittingInsignificantWhitespace();

  private OtlpResponses() {}

  /**
   * One line: how many spans were rejected of how many, and the first reasons (at most
   * IngestServer's limit).
   */
  public static String summary(Result r) {
    StringBuilder sb = new StringBuilder();
    sb.append("rejected ")
        .append(r.rejected())
        .append(" of ")
        .append(r.accepted() + r.rejected())
        .append(" spans (the ")
        .append(r.accepted())
        .append(" valid ones were accepted): ");
    sb.append(String.join("; ", r.messages()));
    if (r.rejected() > r.messages().size()) {
      sb.append("; ... and ").append(r.rejected() - r.messages().size()).append(" more");
    }
    return sb.toString();
  }

  /**
   * The response to an ingested batch: empty when nothing was rejected, else with partial_success.
   */
  public static ExportTraceServiceResponse traces(Result r) {
    if (r.rejected() == 0) {
      return ExportTraceServiceResponse.getDefaultInstance();
    }
    return ExportTraceServiceResponse.newBuilder()
        .setPartialSuccess(
            ExportTracePartialSuccess.newBuilder()
                .setRejectedSpans(r.rejected())
                .setErrorMessage(summary(r)))
        .build();
  }

  /** {@link #traces(Result)} as an OTLP/HTTP 200 response in the request's encoding. */
  public static Response traces(boolean json, Result r) {
    return message(200, json, traces(r));
  }

  /** A google.rpc.Status body ({@code code}: a gRPC status code) with the given HTTP status. */
  public static Response status(int httpStatus, boolean json, int code, String message) {
    return message(httpStatus, json, Status.newBuilder().setCode(code).setMessage(message).build());
  }

  private static Response message(int httpStatus, boolean json, Message m) {
    if (!json) {
      return new Response(httpStatus, "application/x-protobuf", m.toByteArray());
    }
    try {
      return new Response(
          httpStatus, "application/json", JSON.print(m).getBytes(StandardCharsets.UTF_8));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(
          "cannot print a " + m.getDescriptorForType().getFullName(), e); // not for these
    }
  }
}
