/**
 * Getting events to Kafka whatever Kafka and the registry do: the publisher (schema ids resolved off the ingest path,
 * Confluent wire format), the on-disk spool that holds records through an outage, and the Avro binary helpers.
 */
package io.infermeter.collector.delivery;
