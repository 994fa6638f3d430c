package io.infermeter.collector.internal;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Event ids: random (version 4) UUIDs drawn from {@link ThreadLocalRandom} instead of {@link UUID#randomUUID()},
 * whose shared SecureRandom serializes the ingest threads at 100k events/s. The ids only need to be unique (122
 * random bits) for downstream de-duplication, not unpredictable. Thread-safe.
 */
public final class Ids {

  /** Length of an id's text (8-4-4-4-12 hex digits with dashes). */
  static final int TEXT_LENGTH = 36;

  private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private Ids() {}

  public static String newEventId() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    return new UUID(randomMsb(r), randomLsb(r)).toString();
  }

  /** The high 64 bits of a random version-4 UUID. */
  static long randomMsb(ThreadLocalRandom r) {
    return (r.nextLong() & 0xffffffffffff0fffL) | 0x0000000000004000L;
  }

  /** The low 64 bits of a random version-4 UUID (IETF variant). */
  static long randomLsb(ThreadLocalRandom r) {
    return (r.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L;
  }

  /**
   * Writes the text of the UUID {@code (msb, lsb)} as ASCII at {@code pos} of {@code out} ({@value #TEXT_LENGTH}
   * bytes, exactly {@link UUID#toString()}'s characters), without building the UUID or its string.
   */
  static void writeText(long msb, long lsb, byte[] out, int pos) {
    hex(msb >>> 32, 8, out, pos);
    out[pos + 8] = '-';
    hex(msb >>> 16, 4, out, pos + 9);
    out[pos + 13] = '-';
    hex(msb, 4, out, pos + 14);
    out[pos + 18] = '-';
    hex(lsb >>> 48, 4, out, pos + 19);
    out[pos + 23] = '-';
    hex(lsb, 12, out, pos + 24);
  }

  /** The low {@code digits} hex digits of {@code v}, most significant first. */
  private static void hex(long v, int digits, byte[] out, int pos) {
    for (int k = digits - 1; k >= 0; k--) {
      out[pos + k] = HEX[(int) v & 0xf];
      v >>>= 4;
    }
  }
}
