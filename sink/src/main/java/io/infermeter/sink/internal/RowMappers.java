package io.infermeter.sink.internal;

import io.infermeter.avro.Alert;
import io.infermeter.avro.BatchingStats;
import io.infermeter.avro.Bottleneck;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.JitterStats;
import io.infermeter.avro.LatencyExemplar;
import io.infermeter.avro.LatencyStats;
import io.infermeter.avro.ModelAttribution;
import io.infermeter.avro.ProcessMemory;
import io.infermeter.avro.SloAttainment;
import io.infermeter.avro.WindowAggregate;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;

/**
 * Turns each Avro record into the rows of its tables (column order of {@link Table}). Pure
 * functions, thread-safe. Times on the wire are epoch microseconds and become {@link Instant}s for
 * DateTime64(6) columns. Values ClickHouse cannot hold (a negative count for a UInt64 column,
 * bucket arrays of different lengths) raise {@link IllegalArgumentException}, which the sink sends
 * to the dead-letter topic with the reason.
 */
public final class RowMappers {

  /** The model name of the idle row of a device window in energy_attribution. */
  public static final String IDLE_MODEL = "";

  private RowMappers() {}

  /** Receives the rows a record maps to. */
  @FunctionalInterface
  public interface RowConsumer {
    void accept(Table table, Object[] row);
  }

  /** Maps one record (with its Kafka position, the replacing version) to rows. */
  @FunctionalInterface
  public interface RowMapper<V> {
    void map(V value, int partition, long offset, RowConsumer out);
  }

  public static Instant micros(long epochMicros) {
    return Instant.ofEpochSecond(
        Math.floorDiv(epochMicros, 1_000_000L), Math.floorMod(epochMicros, 1_000_000L) * 1_000L);
  }

  static long unsigned(String field, long v) {
    if (v < 0) {
      throw new IllegalArgumentException(field + " is negative (" + v + ") but is stored unsigned");
    }
    return v;
  }

  private static <T, R> List<R> each(List<T> items, Function<T, R> f) {
    List<R> out = new ArrayList<>(items.size());
    for (T item : items) {
      out.add(f.apply(item));
    }
    return out;
  }

  public static void windowAggregate(
      WindowAggregate w, int partition, long offset, RowConsumer out) {
    Instant start = micros(w.getWindowStartUs());
    Instant end = micros(w.getWindowEndUs());
    long size = unsigned("windowSizeMs", w.getWindowSizeMs());
    BatchingStats b = w.getBatching();
    List<JitterStats> jitter = w.getJitter();
    List<SloAttainment> slo = w.getSlo();
    out.accept(
        Table.WINDOW_AGGREGATES,
        new Object[] {
          start,
          end,
          size,
          w.getScope(),
          w.getCluster(),
          w.getRegion(),
          w.getHost(),
          w.getModel(),
          w.getModelVersion(),
          w.getGpuType(),
          unsigned("requests", w.getRequests()),
          unsigned("ok", w.getOk()),
          unsigned("errors", w.getErrors()),
          unsigned("timeouts", w.getTimeouts()),
          unsigned("cancelled", w.getCancelled()),
          unsigned("coldStarts", w.getColdStarts()),
          w.getErrorsByType(),
          w.getQps(),
          unsigned("inputTokens", w.getInputTokens()),
          unsigned("outputTokens", w.getOutputTokens()),
          w.getOutputTokensPerSec(),
          unsigned("busyTimeUs", w.getBusyTimeUs()),
          w.getOutputTokensPerBusySec(),
          each(jitter, JitterStats::getMetric),
          each(jitter, JitterStats::getStddevUs),
          each(jitter, JitterStats::getCoefficientOfVariation),
          each(jitter, JitterStats::getP99OverP50),
          each(jitter, j -> unsigned("jitter.iqrUs", j.getIqrUs())),
          each(jitter, JitterStats::getMeanAbsConsecutiveDiffUs),
          each(slo, SloAttainment::getSloClass),
          each(slo, s -> unsigned("slo.requests", s.getRequests())),
          each(slo, s -> unsigned("slo.good", s.getGood())),
          each(slo, SloAttainment::getGoodputRps),
          each(slo, SloAttainment::getAttainmentPct),
          b == null ? null : b.getRequestsWithBatchSize(),
          b == null ? null : b.getMeanBatchSize(),
          b == null ? null : b.getMaxBatchSize(),
          b == null ? null : b.getEfficiency(),
          b == null ? null : b.getBatchSizeOneShare(),
          b == null ? null : b.getP50BatchSize(),
          b == null ? null : b.getP90BatchSize(),
          b == null ? null : b.getP99BatchSize(),
          b == null ? null : b.getTokensPerBatch(),
          partition,
          offset
        });
    for (LatencyStats l : w.getLatencies()) {
      List<Long> values = l.getBucketValuesUs();
      List<Long> counts = l.getBucketCounts();
      if (values.size() != counts.size()) {
        throw new IllegalArgumentException(
            "latency "
                + l.getMetric()
                + "/"
                + l.getCohort()
                + " has "
                + values.size()
                + " bucket values but "
                + counts.size()
                + " bucket counts");
      }
      for (int i = 0; i < values.size(); i++) {
        unsigned("bucketValuesUs", values.get(i));
        unsigned("bucketCounts", counts.get(i));
      }
      List<LatencyExemplar> exemplars = l.getExemplars();
      out.accept(
          Table.WINDOW_LATENCY,
          new Object[] {
            start,
            end,
            size,
            w.getScope(),
            w.getCluster(),
            w.getRegion(),
            w.getHost(),
            w.getModel(),
            w.getModelVersion(),
            w.getGpuType(),
            l.getMetric(),
            l.getCohort(),
            unsigned("count", l.getCount()),
            unsigned("minUs", l.getMinUs()),
            unsigned("maxUs", l.getMaxUs()),
            l.getMeanUs(),
            l.getStddevUs(),
            unsigned("p50Us", l.getP50Us()),
            unsigned("p90Us", l.getP90Us()),
            unsigned("p95Us", l.getP95Us()),
            unsigned("p99Us", l.getP99Us()),
            unsigned("p999Us", l.getP999Us()),
            values,
            counts,
            each(exemplars, x -> unsigned("exemplars.valueUs", x.getValueUs())),
            each(exemplars, LatencyExemplar::getEventId),
            each(exemplars, x -> x.getRequestId() == null ? "" : x.getRequestId()),
            partition,
            offset
          });
    }
  }

