package io.infermeter.sink.internal;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.Bottleneck;
import io.infermeter.avro.BottleneckLabel;
import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EnergyMethod;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.LatencyStats;
import io.infermeter.avro.ModelAttribution;
import io.infermeter.avro.ProcessMemory;
import io.infermeter.avro.Severity;
import io.infermeter.avro.SloAttainment;
import io.infermeter.avro.WindowAggregate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/** Builders of known records for the sink's tests. */
final class Fixtures {

  static final long T0_US =
      1_790_000_000_000_000L; // 2026-09-21, a fixed time so queries get a known range

  private Fixtures() {}

  /**
   * A histogram of {@code values} with 3 significant digits, the precision the streams app uses.
   */
  static Histogram histogram(long[] values) {
    Histogram h = new Histogram(3);
    for (long v : values) {
      h.recordValue(v);
    }
    return h;
  }

  /**
   * LatencyStats from a histogram the way the streams app builds it (recordedValues: highest
   * equivalent value).
   */
  static LatencyStats latency(String metric, String cohort, Histogram h) {
    List<Long> values = new ArrayList<>();
    List<Long> counts = new ArrayList<>();
    for (HistogramIterationValue v : h.recordedValues()) {
      values.add(v.getValueIteratedTo());
      counts.add(v.getCountAtValueIteratedTo());
    }
    return LatencyStats.newBuilder()
        .setMetric(metric)
        .setCohort(cohort)
        .setCount(h.getTotalCount())
        .setMinUs(h.getMinValue())
        .setMaxUs(h.getMaxValue())
        .setMeanUs(h.getMean())
        .setStddevUs(h.getStdDeviation())
        .setP50Us(h.getValueAtPercentile(50))
        .setP90Us(h.getValueAtPercentile(90))
        .setP95Us(h.getValueAtPercentile(95))
        .setP99Us(h.getValueAtPercentile(99))
        .setP999Us(h.getValueAtPercentile(99.9))
        .setBucketValuesUs(values)
        .setBucketCounts(counts)
        .build();
  }

  static WindowAggregate.Builder window(
      long windowIndex, String host, String model, long requests) {
    long start = T0_US + windowIndex * 10_000_000L;
    return WindowAggregate.newBuilder()
        .setWindowStartUs(start)
        .setWindowEndUs(start + 10_000_000L)
        .setWindowSizeMs(10_000)
        .setScope("host")
        .setCluster("c1")
        .setRegion("eu-west")
        .setHost(host)
        .setModel(model)
        .setModelVersion("v1")
        .setGpuType("H100")
        .setRequests(requests)
        .setOk(requests)
        .setErrors(0)
        .setTimeouts(0)
        .setCancelled(0)
        .setColdStarts(0)
        .setErrorsByType(Map.of())
        .setQps(requests / 10.0)
        .setInputTokens(requests * 100)
        .setOutputTokens(requests * 50)
        .setOutputTokensPerSec(requests * 5.0)
        .setBusyTimeUs(requests * 1000)
        .setOutputTokensPerBusySec(null)
        .setLatencies(List.of())
        .setJitter(List.of())
        .setSlo(List.of())
        .setBatching(null);
  }

  static SloAttainment slo(String cls, long requests, long good) {
    return SloAttainment.newBuilder()
        .setSloClass(cls)
        .setRequests(requests)
        .setGood(good)
        .setGoodputRps(good / 10.0)
        .setAttainmentPct(requests == 0 ? 0 : good * 100.0 / requests)
        .build();
  }

  static ModelAttribution attribution(
      String model,
      long requests,
      long tokens,
      double share,
      double energyJ,
      double carbonG,
      double cost) {
    return ModelAttribution.newBuilder()
        .setModel(model)
        .setModelVersion("v1")
        .setRequests(requests)
        .setOutputTokens(tokens)
        .setBusyTimeUs(requests * 1000)
        .setShare(share)
        .setEnergyJ(energyJ)
        .setCarbonG(carbonG)
        .setCost(cost)
        .build();
  }

