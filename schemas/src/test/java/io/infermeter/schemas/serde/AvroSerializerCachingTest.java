package io.infermeter.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.SampleRecords;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/** Unit tests of the serializer's per-topic id slot and per-thread buffer reuse. */
class AvroSerializerCachingTest {

  /** Counts registry calls; can be switched to fail like an unreachable registry. */
  private static final class CountingRegistry implements SchemaRegistryClient {
    final InMemorySchemaRegistryClient delegate = new InMemorySchemaRegistryClient();
    final AtomicInteger calls = new AtomicInteger();
    final AtomicBoolean down = new AtomicBoolean();

    @Override
    public int register(String subject, Schema schema) {
      calls.incrementAndGet();
      if (down.get()) {
        throw new SchemaRegistryException("registry unreachable (test)", 0, 0, true, null);
      }
      return delegate.register(subject, schema);
    }

    @Override
    public int lookup(String subject, Schema schema) {
      calls.incrementAndGet();
      return delegate.lookup(subject, schema);
    }

    @Override
    public Schema byId(int id) {
      return delegate.byId(id);
    }
  }

  private final CountingRegistry registry = new CountingRegistry();
  private final AvroSerdeConfig config =
      AvroSerdeConfig.from(Map.of("schema.registry.url", "http://in-memory.invalid"));

  @Test
  void asksTheRegistryOncePerTopicAndSchema() {
    AvroSerializer<SpecificRecord> serializer = new AvroSerializer<>(registry, config, false);
    for (int i = 0; i < 1000; i++) {
      serializer.serialize("a", SampleRecords.requestEvent());
      serializer.serialize("b", SampleRecords.hardwareSample());
    }
    assertThat(registry.calls.get()).isEqualTo(2);
  }

  @Test
  void aReusedBufferNeverLeaksBytesOfALongerRecordIntoTheNextOne() {
    AvroSerializer<RequestEvent> serializer = new AvroSerializer<>(registry, config, false);
    AvroDeserializer<RequestEvent> deserializer =
        new AvroDeserializer<>(RequestEvent.class, registry);
    RequestEvent big = SampleRecords.requestEvent();
    for (int i = 0; i < 50; i++) {
      big.getAttributes().put("key-" + i, "value-" + "x".repeat(i));
    }
    RequestEvent small = SampleRecords.requestEvent();
    byte[] first = serializer.serialize("t", big);
    byte[] second = serializer.serialize("t", small);
    assertThat(second.length).isLessThan(first.length);
    assertThat(deserializer.deserialize("t", second)).isEqualTo(small);
    assertThat(deserializer.deserialize("t", first)).isEqualTo(big);
  }

  @Test
  void aRegistryFailurePropagatesAndIsNotCached() {
    AvroSerializer<RequestEvent> serializer = new AvroSerializer<>(registry, config, false);
    registry.down.set(true);
    assertThatThrownBy(() -> serializer.serialize("t", SampleRecords.requestEvent()))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class, e -> assertThat(e.isRetryable()).isTrue());
    registry.down.set(false);
    assertThat(serializer.serialize("t", SampleRecords.requestEvent())).isNotEmpty();
  }
}
