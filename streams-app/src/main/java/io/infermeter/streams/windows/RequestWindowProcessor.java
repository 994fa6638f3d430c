package io.infermeter.streams.windows;

import io.infermeter.avro.Alert;
import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.Utf8;
import io.infermeter.streams.StreamsLimits;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.StreamsSettings.SloClass;
import io.infermeter.streams.alerts.WindowAlerts;
import io.infermeter.streams.energy.EnergyInput;
import io.infermeter.streams.energy.HostUsage;
import io.infermeter.streams.latency.Goodput;
import io.infermeter.streams.state.DedupStore;
import io.infermeter.streams.state.ObjectStore;
import io.infermeter.streams.support.DeadLetters;
import io.infermeter.streams.support.StreamsCounters;
import io.infermeter.streams.support.ValidatingProcessor;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Per-host request windows: validates, de-duplicates by event id (window store, bounded retention),
 * checks lateness against window end + grace (late records go to the dead-letter output with the
 * reason, counted), accumulates each configured window size per host key, and on window close emits
 * the WindowAggregate, the fleet partial, the host usage for energy attribution and any alert state
 * changes. A request is recorded once, into the smallest window; larger sizes that are multiples of
 * it are built by appending the closed smallest windows (a request late for the smallest window but
 * on time for a larger one is recorded into the larger one directly). Event time is the request's
 * completion time. Outputs are typed values on one stream (split downstream by type). Not
 * thread-safe (one per task).
 */
