package io.infermeter.collector.ingest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Event ids. The id of an event is derived from what its client sent, so that a client's retry of
 * the same request (an OTLP exporter resends the same spans after a timeout or a 429/502/503/504; a
 * JSON-lines client resends the same lines) carries the same id and the streams app's
 * de-duplication drops the copy:
 *
 * <ul>
 *   <li>an OTLP span: {@link #ofSpan} over its trace id and span id (the bytes as sent, 16 and 8);
 *   <li>a JSON line or a Java API record with a {@code requestId}: {@link #ofRequest} over
 *       (requestId, host, model);
 *   <li>anything else (no ids sent): a random id, {@link #newEventId}.
 * </ul>
 *
 * <p>A derived id is a name-based UUID, version 8 with SHA-256 as RFC 9562 (section 5.8, appendix
 * B.2) describes it: the first 16 bytes of {@code SHA-256(name)}, with the version nibble set to 8
 * and the variant bits to {@code 10}. The name is the ASCII tag of the rule ({@code
 * infermeter.span.v1} or {@code infermeter.request.v1}), then each part as a 4-byte big-endian
 * length and its bytes (strings UTF-8), so that no two different part lists give the same name. The
 * text is the usual 36 characters (8-4-4-4-12 hex digits). Random ids are version 4, drawn from
 * {@link ThreadLocalRandom} instead of {@link UUID#randomUUID()}, whose shared SecureRandom
 * serializes the ingest threads at 100k events/s: they only need to be unique (122 random bits),
 * not unpredictable. Thread-safe (one digest per thread).
 */
public final class Ids {

  /** Length of an id's text (8-4-4-4-12 hex digits with dashes). */
  static final int TEXT_LENGTH = 36;

  private static final byte[] HEX =
      "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private Ids() {}

  /** Tag of the name of a span's id: trace id and span id. */
  static final byte[] SPAN_TAG = "infermeter.span.v1".getBytes(StandardCharsets.US_ASCII);

  /** Tag of the name of a request's id: requestId, host, model. */
  static final byte[] REQUEST_TAG = "infermeter.request.v1".getBytes(StandardCharsets.US_ASCII);

  /**
   * A thread's SHA-256 digest, the name being built (in one reused buffer, hashed with one call:
   * fewer calls into the digest than one per part) and the resulting UUID bits.
   */
  static final class Hasher {
    private final MessageDigest sha;
    private final byte[] digest = new byte[32];
    private byte[] name = new byte[256];
    private int pos;
    long msb;
    long lsb;

    Hasher() {
      try {
        sha = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
      }
    }

    Hasher begin(byte[] tag) {
      if (name.length > 65_536) {
        name = new byte[256]; // a huge part once (an abusive requestId) is not kept per thread
      }
      pos = 0;
      room(tag.length);
      System.arraycopy(tag, 0, name, 0, tag.length);
      pos = tag.length;
      return this;
    }

    private void room(int n) {
      if (name.length - pos < n) {
        name = Arrays.copyOf(name, Math.max(pos + n, name.length * 2));
      }
    }

    /**
     * Appends the part's 4-byte big-endian length; the caller then writes {@code n} bytes at {@link
     * #pos}.
     */
    private void length(int n) {
      room(4 + n);
      name[pos] = (byte) (n >>> 24);
      name[pos + 1] = (byte) (n >>> 16);
      name[pos + 2] = (byte) (n >>> 8);
      name[pos + 3] = (byte) n;
      pos += 4;
    }

    Hasher part(byte[] b, int from, int to) {
      int n = to - from;
      length(n);
      System.arraycopy(b, from, name, pos, n);
      pos += n;
      return this;
    }

    Hasher part(String s) {
      int n = s.length();
      length(n);
      for (int i = 0; i < n; i++) {
        char c = s.charAt(i);
        if (c >= 0x80) { // not ASCII: its UTF-8 instead
          pos -= 4;
          byte[] b = s.getBytes(StandardCharsets.UTF_8);
          return part(b, 0, b.length);
        }
        name[pos + i] = (byte) c;
      }
      pos += n;
      return this;
    }

    /** A part given as protobuf bytes, copied straight into the name. */
    Hasher part(com.google.protobuf.ByteString bytes) {
      int n = bytes.size();
      length(n);
      bytes.copyTo(name, pos);
      pos += n;
      return this;
    }

    /** Ends the name: {@link #msb} and {@link #lsb} are the version-8 UUID's bits. */
    void finish() {
      sha.update(name, 0, pos);
      try {
        sha.digest(digest, 0, 32);
      } catch (java.security.DigestException e) {
        throw new IllegalStateException(e);
      }
      long hi = 0;
      long lo = 0;
      for (int i = 0; i < 8; i++) {
        hi = hi << 8 | (digest[i] & 0xff);
        lo = lo << 8 | (digest[8 + i] & 0xff);
      }
      msb = (hi & 0xffffffffffff0fffL) | 0x0000000000008000L;
      lsb = (lo & 0x3fffffffffffffffL) | 0x8000000000000000L;
    }

    String text() {
      return new UUID(msb, lsb).toString();
    }
  }

  private static final ThreadLocal<Hasher> HASHERS = ThreadLocal.withInitial(Hasher::new);

  static Hasher hasher() {
    return HASHERS.get();
  }

  /** As {@link #ofSpan(byte[], byte[])} for the ids as protobuf holds them. */
  public static String ofSpan(
      com.google.protobuf.ByteString traceId, com.google.protobuf.ByteString spanId) {
    Hasher h = hasher().begin(SPAN_TAG).part(traceId).part(spanId);
    h.finish();
    return h.text();
  }

  /** The id of an OTLP span: derived from its trace id and span id (the bytes as sent). */
  public static String ofSpan(byte[] traceId, byte[] spanId) {
    Hasher h =
        hasher().begin(SPAN_TAG).part(traceId, 0, traceId.length).part(spanId, 0, spanId.length);
    h.finish();
    return h.text();
  }

  /**
   * The id of a request that names itself: derived from (requestId, host, model); null when {@code
   * requestId} is null or empty (the request then gets a random id). A null host or model counts as
   * empty.
   */
  public static String ofRequest(String requestId, String host, String model) {
    if (requestId == null || requestId.isEmpty()) {
      return null;
    }
    Hasher h =
        hasher()
            .begin(REQUEST_TAG)
            .part(requestId)
            .part(host == null ? "" : host)
            .part(model == null ? "" : model);
    h.finish();
    return h.text();
  }

  /** A random (version 4) id: for an event whose client sent nothing that identifies it. */
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
   * Writes the text of the UUID {@code (msb, lsb)} as ASCII at {@code pos} of {@code out} ({@value
   * #TEXT_LENGTH} bytes, exactly {@link UUID#toString()}'s characters), without building the UUID
   * or its string.
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
