package io.infermeter.collector;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * In-process API for JVM inference servers: records one request's arrival, scheduling, first token
 * and completion into a preallocated ring buffer; a background thread of the collector turns the
 * slots into request events (validated like every other source, source {@code java-api}).
 *
 * <p>Hot path: {@link #record} (or {@link Timer#complete}) copies primitives and two string
 * references into the ring and publishes the slot; it does not allocate and takes no lock (a CAS
 * claims the slot). When the ring is full the request is dropped and counted ({@link #dropped()},
 * {@code infermeter_collector_dropped_total{reason="recorder_full"}}) rather than blocking the
 * server. Timestamps are epoch microseconds; {@link #nowMicros()} gives a cheap monotonic
 * epoch-microsecond clock (nanoTime anchored to the wall clock at creation).
 *
 * <p>Thread-safe: any number of server threads may record concurrently; one consumer drains. A
 * {@link Timer} is not thread-safe: use one per request in flight (reuse it after {@link
 * Timer#complete}).
 */
public final class RequestRecorder {

  /** Token count meaning "not reported". */
  public static final int ABSENT = -1;

  private final int capacity;
  private final int mask;
  private final long[] arrival;
  private final long[] scheduled;
  private final long[] firstToken;
  private final long[] completed;
  private final int[] inputTokens;
  private final int[] outputTokens;
  private final RequestStatus[] status;
  private final String[] model;
  private final String[] errorType;
  private final String[] requestId;
  private final AtomicLongArray published;
  private final AtomicLong claim = new AtomicLong();
  private volatile long consumed;
  private final LongAdder dropped = new LongAdder();
  private final long baseEpochMicros;
  private final long baseNanos;

  /** A recorder with {@code capacity} slots (rounded up to a power of two). */
  public RequestRecorder(int capacity, Clock clock) {
    int cap = Integer.highestOneBit(Math.max(2, capacity - 1)) << 1;
    this.capacity = cap;
    this.mask = cap - 1;
    arrival = new long[cap];
    scheduled = new long[cap];
    firstToken = new long[cap];
    completed = new long[cap];
    inputTokens = new int[cap];
    outputTokens = new int[cap];
    status = new RequestStatus[cap];
    model = new String[cap];
    errorType = new String[cap];
    requestId = new String[cap];
    published = new AtomicLongArray(cap);
    Instant now = clock.instant();
    baseNanos = System.nanoTime();
    baseEpochMicros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  /** Current time as epoch microseconds (monotonic within this recorder). */
  public long nowMicros() {
    return baseEpochMicros + (System.nanoTime() - baseNanos) / 1_000L;
  }

  public int capacity() {
    return capacity;
  }

  /** Requests dropped because the ring was full. */
  public long dropped() {
    return dropped.sum();
  }

  /** Slots recorded but not yet drained. */
  public long backlog() {
    return claim.get() - consumed;
  }

  /**
   * Records one finished request. Optional timestamps are {@code 0} when unknown; token counts
   * {@link #ABSENT}.
   *
   * @return false when the ring was full and the request was dropped (counted)
   */
  public boolean record(
      String modelName,
      long arrivalUs,
      long scheduledUs,
      long firstTokenUs,
      long completedUs,
      int inputTokenCount,
      int outputTokenCount,
      RequestStatus outcome,
      String error) {
    return record(
        null,
        modelName,
        arrivalUs,
        scheduledUs,
        firstTokenUs,
        completedUs,
        inputTokenCount,
        outputTokenCount,
        outcome,
        error);
  }

  /**
   * As {@link #record(String, long, long, long, long, int, int, RequestStatus, String)} for a
   * request the server identifies: its event id is derived from ({@code id}, host, model), so that
   * recording the same request twice (a replay after a restart, say) gives the same event id and
   * the streams app counts it once. A null or empty id means: none (a random event id).
   */
  public boolean record(
      String id,
      String modelName,
      long arrivalUs,
      long scheduledUs,
      long firstTokenUs,
      long completedUs,
      int inputTokenCount,
      int outputTokenCount,
      RequestStatus outcome,
      String error) {
    long seq;
    do {
      seq = claim.get();
      if (seq - consumed >= capacity) {
        dropped.increment();
        return false;
      }
    } while (!claim.compareAndSet(seq, seq + 1));
    int i = (int) (seq & mask);
    arrival[i] = arrivalUs;
    scheduled[i] = scheduledUs;
    firstToken[i] = firstTokenUs;
    completed[i] = completedUs;
    inputTokens[i] = inputTokenCount;
    outputTokens[i] = outputTokenCount;
    status[i] = outcome;
    model[i] = modelName;
    errorType[i] = error;
    requestId[i] = id;
    published.lazySet(i, seq + 1); // release: the slot's fields are visible before the marker
    return true;
  }

  /** Receives the fields of one drained slot (primitives, so draining itself need not allocate). */
  @FunctionalInterface
  public interface SlotVisitor {
    void visit(
        String modelName,
        long arrivalUs,
        long scheduledUs,
        long firstTokenUs,
        long completedUs,
        int inputTokenCount,
        int outputTokenCount,
        RequestStatus outcome,
        String error);
  }

  /**
   * Drains up to {@code max} recorded slots in order into {@code visitor}. Single consumer only.
   * Slots are released to producers once per call (after the visitor saw them), which keeps the
   * consumer's volatile writes off the per-slot path.
   *
   * @return the number of slots drained
   */
  public int drain(SlotVisitor visitor, int max) {
    return drainSlots(
        (id, m, a, s, f, c, in, out, st, err) -> visitor.visit(m, a, s, f, c, in, out, st, err),
        max);
  }

  /** A drained slot with its request id (null: none). */
  private interface IdentifiedSlotVisitor {
    void visit(
        String id,
        String modelName,
        long arrivalUs,
        long scheduledUs,
        long firstTokenUs,
        long completedUs,
        int inputTokenCount,
        int outputTokenCount,
        RequestStatus outcome,
        String error);
  }

  private int drainSlots(IdentifiedSlotVisitor visitor, int max) {
    int n = 0;
    long seq = consumed;
    int limit = Math.min(max, capacity);
    while (n < limit) {
      int i = (int) (seq & mask);
      if (published.get(i) != seq + 1) {
        break;
      }
      String m = model[i];
      String err = errorType[i];
      String id = requestId[i];
      model[i] = null;
      errorType[i] = null;
      requestId[i] = null;
      visitor.visit(
          id,
          m,
          arrival[i],
          scheduled[i],
          firstToken[i],
          completed[i],
          inputTokens[i],
          outputTokens[i],
          status[i],
          err);
      seq++;
      n++;
    }
    if (n > 0) {
      consumed = seq; // frees the slots for producers
    }
    return n;
  }

  /**
   * Drains up to {@code max} slots into events from {@code factory} (identity filled in by the
   * caller's defaults), handing each to {@code sink}. A slot recorded with a request id has it as
   * the event's requestId; the event id is then the caller's to derive (it knows the host). Single
   * consumer only.
   *
   * @return the number of slots drained
   */
  public int drain(
      java.util.function.Supplier<RequestEvent> factory, Consumer<RequestEvent> sink, int max) {
    return drainSlots(
        (id, m, a, s, f, c, in, out, st, err) -> {
          RequestEvent e = factory.get();
          if (id != null && !id.isEmpty()) {
            e.setRequestId(id);
          }
          e.setModel(m == null ? "" : m);
          e.setArrivalUs(a);
          e.setScheduledUs(s > 0 ? s : null);
          e.setFirstTokenUs(f > 0 ? f : null);
          e.setCompletedUs(c);
          e.setInputTokens(in >= 0 ? in : null);
          e.setOutputTokens(out >= 0 ? out : null);
          e.setStatus(st == null ? RequestStatus.OK : st);
          e.setErrorType(err);
          sink.accept(e);
        },
        max);
  }

  /** A new reusable per-request timer (allocate once per worker or pool them). */
  public Timer newTimer() {
    return new Timer(this);
  }

  /**
   * Marks the phases of one request in flight; reusable after {@link #complete}. Not thread-safe.
   */
  public static final class Timer {
    private final RequestRecorder recorder;
    private String model;
    private String requestId;
    private long arrivalUs;
    private long scheduledUs;
    private long firstTokenUs;
    private String errorType;
    private RequestStatus status = RequestStatus.OK;

    Timer(RequestRecorder recorder) {
      this.recorder = recorder;
    }

    /** The request arrived (before tokenization). Resets the timer. */
    public Timer arrival(String modelName) {
      model = modelName;
      requestId = null;
      arrivalUs = recorder.nowMicros();
      scheduledUs = 0;
      firstTokenUs = 0;
      errorType = null;
      status = RequestStatus.OK;
      return this;
    }

    /**
     * The server's id of this request (after {@link #arrival}): the event id is derived from it,
     * the host and the model, so the same request recorded twice counts once.
     */
    public Timer requestId(String id) {
      requestId = id;
      return this;
    }

    /** The request left the queue and was first batched. */
    public Timer scheduled() {
      scheduledUs = recorder.nowMicros();
      return this;
    }

    /** The first output token was produced. */
    public Timer firstToken() {
      firstTokenUs = recorder.nowMicros();
      return this;
    }

    /** Marks the request as failed with an error type (status ERROR, or the given one). */
    public Timer failed(RequestStatus outcome, String type) {
      status = outcome;
      errorType = type;
      return this;
    }

    /** The request completed: records it. Returns false if the ring was full (dropped, counted). */
    public boolean complete(int inputTokenCount, int outputTokenCount) {
      return recorder.record(
          requestId,
          model,
          arrivalUs,
          scheduledUs,
          firstTokenUs,
          recorder.nowMicros(),
          inputTokenCount,
          outputTokenCount,
          status,
          errorType);
    }
  }
}
