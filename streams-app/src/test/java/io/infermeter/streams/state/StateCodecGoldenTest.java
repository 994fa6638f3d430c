package io.infermeter.streams.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.Utf8;
import io.infermeter.streams.StreamsLimits;
import io.infermeter.streams.alerts.RuleState;
import io.infermeter.streams.energy.EnergyInput;
import io.infermeter.streams.energy.EnergyProcessor;
import io.infermeter.streams.energy.HostUsage;
import io.infermeter.streams.energy.HostWindow;
import io.infermeter.streams.engine.EngineAcc;
import io.infermeter.streams.engine.EngineLast;
import io.infermeter.streams.latency.Exemplars;
import io.infermeter.streams.latency.LatencyAccumulator;
import io.infermeter.streams.latency.LatencyMetric;
import io.infermeter.streams.windows.AggKey;
import io.infermeter.streams.windows.Occupancy;
import io.infermeter.streams.windows.RequestAccumulator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Golden bytes of every persisted state format: the formats written before version bytes and varint
 * strings (golden/state-legacy, written by the code of that commit, see its README) still decode to
 * the same objects, today's formats are byte-for-byte stable (golden/state-current), and strings
 * far over writeUTF's 65,535-byte limit round-trip.
 */
class StateCodecGoldenTest {

  private static final HexFormat HEX = HexFormat.of();
  private static final String HOST = "h\u00e9-\uD83D\uDE00-01";

  // ---- the objects the legacy fixtures hold (same values as LegacyGolden.java.txt) ----

  static RequestAccumulator accumulator(String model) {
    RequestAccumulator a =
        new RequestAccumulator(
            new AggKey("host", "c1", "eu-west-1", HOST, model, "v1", "H100"),
            1_700_000_040_000L,
            10_000L);
    a.requests = 5;
    a.ok = 3;
    a.errors = 2;
    a.outputTokens = 77;
    a.busyUs = 12_345;
    a.errorsByType.put("oom", 2L);
    a.slo.put("default", 5, 3);
    a.usage.put("gpu0", 12_345, 5, 77);
    LatencyAccumulator l = new LatencyAccumulator();
    l.record(1_000);
    l.record(250_000);
    a.latencies[LatencyMetric.E2E.index()][0] = l;
    a.jitter.last[0] = 250_000;
    a.jitter.first[0] = 1_000;
    a.jitter.pairs[0] = 1;
    a.jitter.absDiffSum[0] = 249_000;
    return a;
  }

  /**
   * {@link #accumulator} as a format before occupancy reads it: each device's summed busy time
   * becomes one busy run from the window start, and the busy time that run's length.
   */
  static RequestAccumulator accumulatorAsRead(String model) {
    RequestAccumulator a = accumulator(model);
    a.usage.putOccupancy("gpu0", Occupancy.fromSummedBusy(12_345, a.windowStartMs, a.windowSizeMs));
    a.busyUs = a.occupancyBusyUs();
    return a;
  }

  /** {@link #accumulator} with occupancy: a request in flight from the previous window on. */
  static RequestAccumulator accumulatorV4(String model) {
    RequestAccumulator a = accumulator(model);
    Occupancy o = new Occupancy();
    a.busyUs =
        o.add(
            a.windowStartMs * 1000 - 2_000_000,
            a.windowStartMs * 1000 + 12_345,
            a.windowStartMs,
            a.windowSizeMs,
            RequestAccumulator.DEFAULT_LOOKBACK_MS);
    a.usage.putOccupancy("gpu0", o);
    return a;
  }

  /**
   * {@link #accumulatorV4} with a histogram of every metric added since: the max inter-token gap
   * (version 5) and the per-request output and input token rates (version 6), so the fixture pins
   * their indexes.
   */
  static RequestAccumulator accumulatorV6(String model) {
    RequestAccumulator a = accumulatorV4(model);
    LatencyAccumulator gap = new LatencyAccumulator();
    gap.record(20_000);
    a.latencies[LatencyMetric.MAX_ITL.index()][0] = gap;
    LatencyAccumulator out = new LatencyAccumulator();
    out.record(50_000); // 50 tokens/s
    out.record(12_345);
    a.latencies[LatencyMetric.OUTPUT_TPS.index()][0] = out;
    LatencyAccumulator in = new LatencyAccumulator();
    in.record(50_000_000); // 50,000 tokens/s, a cold request
    a.latencies[LatencyMetric.INPUT_TPS.index()][1] = in;
    return a;
  }

