package io.infermeter.streams.state;

import static io.infermeter.streams.TopologyFixtureAccess.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.energy.EnergyAttribution;
import io.infermeter.streams.energy.EnergyInput;
import io.infermeter.streams.energy.HostUsage;
import io.infermeter.streams.latency.HistogramSerde;
import io.infermeter.streams.latency.Histograms;
import io.infermeter.streams.latency.LatencyMetric;
import io.infermeter.streams.latency.SparseHistogram;
import io.infermeter.streams.windows.AccumulatorSerde;
import io.infermeter.streams.windows.AggKey;
import io.infermeter.streams.windows.RequestAccumulator;
import io.infermeter.streams.windows.WindowAggregates;
import java.util.Random;
import org.HdrHistogram.Histogram;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

/**
 * Round trips of the histogram serde, the accumulator codec and the internal energy-input serde.
 */
class CodecTest {

  @Test
  void histogramSerdeRoundTripsExactly() {
    Histogram h = Histograms.create();
    Random rnd = new Random(1);
    for (int i = 0; i < 10_000; i++) {
      h.recordValue((long) (Math.exp(rnd.nextGaussian() * 2) * 1000));
    }
    HistogramSerde serde = new HistogramSerde();
    byte[] bytes = serde.serializer().serialize("t", h);
    Histogram back = serde.deserializer().deserialize("t", bytes);
    assertThat(back).isEqualTo(h);
    assertThat(back.getTotalCount()).isEqualTo(10_000);
    assertThat(back.getValueAtPercentile(99.9)).isEqualTo(h.getValueAtPercentile(99.9));
    assertThat(serde.serializer().serialize("t", null)).isNull();
  }

  @Test
  void sparseRecorderIsExactlyTheHdrHistogramOfTheSameValues() throws Exception {
    Random rnd = new Random(9);
    SparseHistogram sparse = new SparseHistogram();
    Histogram hdr = Histograms.create();
    for (int i = 0; i < 50_000; i++) {
      long v = i % 1000 == 0 ? 0 : (long) (Math.exp(rnd.nextGaussian() * 2.5) * 5000);
      sparse.record(v);
      hdr.recordValue(v);
    }
    assertThat(sparse.toHistogram()).isEqualTo(hdr);
    for (double p : new double[] {0, 1, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100}) {
      assertThat(sparse.valueAtPercentile(p)).as("p%s", p).isEqualTo(hdr.getValueAtPercentile(p));
    }
    java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
    sparse.write(new java.io.DataOutputStream(bos));
    SparseHistogram back =
        SparseHistogram.read(
            new java.io.DataInputStream(new java.io.ByteArrayInputStream(bos.toByteArray())));
    assertThat(back).isEqualTo(sparse);
    assertThat(back.totalCount()).isEqualTo(50_000);
  }

  @Test
  void fastCompressedEncodingIsByteForByteHdrHistogramsOwn() throws Exception {
    java.util.Random rnd = new java.util.Random(11);
    for (int round = 0; round < 20; round++) {
      SparseHistogram sparse = new SparseHistogram();
      int n = round == 0 ? 0 : 1 + rnd.nextInt(round * 500);
      for (int i = 0; i < n; i++) {
        sparse.record((long) (Math.exp(rnd.nextGaussian() * (1 + round % 4)) * 3000));
      }
      if (round % 5 == 1) {
        sparse.record(0); // the zero bucket and a single-zero gap before bucket 1
        sparse.record(2);
      }
      Histogram h = sparse.toHistogram();
      byte[] reference = Histograms.referenceCompressed(h);
      assertThat(Histograms.encodeCompressed(h)).as("round %d", round).isEqualTo(reference);
      byte[] direct = Histograms.encodeCompressed(sparse);
      assertThat(direct).as("round %d, from sparse buckets", round).isEqualTo(reference);
      assertThat(Histogram.decodeFromCompressedByteBuffer(java.nio.ByteBuffer.wrap(direct), 0))
          .isEqualTo(h);
    }
  }

  @Test
  void bucketIndexMatchesHdrHistogramGeometryAcrossTheRange() {
    Histogram geometry = new Histogram(Histograms.SIGNIFICANT_DIGITS);
    java.util.Random rnd = new java.util.Random(5);
    for (int i = 0; i < 200_000; i++) {
      long v = i < 5000 ? i : rnd.nextLong() >>> (1 + rnd.nextInt(62));
      long bucket = geometry.lowestEquivalentValue(v);
      assertThat(SparseHistogram.valueFromIndex(SparseHistogram.countsIndex(v)))
          .as("value %d", v)
          .isEqualTo(bucket);
      assertThat(SparseHistogram.bucketOf(v)).as("bottom of %d", v).isEqualTo(bucket);
      assertThat(SparseHistogram.highestEquivalent(v))
          .as("top of %d", v)
          .isEqualTo(geometry.highestEquivalentValue(v));
    }
  }

