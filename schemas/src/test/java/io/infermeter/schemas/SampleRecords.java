package io.infermeter.schemas;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.BatchingStats;
import io.infermeter.avro.Bottleneck;
import io.infermeter.avro.BottleneckLabel;
import io.infermeter.avro.CarbonIntensityUpdate;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.EnergyMethod;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.JitterStats;
import io.infermeter.avro.LatencyExemplar;
import io.infermeter.avro.LatencyStats;
import io.infermeter.avro.ModelAttribution;
import io.infermeter.avro.PriceUpdate;
import io.infermeter.avro.ProcessMemory;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.avro.Severity;
import io.infermeter.avro.SloAttainment;
import io.infermeter.avro.WindowAggregate;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.specific.SpecificRecord;

/**
 * One representative, fully deterministic instance of every top-level record type (every optional
 * field set, every nested record and collection non-empty, maps sorted), for serde round trips and
 * the golden fixtures. Each field gets a distinct value so that a swapped or dropped field cannot
 * go unnoticed.
 *
 * <p>Changing a value here does not change an existing golden fixture: {@code GoldenFixtures}
 * writes new versions only.
 */
public final class SampleRecords {

  /** 2026-01-02T03:04:05.123456Z in epoch microseconds. */
  public static final long T0_US = 1_767_323_045_123_456L;

  private SampleRecords() {}

  /**
   * Every top-level record type of {@code src/main/avro}, keyed by record name, in a stable order.
   */
  public static Map<String, SpecificRecord> all() {
    Map<String, SpecificRecord> all = new LinkedHashMap<>();
    for (SpecificRecord r :
        List.of(
            requestEvent(),
            hardwareSample(),
            windowAggregate(),
            deviceWindowEnergy(),
            bottleneck(),
            alert(),
            deadLetter(),
            priceUpdate(),
            carbonIntensityUpdate(),
            engineSample())) {
      all.put(r.getSchema().getName(), r);
    }
    return all;
  }

  public static RequestEvent requestEvent() {
    return RequestEvent.newBuilder()
        .setEventId("evt-0001")
        .setRequestId("cmpl-42")
        .setSource("otlp")
        .setCluster("prod-eu")
        .setRegion("eu-west-1")
        .setHost("gpu-host-07")
        .setDeviceId("GPU-8f2c1a9e-0000-4000-8000-000000000007")
        .setGpuType("H100-SXM")
        .setModel("llama-3.1-8b-instruct")
        .setModelVersion("2024-07-23")
        .setEngine("vllm")
        .setOperation("chat")
        .setStatus(RequestStatus.ERROR)
        .setErrorType("ContextLengthExceeded")
        .setArrivalUs(T0_US)
        .setScheduledUs(T0_US + 1_250)
        .setFirstTokenUs(T0_US + 41_250)
        .setCompletedUs(T0_US + 1_041_250)
        .setInputTokens(512)
        .setOutputTokens(101)
        .setCachedTokens(256)
        .setBatchSize(12)
        .setMaxBatchSize(64)
        .setColdStart(true)
        .setSloClass("interactive")
        .setMaxInterTokenGapUs(35_000L)
        .setAttributes(sorted(Map.of("tenant", "acme", "priority", "high")))
        .setPod("vllm-llama-0")
        .build();
  }

  public static HardwareSample hardwareSample() {
    return HardwareSample.newBuilder()
        .setCluster("prod-eu")
        .setRegion("eu-west-1")
        .setHost("gpu-host-07")
        .setDeviceId("GPU-8f2c1a9e-0000-4000-8000-000000000007")
        .setDeviceKind(DeviceKind.GPU)
        .setGpuType("NVIDIA H100 80GB HBM3")
        .setSource("nvml")
        .setTimestampUs(T0_US + 7)
        .setUtilizationPct(87.5)
        .setMemoryUtilizationPct(41.25)
        .setMemoryUsedBytes(61_203_283_968L)
        .setMemoryTotalBytes(85_899_345_920L)
        .setPowerW(612.75)
        .setEnergyMj(9_876_543_210L)
        .setTemperatureC(71.5)
        .setSmClockMhz(1_980)
        .setMemClockMhz(2_619)
        .setThrottleReasons(0x4L)
        .setPcieRxBytesPerSec(1_234_567L)
        .setPcieTxBytesPerSec(7_654_321L)
        .setXidErrors(2L)
        .setProcesses(
            List.of(
                ProcessMemory.newBuilder()
                    .setPid(4242)
                    .setName("python3")
                    .setUsedBytes(60_129_542_144L)
                    .build(),
                ProcessMemory.newBuilder()
                    .setPid(4343)
                    .setName(null)
                    .setUsedBytes(1_073_741_824L)
                    .build()))
        .setPod("vllm-llama-0")
        .build();
  }

