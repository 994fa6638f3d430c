package io.infermeter.collector.ingest;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import java.util.HashMap;
import java.util.Optional;

/**
 * The identity every event of this collector carries unless its source says otherwise (configured
 * cluster, region, host, gpu type, engine), and the factory of blank events. Thread-safe
 * (immutable).
 *
 * @param cluster configured cluster
 * @param region configured region
 * @param host configured host name
 * @param gpuType configured gpu type override, or null
 * @param engine configured engine name, or null
 * @param defaultModel the model of OTLP spans that name none, neither on the span nor in their
 *     resource ({@code otlp.default.model}), or null
 * @param modelResourceAttribute the resource attribute that names the model of OTLP spans without a
 *     model attribute ({@code otlp.model.resource.attribute}, default {@code service.name})
 */
public record EventDefaults(
    String cluster,
    String region,
    String host,
    String gpuType,
    String engine,
    String defaultModel,
    String modelResourceAttribute) {

  /** The resource attribute read for a model when the collector's configuration names none. */
  public static final String DEFAULT_MODEL_RESOURCE_ATTRIBUTE = "service.name";

  /**
   * Identity without a model fallback: a span must name its model or carry it in {@code
   * service.name}.
   */
  public EventDefaults(String cluster, String region, String host, String gpuType, String engine) {
    this(cluster, region, host, gpuType, engine, null, DEFAULT_MODEL_RESOURCE_ATTRIBUTE);
  }

  /**
   * These defaults with the OTLP model fallbacks (blank values mean: none, and {@code
   * service.name}).
   */
  public EventDefaults withModelFallback(Optional<String> model, String resourceAttribute) {
    return new EventDefaults(
        cluster,
        region,
        host,
        gpuType,
        engine,
        model.filter(m -> !m.isBlank()).orElse(null),
        resourceAttribute == null || resourceAttribute.isBlank()
            ? DEFAULT_MODEL_RESOURCE_ATTRIBUTE
            : resourceAttribute);
  }

  public static EventDefaults of(
      String cluster,
      String region,
      String host,
      Optional<String> gpuType,
      Optional<String> engine) {
    return new EventDefaults(cluster, region, host, gpuType.orElse(null), engine.orElse(null));
  }

  /**
   * A new event with a fresh eventId, this collector's identity and the given source; timestamps
   * zero (unset) and model empty, to be filled by the parser. Uses setters rather than the Avro
   * builder, which deep-copies defaults.
   */
  public RequestEvent newEvent(String source) {
    RequestEvent e = new RequestEvent();
    e.setEventId(Ids.newEventId());
    e.setSource(source);
    e.setCluster(cluster);
    e.setRegion(region);
    e.setHost(host);
    e.setGpuType(gpuType);
    e.setEngine(engine);
    e.setModel("");
    e.setStatus(RequestStatus.UNKNOWN);
    e.setColdStart(false);
    e.setAttributes(new HashMap<>(4));
    return e;
  }
}
