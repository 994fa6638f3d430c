package io.infermeter.streams;

import io.infermeter.avro.Alert;
import io.infermeter.avro.Bottleneck;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.PriceUpdate;
import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.Topics;
import io.infermeter.streams.energy.CarbonHistory;
import io.infermeter.streams.energy.EnergyInput;
import io.infermeter.streams.energy.EnergyProcessor;
import io.infermeter.streams.energy.HardwareChecks;
import io.infermeter.streams.engine.EngineChecks;
import io.infermeter.streams.support.StreamsCounters;
import io.infermeter.streams.support.ValidatingProcessor;
import io.infermeter.streams.windows.AccumulatorSerde;
import io.infermeter.streams.windows.FleetRollupProcessor;
import io.infermeter.streams.windows.RequestAccumulator;
import io.infermeter.streams.windows.RequestWindowProcessor;
import java.time.Clock;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Builds the infermeter topology from settings and serdes. Five sub-topologies:
 *
 * <ol>
 *   <li>requests (keyed by host): de-duplicate, window per host key, emit aggregates, fleet
 *       partials, host usage and request alerts;
 *   <li>fleet rollup per (model, version) over the named repartition topic {@code fleet-partials};
 *   <li>hardware samples: validate, re-key by host into the named repartition topic {@code
 *       hardware-by-host};
 *   <li>serving-engine samples: validate, re-key by host into the named repartition topic {@code
 *       engine-by-host};
 *   <li>energy per host over the named repartition topics {@code energy-input} (request usage per
 *       window), {@code hardware-by-host} and {@code engine-by-host}, merged: energy, cost, carbon,
 *       attribution, bottlenecks, hardware (memory pressure from KV-cache usage where an engine
 *       reports it) and host-silence alerts.
 * </ol>
 *
 * Every source, processor, branch, sink, store and repartition topic is named. Tests call this same
 * method.
 */
public final class InfermeterTopology {

  private InfermeterTopology() {}

