package io.infermeter.streams.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.streams.support.StreamsCounters;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

/**
 * An object the write-behind store cannot encode at commit (the path where a 64 KiB string used to
 * fail, outside any record, replacing the stream thread on every commit): it is dropped and
 * counted, the commit and every other entry go on.
 */
class ObjectStoreFlushFailureTest {

  private static final String STORE = "objects";

  /** Keeps each value under its key and forwards what the store holds for it. */
  static final class Keep implements Processor<String, String, String, String> {
    private ObjectStore<String> store;
    private ProcessorContext<String, String> context;

    @Override
    public void init(ProcessorContext<String, String> context) {
      this.context = context;
      store = context.getStateStore(STORE);
    }

    @Override
    public void process(Record<String, String> r) {
      Bytes k = Bytes.wrap(r.key().getBytes(StandardCharsets.UTF_8));
      store.put(k, r.value());
      context.forward(r.withValue(String.valueOf(store.get(k))));
    }
  }

  @Test
  void anUnencodableEntryIsDroppedAtFlushAndTheCommitGoesOn() throws Exception {
    StreamsCounters counters = new StreamsCounters();
    Topology t = new Topology();
    t.addSource("in", Serdes.String().deserializer(), Serdes.String().deserializer(), "in");
    t.addProcessor("keep", Keep::new, "in");
    t.addStateStore(
        ObjectStore.<String>builder(
            STORE,
            false,
            v -> {
              if (v.startsWith("poison")) {
                throw new IllegalStateException("cannot encode " + v.length() + " chars");
              }
              return v.getBytes(StandardCharsets.UTF_8);
            },
            b -> new String(b, StandardCharsets.UTF_8),
            counters),
        "keep");
    t.addSink("out", "out", Serdes.String().serializer(), Serdes.String().serializer(), "keep");
    Properties p = new Properties();
    p.put("application.id", "object-store-flush");
    p.put("bootstrap.servers", "unused:9092");
    p.put("state.dir", Files.createTempDirectory("object-store-flush").toString());
    try (TopologyTestDriver driver = new TopologyTestDriver(t, p)) {
      TestInputTopic<String, String> in =
          driver.createInputTopic("in", Serdes.String().serializer(), Serdes.String().serializer());
      TestOutputTopic<String, String> out =
          driver.createOutputTopic(
              "out", Serdes.String().deserializer(), Serdes.String().deserializer());
      in.pipeInput("a", "good-1");
      in.pipeInput("b", "poison-" + "x".repeat(65_536));
      in.pipeInput("c", "good-2");
      assertThat(counters.stateEncodeFailures.sum()).isEqualTo(1);
      @SuppressWarnings("unchecked")
      ObjectStore<String> store = (ObjectStore<String>) driver.getStateStore(STORE);
      Bytes b = Bytes.wrap("b".getBytes(StandardCharsets.UTF_8));
      assertThat(store.get(b)).isNull(); // dropped from memory and from the inner store
      assertThat(store.get(Bytes.wrap("c".getBytes(StandardCharsets.UTF_8)))).isEqualTo("good-2");
      in.pipeInput("b", "good-3"); // the dropped key can be written again
      assertThat(out.readValuesToList()).hasSize(4).endsWith("good-2", "good-3");
      assertThat(store.get(b)).isEqualTo("good-3");
      assertThat(counters.stateEncodeFailures.sum()).isEqualTo(1);
    }
  }
}
