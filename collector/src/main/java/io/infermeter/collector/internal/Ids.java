package io.infermeter.collector.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Event ids. The id of an event is derived from what its client sent, so that a client's retry of the same request
 * (an OTLP exporter resends the same spans after a timeout or a 429/502/503/504; a JSON-lines client resends the same
 * lines) carries the same id and the streams app's de-duplication drops the copy:
 *
 * <ul>
 *   <li>an OTLP span: {@link #ofSpan} over its trace id and span id (the bytes as sent, 16 and 8);
 *   <li>a JSON line or a Java API record with a {@code requestId}: {@link #ofRequest} over (requestId, host, model);
 *   <li>anything else (no ids sent): a random id, {@link #newEventId}.
 * </ul>
 *
 * <p>A derived id is a name-based UUID, version 8 with SHA-256 as RFC 9562 (section 5.8, appendix B.2) describes it:
 * the first 16 bytes of {@code SHA-256(name)}, with the version nibble set to 8 and the variant bits to {@code 10}.
 * The name is the ASCII tag of the rule ({@code infermeter.span.v1} or {@code infermeter.request.v1}), then each part
 * as a 4-byte big-endian length and its bytes (strings UTF-8), so that no two different part lists give the same
 * name. The text is the usual 36 characters (8-4-4-4-12 hex digits). Random ids are version 4, drawn from
 * {@link ThreadLocalRandom} instead of {@link UUID#randomUUID()}, whose shared SecureRandom serializes the ingest
 * threads at 100k events/s: they only need to be unique (122 random bits), not unpredictable. Thread-safe (one
 * digest per thread).
 */
public final class Ids {

  /** Length of an id's text (8-4-4-4-12 hex digits with dashes). */
  static final int TEXT_LENGTH = 36;

  private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private Ids() {}

  /** Tag of the name of a span's id: trace id and span id. */
  static final byte[] SPAN_TAG = "infermeter.span.v1".getBytes(StandardCharsets.US_ASCII);
  /** Tag of the name of a request's id: requestId, host, model. */
  static final byte[] REQUEST_TAG = "infermeter.request.v1".getBytes(StandardCharsets.US_ASCII);

  /** A thread's SHA-256 digest and its output buffer. */
  static final class Hasher {
    private final MessageDigest sha;
    private final byte[] digest = new byte[32];
    private final byte[] len = new byte[4];
    /** Reused for the bytes of an ASCII string part and of protobuf ids (no copy per part). */
    private byte[] scratch = new byte[128];
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
      sha.reset();
      sha.update(tag);
      return this;
    }

    Hasher part(byte[] b, int from, int to) {
      int n = to - from;
      len[0] = (byte) (n >>> 24);
      len[1] = (byte) (n >>> 16);
      len[2] = (byte) (n >>> 8);
      len[3] = (byte) n;
      sha.update(len, 0, 4);
      sha.update(b, from, n);
      return this;
    }

    Hasher part(String s) {
      int n = s.length();
      if (n <= 4096) {
        if (scratch.length < n) {
          scratch = new byte[Math.max(n, scratch.length * 2)];
        }
        byte[] b = scratch;
        int i = 0;
        while (i < n) {
          char c = s.charAt(i);
          if (c >= 0x80) {
            break;
          }
          b[i++] = (byte) c;
        }
        if (i == n) {
          return part(b, 0, n); // ASCII: its own UTF-8
        }
      }
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      return part(b, 0, b.length);
    }

    /** A part given as protobuf bytes, copied into the scratch buffer rather than a new array. */
    Hasher part(com.google.protobuf.ByteString bytes) {
      int n = bytes.size();
      if (scratch.length < n) {
        scratch = new byte[Math.max(n, scratch.length * 2)];
      }
      bytes.copyTo(scratch, 0);
      return part(scratch, 0, n);
    }

    /** Ends the name: {@link #msb} and {@link #lsb} are the version-8 UUID's bits. */
    void finish() {
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
  public static String ofSpan(com.google.protobuf.ByteString traceId, com.google.protobuf.ByteString spanId) {
    Hasher h = hasher().begin(SPAN_TAG).part(traceId).part(spanId);
    h.finish();
    return h.text();
  }

  /** The id of an OTLP span: derived from its trace id and span id (the bytes as sent). */
  public static String ofSpan(byte[] traceId, byte[] spanId) {
    Hasher h = hasher().begin(SPAN_TAG).part(traceId, 0, traceId.length).part(spanId, 0, spanId.length);
    h.finish();
    return h.text();
  }

  /**
   * The id of a request that names itself: derived from (requestId, host, model); null when {@code requestId} is
   * null or empty (the request then gets a random id). A null host or model counts as empty.
   */
  public static String ofRequest(String requestId, String host, String model) {
    if (requestId == null || requestId.isEmpty()) {
      return null;
    }
    Hasher h = hasher().begin(REQUEST_TAG).part(requestId).part(host == null ? "" : host)
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