  public static void energy(DeviceWindowEnergy e, int partition, long offset, RowConsumer out) {
    Instant start = micros(e.getWindowStartUs());
    Instant end = micros(e.getWindowEndUs());
    long size = unsigned("windowSizeMs", e.getWindowSizeMs());
    out.accept(
        Table.DEVICE_ENERGY,
        new Object[] {
          start,
          end,
          size,
          e.getCluster(),
          e.getRegion(),
          e.getHost(),
          e.getDeviceId(),
          e.getDeviceKind(),
          e.getGpuType(),
          e.getMethod().name(),
          unsigned("samples", e.getSamples()),
          unsigned("counterResets", e.getCounterResets()),
          e.getMeasuredEnergyJ(),
          unsigned("busyTimeUs", e.getBusyTimeUs()),
          e.getIdleEnergyJ(),
          e.getPue(),
          e.getFacilityEnergyKwh(),
          e.getCarbonIntensityGPerKwh(),
          e.getCarbonIntensitySource(),
          e.getCarbonG(),
          e.getIdleCarbonG(),
          e.getCurrency(),
          e.getPricePerHour(),
          e.getCost(),
          e.getIdleCost(),
          partition,
          offset
        });
    double attributedShare = 0;
    for (ModelAttribution a : e.getAttributions()) {
      attributedShare += a.getShare();
      out.accept(
          Table.ENERGY_ATTRIBUTION,
          new Object[] {
            start,
            end,
            size,
            e.getCluster(),
            e.getRegion(),
            e.getHost(),
            e.getDeviceId(),
            e.getDeviceKind(),
            e.getGpuType(),
            a.getModel(),
            a.getModelVersion(),
            0,
            unsigned("requests", a.getRequests()),
            unsigned("outputTokens", a.getOutputTokens()),
            unsigned("busyTimeUs", a.getBusyTimeUs()),
            a.getShare(),
            a.getEnergyJ(),
            a.getCarbonG(),
            a.getCost(),
            e.getCurrency(),
            e.getPue(),
            e.getCarbonIntensityGPerKwh(),
            partition,
            offset
          });
    }
    // The idle row makes conservation visible in SQL: attributed + idle = measured per device
    // window.
    out.accept(
        Table.ENERGY_ATTRIBUTION,
        new Object[] {
          start,
          end,
          size,
          e.getCluster(),
          e.getRegion(),
          e.getHost(),
          e.getDeviceId(),
          e.getDeviceKind(),
          e.getGpuType(),
          IDLE_MODEL,
          "",
          1,
          0L,
          0L,
          0L,
          Math.max(0.0, 1.0 - attributedShare),
          e.getIdleEnergyJ(),
          e.getIdleCarbonG(),
          e.getIdleCost(),
          e.getCurrency(),
          e.getPue(),
          e.getCarbonIntensityGPerKwh(),
          partition,
          offset
        });
  }

