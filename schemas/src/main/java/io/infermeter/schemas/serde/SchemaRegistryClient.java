package io.infermeter.schemas.serde;

import org.apache.avro.Schema;

/**
 * The part of the Confluent Schema Registry REST API the serde needs. Implementations cache ids and
 * schemas both ways and are thread-safe. Errors are {@link SchemaRegistryException}s that say
 * whether a retry makes sense.
 */
public interface SchemaRegistryClient {

  /** Registers {@code schema} under {@code subject} (idempotent) and returns its global id. */
  int register(String subject, Schema schema);

  /**
   * The id of {@code schema} if it is already registered under {@code subject}, without registering
   * it.
   */
  int lookup(String subject, Schema schema);

  /** The schema with global id {@code id}. */
  Schema byId(int id);
}