  /**
   * {@link #accumulatorV6} with what version 7 added: the exemplars of its e2e (one without a
   * request id) and output-rate (lowest rates first) accumulators.
   */
  static RequestAccumulator accumulatorV7(String model) {
    RequestAccumulator a = accumulatorV6(model);
    a.latencies[LatencyMetric.E2E.index()][0].exemplars.offer(1_000, "evt-1", "req-1", false);
    a.latencies[LatencyMetric.E2E.index()][0].exemplars.offer(250_000, "evt-2", null, false);
    a.latencies[LatencyMetric.OUTPUT_TPS.index()][0].exemplars.offer(50_000, "evt-3", "r3", true);
    a.latencies[LatencyMetric.OUTPUT_TPS.index()][0].exemplars.offer(12_345, "evt-4", "r4", true);
    return a;
  }

  static RuleState rule() {
    RuleState s = new RuleState();
    s.firing = true;
    s.firstSeenUs = 1_700_000_000_000_000L;
    s.streak = 2;
    s.baseline = 1.5;
    s.push(1, 2, 5);
    s.push(3, 4, 5);
    return s;
  }

  /** {@link #rule} with what version 3 added: clear windows, a count ring and a pool. */
  static RuleState ruleV3() {
    RuleState s = rule();
    s.lastActiveMs = 1_700_000_050_000L;
    s.quiet = 2;
    s.epoch = 5_666_666L;
    s.counts = new long[] {0, 1, 127, 128, 300_000, Long.MAX_VALUE};
    s.pool = new byte[] {1, 2, (byte) 0xFF};
    return s;
  }

  static HostWindow hostWindow(String host) {
    HostWindow w = new HostWindow(host, 1_700_000_040_000L, 10_000L);
    w.cluster = "c1";
    w.region = "eu-west-1";
    w.requests = 5;
    w.queueSumUs = 100;
    w.e2eSumUs = 1000;
    HostWindow.DeviceAcc d = new HostWindow.DeviceAcc();
    d.kind = "GPU";
    d.gpuType = "NVIDIA H100 80GB HBM3";
    d.source = "nvml";
    d.samples = 10;
    d.counterDeltaMj = 5_000_000;
    d.counterDeltas = 9;
    d.memTotal = 80L << 30;
    w.devices.put("0", d);
    Map<String, long[]> m = new TreeMap<>();
    m.put("0", new long[] {12_345, 5, 77});
    w.usage.put("llama-3-8b\u0000v1", m);
    return w;
  }

  /**
   * {@code w}, a host window of a format before occupancy, as it reads: each device's summed
   * request time becomes one busy run from the window start.
   */
  static HostWindow asRead(HostWindow w) {
    w.occupancy.put(
        "0",
        Occupancy.fromSummedBusy(12_345, w.windowStartMs(), w.windowSizeMs())
            .parts
            .get(w.windowStartMs())
            .bits);
    return w;
  }

  /** {@link #hostWindowV5} with what version 6 added: a MIG instance with its parent and slices. */
  static HostWindow hostWindowV6(String host) {
    HostWindow w = hostWindowV5(host);
    HostWindow.DeviceAcc mig = new HostWindow.DeviceAcc();
    mig.kind = "MIG";
    mig.gpuType = "NVIDIA H100 80GB HBM3 MIG 3g.40gb";
    mig.source = "nvml";
    mig.samples = 10;
    mig.parent = "0";
    mig.migSlices = 3;
    mig.migSlicesTotal = 7;
    w.devices.put("mig-0", mig);
    return w;
  }

  /** {@link #hostWindowV4} with what version 5 added: the time its device's samples cover. */
  static HostWindow hostWindowV5(String host) {
    HostWindow w = hostWindowV4(host);
    w.devices.get("0").coveredUs = 9_000_000;
    return w;
  }

  static HostWindow hostWindowV4(String host) {
    HostWindow w = hostWindowV3(host);
    long[] bits = Occupancy.Part.empty(w.windowSizeMs()).bits;
    bits[0] = 0b1011L;
    bits[bits.length - 1] = 1L << 39; // the last slot of 1,000
    w.occupancy.put("0", bits);
    w.occupancy.put("", Occupancy.Part.empty(w.windowSizeMs()).bits);
    return w;
  }

  /** {@link #hostWindow} with what version 3 added: a device's pod and an engine instance. */
  static HostWindow hostWindowV3(String host) {
    HostWindow w = hostWindow(host);
    w.devices.get("0").pod = "vllm-llama-0";
    EngineAcc a = new EngineAcc();
    a.add(
        engineSample(host),
        new EngineLast(1_700_000_035_000_000L, 1, 4, 0.5, "vllm", "llama-3-8b", "vllm-llama-0", 0),
        1_700_000_040_000_000L,
        10_000_000L);
    w.engines.put("10.0.0.1:8000", a);
    return w;
  }

