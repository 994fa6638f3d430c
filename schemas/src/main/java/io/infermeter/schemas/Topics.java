package io.infermeter.schemas;

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
import java.util.List;

/**
 * Every topic of the pipeline, in one place. Keys are UTF-8 strings; values are Avro in the
 * Confluent wire format ({@link io.infermeter.schemas.serde.AvroSerde}). Names can be prefixed per
 * deployment with {@link TopicSpec#withPrefix(String)}.
 */
public final class Topics {

  /** Per-request timing events from collectors. Key: host (keeps one host's events in order). */
  public static final TopicSpec<RequestEvent> REQUESTS =
      new TopicSpec<>("infermeter-requests", RequestEvent.class, "host");

  /** Hardware and energy samples from collectors. Key: host/deviceId. */
  public static final TopicSpec<HardwareSample> HARDWARE =
      new TopicSpec<>("infermeter-hardware", HardwareSample.class, "host/deviceId");

  /**
   * Serving-engine state (KV-cache usage, requests running and waiting, preemptions) per engine
   * instance, from the collectors' engine scrapes and OTLP metrics. Key: host (the collector's
   * node, as for request events).
   */
  public static final TopicSpec<EngineSample> ENGINE_STATE =
      new TopicSpec<>("infermeter-engine-state", EngineSample.class, "host");

  /**
   * Window aggregates of request statistics. Key: window key
   * (scope|cluster|region|host|model|version|gpu|window).
   */
  public static final TopicSpec<WindowAggregate> WINDOW_AGGREGATES =
      new TopicSpec<>("infermeter-window-aggregates", WindowAggregate.class, "window key");

  /** Energy, cost and carbon per device and window. Key: host/deviceId/windowStart. */
  public static final TopicSpec<DeviceWindowEnergy> ENERGY =
      new TopicSpec<>("infermeter-energy", DeviceWindowEnergy.class, "host/deviceId/window");

  /** Bottleneck classification per host and window. Key: host/windowStart. */
  public static final TopicSpec<Bottleneck> BOTTLENECKS =
      new TopicSpec<>("infermeter-bottlenecks", Bottleneck.class, "host/window");

  /** Alert state changes for downstream consumers. Key: the alert's dedupKey. */
  public static final TopicSpec<Alert> ALERTS =
      new TopicSpec<>("infermeter-alerts", Alert.class, "dedupKey");

  /**
   * Records that could not be processed, with the reason. Key: the original key when there was one.
   */
  public static final TopicSpec<DeadLetter> DEAD_LETTERS =
      new TopicSpec<>("infermeter-dead-letters", DeadLetter.class, "original key");

  /** Optional feed of device price changes. Key: gpuType. */
  public static final TopicSpec<PriceUpdate> PRICE_UPDATES =
      new TopicSpec<>("infermeter-price-updates", PriceUpdate.class, "gpuType");

  /** Optional feed of time-varying grid carbon intensity. Key: region. */
  public static final TopicSpec<CarbonIntensityUpdate> CARBON_INTENSITY =
      new TopicSpec<>("infermeter-carbon-intensity", CarbonIntensityUpdate.class, "region");

  /** All topics, for topic creation scripts and docs. */
  public static final List<TopicSpec<?>> ALL =
      List.of(
          REQUESTS,
          HARDWARE,
          WINDOW_AGGREGATES,
          ENERGY,
          BOTTLENECKS,
          ALERTS,
          DEAD_LETTERS,
          PRICE_UPDATES,
          CARBON_INTENSITY,
          ENGINE_STATE);

  private Topics() {}
}
