package io.infermeter.streams.windows;

import io.infermeter.avro.Alert;
import io.infermeter.streams.StreamsLimits;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.alerts.WindowAlerts;
import io.infermeter.streams.support.DeadLetters;
import io.infermeter.streams.support.StreamsCounters;
import java.time.Clock;
import java.util.List;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Fleet rollup per (model, version): merges the host partials of a window (exact: histograms add
 * bucket-wise) and emits the fleet WindowAggregate when the upstream watermark ({@link
 * UpstreamWatermark}: the slowest upstream request task's stream time minus grace) passes window
 * end + the fleet delay. A partial arriving after that (its task was silent for longer than
 * windows.fleet.idle) is counted and dead-lettered (reason late-partial), never merged into an
 * already emitted window silently. Not thread-safe (one per task).
 */
public final class FleetRollupProcessor
    implements Processor<String, RequestAccumulator, String, Object> {

  public static final String WINDOW_STORE = "fleet-window-store";
  public static final String META_STORE = "fleet-window-meta";
  public static final String ALERT_STORE = "fleet-alert-state";

  private final StreamsSettings settings;
  private final StreamsLimits limits;
  private final StreamsCounters counters;
  private final Clock clock;
  private final long alertSizeMs;
  private ProcessorContext<String, Object> context;
  private WindowTable<RequestAccumulator> table;
  private WindowAlerts alerts;
  private UpstreamWatermark upstream;

  public FleetRollupProcessor(StreamsSettings settings, StreamsCounters counters, Clock clock) {
    this.settings = settings;
    this.limits = StreamsLimits.of(settings);
    this.counters = counters;
    this.clock = clock;
    this.alertSizeMs = settings.windowSizes().get(0).toMillis();
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    List<Long> sizes = settings.windowSizesMs();
    table =
        new WindowTable<>(
            context.getStateStore(WINDOW_STORE),
            context.getStateStore(META_STORE),
            settings.fleetDelay().toMillis(),
            settings.allowedLateness().toMillis(),
            sizes,
            settings.maxKeysPerWindow(),
            counters);
    alerts =
        new WindowAlerts(context.getStateStore(ALERT_STORE), settings.alerts(), limits, counters);
    context.schedule(
        limits.evictionInterval(),
        PunctuationType.WALL_CLOCK_TIME,
        nowMs -> {
          for (Alert alert : alerts.evict(nowMs)) {
            context.forward(new Record<>(alert.getDedupKey(), alert, nowMs));
          }
        });
    if (table.allowedLatenessMs() > 0) {
      context.schedule(
          settings.correctionInterval(), PunctuationType.WALL_CLOCK_TIME, now -> emitCorrections());
    }
    upstream =
        UpstreamWatermark.inStore(
            context.getStateStore(META_STORE),
            settings.grace().toMillis(),
            settings.fleetIdle().toMillis(),
            settings.fleetUpstreamTasks(),
            clock.millis());
  }

  @Override
  public void process(Record<String, RequestAccumulator> record) {
    RequestAccumulator p = record.value();
    if (p == null) {
      return;
    }
    long end = p.windowStartMs + p.windowSizeMs;
    long now = clock.millis();
    upstream.report(record.headers(), end, now);
    AggKey fleet = p.key.fleet();
    if (table.isLate(end) && !table.isTooLate(end)) {
      table
          .correct(fleet, p.windowStartMs, p.windowSizeMs, RequestAccumulator::new, false)
          .full()
          .merge(p, limits);
      counters.lateCorrected.increment();
      return;
    }
    if (table.isLate(end)) {
      counters.lateRecords.increment();
      DeadLetters.forward(
          context,
          counters,
          limits,
          clock,
          record,
          null,
          "late-partial",
          "host partial of window ["
              + p.windowStartMs
              + ", "
              + end
              + ") ms arrived after the fleet window closed "
              + "(upstream watermark "
              + table.streamTime()
              + " ms, fleet delay "
              + settings.fleetDelay().toMillis()
              + " ms, allowed lateness "
              + table.allowedLatenessMs()
              + " ms)",
          p.toBytes(true));
      return;
    }
    AggKey folded =
        new AggKey(
            AggKey.FLEET_SCOPE, AggKey.ALL, AggKey.ALL, AggKey.ALL, AggKey.OTHER, "", AggKey.ALL);
    table
        .getOrCreate(fleet, k -> folded, p.windowStartMs, p.windowSizeMs, RequestAccumulator::new)
        .merge(p, limits);
    List<RequestAccumulator> closed = table.advance(upstream.watermark(now));
    if (!closed.isEmpty()) {
      emitCorrections();
    }
    for (RequestAccumulator a : closed) {
      long endMs = a.windowStartMs + a.windowSizeMs;
      counters.windowsEmitted.increment();
      context.forward(
          new Record<>(
              WindowAggregates.recordKey(a),
              WindowAggregates.of(a, settings.outputHdrHistogram()),
              endMs));
      if (a.windowSizeMs == alertSizeMs) {
        for (Alert alert : alerts.evaluate(a, context.currentSystemTimeMs())) {
          context.forward(new Record<>(alert.getDedupKey(), alert, endMs));
        }
      }
    }
  }

  /**
   * Re-emits the fleet windows that late host partials (or host corrections) changed; alerts are
   * not evaluated.
   */
  private void emitCorrections() {
    if (table.pendingCorrections() == 0) {
      return;
    }
    for (WindowTable.Correction<RequestAccumulator> c : table.drainCorrections()) {
      RequestAccumulator a = c.full();
      counters.correctionsEmitted.increment();
      context.forward(
          new Record<>(
              WindowAggregates.recordKey(a),
              WindowAggregates.of(a, settings.outputHdrHistogram()),
              a.windowStartMs + a.windowSizeMs));
    }
  }
}