public final class RequestWindowProcessor
    implements Processor<String, RequestEvent, String, Object> {

  public static final String WINDOW_STORE = "request-window-store";
  public static final String META_STORE = "request-window-meta";
  public static final String DEDUP_STORE = "request-dedup-store";
  public static final String ALERT_STORE = "request-alert-state";

  /** Dead-letter reason of a record with a dimension string over limits.dimension.max.bytes. */
  private final StreamsSettings settings;

  private final StreamsLimits limits;
  private final StreamsCounters counters;
  private final Serializer<RequestEvent> rawSerializer;
  private final String sourceTopic;
  private final Clock clock;
  private final long alertSizeMs;
  private long smallestMs;

  /**
   * How far before its completion window a request's in-flight time is kept: allowed lateness +
   * grace + energy join delay, the oldest energy window that can still take it.
   */
  private final long lookbackMs;

  private ProcessorContext<String, Object> context;
  private WindowTable<RequestAccumulator> table;

  /** The stream time the idle check last saw, and the wall-clock time (ms) it last moved. */
  private long lastStreamTime = -1;

  private long lastMoveWallMs;
  private DedupStore dedup;
  private WindowAlerts alerts;

  public RequestWindowProcessor(
      StreamsSettings settings,
      StreamsCounters counters,
      Serializer<RequestEvent> rawSerializer,
      String sourceTopic,
      Clock clock) {
    this.settings = settings;
    this.limits = StreamsLimits.of(settings);
    this.counters = counters;
    this.rawSerializer = rawSerializer;
    this.sourceTopic = sourceTopic;
    this.clock = clock;
    this.alertSizeMs = settings.windowSizes().get(0).toMillis();
    this.lookbackMs =
        settings.allowedLateness().toMillis()
            + settings.grace().toMillis()
            + settings.energyDelay().toMillis();
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    ObjectStore<RequestAccumulator> store = context.getStateStore(WINDOW_STORE);
    KeyValueStore<String, Long> meta = context.getStateStore(META_STORE);
    List<Long> sizes = settings.windowSizesMs();
    table =
        new WindowTable<>(
                store,
                meta,
                settings.grace().toMillis(),
                settings.allowedLateness().toMillis(),
                sizes,
                settings.maxKeysPerWindow(),
                counters)
            .deriveFromSmallest(
                (t, p) -> t.append(p, limits, lookbackMs), AggKey::folded, RequestAccumulator::new);
    smallestMs = table.smallest();
    dedup = context.getStateStore(DEDUP_STORE);
    alerts =
        new WindowAlerts(context.getStateStore(ALERT_STORE), settings.alerts(), limits, counters);
    context.schedule(limits.evictionInterval(), PunctuationType.WALL_CLOCK_TIME, this::evict);
    if (table.allowedLatenessMs() > 0) {
      context.schedule(
          settings.correctionInterval(), PunctuationType.WALL_CLOCK_TIME, now -> emitCorrections());
    }
    long idleMs = settings.idleTimeout().toMillis();
    if (idleMs > 0) {
      lastMoveWallMs = context.currentSystemTimeMs();
      context.schedule(
          Duration.ofMillis(Math.max(100, Math.min(idleMs / 4, 5_000))),
          PunctuationType.WALL_CLOCK_TIME,
          this::advanceWhenIdle);
    }
  }

  /**
   * When no record has moved this task's stream time for {@code windows.idle.timeout} of wall-clock
   * time, moves it on by the wall-clock time that passed (never past the wall clock + {@code
   * windows.max.future}): the windows of the last requests before a pause close and are emitted
   * instead of waiting for the next request. A record that then arrives for such a window is a
   * correction (allowed lateness), not lost.
   */
  private void advanceWhenIdle(long nowMs) {
    long streamTime = table.streamTime();
    if (streamTime < 0) {
      return;
    }
    if (streamTime != lastStreamTime) {
      lastStreamTime = streamTime;
      lastMoveWallMs = nowMs;
      return;
    }
    long idleMs = nowMs - lastMoveWallMs;
    if (idleMs < settings.idleTimeout().toMillis()) {
      return;
    }
    long t0 = System.nanoTime();
    try {
      long target = Math.min(streamTime + idleMs, clock.millis() + settings.maxFuture().toMillis());
      lastMoveWallMs = nowMs;
      if (target <= streamTime) {
        return;
      }
      counters.idleAdvances.increment();
      List<RequestAccumulator> closed = table.advance(target);
      lastStreamTime = table.streamTime();
      emitCorrections();
      emit(closed);
    } finally {
      counters.punctuationNanos.add(System.nanoTime() - t0);
    }
  }

  private void evict(long nowMs) {
    long t0 = System.nanoTime();
    try {
      for (Alert alert : alerts.evict(nowMs)) {
        context.forward(new Record<>(alert.getDedupKey(), alert, nowMs));
      }
    } finally {
      counters.punctuationNanos.add(System.nanoTime() - t0);
    }
  }

  @Override
  public void process(Record<String, RequestEvent> record) {
    RequestEvent e = record.value();
    String invalid = validate(e);
    if (invalid != null) {
      deadLetter(record, "validation", invalid);
      return;
    }
    String tooLong = tooLongDimension(e, limits.dimensionMaxBytes());
    if (tooLong != null) {
      deadLetter(record, DeadLetters.DIMENSION_TOO_LONG, tooLong);
      return;
    }
    if (e.getErrorType() != null && Utf8.longerThan(e.getErrorType(), limits.errorTypeMaxBytes())) {
      counters.errorTypesTruncated.increment();
    }
    long eventTimeMs = e.getCompletedUs() / 1000;
    if (isDuplicate(e.getEventId(), eventTimeMs)) {
      counters.duplicates.increment();
      return;
    }
    AggKey key = AggKey.hostKey(e);
    SloClass cls =
        Goodput.classOf(e.getSloClass(), settings.sloClasses(), settings.defaultSloClass());
    StringBuilder late = null;
    boolean corrected = false;
    boolean smallestOnTime =
        !table.isLate(Math.floorDiv(eventTimeMs, smallestMs) * smallestMs + smallestMs);
    for (long size : table.sizes()) {
      long start = Math.floorDiv(eventTimeMs, size) * size;
      if (table.isLate(start + size)) {
        if (!table.isTooLate(start + size)) {
          WindowTable.Correction<RequestAccumulator> c =
              table.correct(key, start, size, RequestAccumulator::new, true);
          RequestAccumulator full = c.full();
          RequestAccumulator delta = c.delta();
          long fullBusyUs = full.busyUs;
          long deltaBusyUs = delta.busyUs;
          full.add(e, cls, limits, lookbackMs);
          delta.add(e, cls, limits, lookbackMs);
          // busy time is a union: the delta carries what the full window's busy time grew by, so
          // that the fleet, which adds deltas, gets the full window's value
          delta.busyUs = deltaBusyUs + full.busyUs - fullBusyUs;
          corrected = true;
          continue;
        }
        if (late == null) {
          late = new StringBuilder();
        }
        late.append(late.length() == 0 ? "" : ", ")
            .append(size)
            .append(" ms window [")
            .append(start)
            .append(", ")
            .append(start + size)
            .append(")");
        continue;
      }
      if (smallestOnTime && table.isDerived(size)) {
        continue; // built from the smallest window when that closes
      }
      if (table
          .getOrCreate(key, AggKey::folded, start, size, RequestAccumulator::new)
          .add(e, cls, limits, lookbackMs)) {
        counters.mapEntriesFolded.increment();
      }
    }
    if (corrected) {
      counters.lateCorrected.increment();
    }
    if (late != null) {
      counters.lateRecords.increment();
      deadLetter(
          record,
          "late",
          "event time "
              + eventTimeMs
              + " ms is past window end + grace ("
              + settings.grace().toMillis()
              + " ms) + allowed lateness ("
              + table.allowedLatenessMs()
              + " ms) at stream time "
              + table.streamTime()
              + " ms for "
              + late);
    }
    List<RequestAccumulator> closed =
        table.advance(
            FutureClamp.clockTime(
                eventTimeMs, clock.millis(), settings.maxFuture().toMillis(), counters));
    if (!closed.isEmpty()) {
      emitCorrections(); // before the windows that close after them
      emit(closed);
    }
  }

  /**
   * Re-emits the windows late records changed since the last call: the whole host aggregate again
   * (the sink keeps the newest, its tables being ReplacingMergeTree by Kafka offset), and only the
   * change (delta) to the fleet rollup and the energy join, which add it to what they already have.
   * Alerts are not evaluated again: a correction updates the numbers, never fires or resolves an
   * alert.
   */
  private void emitCorrections() {
    if (table.pendingCorrections() == 0) {
      return;
    }
    for (WindowTable.Correction<RequestAccumulator> c : table.drainCorrections()) {
      RequestAccumulator a = c.full();
      RequestAccumulator d = c.delta();
      long endMs = a.windowStartMs + a.windowSizeMs;
      counters.correctionsEmitted.increment();
      context.forward(
          new Record<>(
              WindowAggregates.recordKey(a),
              WindowAggregates.of(a, settings.outputHdrHistogram()),
              endMs));
      context.forward(
          UpstreamWatermark.stamped(
              new Record<>(d.key.fleet().asString(), d, endMs),
              context.taskId().toString(),
              table.streamTime()));
      context.forward(new Record<>(d.key.host(), new EnergyInput(null, HostUsage.of(d)), endMs));
    }
  }

  /**
   * De-duplication by event id within {@code dedup.retention} of event time behind the stream time.
   */
  private boolean isDuplicate(String eventId, long timeMs) {
    return !dedup.firstSighting(eventId, timeMs, Math.max(timeMs, table.streamTime()));
  }

  private void emit(List<RequestAccumulator> closed) {
    for (RequestAccumulator a : closed) {
      long endMs = a.windowStartMs + a.windowSizeMs;
      counters.windowsEmitted.increment();
      context.forward(
          new Record<>(
              WindowAggregates.recordKey(a),
              WindowAggregates.of(a, settings.outputHdrHistogram()),
              endMs));
      context.forward(
          UpstreamWatermark.stamped(
              new Record<>(a.key.fleet().asString(), a, endMs),
              context.taskId().toString(),
              table.streamTime()));
      context.forward(new Record<>(a.key.host(), new EnergyInput(null, HostUsage.of(a)), endMs));
      if (a.windowSizeMs == alertSizeMs) {
        for (Alert alert : alerts.evaluate(a, context.currentSystemTimeMs())) {
          context.forward(new Record<>(alert.getDedupKey(), alert, endMs));
        }
      }
    }
  }

  static String validate(RequestEvent e) {
    if (e == null) {
      return "null value (tombstone) on the request topic";
    }
    if (e.getEventId() == null || e.getEventId().isEmpty()) {
      return "eventId is empty";
    }
    if (e.getHost() == null
        || e.getHost().isEmpty()
        || e.getModel() == null
        || e.getModel().isEmpty()) {
      return "host and model are required";
    }
    if (e.getCompletedUs() < e.getArrivalUs()) {
      return "completedUs " + e.getCompletedUs() + " is before arrivalUs " + e.getArrivalUs();
    }
    if (e.getArrivalUs() <= 0) {
      return "arrivalUs must be a positive epoch time, got " + e.getArrivalUs();
    }
    return null;
  }

  /**
   * The first dimension of {@code e} (or its event id) longer than {@code maxBytes} in UTF-8, as a
   * message naming it and its size; null when all fit.
   */
  static String tooLongDimension(RequestEvent e, int maxBytes) {
    return ValidatingProcessor.firstTooLong(
        new String[] {
          "eventId", e.getEventId(),
          "host", e.getHost(),
          "model", e.getModel(),
          "modelVersion", e.getModelVersion(),
          "cluster", e.getCluster(),
          "region", e.getRegion(),
          "gpuType", e.getGpuType(),
          "deviceId", e.getDeviceId(),
          "sloClass", e.getSloClass(),
          // the pod (field or attribute) keys the per-device usage when there is no device id
          "pod", e.getPod(),
          "attributes.pod",
              e.getAttributes() == null
                  ? null
                  : e.getAttributes().get(RequestAccumulator.POD_ATTRIBUTE)
        },
        maxBytes);
  }

  private void deadLetter(Record<String, RequestEvent> record, String reason, String message) {
    byte[] payload =
        record.value() == null ? null : rawSerializer.serialize(sourceTopic, record.value());
    DeadLetters.forward(
        context, counters, limits, clock, record, sourceTopic, reason, message, payload);
  }
}