  static io.infermeter.avro.EngineSample engineSample(String host) {
    return io.infermeter.avro.EngineSample.newBuilder()
        .setCluster("c1")
        .setRegion("eu-west-1")
        .setHost(host)
        .setInstance("10.0.0.1:8000")
        .setPod("vllm-llama-0")
        .setEngine("vllm")
        .setModel("llama-3-8b")
        .setSource("scrape")
        .setTimestampUs(1_700_000_045_000_000L)
        .setKvCacheUsage(0.75)
        .setRequestsRunning(12L)
        .setRequestsWaiting(3L)
        .setPreemptionsTotal(9L)
        .build();
  }

  /** {@link #usage} with occupancy: one request in flight from the previous window on. */
  static HostUsage usageV5(String host) {
    HostUsage u = usage(host);
    Occupancy o = new Occupancy();
    o.add(
        u.windowStartMs() * 1000 - 2_000_000,
        u.windowStartMs() * 1000 + 12_345,
        u.windowStartMs(),
        u.windowSizeMs(),
        RequestAccumulator.DEFAULT_LOOKBACK_MS);
    return new HostUsage(
        u.cluster(),
        u.region(),
        u.host(),
        u.model(),
        u.modelVersion(),
        u.windowStartMs(),
        u.windowSizeMs(),
        u.requests(),
        u.queueSumUs(),
        u.e2eSumUs(),
        u.devices(),
        Map.of("0", o));
  }

  static HostUsage usage(String host) {
    return new HostUsage(
        "c1",
        "eu-west-1",
        host,
        "llama-3-8b",
        "v1",
        1_700_000_040_000L,
        10_000L,
        5,
        100,
        1000,
        Map.of("0", new long[] {12_345, 5, 77}));
  }

  private static byte[] fixture(String path) throws IOException {
    try (InputStream in = StateCodecGoldenTest.class.getResourceAsStream("/golden/" + path)) {
      assertThat(in).as("fixture " + path).isNotNull();
      return HEX.parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
    }
  }

  private static byte[] usageBytes(HostUsage u) {
    return EnergyInput.serde().serializer().serialize(null, new EnergyInput(null, u));
  }

  // ---- legacy formats still read ----

  @Test
  void legacyRequestAccumulatorsDecodeToTheSameAccumulator() throws IOException {
    for (boolean compressed : new boolean[] {false, true}) {
      byte[] legacy =
          fixture(
              "state-legacy/request-accumulator-v2-"
                  + (compressed ? "compressed" : "plain")
                  + ".hex");
      assertThat(legacy[0]).isEqualTo((byte) 2);
      RequestAccumulator a = RequestAccumulator.fromBytes(legacy, compressed);
      assertThat(a.key.host()).isEqualTo(HOST);
      assertThat(a.errorsByType).containsExactly(Map.entry("oom", 2L));
      assertThat(a.usage.device("gpu0").toArray()).containsExactly(12_345, 5, 77);
      assertThat(a.latency(LatencyMetric.E2E, false).count).isEqualTo(2);
      assertThat(a.toBytes(compressed))
          .isEqualTo(accumulatorAsRead("llama-3-8b").toBytes(compressed));
    }
  }

  @Test
  void aVersion4HostWindowReadsWithItsCoveredTimeUnknown() throws IOException {
    byte[] v4 = fixture("state-previous/host-window-v4.hex");
    assertThat(v4[1]).isEqualTo((byte) 4);
    HostWindow w = HostWindow.fromBytes(v4);
    assertThat(w.devices.get("0").coveredUs).isZero(); // judged against the whole window
    assertThat(w.toBytes()).isEqualTo(hostWindowV4(HOST).toBytes());
    assertThat(HostWindow.fromBytes(hostWindowV5(HOST).toBytes()).devices.get("0").coveredUs)
        .isEqualTo(9_000_000);
  }