  static DeviceWindowEnergy energy(
      long windowIndex,
      String host,
      String region,
      String gpuType,
      double idleEnergyJ,
      double idleCarbonG,
      double idleCost,
      List<ModelAttribution> attributions) {
    long start = T0_US + windowIndex * 10_000_000L;
    double measured =
        idleEnergyJ + attributions.stream().mapToDouble(ModelAttribution::getEnergyJ).sum();
    double carbon =
        idleCarbonG + attributions.stream().mapToDouble(ModelAttribution::getCarbonG).sum();
    double cost = idleCost + attributions.stream().mapToDouble(ModelAttribution::getCost).sum();
    return DeviceWindowEnergy.newBuilder()
        .setWindowStartUs(start)
        .setWindowEndUs(start + 10_000_000L)
        .setWindowSizeMs(10_000)
        .setCluster("c1")
        .setRegion(region)
        .setHost(host)
        .setDeviceId(host + "-gpu0")
        .setDeviceKind("GPU")
        .setGpuType(gpuType)
        .setMethod(EnergyMethod.COUNTER)
        .setSamples(10)
        .setCounterResets(0)
        .setMeasuredEnergyJ(measured)
        .setBusyTimeUs(5_000_000)
        .setIdleEnergyJ(idleEnergyJ)
        .setPue(1.2)
        .setFacilityEnergyKwh(measured * 1.2 / 3.6e6)
        .setCarbonIntensityGPerKwh(475)
        .setCarbonIntensitySource("default")
        .setCarbonG(carbon)
        .setIdleCarbonG(idleCarbonG)
        .setCurrency("USD")
        .setPricePerHour(2.0)
        .setCost(cost)
        .setIdleCost(idleCost)
        .setAttributions(attributions)
        .build();
  }

  static Bottleneck bottleneck(long windowIndex, String host, BottleneckLabel label) {
    long start = T0_US + windowIndex * 10_000_000L;
    return Bottleneck.newBuilder()
        .setWindowStartUs(start)
        .setWindowEndUs(start + 10_000_000L)
        .setCluster("c1")
        .setRegion("eu-west")
        .setHost(host)
        .setLabel(label)
        .setReason("rule " + label)
        .setInputs(Map.of("gpuUtilPct", 97.0))
        .build();
  }

  static Alert alert(
      String id,
      String dedupKey,
      String rule,
      Severity severity,
      AlertState state,
      String host,
      long emittedOffsetUs) {
    return Alert.newBuilder()
        .setAlertId(id)
        .setDedupKey(dedupKey)
        .setRule(rule)
        .setSeverity(severity)
        .setState(state)
        .setCluster("c1")
        .setRegion("eu-west")
        .setHost(host)
        .setModel("llama")
        .setDeviceId("")
        .setKey(Map.of("host", host))
        .setWindowStartUs(T0_US)
        .setWindowEndUs(T0_US + 10_000_000L)
        .setObserved(120)
        .setThreshold(100)
        .setBaseline(90.0)
        .setUnit("us")
        .setSummary("p99 up")
        .setEvidence(Map.of("p99Us", "120"))
        .setFirstSeenUs(T0_US)
        .setEmittedUs(T0_US + emittedOffsetUs)
        .build();
  }

  /**
   * A GPU sample at {@code T0_US + offsetUs}; null utilization/power when the argument is null (not
   * reported).
   */
  static HardwareSample gpuSample(
      String host, long offsetUs, Double utilizationPct, Double powerW, long throttle) {
    return HardwareSample.newBuilder()
        .setCluster("c1")
        .setRegion("eu-west")
        .setHost(host)
        .setDeviceId(host + "-gpu0")
        .setDeviceKind(DeviceKind.GPU)
        .setGpuType("H100")
        .setSource("nvml")
        .setTimestampUs(T0_US + offsetUs)
        .setUtilizationPct(utilizationPct)
        .setMemoryUtilizationPct(null)
        .setMemoryUsedBytes(1_000_000L + offsetUs)
        .setMemoryTotalBytes(80_000_000_000L)
        .setPowerW(powerW)
        .setEnergyMj(5_000_000L + offsetUs / 1000)
        .setTemperatureC(60.0)
        .setSmClockMhz(1980)
        .setMemClockMhz(2619)
        .setThrottleReasons(throttle)
        .setPcieRxBytesPerSec(null)
        .setPcieTxBytesPerSec(null)
        .setXidErrors(0L)
        .setProcesses(
            List.of(
                ProcessMemory.newBuilder().setPid(42).setName("vllm").setUsedBytes(1000).build()))
        .build();
  }
}
