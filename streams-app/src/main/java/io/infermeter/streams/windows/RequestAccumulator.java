package io.infermeter.streams.windows;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.schemas.RequestTimings;
import io.infermeter.schemas.Utf8;
import io.infermeter.streams.StreamsLimits;
import io.infermeter.streams.StreamsSettings.SloClass;
import io.infermeter.streams.latency.BatchCounts;
import io.infermeter.streams.latency.Goodput;
import io.infermeter.streams.latency.JitterTracker;
import io.infermeter.streams.latency.LatencyAccumulator;
import io.infermeter.streams.latency.LatencyMetric;
import io.infermeter.streams.latency.SloCounts;
import io.infermeter.streams.state.Codec;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Everything one (window, key) needs to produce its WindowAggregate, updated per request in O(1)
 * (plus the histogram record). Mergeable (fleet rollups merge host partials exactly: histograms add
 * bucket-wise). Serialized with a compact binary codec: HdrHistogram plain encoding in the state
 * store (cheap on every commit), compressed encoding on the partials topic. Not thread-safe (owned
 * by one stream task).
 */
public final class RequestAccumulator implements WindowTable.Windowed {

  /**
   * 7: the {@link io.infermeter.streams.latency.Exemplars} of each latency accumulator, after the
   * occupancy (absent before: no exemplars); 6: the per-request token rates ({@link
   * LatencyMetric#OUTPUT_TPS}, {@link LatencyMetric#INPUT_TPS}, indexes 7 and 8); 5: the max
   * inter-token gap ({@link LatencyMetric#MAX_ITL}, index 6); 4: per-device in-flight {@link
   * Occupancy}; 3: varint-length strings (no 64 KiB limit); 2 added the first jitter values.
   * Versions 1 to 6 are still read (a metric added later is absent in them; the per-device busy
   * time of 1 to 3 becomes one busy run from the window start, {@link Occupancy#fromSummedBusy}).
   */
  public static final int VERSION = 7;

  static final int VARINT_STRINGS_SINCE = 3;

  static final int OCCUPANCY_SINCE = 4;

  static final int EXEMPLARS_SINCE = 7;

  /**
   * Default of how far before its window a request's in-flight time is kept (the default allowed
   * lateness + grace + energy join delay: older energy windows cannot take it any more).
   */
  public static final long DEFAULT_LOOKBACK_MS = 615_000;

  /** The bucket of error types and devices beyond the per-window cap. */
  public static final String OTHER = AggKey.OTHER;

  static final int COHORTS = 2; // 0 warm, 1 cold

  private static final LatencyMetric[] NO_METRICS = {};

  public AggKey key;
  public long windowStartMs;
  public long windowSizeMs;
  public long requests;
  public long ok;
  public long errors;
  public long timeouts;
  long cancelled;
  public long coldStarts;
  public final Map<String, Long> errorsByType = new HashMap<>();
  long inputTokens;
  public long outputTokens;

  /**
   * Device busy time: per device key, the union of the in-flight intervals of this window's
   * requests clipped to the window ({@link Occupancy}), summed over the device keys; microseconds.
   * Fleet rollups add their hosts' values.
   */
  public long busyUs;

  public long queueSumUs;
  public long e2eSumUs;
  long pairsQueueE2e;
  public final LatencyAccumulator[][] latencies =
      new LatencyAccumulator[LatencyMetric.all().length][COHORTS];

  /** Consecutive differences of warm e2e/ttft/tpot. */
  public final JitterTracker jitter = new JitterTracker();

  /** Requests and good requests per SLO class. */
  public final SloCounts slo = new SloCounts();

  /** Batch sizes the requests reported. */
  public final BatchCounts batches = new BatchCounts();

  /** What the requests took of each device key, and when they were in flight on it. */
  public final DeviceUsage usage = new DeviceUsage();