  @Test
  void aVersion5HostWindowReadsWithoutMigParentsAndVersion6RoundTripsThem() throws IOException {
    byte[] v5 = fixture("state-previous/host-window-v5.hex");
    assertThat(v5[1]).isEqualTo((byte) 5);
    HostWindow w = HostWindow.fromBytes(v5);
    assertThat(w.devices.get("0").parent).isEmpty();
    assertThat(w.devices.get("0").migSlices).isZero();
    assertThat(w.toBytes()).isEqualTo(hostWindowV5(HOST).toBytes());
    HostWindow.DeviceAcc mig =
        HostWindow.fromBytes(hostWindowV6(HOST).toBytes()).devices.get("mig-0");
    assertThat(mig.parent).isEqualTo("0");
    assertThat(mig.migSlices).isEqualTo(3);
    assertThat(mig.migSlicesTotal).isEqualTo(7);
  }

  @Test
  void version4AccumulatorsReadUnchangedAndTheMaxInterTokenGapRoundTrips() throws IOException {
    for (boolean compressed : new boolean[] {false, true}) {
      byte[] v4 =
          fixture(
              "state-previous/request-accumulator-v4-"
                  + (compressed ? "compressed" : "plain")
                  + ".hex");
      assertThat(v4[0]).isEqualTo((byte) 4);
      RequestAccumulator a = RequestAccumulator.fromBytes(v4, compressed);
      assertThat(a.toBytes(compressed)).isEqualTo(accumulatorV4("llama-3-8b").toBytes(compressed));
      assertThat(a.latency(LatencyMetric.MAX_ITL, false)).isNull();
      // version 5 adds the max inter-token gap, at index 6
      RequestAccumulator withGap = accumulatorV4("llama-3-8b");
      LatencyAccumulator gap = new LatencyAccumulator();
      gap.record(250_000);
      withGap.latencies[LatencyMetric.MAX_ITL.index()][0] = gap;
      RequestAccumulator back =
          RequestAccumulator.fromBytes(withGap.toBytes(compressed), compressed);
      assertThat(back.latency(LatencyMetric.MAX_ITL, false).count).isEqualTo(1);
      assertThat(back.toBytes(compressed)).isEqualTo(withGap.toBytes(compressed));
    }
  }

  @Test
  void version5AccumulatorsReadUnchangedAndTheTokenRatesRoundTrip() throws IOException {
    for (boolean compressed : new boolean[] {false, true}) {
      byte[] v5 =
          fixture(
              "state-previous/request-accumulator-v5-"
                  + (compressed ? "compressed" : "plain")
                  + ".hex");
      assertThat(v5[0]).isEqualTo((byte) 5);
      RequestAccumulator a = RequestAccumulator.fromBytes(v5, compressed);
      assertThat(a.toBytes(compressed)).isEqualTo(accumulatorV4("llama-3-8b").toBytes(compressed));
      assertThat(a.latency(LatencyMetric.OUTPUT_TPS, false)).isNull();
      assertThat(a.latency(LatencyMetric.INPUT_TPS, true)).isNull();
      // version 6 adds the output and input token rates, at indexes 7 and 8
      RequestAccumulator v6 = accumulatorV6("llama-3-8b");
      RequestAccumulator back = RequestAccumulator.fromBytes(v6.toBytes(compressed), compressed);
      assertThat(back.latency(LatencyMetric.OUTPUT_TPS, false).count).isEqualTo(2);
      assertThat(back.latency(LatencyMetric.OUTPUT_TPS, false).histogram.valueAtPercentile(50.0))
          .isEqualTo(12_351); // 12,345 in HdrHistogram's bucket of 12,344..12,351
      assertThat(back.latency(LatencyMetric.INPUT_TPS, true).count).isEqualTo(1);
      assertThat(back.latency(LatencyMetric.INPUT_TPS, false)).isNull();
      assertThat(back.latency(LatencyMetric.MAX_ITL, false).count).isEqualTo(1);
      assertThat(back.toBytes(compressed)).isEqualTo(v6.toBytes(compressed));
    }
  }

  @Test
  void version6AccumulatorsReadWithoutExemplarsAndTheExemplarsRoundTrip() throws IOException {
    for (boolean compressed : new boolean[] {false, true}) {
      byte[] v6 =
          fixture(
              "state-previous/request-accumulator-v6-"
                  + (compressed ? "compressed" : "plain")
                  + ".hex");
      assertThat(v6[0]).isEqualTo((byte) 6);
      RequestAccumulator a = RequestAccumulator.fromBytes(v6, compressed);
      assertThat(a.toBytes(compressed)).isEqualTo(accumulatorV6("llama-3-8b").toBytes(compressed));
      assertThat(a.latency(LatencyMetric.E2E, false).exemplars.size()).isZero();
      // version 7 adds the exemplars of each accumulator
      RequestAccumulator v7 = accumulatorV7("llama-3-8b");
      RequestAccumulator back = RequestAccumulator.fromBytes(v7.toBytes(compressed), compressed);
      Exemplars e2e = back.latency(LatencyMetric.E2E, false).exemplars;
      assertThat(e2e.size()).isEqualTo(2);
      assertThat(e2e.value(0)).isEqualTo(250_000);
      assertThat(e2e.eventId(0)).isEqualTo("evt-2");
      assertThat(e2e.requestId(0)).isNull();
      assertThat(e2e.requestId(1)).isEqualTo("req-1");
      Exemplars rate = back.latency(LatencyMetric.OUTPUT_TPS, false).exemplars;
      assertThat(rate.value(0)).isEqualTo(12_345);
      assertThat(rate.eventId(1)).isEqualTo("evt-3");
      assertThat(back.latency(LatencyMetric.INPUT_TPS, true).exemplars.size()).isZero();
      assertThat(back.toBytes(compressed)).isEqualTo(v7.toBytes(compressed));
    }
  }