  @Test
  void compactingAtAnyPointKeepsExactlyTheHdrHistogram() throws Exception {
    Random rnd = new Random(31);
    for (int round = 0; round < 30; round++) {
      SparseHistogram sparse = new SparseHistogram();
      Histogram hdr = Histograms.create();
      int n = rnd.nextInt(3000);
      for (int i = 0; i < n; i++) {
        long v =
            rnd.nextInt(4) == 0
                ? rnd.nextInt(50)
                : (long) (Math.exp(rnd.nextGaussian() * 2) * 20_000);
        sparse.record(v);
        hdr.recordValue(v);
        if (rnd.nextInt(200) == 0) {
          sparse.sorted(); // compacts the buffer into the base, as encoding at a commit does
        }
        if (rnd.nextInt(500) == 0) {
          java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
          sparse.write(new java.io.DataOutputStream(bos));
        }
      }
      assertThat(sparse.totalCount()).isEqualTo(n);
      assertThat(sparse.toHistogram()).as("round %d", round).isEqualTo(hdr);
    }
  }

  @Test
  void mergingSmallAndLargeHistogramsEqualsRecordingEverythingInOne() {
    java.util.Random rnd = new java.util.Random(3);
    SparseHistogram all = new SparseHistogram();
    SparseHistogram merged = new SparseHistogram();
    for (int part = 0; part < 60; part++) {
      SparseHistogram p = new SparseHistogram();
      // a part at least 1/16 of the merged size is merged into its arrays, a smaller one goes
      // through the buffer
      int n = part % 10 == 0 ? 5000 : part % 10 == 5 ? 300 + rnd.nextInt(3000) : rnd.nextInt(40);
      for (int i = 0; i < n; i++) {
        long v = (long) (Math.exp(rnd.nextGaussian() * 2) * 10_000);
        p.record(v);
        all.record(v);
      }
      merged.merge(p);
      if (part % 7
          == 3) { // values recorded straight into the merged one too: its buffer is non-empty at
        // the next merge
        long v = 1L + rnd.nextInt(5_000_000);
        merged.record(v);
        all.record(v);
      }
    }
    assertThat(merged.totalCount()).isEqualTo(all.totalCount());
    assertThat(merged.sorted()).isDeepEqualTo(all.sorted());
    assertThat(merged.toHistogram()).isEqualTo(all.toHistogram());
  }

