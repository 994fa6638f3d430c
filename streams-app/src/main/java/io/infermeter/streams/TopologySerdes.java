package io.infermeter.streams;

import io.infermeter.avro.Alert;
import io.infermeter.avro.Bottleneck;
import io.infermeter.avro.CarbonIntensityUpdate;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.PriceUpdate;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroSerde;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.SchemaRegistryClient;
import org.apache.kafka.common.serialization.Serde;

/**
 * The Avro value serdes of every external topic, sharing one registry client. Built once;
 * thread-safe as the serdes.
 */
public record TopologySerdes(
    Serde<RequestEvent> requests,
    Serde<HardwareSample> hardware,
    Serde<WindowAggregate> aggregates,
    Serde<DeviceWindowEnergy> energy,
    Serde<Bottleneck> bottlenecks,
    Serde<Alert> alerts,
    Serde<DeadLetter> deadLetters,
    Serde<PriceUpdate> prices,
    Serde<CarbonIntensityUpdate> intensities,
    Serde<EngineSample> engine) {

  public static TopologySerdes of(SchemaRegistryClient registry, AvroSerdeConfig config) {
    return new TopologySerdes(
        AvroSerde.of(Topics.REQUESTS, registry, config),
        AvroSerde.of(Topics.HARDWARE, registry, config),
        AvroSerde.of(Topics.WINDOW_AGGREGATES, registry, config),
        AvroSerde.of(Topics.ENERGY, registry, config),
        AvroSerde.of(Topics.BOTTLENECKS, registry, config),
        AvroSerde.of(Topics.ALERTS, registry, config),
        AvroSerde.of(Topics.DEAD_LETTERS, registry, config),
        AvroSerde.of(Topics.PRICE_UPDATES, registry, config),
        AvroSerde.of(Topics.CARBON_INTENSITY, registry, config),
        AvroSerde.of(Topics.ENGINE_STATE, registry, config));
  }
}