  @Test
  void version3AccumulatorHostWindowAndUsageReadTheirSummedBusyTimeAsOneBusyRun()
      throws IOException {
    for (boolean compressed : new boolean[] {false, true}) {
      byte[] v3 =
          fixture(
              "state-previous/request-accumulator-v3-"
                  + (compressed ? "compressed" : "plain")
                  + ".hex");
      assertThat(v3[0]).isEqualTo((byte) 3);
      RequestAccumulator a = RequestAccumulator.fromBytes(v3, compressed);
      assertThat(a.usage.device("gpu0").toArray()).containsExactly(12_345, 5, 77);
      // 12,345 us of summed busy time: two 10 ms slots from the window start
      assertThat(a.busyUs).isEqualTo(20_000);
      assertThat(a.usage.occupancy().get("gpu0").parts.get(a.windowStartMs).requestUs)
          .isEqualTo(12_345);
      assertThat(a.toBytes(compressed))
          .isEqualTo(accumulatorAsRead("llama-3-8b").toBytes(compressed));
    }
    HostWindow w = HostWindow.fromBytes(fixture("state-previous/host-window-v3.hex"));
    assertThat(w.devices.get("0").pod).isEqualTo("vllm-llama-0");
    assertThat(Occupancy.busyUs(w.occupancy.get("0"), 10_000_000)).isEqualTo(20_000);
    assertThat(w.toBytes()).isEqualTo(asRead(hostWindowV3(HOST)).toBytes());
    byte[] tag3 = fixture("state-previous/energy-input-usage-tag3.hex");
    assertThat(tag3[0]).isEqualTo((byte) 3);
    HostUsage u = EnergyInput.serde().deserializer().deserialize(null, tag3).usage();
    assertThat(u.occupancy().get("0").busyUs(u.windowStartMs(), u.windowSizeMs()))
        .isEqualTo(20_000);
    assertThat(usageBytes(u)).isEqualTo(usageBytes(usage(HOST)));
  }

  @Test
  void legacyRuleStateHostWindowHostSeenDeviceLastAndUsageDecode() throws IOException {
    RuleState s = RuleState.fromBytes(fixture("state-legacy/rule-state-v1.hex"));
    assertThat(s.firing).isTrue();
    assertThat(s.streak).isEqualTo(2);
    assertThat(s.history).hasSize(2);
    assertThat(s.lastActiveMs).isZero();
    assertThat(s.toBytes()).isEqualTo(rule().toBytes());

    HostWindow w = HostWindow.fromBytes(fixture("state-legacy/host-window-v1.hex"));
    assertThat(w.host).isEqualTo(HOST);
    assertThat(w.devices.get("0").gpuType).isEqualTo("NVIDIA H100 80GB HBM3");
    assertThat(w.toBytes()).isEqualTo(asRead(hostWindow(HOST)).toBytes());

    EnergyProcessor.HostSeen h =
        EnergyProcessor.HostSeen.read(fixture("state-legacy/host-last-seen-v1.hex"));
    assertThat(h.lastSeenMs).isEqualTo(1_700_000_040_000L);
    assertThat(h.region).isEqualTo("eu-west-1");
    assertThat(h.rule.firing).isTrue();

    EnergyProcessor.DeviceLast d =
        EnergyProcessor.DeviceLast.read(fixture("state-legacy/device-last-v1.hex"));
    assertThat(d)
        .isEqualTo(
            new EnergyProcessor.DeviceLast(1_700_000_040_000_000L, 5_000_000L, 350.5, -1L, 0L));

    byte[] tag2 = fixture("state-legacy/energy-input-usage-tag2.hex");
    assertThat(tag2[0]).isEqualTo((byte) 2);
    HostUsage u = EnergyInput.serde().deserializer().deserialize(null, tag2).usage();
    assertThat(u.host()).isEqualTo(HOST);
    assertThat(usageBytes(u)).isEqualTo(usageBytes(usage(HOST)));
  }

