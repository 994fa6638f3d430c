/**
 * Classifies a host window's bottleneck (KV-cache bound, compute, memory, CPU bound, queue growing,
 * queue, I/O bound, idle or balanced) from its GPU, memory-bandwidth, CPU, queue-share and PCIe
 * inputs and its serving engines' state.
 */
package io.infermeter.streams.bottleneck;