  @Test
  void histogramSerdeRejectsGarbage() {
    assertThatThrownBy(
            () ->
                new HistogramSerde()
                    .deserializer()
                    .deserialize("t", new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("histogram");
  }

  @Test
  void accumulatorRoundTripsInBothEncodingsAndMergesExactly() {
    StreamsSettings s = StreamsSettings.fromMap(java.util.Map.of());
    StreamsSettings.SloClass cls = s.sloClasses().get("default");
    RequestAccumulator a =
        new RequestAccumulator(new AggKey("host", "c", "r", "h", "m", "v", "g"), 10_000, 10_000);
    RequestAccumulator b =
        new RequestAccumulator(new AggKey("host", "c", "r", "h2", "m", "v", "g"), 10_000, 10_000);
    Random rnd = new Random(3);
    for (int i = 0; i < 500; i++) {
      var e =
          request(
                  "e" + i,
                  "h",
                  "m",
                  15_000,
                  rnd.nextInt(10_000),
                  1000 + rnd.nextInt(50_000),
                  10_000 + rnd.nextInt(900_000),
                  1 + rnd.nextInt(200))
              .setBatchSize(1 + rnd.nextInt(8))
              .setColdStart(i % 50 == 0)
              .setDeviceId("d" + (i % 3))
              .build();
      (i % 2 == 0 ? a : b).add(e, cls);
    }
    for (boolean compressed : new boolean[] {false, true}) {
      RequestAccumulator back = RequestAccumulator.fromBytes(a.toBytes(compressed), compressed);
      assertThat(WindowAggregates.of(back)).isEqualTo(WindowAggregates.of(a));
      assertThat(back.usage.devices().keySet()).isEqualTo(a.usage.devices().keySet());
    }
    RequestAccumulator merged = RequestAccumulator.fromBytes(a.toBytes(true), true);
    merged.merge(b);
    assertThat(merged.requests).isEqualTo(500);
    Histogram union = Histograms.create();
    union.add(a.latency(LatencyMetric.E2E, false).histogram.toHistogram());
    union.add(b.latency(LatencyMetric.E2E, false).histogram.toHistogram());
    assertThat(merged.latency(LatencyMetric.E2E, false).histogram.toHistogram()).isEqualTo(union);
  }

  @Test
  void appendingConsecutivePartsEqualsRecordingThemInOrder() {
    StreamsSettings s = StreamsSettings.fromMap(java.util.Map.of());
    StreamsSettings.SloClass cls = s.sloClasses().get("default");
    AggKey key = new AggKey("host", "c", "r", "h", "m", "v", "g");
    RequestAccumulator whole = new RequestAccumulator(key, 0, 60_000);
    RequestAccumulator derived = new RequestAccumulator(key, 0, 60_000);
    Random rnd = new Random(9);
    int id = 0;
    for (int part = 0; part < 6; part++) {
      RequestAccumulator tenSeconds = new RequestAccumulator(key, part * 10_000L, 10_000);
      int n = part == 3 ? 0 : 1 + rnd.nextInt(300); // one empty part: pairs must bridge it
      for (int i = 0; i < n; i++) {
        var e =
            request(
                    "e" + id++,
                    "h",
                    "m",
                    part * 10_000L + 5_000,
                    rnd.nextInt(10_000),
                    1000 + rnd.nextInt(50_000),
                    10_000 + rnd.nextInt(900_000),
                    1 + rnd.nextInt(200))
                .setBatchSize(1 + rnd.nextInt(200))
                .setColdStart(i % 40 == 0)
                .setDeviceId("d" + (i % 3))
                .build();
        whole.add(e, cls);
        tenSeconds.add(e, cls);
      }
      if (n > 0) {
        derived.append(RequestAccumulator.fromBytes(tenSeconds.toBytes(false), false));
      }
    }
    assertThat(derived.jitter.pairs).isEqualTo(whole.jitter.pairs);
    assertThat(derived.jitter.first).isEqualTo(whole.jitter.first);
    assertThat(derived.jitter.last).isEqualTo(whole.jitter.last);
    for (int j = 0; j < 3; j++) {
      assertThat(derived.jitter.absDiffSum[j])
          .isCloseTo(
              whole.jitter.absDiffSum[j],
              org.assertj.core.data.Offset.offset(1e-9 * whole.jitter.absDiffSum[j]));
    }
    assertThat(derived.batches.sizes()).isEqualTo(whole.batches.sizes());
    assertThat(derived.usage.devices().keySet()).isEqualTo(whole.usage.devices().keySet());
    whole
        .usage
        .devices()
        .forEach((d, v) -> assertThat(derived.usage.device(d).toArray()).isEqualTo(v.toArray()));
    var a = WindowAggregates.of(derived);
    var b = WindowAggregates.of(whole);
    assertThat(a.getRequests()).isEqualTo(b.getRequests());
    assertThat(a.getBatching()).isEqualTo(b.getBatching());
    for (int i = 0; i < b.getLatencies().size(); i++) {
      var x = a.getLatencies().get(i);
      var y = b.getLatencies().get(i);
      assertThat(x.getBucketValuesUs()).isEqualTo(y.getBucketValuesUs());
      assertThat(x.getBucketCounts()).isEqualTo(y.getBucketCounts());
      assertThat(x.getP99Us()).isEqualTo(y.getP99Us());
      assertThat(x.getHdrHistogram()).isEqualTo(y.getHdrHistogram());
      assertThat(x.getMeanUs())
          .isCloseTo(y.getMeanUs(), org.assertj.core.data.Offset.offset(1e-6 * y.getMeanUs()));
    }
  }

  @Test
  void unsynchronizedDataStreamsMatchTheJdkOnes() throws Exception {
    java.io.ByteArrayOutputStream jdk = new java.io.ByteArrayOutputStream();
    java.io.DataOutputStream a = new java.io.DataOutputStream(jdk);
    ByteArrayDataOutput b = new ByteArrayDataOutput(4);
    for (java.io.DataOutput o : new java.io.DataOutput[] {a, b}) {
      o.writeByte(-3);
      o.writeShort(-2);
      o.writeInt(Integer.MIN_VALUE + 7);
      o.writeLong(Long.MAX_VALUE - 9);
      o.writeDouble(Math.PI);
      o.writeUTF("h\u00e9llo \u4e16\u754c \u0000 end");
      o.writeBoolean(true);
    }
    a.flush();
    assertThat(b.toByteArray()).isEqualTo(jdk.toByteArray());
    ByteArrayDataInput in = new ByteArrayDataInput(b.toByteArray());
    assertThat(in.readByte()).isEqualTo((byte) -3);
    assertThat(in.readShort()).isEqualTo((short) -2);
    assertThat(in.readInt()).isEqualTo(Integer.MIN_VALUE + 7);
    assertThat(in.readLong()).isEqualTo(Long.MAX_VALUE - 9);
    assertThat(in.readDouble()).isEqualTo(Math.PI);
    assertThat(in.readUTF()).isEqualTo("h\u00e9llo \u4e16\u754c \u0000 end");
    assertThat(in.readBoolean()).isTrue();
    assertThatThrownBy(in::readByte).isInstanceOf(java.io.EOFException.class);
  }

  @Test
  void aNestedEncodeDoesNotClobberTheSharedBuffer() {
    byte[] outer =
        Codec.encode(
            out -> {
              out.writeLong(7);
              byte[] inner = Codec.encode(in -> in.writeUTF("inner"));
              out.writeInt(inner.length);
              out.write(inner);
              out.writeLong(9);
            });
    String back =
        Codec.decode(
            outer,
            "test record",
            in -> {
              assertThat(in.readLong()).isEqualTo(7);
              byte[] inner = new byte[in.readInt()];
              in.readFully(inner);
              assertThat(in.readLong()).isEqualTo(9);
              return Codec.decode(inner, "inner", java.io.DataInput::readUTF);
            });
    assertThat(back).isEqualTo("inner");
    assertThatThrownBy(
            () -> Codec.decode(new byte[] {1}, "test record", java.io.DataInput::readLong))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("corrupt test record");
  }

  @Test
  void corruptAccumulatorBytesFailWithAReason() {
    assertThatThrownBy(() -> RequestAccumulator.fromBytes(new byte[] {9}, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("accumulator");
    assertThatThrownBy(
            () -> AccumulatorSerde.compressed().deserializer().deserialize("t", new byte[] {1, 0}))
        .isInstanceOf(SerializationException.class);
  }

  @Test
  void energyInputSerdeRoundTripsBothKinds() {
    var serde = EnergyInput.serde();
    var sample =
        io.infermeter.streams.TopologyFixtureAccess.sample("h", "g", 123).setPowerW(10.0).build();
    assertThat(
            serde
                .deserializer()
                .deserialize("t", serde.serializer().serialize("t", new EnergyInput(sample, null)))
                .sample())
        .isEqualTo(sample);
    HostUsage u =
        new HostUsage(
            "c",
            "r",
            "h",
            "m",
            "v",
            0,
            10_000,
            5,
            10,
            20,
            java.util.Map.of("g", new long[] {1, 2, 3}));
    HostUsage back =
        serde
            .deserializer()
            .deserialize("t", serde.serializer().serialize("t", new EnergyInput(null, u)))
            .usage();
    assertThat(back.devices().get("g")).containsExactly(1, 2, 3);
    assertThat(back.requests()).isEqualTo(5);
    assertThatThrownBy(() -> serde.deserializer().deserialize("t", new byte[] {7}))
        .isInstanceOf(SerializationException.class);
  }

  @Test
  void energyAttributionConservesExactlyForAwkwardNumbers() {
    Random rnd = new Random(11);
    for (int i = 0; i < 10_000; i++) {
      java.util.Map<String, Long> busy = new java.util.LinkedHashMap<>();
      int n = 1 + rnd.nextInt(7);
      for (int m = 0; m < n; m++) {
        busy.put("m" + m, (long) rnd.nextInt(3_000_000));
      }
      double total = rnd.nextDouble() * Math.pow(10, rnd.nextInt(8));
      long deviceBusyUs = rnd.nextInt(10_000_001);
      var split =
          EnergyAttribution.split(total, EnergyAttribution.shares(busy, deviceBusyUs, 10_000_000));
      double sum = 0;
      for (double v : split.amounts().values()) {
        assertThat(v).isGreaterThanOrEqualTo(0.0);
        sum += v;
      }
      assertThat(split.idle()).isGreaterThanOrEqualTo(0.0);
      assertThat(sum + split.idle())
          .as("total %s busy %s amounts %s idle %s", total, busy, split.amounts(), split.idle())
          .isEqualTo(total);
    }
  }
}