  @Test
  void ruleStateV2DecodesWithoutTheVersion3Fields() throws IOException {
    RuleState s = RuleState.fromBytes(fixture("state-previous/rule-state-v2.hex"));
    assertThat(s.firing).isTrue();
    assertThat(s.lastActiveMs).isEqualTo(1_700_000_050_000L);
    assertThat(s.history).hasSize(2);
    assertThat(s.quiet).isZero();
    assertThat(s.counts).isEmpty();
    assertThat(s.pool).isEmpty();
    RuleState expected = rule();
    expected.lastActiveMs = 1_700_000_050_000L;
    assertThat(s.toBytes()).isEqualTo(expected.toBytes());
    EnergyProcessor.HostSeen h =
        EnergyProcessor.HostSeen.read(fixture("state-previous/host-last-seen-v2-rule-v2.hex"));
    assertThat(h.rule.firing).isTrue();
    assertThat(h.rule.streak).isEqualTo(2);
    RuleState v3 = RuleState.fromBytes(ruleV3().toBytes());
    assertThat(v3.quiet).isEqualTo(2);
    assertThat(v3.epoch).isEqualTo(5_666_666L);
    assertThat(v3.counts).containsExactly(0, 1, 127, 128, 300_000, Long.MAX_VALUE);
    assertThat(v3.pool).containsExactly(1, 2, 0xFF);
  }

  @Test
  void hostWindowV2DecodesWithoutPodsOrEngines() throws IOException {
    HostWindow w = HostWindow.fromBytes(fixture("state-previous/host-window-v2.hex"));
    assertThat(w.devices.get("0").pod).isEmpty();
    assertThat(w.engines).isEmpty();
    assertThat(w.toBytes()).isEqualTo(asRead(hostWindow(HOST)).toBytes());
    HostWindow v3 = HostWindow.fromBytes(hostWindowV3(HOST).toBytes());
    assertThat(v3.devices.get("0").pod).isEqualTo("vllm-llama-0");
    EngineAcc a = v3.engines.get("10.0.0.1:8000");
    assertThat(a.kvMax).isEqualTo(0.75);
    assertThat(a.waitingStart).isEqualTo(1);
    assertThat(a.waitingEnd).isEqualTo(3);
    assertThat(a.preemptions).isEqualTo(5);
    assertThat(v3.toBytes()).isEqualTo(hostWindowV3(HOST).toBytes());
    HostWindow v4 = HostWindow.fromBytes(hostWindowV4(HOST).toBytes());
    assertThat(v4.occupancy.get("0")).isEqualTo(hostWindowV4(HOST).occupancy.get("0"));
    assertThat(v4.occupancy.get("")).containsOnly(0L);
  }

  @Test
  void occupancyRoundTripsWithItsEarlierWindowPart() {
    RequestAccumulator a = accumulatorV4("m");
    RequestAccumulator back = RequestAccumulator.fromBytes(a.toBytes(true), true);
    Occupancy o = back.usage.occupancy().get("gpu0");
    // in flight from 2 s before the window to 12.345 ms into it
    assertThat(o.parts.keySet()).containsExactly(a.windowStartMs - 10_000, a.windowStartMs);
    assertThat(o.parts.get(a.windowStartMs - 10_000).requestUs).isEqualTo(2_000_000);
    assertThat(o.busyUs(a.windowStartMs - 10_000, 10_000)).isEqualTo(2_000_000);
    assertThat(o.parts.get(a.windowStartMs).requestUs).isEqualTo(12_345);
    assertThat(back.busyUs).isEqualTo(20_000);
    HostUsage u =
        EnergyInput.serde().deserializer().deserialize(null, usageBytes(usageV5(HOST))).usage();
    assertThat(u.occupancy().get("0").parts).hasSize(2);
    assertThat(usageBytes(u)).isEqualTo(usageBytes(usageV5(HOST)));
    byte[] corrupt = a.toBytes(false);
    // the word count of the last part: 16 words for 10 s, anything else is refused (after it:
    // the e2e accumulator's exemplar count)
    int wordCount = corrupt.length - 1 - 16 * 8 - 4;
    corrupt[wordCount + 3] = 17;
    assertThatThrownBy(() -> RequestAccumulator.fromBytes(corrupt, false))
        .hasMessageContaining("occupancy of 17 words");
  }

