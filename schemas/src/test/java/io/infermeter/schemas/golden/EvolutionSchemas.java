package io.infermeter.schemas.golden;

import io.infermeter.avro.RequestEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;

/**
 * Test-only successors of today's RequestEvent ({@code src/test/resources/evolution}): {@code v2}
 * adds {@code priority} (["null","int"], default null) and {@code tenant} (string, default "") and
 * appends the enum symbol {@code REJECTED} to RequestStatus; {@code v2-incompatible} adds {@code
 * tenant} without a default.
 */
public final class EvolutionSchemas {

  private EvolutionSchemas() {}

  public static Schema v2() {
    return load("/evolution/RequestEvent-v2.avsc");
  }

  public static Schema v2Incompatible() {
    return load("/evolution/RequestEvent-v2-incompatible.avsc");
  }

  private static Schema load(String resource) {
    try (InputStream in = EvolutionSchemas.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + resource);
      }
      return new Schema.Parser().parse(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code event} as a v2 generic record with the new fields set and {@code status} as given. */
  public static GenericRecord asV2(
      RequestEvent event, Integer priority, String tenant, String status) {
    Schema v2 = v2();
    GenericRecordBuilder b = new GenericRecordBuilder(v2);
    for (Schema.Field f : RequestEvent.getClassSchema().getFields()) {
      b.set(f.name(), event.get(f.pos()));
    }
    b.set("status", new GenericData.EnumSymbol(v2.getField("status").schema(), status));
    b.set("priority", priority);
    b.set("tenant", tenant);
    return b.build();
  }
}
