/**
 * OTLP spans to request events: the span mapper (vLLM, SGLang, TGI, Triton shapes, GenAI semantic
 * conventions), engine-specific helpers (TGI duration strings, Triton span events, finish reasons)
 * and the OTLP responses ({@code partial_success}, {@code google.rpc.Status}) shared by both
 * transports.
 */
package io.infermeter.collector.ingest.otlp;
