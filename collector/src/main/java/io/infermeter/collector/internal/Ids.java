package io.infermeter.collector.internal;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Event ids: random (version 4) UUIDs drawn from {@link ThreadLocalRandom} instead of {@link UUID#randomUUID()},
 * whose shared SecureRandom serializes the ingest threads at 100k events/s. The ids only need to be unique (122
 * random bits) for downstream de-duplication, not unpredictable. Thread-safe.
 */
public final class Ids {

  private Ids() {}

  public static String newEventId() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long msb = (r.nextLong() & 0xffffffffffff0fffL) | 0x0000000000004000L;
    long lsb = (r.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L;
    return new UUID(msb, lsb).toString();
  }
}
