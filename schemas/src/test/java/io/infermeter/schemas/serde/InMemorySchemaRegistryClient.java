package io.infermeter.schemas.serde;

import java.util.HashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaValidationException;
import org.apache.avro.SchemaValidatorBuilder;

/**
 * An in-memory fake of the registry for unit tests (TopologyTestDriver, serde round trips).
 * Enforces BACKWARD compatibility per subject like the registries' default, so incompatibility
 * paths can be unit tested too. Thread-safe (synchronized). Not for integration tests: those use a
 * real registry.
 */
public final class InMemorySchemaRegistryClient implements SchemaRegistryClient {

  private final Map<String, Map<Schema, Integer>> subjects = new HashMap<>();
  private final Map<Integer, Schema> byId = new HashMap<>();
  private final Map<Schema, Integer> globalIds = new HashMap<>();
  private int nextId = 1;

  @Override
  public synchronized int register(String subject, Schema schema) {
    Map<Schema, Integer> versions = subjects.computeIfAbsent(subject, s -> new HashMap<>());
    Integer existing = versions.get(schema);
    if (existing != null) {
      return existing;
    }
    try {
      new SchemaValidatorBuilder()
          .canReadStrategy()
          .validateLatest()
          .validate(schema, versions.keySet());
    } catch (SchemaValidationException e) {
      throw new SchemaRegistryException(
          "incompatible schema for subject '" + subject + "': " + e.getMessage(),
          409,
          409,
          false,
          e);
    }
    int id = globalIds.computeIfAbsent(schema, s -> nextId++);
    byId.put(id, schema);
    versions.put(schema, id);
    return id;
  }

  @Override
  public synchronized int lookup(String subject, Schema schema) {
    Integer id = subjects.getOrDefault(subject, Map.of()).get(schema);
    if (id == null) {
      throw new SchemaRegistryException(
          "schema not registered under '" + subject + "'", 404, 40403, false, null);
    }
    return id;
  }

  @Override
  public synchronized Schema byId(int id) {
    Schema schema = byId.get(id);
    if (schema == null) {
      throw new SchemaRegistryException("schema id " + id + " not found", 404, 40403, false, null);
    }
    return schema;
  }
}
