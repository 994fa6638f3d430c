package io.infermeter.bench.streams;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StageBreakdownTest {

  private static final String SP = "org.apache.kafka.streams.processor.internals.";

  @Test
  void jdkFramesGoToTheNamedCaller() {
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "java.lang.String.hashCode",
                    "java.util.HashMap.get",
                    "io.infermeter.streams.windows.RequestWindowProcessor.process",
                    SP + "ProcessorNode.process")))
        .isEqualTo("window bookkeeping");
  }

  @Test
  void theTopmostNamedFrameDecides() {
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "io.infermeter.streams.state.LongHashSet.add",
                    "io.infermeter.streams.state.DedupStore.firstSighting",
                    "io.infermeter.streams.windows.RequestWindowProcessor.process")))
        .isEqualTo("dedup");
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "io.infermeter.streams.latency.SparseHistogram.record",
                    "io.infermeter.streams.latency.LatencyAccumulator.record",
                    "io.infermeter.streams.windows.RequestAccumulator.add")))
        .isEqualTo("histograms");
  }

  @Test
  void avroDecodingAndEncodingAreTellApartByTheirCaller() {
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "org.apache.avro.util.Utf8.toString",
                    "org.apache.avro.generic.GenericData.createString",
                    "io.infermeter.schemas.serde.AvroDeserializer.deserialize",
                    SP + "SourceNode.deserializeValue")))
        .isEqualTo("decode");
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "org.apache.avro.specific.SpecificData.getField",
                    "org.apache.avro.generic.GenericDatumWriter.writeRecord",
                    "io.infermeter.schemas.serde.AvroSerializer.serialize",
                    SP + "RecordCollectorImpl.send")))
        .isEqualTo("produce/repartition");
  }

  @Test
  void codecsAreStateNotWindowBookkeeping() {
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "io.infermeter.streams.state.ByteArrayDataOutput.writeLong",
                    "io.infermeter.streams.windows.RequestAccumulatorCodec.write",
                    "io.infermeter.streams.state.WriteBehindStore.flush",
                    SP + "StreamTask.prepareCommit")))
        .isEqualTo("state stores + codecs");
    assertThat(
            StageBreakdown.classify(
                List.of("org.rocksdb.RocksDB.put", SP + "ProcessorStateManager.flush")))
        .isEqualTo("state stores + codecs");
  }

  @Test
  void commitMethodsBeforeTheFrameworkAndTheProducer() {
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "org.apache.kafka.clients.producer.internals.TransactionManager.beginCommit",
                    "org.apache.kafka.clients.producer.KafkaProducer.commitTransaction",
                    SP + "StreamsProducer.commitTransaction")))
        .isEqualTo("commit/transactions");
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "java.util.HashMap.put",
                    SP + "StreamTask.postCommit",
                    SP + "TaskManager.commit",
                    SP + "StreamThread.runOnceWithoutProcessingThreads")))
        .isEqualTo("commit/transactions");
    // a record produced during a commit is producing
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "org.apache.kafka.clients.producer.KafkaProducer.doSend",
                    SP + "RecordCollectorImpl.send",
                    SP + "StreamTask.prepareCommit")))
        .isEqualTo("produce/repartition");
  }

  @Test
  void consumingAndTheFramework() {
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "org.apache.kafka.common.network.Selector.poll",
                    "org.apache.kafka.clients.NetworkClient.poll",
                    "org.apache.kafka.clients.consumer.internals.ClassicKafkaConsumer.poll",
                    SP + "StreamThread.pollRequests")))
        .isEqualTo("consume/poll");
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "java.util.ArrayDeque.poll",
                    SP + "PartitionGroup.nextRecord",
                    SP + "StreamTask.process")))
        .isEqualTo("Kafka Streams framework");
  }

  @Test
  void streamThreadsButNotTheirProducersNetworkThreads() {
    String part = StageBreakdown.STREAM_THREAD;
    assertThat(StageBreakdown.isStreamThread("bench-1-app-5f3a-StreamThread-1", part)).isTrue();
    assertThat(StageBreakdown.isStreamThread("bench-1-app-5f3a-StreamThread-12", part)).isTrue();
    assertThat(
            StageBreakdown.isStreamThread(
                "kafka-producer-network-thread | bench-1-app-5f3a-StreamThread-1-producer", part))
        .isFalse();
    assertThat(StageBreakdown.isStreamThread("main", part)).isFalse();
    assertThat(StageBreakdown.isStreamThread(null, part)).isFalse();
  }

  @Test
  void sensorsAreMetricsWhereverTheyAreRecorded() {
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "org.apache.kafka.common.metrics.Sensor.recordInternal",
                    "org.apache.kafka.common.metrics.Sensor.record",
                    "org.apache.kafka.clients.consumer.internals.FetchMetricsManager.recordFetch",
                    "org.apache.kafka.clients.consumer.internals.ClassicKafkaConsumer.poll")))
        .isEqualTo("Kafka metrics");
    assertThat(
            StageBreakdown.classify(
                List.of(
                    "java.util.HashMap.get",
                    SP + "StreamTask.maybeRecordE2ELatency",
                    SP + "StreamTask.doProcess")))
        .isEqualTo("Kafka metrics");
  }

  @Test
  void theEntryIsTheBottomMostInfermeterFrame() {
    assertThat(
            StageBreakdown.entry(
                List.of(
                    "io.infermeter.streams.latency.SparseHistogram.merge",
                    "io.infermeter.streams.windows.FleetRollupProcessor.process",
                    SP + "ProcessorNode.process")))
        .isEqualTo("io.infermeter.streams.windows.FleetRollupProcessor.process");
    assertThat(StageBreakdown.entry(List.of(SP + "StreamTask.process"))).isNull();
  }

  @Test
  void unnamedStacksAreOther() {
    assertThat(StageBreakdown.classify(List.of("java.lang.Thread.run"))).isEqualTo("other");
    assertThat(StageBreakdown.classify(List.of())).isEqualTo("other");
  }

  @Test
  void everyStageIsListedOnceWithOtherLast() {
    List<String> stages = StageBreakdown.stages();
    assertThat(stages).doesNotHaveDuplicates().last().isEqualTo("other");
    assertThat(stages)
        .contains(
            "decode",
            "dedup",
            "histograms",
            "window bookkeeping",
            "state stores + codecs",
            "produce/repartition",
            "consume/poll",
            "commit/transactions",
            "Kafka Streams framework");
  }
}