  public RequestAccumulator(AggKey key, long windowStartMs, long windowSizeMs) {
    this.key = key;
    this.windowStartMs = windowStartMs;
    this.windowSizeMs = windowSizeMs;
  }

  @Override
  public AggKey key() {
    return key;
  }

  @Override
  public long windowStartMs() {
    return windowStartMs;
  }

  @Override
  public long windowSizeMs() {
    return windowSizeMs;
  }

  public long requests() {
    return requests;
  }

  public static int jitterIndex(LatencyMetric m) {
    return switch (m) {
      case E2E -> 0;
      case TTFT -> 1;
      case TPOT -> 2;
      default -> -1;
    };
  }

  /** Adds one request with the default map caps. */
  public void add(RequestEvent e, SloClass sloClass) {
    add(e, sloClass, StreamsLimits.DEFAULT);
  }

  /**
   * The key of an error type: cut to {@code maxBytes}, the status in lower case when the request
   * had none.
   */
  static String errorTypeOf(RequestEvent e, int maxBytes) {
    return e.getErrorType() == null
        ? e.getStatus().name().toLowerCase(java.util.Locale.ROOT)
        : Utf8.truncate(e.getErrorType(), maxBytes);
  }

  /**
   * Adds one request; {@code sloClass} is the class whose thresholds apply. An error type is cut to
   * {@code limits.errorTypeMaxBytes()}; a new error type or device past the window's cap is counted
   * under {@value #OTHER}. Returns true when a new error type or device was counted under {@value
   * #OTHER}.
   */
  public boolean add(RequestEvent e, SloClass sloClass, StreamsLimits limits) {
    return add(e, sloClass, limits, DEFAULT_LOOKBACK_MS);
  }

  /**
   * {@link #add(RequestEvent, SloClass, StreamsLimits)} keeping the request's in-flight time up to
   * {@code lookbackMs} before this window.
   */
  public boolean add(RequestEvent e, SloClass sloClass, StreamsLimits limits, long lookbackMs) {
    boolean folded = false;
    requests++;
    RequestStatus status = e.getStatus();
    switch (status) {
      case OK -> ok++;
      case ERROR -> errors++;
      case TIMEOUT -> timeouts++;
      case CANCELLED -> cancelled++;
      default -> {}
    }
    if (status != RequestStatus.OK) {
      String type = errorTypeOf(e, limits.errorTypeMaxBytes());
      Long n = errorsByType.get(type);
      if (n == null
          && errorsByType.size()
              >= limits.errorTypesPerWindow() + (errorsByType.containsKey(OTHER) ? 1 : 0)) {
        folded = true;
        type = OTHER;
        n = errorsByType.get(OTHER);
      }
      errorsByType.put(type, n == null ? 1L : n + 1);
    }
    boolean cold = e.getColdStart();
    if (cold) {
      coldStarts++;
    }
    int cohort = cold ? 1 : 0;
    Integer in = e.getInputTokens();
    Integer out = e.getOutputTokens();
    if (in != null) {
      inputTokens += in;
    }
    if (out != null) {
      outputTokens += out;
    }
    long busy = RequestTimings.busyUs(e);
    long ttft = -1;
    long tpot = -1;
    long e2e = -1;
    long queue = -1;
    // Latency histograms and jitter hold successful requests only, as AIPerf and vLLM's benchmarks
    // report them: a timed-out request's e2e is the client's timeout, not the engine's latency,
    // and one such value per thousand sets p99.9. Failures are counted above (errors, timeouts,
    // cancelled, errorsByType) and still take device time and tokens.
    for (LatencyMetric m : status == RequestStatus.OK ? LatencyMetric.all() : NO_METRICS) {
      OptionalLong v = m.of(e);
      if (v.isEmpty()) {
        continue;
      }
      long value = v.getAsLong();
      LatencyAccumulator acc = latencies[m.index()][cohort];
      if (acc == null) {
        acc = new LatencyAccumulator();
        latencies[m.index()][cohort] = acc;
      }
      acc.record(value, e.getEventId(), e.getRequestId(), m.lowerIsSlower());
      switch (m) {
        case TTFT -> ttft = value;
        case TPOT -> tpot = value;
        case E2E -> e2e = value;
        case QUEUE -> queue = value;
        default -> {}
      }
      int j = jitterIndex(m);
      if (j >= 0 && !cold) {
        jitter.record(j, value);
      }
    }
    if (queue >= 0 && e2e >= 0) {
      queueSumUs += queue;
      e2eSumUs += e2e;
      pairsQueueE2e++;
    }
    slo.add(
        sloClass.name(), status == RequestStatus.OK && Goodput.meets(sloClass, ttft, tpot, e2e));
    batches.add(e.getBatchSize(), e.getMaxBatchSize(), out);
    String device = deviceKey(e);
    if (!usage.fits(device, limits.devicesPerWindow())) {
      folded = true;
      device = OTHER;
    }
    long toUs = e.getCompletedUs();
    busyUs +=
        usage.add(
            device,
            toUs - busy,
            toUs,
            out == null ? 0 : out,
            windowStartMs,
            windowSizeMs,
            lookbackMs);
    return folded;
  }