  public static Topology build(
      StreamsSettings s, TopologySerdes serdes, StreamsCounters counters, Clock clock) {
    StreamsBuilder b = new StreamsBuilder();
    String prefix = s.topicPrefix();
    String requestsTopic = Topics.REQUESTS.withPrefix(prefix).name();
    String hardwareTopic = Topics.HARDWARE.withPrefix(prefix).name();
    String engineTopic = Topics.ENGINE_STATE.withPrefix(prefix).name();
    Serde<String> str = Serdes.String();
    boolean persistent = s.persistentStores();

    b.addStateStore(
        TopologyStores.accumulators(RequestWindowProcessor.WINDOW_STORE, persistent, counters));
    b.addStateStore(TopologyStores.longs(RequestWindowProcessor.META_STORE, persistent));
    b.addStateStore(
        TopologyStores.dedup(RequestWindowProcessor.DEDUP_STORE, persistent, s.dedupRetention()));
    b.addStateStore(
        TopologyStores.ruleStates(RequestWindowProcessor.ALERT_STORE, persistent, counters));
    b.addStateStore(
        TopologyStores.accumulators(FleetRollupProcessor.WINDOW_STORE, persistent, counters));
    b.addStateStore(TopologyStores.longs(FleetRollupProcessor.META_STORE, persistent));
    b.addStateStore(
        TopologyStores.ruleStates(FleetRollupProcessor.ALERT_STORE, persistent, counters));
    b.addStateStore(TopologyStores.hostWindows(EnergyProcessor.WINDOW_STORE, persistent, counters));
    b.addStateStore(TopologyStores.longs(EnergyProcessor.META_STORE, persistent));
    b.addStateStore(TopologyStores.bytes(EnergyProcessor.DEVICE_LAST_STORE, persistent));
    b.addStateStore(TopologyStores.bytes(EnergyProcessor.HOST_SEEN_STORE, persistent));
    b.addStateStore(TopologyStores.ruleStates(EnergyProcessor.ALERT_STORE, persistent, counters));
    b.addStateStore(TopologyStores.bytes(EnergyProcessor.ENGINE_LAST_STORE, persistent));
    if (s.priceUpdatesEnabled()) {
      b.globalTable(
          Topics.PRICE_UPDATES.withPrefix(prefix).name(),
          Consumed.with(str, serdes.prices()).withName("price-updates-source"),
          Materialized.<String, PriceUpdate, KeyValueStore<Bytes, byte[]>>as(
                  EnergyProcessor.PRICE_TABLE)
              .withKeySerde(str)
              .withValueSerde(serdes.prices()));
    }
    if (s.carbonUpdatesEnabled()) {
      b.addGlobalStore(
          CarbonHistory.store(),
          Topics.CARBON_INTENSITY.withPrefix(prefix).name(),
          Consumed.with(str, serdes.intensities()).withName("carbon-intensity-source"),
          CarbonHistory.updater(s.carbonHistoryRetention().toMillis() * 1000, counters));
    }

    // 1. requests
    KStream<String, Object> requestOut =
        b.stream(requestsTopic, Consumed.with(str, serdes.requests()).withName("requests-source"))
            .process(
                () ->
                    new RequestWindowProcessor(
                        s, counters, serdes.requests().serializer(), requestsTopic, clock),
                Named.as("request-windows"),
                RequestWindowProcessor.WINDOW_STORE,
                RequestWindowProcessor.META_STORE,
                RequestWindowProcessor.DEDUP_STORE,
                RequestWindowProcessor.ALERT_STORE);
    Map<String, KStream<String, Object>> req =
        requestOut
            .split(Named.as("request-out-"))
            .branch((k, v) -> v instanceof WindowAggregate, Branched.as("aggregates"))
            .branch((k, v) -> v instanceof RequestAccumulator, Branched.as("partials"))
            .branch((k, v) -> v instanceof EnergyInput, Branched.as("usage"))
            .branch((k, v) -> v instanceof Alert, Branched.as("alerts"))
            .branch((k, v) -> v instanceof DeadLetter, Branched.as("dead-letters"))
            .noDefaultBranch();
    sinkCommon(req, "request-out-", "request", s, serdes);

    // 2. fleet rollups
    KStream<String, Object> fleetOut =
        req.get("request-out-partials")
            .mapValues(v -> (RequestAccumulator) v, Named.as("fleet-partials-cast"))
            .repartition(
                Repartitioned.with(str, AccumulatorSerde.compressed()).withName("fleet-partials"))
            .process(
                () -> new FleetRollupProcessor(s, counters, clock),
                Named.as("fleet-windows"),
                FleetRollupProcessor.WINDOW_STORE,
                FleetRollupProcessor.META_STORE,
                FleetRollupProcessor.ALERT_STORE);
    Map<String, KStream<String, Object>> fleet =
        fleetOut
            .split(Named.as("fleet-out-"))
            .branch((k, v) -> v instanceof WindowAggregate, Branched.as("aggregates"))
            .branch((k, v) -> v instanceof Alert, Branched.as("alerts"))
            .branch((k, v) -> v instanceof DeadLetter, Branched.as("dead-letters"))
            .noDefaultBranch();
    sinkCommon(fleet, "fleet-out-", "fleet", s, serdes);

    // 3. energy per host
    KStream<String, Object> hwOut =
        b.stream(hardwareTopic, Consumed.with(str, serdes.hardware()).withName("hardware-source"))
            .process(
                () ->
                    new ValidatingProcessor<>(
                        new HardwareChecks(),
                        counters,
                        StreamsLimits.of(s),
                        serdes.hardware().serializer(),
                        hardwareTopic,
                        clock),
                Named.as("hardware-validate"));
    Map<String, KStream<String, Object>> hw =
        hwOut
            .split(Named.as("hardware-out-"))
            .branch((k, v) -> v instanceof EnergyInput, Branched.as("samples"))
            .branch((k, v) -> v instanceof DeadLetter, Branched.as("dead-letters"))
            .noDefaultBranch();
    sinkCommon(hw, "hardware-out-", "hardware", s, serdes);
    KStream<String, EnergyInput> samples =
        hw.get("hardware-out-samples")
            .mapValues(v -> (EnergyInput) v, Named.as("hardware-samples-cast"));
    // Samples and usage are repartitioned separately and merged downstream: merging them before one
    // repartition would
    // put the hardware topic's partitions into the request tasks, which then wait on (and check,
    // per record) a mostly
    // empty partition next to the busy request partition.
    KStream<String, EnergyInput> samplesByHost =
        samples.repartition(
            Repartitioned.with(str, EnergyInput.serde()).withName("hardware-by-host"));
    // Serving-engine state: validated, then re-keyed by host into its own repartition topic like
    // the hardware samples.
    KStream<String, Object> engineOut =
        b.stream(engineTopic, Consumed.with(str, serdes.engine()).withName("engine-source"))
            .process(
                () ->
                    new ValidatingProcessor<>(
                        new EngineChecks(),
                        counters,
                        StreamsLimits.of(s),
                        serdes.engine().serializer(),
                        engineTopic,
                        clock),
                Named.as("engine-validate"));
    Map<String, KStream<String, Object>> eng =
        engineOut
            .split(Named.as("engine-out-"))
            .branch((k, v) -> v instanceof EngineSample, Branched.as("samples"))
            .branch((k, v) -> v instanceof DeadLetter, Branched.as("dead-letters"))
            .noDefaultBranch();
    sinkCommon(eng, "engine-out-", "engine", s, serdes);
    KStream<String, EnergyInput> engineByHost =
        eng.get("engine-out-samples")
            .mapValues(v -> EnergyInput.ofEngine((EngineSample) v), Named.as("engine-samples-cast"))
            .repartition(Repartitioned.with(str, EnergyInput.serde()).withName("engine-by-host"));
    KStream<String, Object> energyOut =
        req.get("request-out-usage")
            .mapValues(v -> (EnergyInput) v, Named.as("request-usage-cast"))
            .repartition(Repartitioned.with(str, EnergyInput.serde()).withName("energy-input"))
            .merge(samplesByHost, Named.as("energy-merge"))
            .merge(engineByHost, Named.as("energy-merge-engine"))
            .process(
                () -> new EnergyProcessor(s, counters, clock),
                Named.as("energy-windows"),
                EnergyProcessor.WINDOW_STORE,
                EnergyProcessor.META_STORE,
                EnergyProcessor.DEVICE_LAST_STORE,
                EnergyProcessor.HOST_SEEN_STORE,
                EnergyProcessor.ALERT_STORE,
                EnergyProcessor.ENGINE_LAST_STORE);
    Map<String, KStream<String, Object>> energy =
        energyOut
            .split(Named.as("energy-out-"))
            .branch((k, v) -> v instanceof DeviceWindowEnergy, Branched.as("energy"))
            .branch((k, v) -> v instanceof Bottleneck, Branched.as("bottlenecks"))
            .branch((k, v) -> v instanceof Alert, Branched.as("alerts"))
            .branch((k, v) -> v instanceof DeadLetter, Branched.as("dead-letters"))
            .noDefaultBranch();
    sinkCommon(energy, "energy-out-", "energy", s, serdes);
    energy
        .get("energy-out-energy")
        .mapValues(v -> (DeviceWindowEnergy) v, Named.as("energy-cast"))
        .to(
            Topics.ENERGY.withPrefix(prefix).name(),
            Produced.with(str, serdes.energy()).withName("energy-sink"));
    energy
        .get("energy-out-bottlenecks")
        .mapValues(v -> (Bottleneck) v, Named.as("bottlenecks-cast"))
        .to(
            Topics.BOTTLENECKS.withPrefix(prefix).name(),
            Produced.with(str, serdes.bottlenecks()).withName("bottlenecks-sink"));
    return b.build();
  }

