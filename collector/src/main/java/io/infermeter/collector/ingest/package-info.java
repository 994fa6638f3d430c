/**
 * The collector's door for request telemetry: the HTTP ingest server (JSON lines, OTLP/HTTP), the
 * JSON-lines scanner and its direct Avro encoder, validation, event defaults and event identity
 * ({@link io.infermeter.collector.ingest.Ids}). Transports live in {@code http} and {@code grpc},
 * OTLP span mapping in {@code otlp}, OTLP metrics in {@code otlpmetrics}.
 */
package io.infermeter.collector.ingest;