  /**
   * Prefix of the per-device usage key of requests that name no device but a pod ({@code
   * RequestEvent.pod}, from the OTLP resource's {@code k8s.pod.name}; else the attribute {@value
   * #POD_ATTRIBUTE}): the energy task splits their busy time over the GPUs that pod holds. NUL
   * cannot start a GPU UUID or MIG id.
   */
  public static final String POD_DEVICE_PREFIX = "\u0000pod:";

  /** Attribute of a request event that names its pod. */
  public static final String POD_ATTRIBUTE = "pod";

  /**
   * The per-device usage key of {@code e}: its device id, else its pod behind {@link
   * #POD_DEVICE_PREFIX}, else "".
   */
  static String deviceKey(RequestEvent e) {
    if (e.getDeviceId() != null) {
      return e.getDeviceId();
    }
    String pod = e.getPod();
    if (pod == null && e.getAttributes() != null) {
      pod =
          e.getAttributes().get(POD_ATTRIBUTE); // events written before RequestEvent v2, JSON lines
    }
    return pod == null || pod.isEmpty() ? "" : POD_DEVICE_PREFIX + pod;
  }

  /** {@link #merge(RequestAccumulator, StreamsLimits)} with the default caps. */
  public void merge(RequestAccumulator other) {
    merge(other, StreamsLimits.DEFAULT);
  }

  /**
   * Adds {@code other} (same window) into this; used by fleet rollups. Jitter pairs of each part
   * are kept as is. The error types beyond the cap keep the largest counts and fold the rest into
   * {@value #OTHER} (totals conserved).
   */
  public void merge(RequestAccumulator other, StreamsLimits limits) {
    requests += other.requests;
    ok += other.ok;
    errors += other.errors;
    timeouts += other.timeouts;
    cancelled += other.cancelled;
    coldStarts += other.coldStarts;
    other.errorsByType.forEach((k, v) -> errorsByType.merge(k, v, Long::sum));
    foldSmallest(errorsByType, limits.errorTypesPerWindow(), v -> v, Long::sum);
    inputTokens += other.inputTokens;
    outputTokens += other.outputTokens;
    busyUs += other.busyUs;
    queueSumUs += other.queueSumUs;
    e2eSumUs += other.e2eSumUs;
    pairsQueueE2e += other.pairsQueueE2e;
    for (int m = 0; m < latencies.length; m++) {
      for (int c = 0; c < COHORTS; c++) {
        LatencyAccumulator o = other.latencies[m][c];
        if (o == null) {
          continue;
        }
        if (latencies[m][c] == null) {
          latencies[m][c] = new LatencyAccumulator();
        }
        latencies[m][c].merge(o, LatencyMetric.all()[m].lowerIsSlower());
      }
    }
    jitter.merge(other.jitter);
    slo.merge(other.slo);
    batches.merge(other.batches);
  }

