package io.infermeter.collector.internal;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import java.util.HashMap;
import java.util.Optional;

/**
 * The identity every event of this collector carries unless its source says otherwise (configured cluster, region,
 * host, gpu type, engine), and the factory of blank events. Thread-safe (immutable).
 *
 * @param cluster configured cluster
 * @param region configured region
 * @param host configured host name
 * @param gpuType configured gpu type override, or null
 * @param engine configured engine name, or null
 */
public record EventDefaults(String cluster, String region, String host, String gpuType, String engine) {

  public static EventDefaults of(String cluster, String region, String host, Optional<String> gpuType,
      Optional<String> engine) {
    return new EventDefaults(cluster, region, host, gpuType.orElse(null), engine.orElse(null));
  }

  /**
   * A new event with a fresh eventId, this collector's identity and the given source; timestamps zero (unset) and
   * model empty, to be filled by the parser. Uses setters rather than the Avro builder, which deep-copies defaults.
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
