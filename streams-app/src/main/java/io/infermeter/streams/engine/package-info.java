/**
 * Serving-engine state (vLLM, SGLang, TGI, Triton, NIM: KV-cache usage, requests waiting and
 * running, preemptions) from the {@code infermeter-engine-state} topic: validation, per-instance
 * window accumulators, the last sample of each instance, and the signals the energy task derives
 * from them for the memory-pressure alert and the bottleneck classifier (KV-cache coverage of a
 * GPU, queue growth). No Kafka state here: the energy task owns the stores.
 */
package io.infermeter.streams.engine;