  /**
   * Appends {@code later}, the next consecutive part of the same key's stream (e.g. a closed 10 s
   * window into its 1 min window): a merge plus, for jitter, the consecutive pair across the
   * boundary (this part's last value and the later part's first), so the result equals recording
   * both parts' requests here in order.
   */
  public void append(RequestAccumulator later) {
    append(later, StreamsLimits.DEFAULT);
  }

  /** {@link #append(RequestAccumulator)} with the map caps of {@code limits}. */
  public void append(RequestAccumulator later, StreamsLimits limits) {
    append(later, limits, DEFAULT_LOOKBACK_MS);
  }

  /**
   * {@link #append(RequestAccumulator, StreamsLimits)} keeping in-flight time up to {@code
   * lookbackMs} before this window. Busy time is the union of both parts' occupancy, not the sum:
   * the later part's requests may have been in flight in this window's earlier part.
   */
  public void append(RequestAccumulator later, StreamsLimits limits, long lookbackMs) {
    long[] last = jitter.last.clone();
    long busyNotOccupancy = busyUs - occupancyBusyUs() + later.busyUs - later.occupancyBusyUs();
    merge(later, limits);
    jitter.joinAfter(last, later.jitter);
    usage.append(later.usage, windowStartMs, windowSizeMs, lookbackMs, limits.devicesPerWindow());
    busyUs = occupancyBusyUs() + busyNotOccupancy;
  }

  /** Sum over the device keys of their busy time in this window, microseconds. */
  public long occupancyBusyUs() {
    return usage.busyUs(windowStartMs, windowSizeMs);
  }

  /**
   * Keeps the {@code cap} entries of {@code map} with the largest {@code weight} (besides {@value
   * #OTHER}) and folds the others into {@value #OTHER} with {@code add}: the sum over the map is
   * unchanged. O(n log n), only when over the cap (merges of closed windows, not per record).
   */
  static <V> void foldSmallest(
      Map<String, V> map,
      int cap,
      java.util.function.ToLongFunction<V> weight,
      java.util.function.BinaryOperator<V> add) {
    int named = map.size() - (map.containsKey(OTHER) ? 1 : 0);
    if (named <= cap) {
      return;
    }
    java.util.List<Map.Entry<String, V>> entries = new java.util.ArrayList<>();
    for (Map.Entry<String, V> e : map.entrySet()) {
      if (!e.getKey().equals(OTHER)) {
        entries.add(e);
      }
    }
    entries.sort(
        (a, b) -> {
          int c = Long.compare(weight.applyAsLong(b.getValue()), weight.applyAsLong(a.getValue()));
          return c != 0 ? c : a.getKey().compareTo(b.getKey());
        });
    V other = map.get(OTHER);
    for (Map.Entry<String, V> e : entries.subList(cap, entries.size())) {
      other = other == null ? e.getValue() : add.apply(other, e.getValue());
    }
    for (Map.Entry<String, V> e : java.util.List.copyOf(entries.subList(cap, entries.size()))) {
      map.remove(e.getKey());
    }
    map.put(OTHER, other);
  }

  public LatencyAccumulator latency(LatencyMetric m, boolean cold) {
    return latencies[m.index()][cold ? 1 : 0];
  }

  /** Queue time as a share of e2e over requests that report both, percent; NaN when none. */
  public double queueShareOfE2ePct() {
    return e2eSumUs == 0 ? Double.NaN : 100.0 * queueSumUs / e2eSumUs;
  }

  // ---- codec ----

  public byte[] toBytes(boolean compressed) {
    return Codec.encode(out -> RequestAccumulatorCodec.write(this, out, compressed));
  }

  public static RequestAccumulator fromBytes(byte[] bytes, boolean compressed) {
    return Codec.decode(
        bytes, "request accumulator", in -> RequestAccumulatorCodec.read(in, compressed));
  }
}
