package io.infermeter.sink.internal;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.RequestTimings;
import io.infermeter.schemas.config.PromptFields;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Rows of the {@code requests} table ({@link Table#REQUESTS}): one per request event, or per
 * sampled event when {@code raw.requests.sample.ratio} is below 1. Immutable and thread-safe.
 *
 * <p><b>Sampling</b> is deterministic by event id, so every stage that samples (this sink, a
 * collector, a query) keeps the same requests: an event is kept when the first 8 bytes of SHA-256
 * over its UTF-8 event id, read as an unsigned big-endian integer, are below {@code ratio * 2^64}.
 * In SQL: {@code reinterpretAsUInt64(reverse(substring(SHA256(event_id), 1, 8))) < ratio * pow(2,
 * 64)}.
 *
 * <p><b>Window keys</b>: for each configured window size the start of the tumbling, epoch-aligned
 * window that holds the request's event time (its completion, in whole milliseconds, as the streams
 * app assigns it).
 *
 * <p><b>Absurd values</b> raise {@link IllegalArgumentException} (the sink dead-letters the record
 * with reason {@code mapping}): an empty or overlong event id, a non-positive arrival, a completion
 * before the arrival or outside what DateTime64(6) holds, a negative token count, batch size or
 * inter-token gap. Attributes whose names may hold prompt or completion text ({@link PromptFields})
 * are never stored.
 */
public final class RawRequests {

  /** Longest event id stored; collectors write 36-character UUIDs. */
  public static final int MAX_EVENT_ID_CHARS = 256;

  /**
   * DateTime64(6)'s upper bound, 2262-04-11 (ClickHouse's Int64 nanosecond limit keeps us safely
   * inside).
   */
  static final long MAX_EPOCH_US = 9_223_372_036_854_775L;

  private final double ratio;
  private final long threshold;
  private final int[] sizesMs;

  /**
   * @param sampleRatio share of events kept, in (0, 1]
   * @param windowSizes window sizes whose starts each row carries (the streams app's {@code
   *     windows.sizes})
   */
  public RawRequests(double sampleRatio, List<Duration> windowSizes) {
    if (!(sampleRatio > 0 && sampleRatio <= 1)) {
      throw new IllegalArgumentException("sample ratio must be in (0, 1]: " + sampleRatio);
    }
    this.ratio = sampleRatio;
    this.threshold = sampleRatio >= 1 ? -1L : unsignedFraction(sampleRatio);
    this.sizesMs = new int[windowSizes.size()];
    for (int i = 0; i < sizesMs.length; i++) {
      long ms = windowSizes.get(i).toMillis();
      if (ms <= 0 || ms > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "window size must be 1 ms to 24 days: " + windowSizes.get(i));
      }
      sizesMs[i] = (int) ms;
    }
  }

  /** {@code fraction * 2^64} as an unsigned long, for fraction in (0, 1). */
  private static long unsignedFraction(double fraction) {
    java.math.BigDecimal scaled =
        new java.math.BigDecimal(fraction)
            .multiply(new java.math.BigDecimal(java.math.BigInteger.ONE.shiftLeft(64)));
    return scaled.toBigInteger().longValue(); // the low 64 bits: the unsigned value
  }

  public double sampleRatio() {
    return ratio;
  }

  /** Whether the event with this id is kept at {@code ratio} (the rule in the class comment). */
  public static boolean sampled(String eventId, double ratio) {
    return ratio >= 1 || Long.compareUnsigned(hash(eventId), unsignedFraction(ratio)) < 0;
  }

  boolean keeps(String eventId) {
    return threshold == -1L || Long.compareUnsigned(hash(eventId), threshold) < 0;
  }

  /** The first 8 bytes of SHA-256 over the UTF-8 bytes of {@code eventId}, big-endian. */
  static long hash(String eventId) {
    byte[] d;
    try {
      d = MessageDigest.getInstance("SHA-256").digest(eventId.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    long h = 0;
    for (int i = 0; i < 8; i++) {
      h = (h << 8) | (d[i] & 0xFF);
    }
    return h;
  }

  /** Window sizes of the {@code window_starts} map, milliseconds. */
  int[] windowSizesMs() {
    return sizesMs.clone();
  }

  /**
   * The row of {@code e} (column order of {@link Table#REQUESTS}), or nothing when sampling drops
   * it.
   */
  public void map(RequestEvent e, int partition, long offset, RowMappers.RowConsumer out) {
    String eventId = e.getEventId();
    if (eventId == null || eventId.isEmpty() || eventId.length() > MAX_EVENT_ID_CHARS) {
      throw new IllegalArgumentException(
          "eventId must be 1 to "
              + MAX_EVENT_ID_CHARS
              + " characters, got "
              + (eventId == null ? "none" : eventId.length()));
    }
    if (!keeps(eventId)) {
      return;
    }
    long arrival = e.getArrivalUs();
    long completed = e.getCompletedUs();
    if (arrival <= 0) {
      throw new IllegalArgumentException("arrivalUs must be a positive epoch time, got " + arrival);
    }
    if (completed < arrival) {
      throw new IllegalArgumentException(
          "completedUs " + completed + " is before arrivalUs " + arrival);
    }
    if (completed > MAX_EPOCH_US) {
      throw new IllegalArgumentException(
          "completedUs " + completed + " is beyond what DateTime64(6) holds");
    }
    long eventMs = completed / 1000;
    long[] starts = new long[sizesMs.length];
    for (int i = 0; i < sizesMs.length; i++) {
      starts[i] = Math.floorDiv(eventMs, sizesMs[i]) * sizesMs[i] * 1000L;
    }
    out.accept(
        Table.REQUESTS,
        new Object[] {
          completed,
          eventId,
          orEmpty(e.getRequestId()),
          e.getSource(),
          e.getCluster(),
          e.getRegion(),
          e.getHost(),
          orEmpty(e.getDeviceId()),
          orEmpty(e.getGpuType()),
          e.getModel(),
          orEmpty(e.getModelVersion()),
          orEmpty(e.getEngine()),
          orEmpty(e.getOperation()),
          e.getStatus().name(),
          orEmpty(e.getErrorType()),
          orEmpty(e.getSloClass()),
          e.getColdStart(),
          completed - arrival,
          boxed(RequestTimings.queueUs(e)),
          boxed(RequestTimings.ttftUs(e)),
          boxed(RequestTimings.prefillUs(e)),
          boxed(RequestTimings.decodeUs(e)),
          boxed(RequestTimings.tpotUs(e)),
          count("inputTokens", e.getInputTokens()),
          count("outputTokens", e.getOutputTokens()),
          count("cachedTokens", e.getCachedTokens()),
          count("batchSize", e.getBatchSize()),
          count("maxBatchSize", e.getMaxBatchSize()),
          gap(e.getMaxInterTokenGapUs()),
          new WindowStarts(sizesMs, starts),
          attributes(e.getAttributes()),
          partition,
          offset
        });
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }

  private static Long boxed(OptionalLong v) {
    return v.isPresent() ? v.getAsLong() : null;
  }

  private static Integer count(String field, Integer v) {
    if (v != null && v < 0) {
      throw new IllegalArgumentException(field + " is negative (" + v + ") but is stored unsigned");
    }
    return v;
  }

  private static Long gap(Long v) {
    if (v != null && v < 0) {
      throw new IllegalArgumentException(
          "maxInterTokenGapUs is negative (" + v + ") but is stored unsigned");
    }
    return v;
  }

  private static Map<String, String> attributes(Map<String, String> in) {
    if (in == null || in.isEmpty()) {
      return Map.of();
    }
    Map<String, String> out = new LinkedHashMap<>();
    in.forEach(
        (k, v) -> {
          if (k != null && !PromptFields.isSensitive(k)) {
            out.put(k, v == null ? "" : v);
          }
        });
    return out;
  }

  /**
   * The {@code window_starts} value: the start (epoch µs) of the request's window of each size
   * (ms).
   *
   * @param sizesMs window sizes, shared between rows (never modified)
   * @param startsUs window starts, one per size
   */
  record WindowStarts(int[] sizesMs, long[] startsUs) {}
}