  /** Sinks of the branches every sub-topology may have: aggregates, alerts, dead letters. */
  private static void sinkCommon(
      Map<String, KStream<String, Object>> branches,
      String branchPrefix,
      String name,
      StreamsSettings s,
      TopologySerdes serdes) {
    Serde<String> str = Serdes.String();
    KStream<String, Object> aggs = branches.get(branchPrefix + "aggregates");
    if (aggs != null) {
      aggs.mapValues(v -> (WindowAggregate) v, Named.as(name + "-aggregates-cast"))
          .to(
              Topics.WINDOW_AGGREGATES.withPrefix(s.topicPrefix()).name(),
              Produced.with(str, serdes.aggregates()).withName(name + "-aggregates-sink"));
    }
    KStream<String, Object> alerts = branches.get(branchPrefix + "alerts");
    if (alerts != null) {
      alerts
          .mapValues(v -> (Alert) v, Named.as(name + "-alerts-cast"))
          .to(
              Topics.ALERTS.withPrefix(s.topicPrefix()).name(),
              Produced.with(str, serdes.alerts()).withName(name + "-alerts-sink"));
    }
    KStream<String, Object> dead = branches.get(branchPrefix + "dead-letters");
    if (dead != null) {
      dead.mapValues(v -> (DeadLetter) v, Named.as(name + "-dead-letters-cast"))
          .to(
              Topics.DEAD_LETTERS.withPrefix(s.topicPrefix()).name(),
              Produced.with(str, serdes.deadLetters()).withName(name + "-dead-letters-sink"));
    }
  }

  /**
   * Kafka Streams properties for this topology: {@link StreamsSettings#streamsProperties()} plus
   * the three exception handlers and the object they need.
   */
  public static Properties streamsProperties(
      StreamsSettings s, TopologySerdes serdes, StreamsCounters counters, Clock clock) {
    Properties p = s.streamsProperties();
    p.put(
        StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterHandlers.Deserialization.class);
    p.put(
        StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterHandlers.Processing.class);
    p.put(
        StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterHandlers.Production.class);
    p.put(
        DeadLetterHandlers.CONTEXT_KEY,
        new DeadLetterHandlers.Context(
            Topics.DEAD_LETTERS.withPrefix(s.topicPrefix()).name(),
            serdes.deadLetters().serializer(),
            counters,
            clock,
            StreamsLimits.of(s),
            new DeadLetterHandlers.FailureTracker()));
    return p;
  }
}