  public static EngineSample engineSample() {
    return EngineSample.newBuilder()
        .setCluster("prod-eu")
        .setRegion("eu-west-1")
        .setHost("gpu-host-07")
        .setInstance("10.0.3.17:8000")
        .setPod("vllm-llama-0")
        .setEngine("vllm")
        .setModel("meta-llama/Llama-3.1-8B-Instruct")
        .setSource("scrape")
        .setTimestampUs(T0_US + 11)
        .setKvCacheUsage(0.8125)
        .setRequestsRunning(37L)
        .setRequestsWaiting(5L)
        .setPreemptionsTotal(3L)
        .build();
  }

  public static WindowAggregate windowAggregate() {
    LatencyStats e2eWarm =
        LatencyStats.newBuilder()
            .setMetric("e2e")
            .setCohort("warm")
            .setCount(3)
            .setMinUs(900_000)
            .setMaxUs(1_200_000)
            .setMeanUs(1_033_333.5)
            .setStddevUs(124_721.9)
            .setP50Us(1_000_000)
            .setP90Us(1_200_000)
            .setP95Us(1_200_000)
            .setP99Us(1_200_000)
            .setP999Us(1_200_000)
            .setBucketValuesUs(List.of(900_095L, 1_000_447L, 1_200_127L))
            .setBucketCounts(List.of(1L, 1L, 1L))
            .setHdrHistogram(bytes("HISTFAKE"))
            .setExemplars(
                List.of(
                    new LatencyExemplar(1_200_000L, "evt-slow-1", "req-slow-1"),
                    new LatencyExemplar(1_000_000L, "evt-slow-2", null),
                    new LatencyExemplar(900_000L, "evt-slow-3", "req-slow-3")))
            .build();
    LatencyStats ttftCold =
        LatencyStats.newBuilder()
            .setMetric("ttft")
            .setCohort("cold")
            .setCount(1)
            .setMinUs(5_000_000)
            .setMaxUs(5_000_000)
            .setMeanUs(5_000_000.0)
            .setStddevUs(0.0)
            .setP50Us(5_000_000)
            .setP90Us(5_000_000)
            .setP95Us(5_000_000)
            .setP99Us(5_000_000)
            .setP999Us(5_000_000)
            .setBucketValuesUs(List.of(5_001_215L))
            .setBucketCounts(List.of(1L))
            .setHdrHistogram(null)
            .build();
    return WindowAggregate.newBuilder()
        .setWindowStartUs(T0_US - T0_US % 10_000_000)
        .setWindowEndUs(T0_US - T0_US % 10_000_000 + 10_000_000)
        .setWindowSizeMs(10_000)
        .setScope("host")
        .setCluster("prod-eu")
        .setRegion("eu-west-1")
        .setHost("gpu-host-07")
        .setModel("llama-3.1-8b-instruct")
        .setModelVersion("2024-07-23")
        .setGpuType("H100-SXM")
        .setRequests(4)
        .setOk(2)
        .setErrors(1)
        .setTimeouts(1)
        .setCancelled(0)
        .setColdStarts(1)
        .setErrorsByType(sorted(Map.of("ContextLengthExceeded", 1L, "timeout", 1L)))
        .setQps(0.4)
        .setInputTokens(2_048)
        .setOutputTokens(404)
        .setOutputTokensPerSec(40.4)
        .setBusyTimeUs(4_160_000)
        .setOutputTokensPerBusySec(97.115)
        .setLatencies(List.of(e2eWarm, ttftCold))
        .setJitter(
            List.of(
                JitterStats.newBuilder()
                    .setMetric("e2e")
                    .setStddevUs(124_721.9)
                    .setCoefficientOfVariation(0.1207)
                    .setP99OverP50(1.2)
                    .setIqrUs(150_000)
                    .setMeanAbsConsecutiveDiffUs(200_000.25)
                    .build()))
        .setSlo(
            List.of(
                SloAttainment.newBuilder()
                    .setSloClass("interactive")
                    .setRequests(4)
                    .setGood(2)
                    .setGoodputRps(0.2)
                    .setAttainmentPct(50.0)
                    .build()))
        .setBatching(
            BatchingStats.newBuilder()
                .setRequestsWithBatchSize(4)
                .setMeanBatchSize(9.5)
                .setMaxBatchSize(64)
                .setEfficiency(0.1484375)
                .setBatchSizeOneShare(0.25)
                .setP50BatchSize(12)
                .setP90BatchSize(13)
                .setP99BatchSize(13)
                .setTokensPerBatch(959.5)
                .build())
        .build();
  }