  // ---- today's formats are stable ----

  private static final Map<String, Supplier<byte[]>> CURRENT =
      Map.of(
          "request-accumulator-v7-plain.hex", () -> accumulatorV7("llama-3-8b").toBytes(false),
          "request-accumulator-v7-compressed.hex", () -> accumulatorV7("llama-3-8b").toBytes(true),
          "rule-state-v3.hex", () -> ruleV3().toBytes(),
          "host-window-v6.hex", () -> hostWindowV6(HOST).toBytes(),
          "engine-last-v1.hex",
              () ->
                  new EngineLast(
                          1_700_000_035_000_000L,
                          1,
                          4,
                          0.5,
                          "vllm",
                          "llama-3-8b",
                          "vllm-llama-0",
                          1_700_000_050_000L)
                      .toBytes(),
          "host-last-seen-v2.hex",
              () ->
                  new EnergyProcessor.HostSeen(1_700_000_040_000L, "c1", "eu-west-1", rule())
                      .toBytes(),
          "device-last-v2.hex",
              () ->
                  new EnergyProcessor.DeviceLast(
                          1_700_000_040_000_000L, 5_000_000L, 350.5, -1L, 1_700_000_050_000L)
                      .toBytes(),
          "energy-input-usage-tag5.hex", () -> usageBytes(usageV5(HOST)),
          "energy-input-engine-tag4.hex",
              () ->
                  EnergyInput.serde()
                      .serializer()
                      .serialize(null, EnergyInput.ofEngine(engineSample(HOST))));

  @Test
  void currentFormatsAreByteForByteStable() throws IOException {
    Path dir = Path.of("src/test/resources/golden/state-current");
    if (Boolean.getBoolean("golden.write")) {
      for (Map.Entry<String, Supplier<byte[]>> e : CURRENT.entrySet()) {
        Files.writeString(dir.resolve(e.getKey()), HEX.formatHex(e.getValue().get()) + "\n");
      }
    }
    for (Map.Entry<String, Supplier<byte[]>> e : CURRENT.entrySet()) {
      assertThat(HEX.formatHex(e.getValue().get()))
          .as(e.getKey())
          .isEqualTo(HEX.formatHex(fixture("state-current/" + e.getKey())));
    }
    byte[] acc = fixture("state-current/request-accumulator-v7-plain.hex");
    assertThat(acc[0]).isEqualTo((byte) RequestAccumulator.VERSION);
    for (String header :
        new String[] {
          "rule-state-v3.hex",
          "host-window-v6.hex",
          "host-last-seen-v2.hex",
          "device-last-v2.hex",
          "engine-last-v1.hex"
        }) {
      byte[] b = fixture("state-current/" + header);
      assertThat(b[0] & 0xFF).as(header).isEqualTo(Codec.FORMAT_MARK);
      assertThat(b[1]).as(header).isEqualTo((byte) (header.charAt(header.length() - 5) - '0'));
    }
  }

  // ---- no 64 KiB string limit ----

  @Test
  void stringsFarOverTheWriteUtfLimitRoundTrip() {
    String model = "m".repeat(65_536);
    String host = "\u00e9".repeat(40_000); // 80,000 UTF-8 bytes
    RequestAccumulator a = accumulator(model);
    a.errorsByType.put("x".repeat(1 << 20), 1L);
    RequestAccumulator back = RequestAccumulator.fromBytes(a.toBytes(false), false);
    assertThat(back.key.model()).isEqualTo(model);
    assertThat(back.errorsByType).containsKey("x".repeat(1 << 20));
    assertThat(RequestAccumulator.fromBytes(a.toBytes(true), true).key.model()).isEqualTo(model);
    assertThat(HostWindow.fromBytes(hostWindow(host).toBytes()).host).isEqualTo(host);
    HostUsage u =
        EnergyInput.serde().deserializer().deserialize(null, usageBytes(usage(host))).usage();
    assertThat(u.host()).isEqualTo(host);
    EnergyProcessor.HostSeen h =
        EnergyProcessor.HostSeen.read(
            new EnergyProcessor.HostSeen(1L, host, "r", new RuleState()).toBytes());
    assertThat(h.cluster).isEqualTo(host);
  }

  // ---- corrupt input fails with a named reason, never allocates from a bad length ----

