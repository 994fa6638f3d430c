/**
 * Getting events to Kafka whatever Kafka and the registry do: the publisher (schema ids resolved
 * off the ingest path, Confluent wire format), the on-disk spool that holds records through an
 * outage, the Avro binary helpers, and the redaction of what a dead letter may carry before it is
 * published.
 */
package io.infermeter.collector.delivery;