  public static DeviceWindowEnergy deviceWindowEnergy() {
    return DeviceWindowEnergy.newBuilder()
        .setWindowStartUs(T0_US - T0_US % 60_000_000)
        .setWindowEndUs(T0_US - T0_US % 60_000_000 + 60_000_000)
        .setWindowSizeMs(60_000)
        .setCluster("prod-eu")
        .setRegion("eu-west-1")
        .setHost("gpu-host-07")
        .setDeviceId("GPU-8f2c1a9e-0000-4000-8000-000000000007")
        .setDeviceKind("GPU")
        .setGpuType("H100-SXM")
        .setMethod(EnergyMethod.COUNTER)
        .setSamples(60)
        .setCounterResets(1)
        .setMeasuredEnergyJ(36_000.0)
        .setBusyTimeUs(45_000_000)
        .setIdleEnergyJ(9_000.0)
        .setPue(1.2)
        .setFacilityEnergyKwh(0.012)
        .setCarbonIntensityGPerKwh(475.0)
        .setCarbonIntensitySource("default")
        .setCarbonG(5.7)
        .setIdleCarbonG(1.425)
        .setCurrency("USD")
        .setPricePerHour(3.6)
        .setCost(0.06)
        .setIdleCost(0.015)
        .setAttributions(
            List.of(
                ModelAttribution.newBuilder()
                    .setModel("llama-3.1-8b-instruct")
                    .setModelVersion("2024-07-23")
                    .setRequests(90)
                    .setOutputTokens(9_000)
                    .setBusyTimeUs(45_000_000)
                    .setShare(0.75)
                    .setEnergyJ(27_000.0)
                    .setCarbonG(4.275)
                    .setCost(0.045)
                    .setEnergyPerRequestJ(300.0)
                    .setEnergyPer1kOutputTokensJ(3_000.0)
                    .setCostPer1MOutputTokens(5.0)
                    .setCostPerRequest(0.0005)
                    .setInferencesPerJoule(0.0033333)
                    .build()))
        .build();
  }

  public static Bottleneck bottleneck() {
    return Bottleneck.newBuilder()
        .setWindowStartUs(T0_US - T0_US % 10_000_000)
        .setWindowEndUs(T0_US - T0_US % 10_000_000 + 10_000_000)
        .setCluster("prod-eu")
        .setRegion("eu-west-1")
        .setHost("gpu-host-07")
        .setLabel(BottleneckLabel.KV_CACHE_BOUND)
        .setReason("queue time is 62.5% of e2e (threshold 50%)")
        .setInputs(sorted(Map.of("gpuUtilPct", 55.0, "queueShareOfE2ePct", 62.5, "qps", 0.4)))
        .build();
  }

  public static Alert alert() {
    return Alert.newBuilder()
        .setAlertId("alert-0001")
        .setDedupKey("latency_regression|prod-eu|gpu-host-07|llama-3.1-8b-instruct|" + T0_US)
        .setRule("latency_regression")
        .setSeverity(Severity.CRITICAL)
        .setState(AlertState.FIRING)
        .setCluster("prod-eu")
        .setRegion("eu-west-1")
        .setHost("gpu-host-07")
        .setModel("llama-3.1-8b-instruct")
        .setDeviceId("")
        .setKey(sorted(Map.of("host", "gpu-host-07", "model", "llama-3.1-8b-instruct")))
        .setWindowStartUs(T0_US - 10_000_000)
        .setWindowEndUs(T0_US)
        .setObserved(1_380_000.0)
        .setThreshold(1_150_000.0)
        .setBaseline(1_000_000.0)
        .setUnit("us")
        .setSummary("p99 e2e of llama-3.1-8b-instruct on gpu-host-07 is 38% above its baseline")
        .setEvidence(sorted(Map.of("consecutiveWindows", "3", "p99Us", "1380000")))
        .setFirstSeenUs(T0_US - 30_000_000)
        .setEmittedUs(T0_US + 1)
        .build();
  }

  public static DeadLetter deadLetter() {
    return DeadLetter.newBuilder()
        .setStage("streams")
        .setReason("deserialization")
        .setMessage(
            "not Confluent Avro wire format on topic infermeter-requests: magic byte 123, expected 0")
        .setErrorClass("org.apache.kafka.common.errors.SerializationException")
        .setSourceTopic("infermeter-requests")
        .setSourcePartition(3)
        .setSourceOffset(123_456_789L)
        .setRecordTimestampUs(T0_US - 5)
        .setKey(bytes("gpu-host-07"))
        .setPayload(ByteBuffer.wrap(new byte[] {'{', '"', 'x', '"', ':', '1', '}', 0, (byte) 0xFF}))
        .setDetectedUs(T0_US + 99)
        .build();
  }

  public static PriceUpdate priceUpdate() {
    return PriceUpdate.newBuilder()
        .setGpuType("H100-SXM")
        .setPricePerHour(3.6)
        .setCurrency("EUR")
        .setEffectiveFromUs(T0_US + 3_600_000_000L)
        .build();
  }

  public static CarbonIntensityUpdate carbonIntensityUpdate() {
    return CarbonIntensityUpdate.newBuilder()
        .setRegion("eu-west-1")
        .setGramsPerKwh(295.5)
        .setEffectiveFromUs(T0_US + 900_000_000L)
        .setSource("electricitymaps")
        .build();
  }

  private static ByteBuffer bytes(String text) {
    return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A sorted copy: Avro writes map entries in iteration order, and the fixtures must be
   * byte-for-byte stable.
   */
  private static <V> Map<String, V> sorted(Map<String, V> map) {
    return new TreeMap<>(map);
  }
}