  @Test
  void corruptLengthsAndUnknownVersionsAreRefused() {
    byte[] good = accumulator("m").toBytes(false);
    byte[] cut = java.util.Arrays.copyOf(good, 20);
    assertThatThrownBy(() -> RequestAccumulator.fromBytes(cut, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("request accumulator");
    byte[] future = good.clone();
    future[0] = (byte) (RequestAccumulator.VERSION + 1);
    assertThatThrownBy(() -> RequestAccumulator.fromBytes(future, false))
        .hasMessageContaining("unknown accumulator");
    // a varint length of 2^31-1 right after the version byte
    byte[] huge = {
      (byte) RequestAccumulator.VERSION, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x07
    };
    assertThatThrownBy(() -> RequestAccumulator.fromBytes(huge, false))
        .hasMessageContaining("exceeds the input");
    byte[] tooLongVarint = {
      (byte) RequestAccumulator.VERSION,
      (byte) 0xFF,
      (byte) 0xFF,
      (byte) 0xFF,
      (byte) 0xFF,
      (byte) 0xFF,
      0x01
    };
    assertThatThrownBy(() -> RequestAccumulator.fromBytes(tooLongVarint, false))
        .hasMessageContaining("varint");
    byte[] rule = new RuleState().toBytes();
    rule[1] = 9;
    assertThatThrownBy(() -> RuleState.fromBytes(rule))
        .hasMessageContaining("unknown rule state version 9");
    assertThatThrownBy(() -> EnergyProcessor.DeviceLast.read(new byte[33]))
        .hasMessageContaining("unknown format");
  }

  @Test
  void dedupChunksCarryAVersionByteAndTheUnversionedLayoutIsStillRead() {
    long[] hashes = {1L, -1L, 0x0123_4567_89AB_CDEFL};
    byte[] chunk = DedupStore.encodeChunk(hashes, 3);
    assertThat(HEX.formatHex(chunk))
        .isEqualTo("02" + "0000000000000001" + "ffffffffffffffff" + "0123456789abcdef");
    long[] back = new long[4];
    assertThat(DedupStore.decodeChunk(chunk, back)).isEqualTo(3);
    assertThat(java.util.Arrays.copyOf(back, 3)).containsExactly(hashes);
    byte[] legacy =
        java.util.Arrays.copyOfRange(chunk, 1, chunk.length); // the layout before the version byte
    long[] fromLegacy = new long[4];
    assertThat(DedupStore.decodeChunk(legacy, fromLegacy)).isEqualTo(3);
    assertThat(java.util.Arrays.copyOf(fromLegacy, 3)).containsExactly(hashes);
    byte[] unknown = chunk.clone();
    unknown[0] = 9;
    assertThatThrownBy(() -> DedupStore.decodeChunk(unknown, new long[4]))
        .hasMessageContaining("corrupt dedup chunk");
  }

  @Test
  void utf8TruncationKeepsWholeCharacters() {
    assertThat(Utf8.truncate("abc", 2)).isEqualTo("ab");
    assertThat(Utf8.truncate("a\u00e9", 2)).isEqualTo("a"); // é is 2 bytes
    assertThat(Utf8.truncate("\uD83D\uDE00\uD83D\uDE00", 7)).isEqualTo("\uD83D\uDE00");
    assertThat(Utf8.length("\uD83D\uDE00")).isEqualTo(4);
    assertThat(Utf8.longerThan("\u00e9".repeat(100), 199)).isTrue();
    assertThat(Utf8.longerThan("\u00e9".repeat(100), 200)).isFalse();
    assertThat(Utf8.truncate((String) null, 3)).isNull();
  }

  @Test
  void perWindowMapsKeepTheirCapAndConserveCounts() {
    StreamsLimits limits =
        new StreamsLimits(
            256,
            256,
            4,
            3,
            65_536,
            4096,
            3,
            java.time.Duration.ofHours(1),
            java.time.Duration.ofMinutes(1),
            100);
    RequestAccumulator a =
        new RequestAccumulator(new AggKey("host", "c", "r", "h", "m", "", ""), 0, 10_000);
    RequestAccumulator b =
        new RequestAccumulator(new AggKey("host", "c", "r", "h", "m", "", ""), 10_000, 10_000);
    for (int i = 0; i < 10; i++) {
      a.errorsByType.put("a" + i, (long) i + 1);
      b.errorsByType.put("b" + i, 100L);
    }
    long total = 55 + 1000;
    a.append(b, limits);
    assertThat(a.errorsByType).hasSize(5).containsKey(RequestAccumulator.OTHER);
    assertThat(a.errorsByType.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(total);
    assertThat(a.errorsByType.keySet()).allMatch(k -> k.startsWith("b") || k.equals("other"));
  }
}
