/**
 * State store infrastructure: the write-behind object store and its builder (the one adapter to
 * Kafka Streams internals), the dedup store, and the versioned binary codec used by every persisted
 * format.
 */
package io.infermeter.streams.state;