  public static void bottleneck(Bottleneck b, int partition, long offset, RowConsumer out) {
    out.accept(
        Table.BOTTLENECKS,
        new Object[] {
          micros(b.getWindowStartUs()),
          micros(b.getWindowEndUs()),
          b.getCluster(),
          b.getRegion(),
          b.getHost(),
          b.getLabel().name(),
          b.getReason(),
          b.getInputs(),
          partition,
          offset
        });
  }

  public static void alert(Alert a, int partition, long offset, RowConsumer out) {
    out.accept(
        Table.ALERTS,
        new Object[] {
          micros(a.getEmittedUs()),
          a.getAlertId(),
          a.getDedupKey(),
          a.getRule(),
          a.getSeverity().name(),
          a.getState().name(),
          a.getCluster(),
          a.getRegion(),
          a.getHost(),
          a.getModel(),
          a.getDeviceId(),
          a.getKey(),
          micros(a.getWindowStartUs()),
          micros(a.getWindowEndUs()),
          a.getObserved(),
          a.getThreshold(),
          a.getBaseline(),
          a.getUnit(),
          a.getSummary(),
          a.getEvidence(),
          micros(a.getFirstSeenUs()),
          partition,
          offset
        });
  }

  public static void hardware(HardwareSample h, int partition, long offset, RowConsumer out) {
    List<ProcessMemory> procs = h.getProcesses();
    out.accept(
        Table.HARDWARE_SAMPLES,
        new Object[] {
          micros(h.getTimestampUs()),
          h.getCluster(),
          h.getRegion(),
          h.getHost(),
          h.getDeviceId(),
          h.getDeviceKind().name(),
          h.getGpuType() == null ? "" : h.getGpuType(),
          h.getSource(),
          h.getPod() == null ? "" : h.getPod(),
          h.getUtilizationPct(),
          h.getMemoryUtilizationPct(),
          unsignedOrNull("memoryUsedBytes", h.getMemoryUsedBytes()),
          unsignedOrNull("memoryTotalBytes", h.getMemoryTotalBytes()),
          h.getPowerW(),
          unsignedOrNull("energyMj", h.getEnergyMj()),
          h.getTemperatureC(),
          h.getSmClockMhz(),
          h.getMemClockMhz(),
          unsignedOrNull("throttleReasons", h.getThrottleReasons()),
          unsignedOrNull("pcieRxBytesPerSec", h.getPcieRxBytesPerSec()),
          unsignedOrNull("pcieTxBytesPerSec", h.getPcieTxBytesPerSec()),
          unsignedOrNull("xidErrors", h.getXidErrors()),
          each(procs, ProcessMemory::getPid),
          each(procs, p -> p.getName() == null ? "" : p.getName()),
          each(procs, p -> unsigned("processes.usedBytes", p.getUsedBytes())),
          partition,
          offset
        });
  }

  /** One engine sample; absent pod and model are '' (LowCardinality), absent values NULL. */
  public static void engine(EngineSample e, int partition, long offset, RowConsumer out) {
    out.accept(
        Table.ENGINE_SAMPLES,
        new Object[] {
          micros(e.getTimestampUs()),
          e.getCluster(),
          e.getRegion(),
          e.getHost(),
          e.getInstance(),
          e.getPod() == null ? "" : e.getPod(),
          e.getEngine(),
          e.getModel() == null ? "" : e.getModel(),
          e.getSource(),
          e.getKvCacheUsage(),
          unsignedOrNull("requestsRunning", e.getRequestsRunning()),
          unsignedOrNull("requestsWaiting", e.getRequestsWaiting()),
          unsignedOrNull("preemptionsTotal", e.getPreemptionsTotal()),
          partition,
          offset
        });
  }

  private static Long unsignedOrNull(String field, Long v) {
    return v == null ? null : unsigned(field, v);
  }

  public static void deadLetter(DeadLetter d, int partition, long offset, RowConsumer out) {
    out.accept(
        Table.DEAD_LETTERS,
        new Object[] {
          micros(d.getDetectedUs()),
          d.getStage(),
          d.getReason(),
          d.getMessage(),
          d.getErrorClass() == null ? "" : d.getErrorClass(),
          d.getSourceTopic() == null ? "" : d.getSourceTopic(),
          d.getSourcePartition(),
          d.getSourceOffset(),
          d.getRecordTimestampUs() == null ? null : micros(d.getRecordTimestampUs()),
          base64(d.getKey()),
          base64(d.getPayload()),
          partition,
          offset
        });
  }

  private static String base64(ByteBuffer buffer) {
    if (buffer == null) {
      return "";
    }
    ByteBuffer dup = buffer.duplicate();
    byte[] bytes = new byte[dup.remaining()];
    dup.get(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }
}
