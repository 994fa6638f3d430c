/**
 * Classifies a host window's bottleneck (compute, memory, CPU, queue, I/O bound, idle or balanced) from its GPU, memory-bandwidth, CPU, queue-share and PCIe inputs.
 */
package io.infermeter.streams.bottleneck;
