package io.infermeter.streams;

import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;

/** Public access to the fixture's record builders for tests in other packages. */
public final class TopologyFixtureAccess {

  private TopologyFixtureAccess() {}

  public static RequestEvent.Builder request(
      String id,
      String host,
      String model,
      long completedMs,
      long queueUs,
      long prefillUs,
      long decodeUs,
      int outputTokens) {
    return TopologyFixture.request(
        id, host, model, completedMs, queueUs, prefillUs, decodeUs, outputTokens);
  }

  public static HardwareSample.Builder sample(String host, String device, long tsMs) {
    return TopologyFixture.sample(host, device, tsMs);
  }
}
