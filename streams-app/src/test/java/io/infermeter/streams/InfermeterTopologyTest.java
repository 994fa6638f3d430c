package io.infermeter.streams;

import static io.infermeter.streams.TopologyFixture.T0_MS;
import static io.infermeter.streams.TopologyFixture.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.LatencyStats;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.avro.WindowAggregate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The production topology under TopologyTestDriver: aggregates, percentiles, dedup, late and bad
 * records, key cap.
 */
class InfermeterTopologyTest {

  private static final double[] PERCENTILES = {50, 90, 95, 99, 99.9};

  /** Nearest-rank percentile of sorted values. */
  static long exact(long[] sorted, double p) {
    // rank = ceil(p/100 * n) in integer arithmetic (p in tenths), so floating point cannot move it
    // by one
    long tenths = Math.round(p * 10);
    int rank = (int) ((tenths * sorted.length + 999) / 1000);
    return sorted[Math.max(0, rank - 1)];
  }

  static long percentile(LatencyStats s, double p) {
    return p == 50
        ? s.getP50Us()
        : p == 90 ? s.getP90Us() : p == 95 ? s.getP95Us() : p == 99 ? s.getP99Us() : s.getP999Us();
  }

  static LatencyStats stats(WindowAggregate a, String metric, String cohort) {
    return a.getLatencies().stream()
        .filter(l -> l.getMetric().equals(metric) && l.getCohort().equals(cohort))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void percentilesMatchExactValuesWithin0Point1Percent() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      Random rnd = new Random(42);
      int n = 5000;
      long[] e2e = new long[n];
      long[] decode = new long[n];
      for (int i = 0; i < n; i++) {
        long queue = (long) (rnd.nextDouble() * 20_000);
        long prefill = 10_000 + (long) (Math.exp(rnd.nextGaussian()) * 30_000);
        decode[i] = 100_000 + (long) (Math.exp(rnd.nextGaussian() * 1.2) * 400_000);
        e2e[i] = queue + prefill + decode[i];
        f.send(
            request("e" + i, "h1", "m1", T0_MS + (i % 9000), queue, prefill, decode[i], 50)
                .build());
      }
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      List<WindowAggregate> out =
          f.aggregates().stream().filter(a -> a.getScope().equals("host")).toList();
      assertThat(out).hasSize(1);
      WindowAggregate a = out.get(0);
      assertThat(a.getRequests()).isEqualTo(n);
      assertThat(a.getQps()).isEqualTo(n / 10.0);
      assertThat(a.getOutputTokens()).isEqualTo(50L * n);
      Arrays.sort(e2e);
      Arrays.sort(decode);
      LatencyStats s = stats(a, "e2e", "warm");
      assertThat(s.getCount()).isEqualTo(n);
      assertThat(s.getMinUs()).isEqualTo(e2e[0]);
      assertThat(s.getMaxUs()).isEqualTo(e2e[n - 1]);
      assertThat(s.getMeanUs())
          .isCloseTo(
              Arrays.stream(e2e).average().orElseThrow(),
              org.assertj.core.data.Offset.offset(1e-6));
      for (double p : PERCENTILES) {
        assertThat(relErr(percentile(s, p), exact(e2e, p)))
            .as("e2e p%s", p)
            .isLessThanOrEqualTo(0.001);
        assertThat(relErr(percentile(stats(a, "decode", "warm"), p), exact(decode, p)))
            .as("decode p%s", p)
            .isLessThanOrEqualTo(0.001);
      }
      long bucketTotal = s.getBucketCounts().stream().mapToLong(Long::longValue).sum();
      assertThat(bucketTotal).isEqualTo(n);
      assertThat(s.getHdrHistogram()).as("off by default (output.hdr.histogram)").isNull();
    }
  }

  @Test
  void compressedHdrHistogramOnRequestHoldsExactlyTheBuckets() throws Exception {
    try (TopologyFixture f = new TopologyFixture(Map.of("output.hdr.histogram", "true"))) {
      Random rnd = new Random(17);
      for (int i = 0; i < 2000; i++) {
        f.send(
            request(
                    "e" + i,
                    "h1",
                    "m1",
                    T0_MS + i,
                    0,
                    1000,
                    1000 + (long) (rnd.nextDouble() * 900_000),
                    10)
                .build());
      }
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      List<WindowAggregate> out =
          f.aggregates().stream().filter(a -> a.getScope().equals("host")).toList();
      assertThat(out).hasSize(1);
      LatencyStats s = stats(out.get(0), "e2e", "warm");
      org.HdrHistogram.Histogram h =
          org.HdrHistogram.Histogram.decodeFromCompressedByteBuffer(s.getHdrHistogram(), 0);
      assertThat(h.getTotalCount()).isEqualTo(2000);
      List<Long> values = new ArrayList<>();
      List<Long> counts = new ArrayList<>();
      for (org.HdrHistogram.HistogramIterationValue v : h.recordedValues()) {
        values.add(h.highestEquivalentValue(v.getValueIteratedTo()));
        counts.add(v.getCountAtValueIteratedTo());
      }
      assertThat(values).isEqualTo(s.getBucketValuesUs());
      assertThat(counts).isEqualTo(s.getBucketCounts());
    }
  }

  static double relErr(long got, long exact) {
    return Math.abs(got - exact) / (double) Math.max(1, exact);
  }

  @Test
  void fleetRollupPercentilesEqualThePercentilesOfTheUnion() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      Random rnd = new Random(7);
      List<Long> all = new ArrayList<>();
      Map<String, Long> byId = new java.util.HashMap<>();
      for (String host : List.of("h1", "h2", "h3")) {
        double scale = host.equals("h1") ? 100_000 : host.equals("h2") ? 300_000 : 1_000_000;
        for (int i = 0; i < 1000; i++) {
          long decode = 1000 + (long) (rnd.nextDouble() * scale);
          all.add(decode + 2000);
          byId.put(host + i, decode + 2000);
          f.send(
              request(host + i, host, "m1", T0_MS + i, 0, 2000, decode, 10)
                  .setRequestId("req-" + host + i)
                  .build());
        }
      }
      // Close the hosts' first window, then their second one so the fleet (delay 10 s) passes the
      // first.
      for (String host : List.of("h1", "h2", "h3")) {
        f.send(request(host + "-w1", host, "m1", T0_MS + 12_000, 0, 1000, 1000, 2).build());
      }
      for (String host : List.of("h1", "h2", "h3")) {
        f.send(request(host + "-w2", host, "m1", T0_MS + 22_000, 0, 1000, 1000, 2).build());
      }
      WindowAggregate fleet =
          f.aggregates().stream()
              .filter(a -> a.getScope().equals("fleet") && a.getWindowStartUs() == T0_MS * 1000)
              .findFirst()
              .orElseThrow();
      assertThat(fleet.getHost()).isEqualTo("*");
      assertThat(fleet.getRequests()).isEqualTo(3000);
      long[] sorted = all.stream().mapToLong(Long::longValue).sorted().toArray();
      LatencyStats s = stats(fleet, "e2e", "warm");
      for (double p : PERCENTILES) {
        assertThat(relErr(percentile(s, p), exact(sorted, p)))
            .as("fleet e2e p%s", p)
            .isLessThanOrEqualTo(0.001);
      }
      // the exemplars: the 3 slowest requests of every host together, slowest first
      List<String> slowest =
          byId.entrySet().stream()
              .sorted(
                  Map.Entry.<String, Long>comparingByValue()
                      .reversed()
                      .thenComparing(Map.Entry.comparingByKey()))
              .limit(3)
              .map(Map.Entry::getKey)
              .toList();
      assertThat(s.getExemplars())
          .extracting(x -> x.getEventId() + "/" + x.getRequestId() + "/" + x.getValueUs())
          .containsExactlyElementsOf(
              slowest.stream().map(id -> id + "/req-" + id + "/" + byId.get(id)).toList());
      assertThat(s.getExemplars().get(0).getValueUs()).isEqualTo(s.getMaxUs());
    }
  }

  @Test
  void hostPartialsTellTheFleetHowFarTheirTaskIs() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      f.send(request("a", "h1", "m1", T0_MS + 100, 0, 1000, 2000, 5).build());
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      org.apache.kafka.streams.state.KeyValueStore<String, Long> meta =
          f.driver.getKeyValueStore(io.infermeter.streams.windows.FleetRollupProcessor.META_STORE);
      assertThat(meta.get("upstream|0_0"))
          .as("the request task's stream time, from the partial's headers")
          .isEqualTo(T0_MS + 11_500);
      assertThat(meta.get("upstream|unknown")).isNull();
    }
  }

  @Test
  void coldStartsAreSeparatedAndCountsAreComplete() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      f.send(request("a", "h1", "m1", T0_MS + 100, 0, 1000, 9000, 10).setColdStart(true).build());
      f.send(request("b", "h1", "m1", T0_MS + 200, 500, 1000, 2000, 10).build());
      f.send(
          request("c", "h1", "m1", T0_MS + 300, 500, 1000, 2000, 1)
              .setStatus(RequestStatus.ERROR)
              .setErrorType("oom")
              .build());
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      WindowAggregate a = f.aggregates().get(0);
      assertThat(a.getRequests()).isEqualTo(3);
      assertThat(a.getOk()).isEqualTo(2);
      assertThat(a.getErrors()).isEqualTo(1);
      assertThat(a.getColdStarts()).isEqualTo(1);
      assertThat(a.getErrorsByType()).containsEntry("oom", 1L);
      assertThat(stats(a, "e2e", "cold").getCount()).isEqualTo(1);
      // the failed request is counted, but its latency stays out of the histograms
      assertThat(stats(a, "e2e", "warm").getCount()).isEqualTo(1);
      assertThat(stats(a, "e2e", "cold").getMaxUs()).isEqualTo(10_000);
    }
  }

  @Test
  void theMaxInterTokenGapHasItsOwnPercentiles() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // 99 smooth streams (20 ms gaps) and one that stalled 2 s: its mean TPOT hides the stall
      for (int i = 0; i < 100; i++) {
        f.send(
            request("s" + i, "h1", "m1", T0_MS + 1000 + i, 0, 100_000, 2_000_000 + i, 101)
                .setMaxInterTokenGapUs(i == 99 ? 2_000_000L : 20_000L)
                .build());
      }
      // a gap longer than the decode time it lies within is not a gap: left out
      f.send(
          request("bad", "h1", "m1", T0_MS + 2000, 0, 100_000, 1_000_000, 101)
              .setMaxInterTokenGapUs(5_000_000L)
              .build());
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      WindowAggregate a = f.aggregates().get(0);
      LatencyStats gap = stats(a, "max_itl", "warm");
      assertThat(gap.getCount()).isEqualTo(100);
      assertThat(gap.getP50Us())
          .isCloseTo(20_000L, org.assertj.core.data.Percentage.withPercentage(0.1));
      assertThat(gap.getMaxUs()).isEqualTo(2_000_000L);
      assertThat(stats(a, "tpot", "warm").getMaxUs()).isLessThan(21_000L);
    }
  }

  @Test
  void perRequestTokenRatesHaveTheirOwnPercentilesInMilliTokensPerSecond() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // request i: 2(i+1) tokens after the first in 2 s of decode, (i+1) tokens/s; 100(i+1) prompt
      // tokens in 100 ms of prefill, 1,000(i+1) tokens/s
      for (int i = 0; i < 100; i++) {
        f.send(
            request("r" + i, "h1", "m1", T0_MS + 1000 + i, 5_000, 100_000, 2_000_000, 2 * i + 3)
                .setInputTokens(100 * (i + 1))
                .build());
      }
      // a cold start: 101 tokens, the last 100 in 2 s (50 tokens/s); 2,000 prompt tokens in 40 ms
      f.send(
          request("cold", "h1", "m1", T0_MS + 3000, 0, 40_000, 2_000_000, 101)
              .setInputTokens(2_000)
              .setColdStart(true)
              .build());
      // no rate: one output token and no scheduling time (prefill unknown) ...
      f.send(
          request("one", "h1", "m1", T0_MS + 4000, 0, 40_000, 0, 1).setScheduledUs(null).build());
      // ... zero decode time and no prompt tokens ...
      f.send(
          request("instant", "h1", "m1", T0_MS + 4100, 0, 40_000, 0, 101)
              .setInputTokens(0)
              .build());
      // ... and a failed request, whose rates stay out as its latencies do
      f.send(
          request("failed", "h1", "m1", T0_MS + 4200, 0, 1_000, 1_000_000, 1_001)
              .setStatus(RequestStatus.ERROR)
              .build());
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      WindowAggregate a = f.aggregates().get(0);
      assertThat(a.getRequests()).isEqualTo(104);
      assertThat(stats(a, "e2e", "warm").getCount()).isEqualTo(102);

      LatencyStats out = stats(a, "output_tps", "warm");
      assertThat(out.getCount()).isEqualTo(100);
      assertThat(out.getMinUs()).isEqualTo(1_000); // 1 token/s
      assertThat(out.getMaxUs()).isEqualTo(100_000); // 100 tokens/s
      assertThat(out.getMeanUs()).isEqualTo(50_500.0);
      // nearest rank: the 50th value, 50 tokens/s, reported as the highest value of its
      // HdrHistogram bucket (49,984..50,015); the 90th, 90 tokens/s (bucket 89,984..90,047)
      assertThat(out.getP50Us()).isEqualTo(50_015);
      assertThat(out.getP90Us()).isEqualTo(90_047);
      // the slowest are the lowest rates; the failed request is no exemplar
      assertThat(out.getExemplars())
          .extracting(x -> x.getEventId() + "/" + x.getValueUs())
          .containsExactly("r0/1000", "r1/2000", "r2/3000");

      LatencyStats in = stats(a, "input_tps", "warm");
      assertThat(in.getCount()).isEqualTo(100);
      assertThat(in.getMinUs()).isEqualTo(1_000_000); // 1,000 tokens/s
      assertThat(in.getMaxUs()).isEqualTo(100_000_000); // 100,000 tokens/s
      assertThat(in.getMeanUs()).isEqualTo(50_500_000.0);
      assertThat(in.getP50Us())
          .isCloseTo(50_000_000L, org.assertj.core.data.Percentage.withPercentage(0.1));

      LatencyStats coldOut = stats(a, "output_tps", "cold");
      assertThat(coldOut.getCount()).isEqualTo(1);
      assertThat(coldOut.getMinUs()).isEqualTo(50_000);
      assertThat(coldOut.getMaxUs()).isEqualTo(50_000);
      LatencyStats coldIn = stats(a, "input_tps", "cold");
      assertThat(coldIn.getMinUs()).isEqualTo(50_000_000);
      assertThat(coldIn.getMaxUs()).isEqualTo(50_000_000);
    }
  }

  @Test
  void aTimedOutRequestDoesNotSetTheTailLatency() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // 999 requests of about 1 s and one that hit the client's 60 s timeout
      for (int i = 0; i < 999; i++) {
        f.send(
            request("ok" + i, "h1", "m1", T0_MS + 1000 + i, 0, 100_000, 900_000 + i, 10).build());
      }
      f.send(
          request("timeout", "h1", "m1", T0_MS + 2000, 0, 100_000, 59_900_000, 10)
              .setStatus(RequestStatus.TIMEOUT)
              .build());
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      WindowAggregate a = f.aggregates().get(0);
      assertThat(a.getRequests()).isEqualTo(1000);
      assertThat(a.getTimeouts()).isEqualTo(1);
      LatencyStats e2e = stats(a, "e2e", "warm");
      assertThat(e2e.getCount()).isEqualTo(999);
      assertThat(e2e.getMaxUs()).isLessThan(1_100_000);
      assertThat(e2e.getP999Us()).isLessThan(1_100_000);
      // the slowest successful requests are the exemplars, not the timed-out one
      assertThat(e2e.getExemplars())
          .extracting(x -> x.getEventId())
          .containsExactly("ok998", "ok997", "ok996");
      assertThat(e2e.getExemplars().get(0).getValueUs()).isEqualTo(e2e.getMaxUs());
    }
  }

  @Test
  void goodputCountsOnlySuccessfulRequestsMeetingEveryThreshold() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // default class: TTFT <= 500 ms, TPOT <= 50 ms, e2e <= 10 s
      f.send(
          request("good", "h1", "m1", T0_MS + 100, 100_000, 100_000, 1_000_000, 41)
              .build()); // tpot 25 ms
      f.send(request("slowTtft", "h1", "m1", T0_MS + 200, 400_000, 200_000, 100_000, 3).build());
      f.send(
          request("slowTpot", "h1", "m1", T0_MS + 300, 0, 10_000, 1_000_000, 11)
              .build()); // tpot 100 ms
      f.send(
          request("failed", "h1", "m1", T0_MS + 400, 0, 10_000, 10_000, 2)
              .setStatus(RequestStatus.TIMEOUT)
              .build());
      f.send(
          request("interactive", "h1", "m1", T0_MS + 500, 0, 250_000, 10_000, 2)
              .setSloClass("interactive")
              .build());
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      WindowAggregate a = f.aggregates().get(0);
      var byClass = a.getSlo().stream().collect(Collectors.toMap(s -> s.getSloClass(), s -> s));
      assertThat(byClass.get("default").getRequests()).isEqualTo(4);
      assertThat(byClass.get("default").getGood()).isEqualTo(1);
      assertThat(byClass.get("default").getAttainmentPct()).isEqualTo(25.0);
      assertThat(byClass.get("default").getGoodputRps()).isEqualTo(0.1);
      assertThat(byClass.get("interactive").getGood()).isZero(); // TTFT 250 ms > 200 ms
    }
  }

  @Test
  void batchingStatsUseTheReportedBatchSizes() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      int[] sizes = {1, 1, 4, 8, 8, 8, 16, 2, 4, 8};
      for (int i = 0; i < sizes.length; i++) {
        f.send(
            request("b" + i, "h1", "m1", T0_MS + i, 0, 1000, 5000, 20)
                .setBatchSize(sizes[i])
                .setMaxBatchSize(16)
                .build());
      }
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      var b = f.aggregates().get(0).getBatching();
      double mean = Arrays.stream(sizes).average().orElseThrow();
      assertThat(b.getMeanBatchSize()).isEqualTo(mean);
      assertThat(b.getEfficiency()).isEqualTo(mean / 16);
      assertThat(b.getBatchSizeOneShare()).isEqualTo(0.2);
      int[] sorted = sizes.clone();
      Arrays.sort(sorted);
      assertThat(b.getP50BatchSize()).isEqualTo(sorted[4]);
      assertThat(b.getP90BatchSize()).isEqualTo(sorted[8]);
    }
  }

  @Test
  void resentEventsCountOnce() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      RequestEvent e = request("same-id", "h1", "m1", T0_MS + 100, 0, 1000, 2000, 5).build();
      f.send(e);
      f.send(e);
      f.send(request("other-id", "h1", "m1", T0_MS + 200, 0, 1000, 2000, 5).build());
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      assertThat(f.aggregates().get(0).getRequests()).isEqualTo(2);
      assertThat(f.counters.duplicates.sum()).isEqualTo(1);
    }
  }

  @Test
  void everyReSentIdIsCaughtAcrossDedupChunks() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      int n = 9000; // more than two chunks of 4096 ids in one bucket
      for (int round = 0; round < 2; round++) {
        for (int i = 0; i < n; i++) {
          f.send(request("id-" + i, "h1", "m1", T0_MS + i % 9000, 0, 1000, 2000, 5).build());
        }
      }
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      assertThat(f.aggregates().get(0).getRequests()).isEqualTo(n);
      assertThat(f.counters.duplicates.sum()).isEqualTo(n);
    }
  }

  @Test
  void theDedupHorizonCoversEveryWindowARecordCanStillCountIn() {
    // dedup.retention is raised to grace + allowed lateness + the largest window (1 s + 0 + 10 s
    // here): an id is
    // forgotten only when a re-sent copy could no longer count anyway.
    try (TopologyFixture f = new TopologyFixture(Map.of("dedup.retention", "2s"))) {
      assertThat(f.settings.dedupRetention()).isEqualTo(java.time.Duration.ofSeconds(11));
      f.send(request("x", "h1", "m1", T0_MS + 100, 0, 1000, 2000, 5).build());
      f.send(request("later", "h1", "m1", T0_MS + 5_000, 0, 1000, 2000, 5).build());
      f.send(
          request("x", "h1", "m1", T0_MS + 100, 0, 1000, 2000, 5)
              .build()); // past the 2 s asked for: still a duplicate
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      assertThat(f.aggregates().get(0).getRequests()).isEqualTo(2);
      assertThat(f.counters.duplicates.sum()).isEqualTo(1);
      f.send(request("far", "h1", "m1", T0_MS + 60_000, 0, 1000, 1000, 2).build());
      f.send(
          request("x", "h1", "m1", T0_MS + 100, 0, 1000, 2000, 5)
              .build()); // forgotten, and too late to count
      assertThat(f.counters.duplicates.sum() + f.counters.lateRecords.sum()).isEqualTo(2);
      assertThat(f.aggregates())
          .filteredOn(a -> a.getScope().equals("host"))
          .allSatisfy(a -> assertThat(a.getWindowStartUs()).isNotEqualTo(T0_MS * 1000));
    }
  }

  @Test
  void lateRecordsGoToDeadLettersWithTheReasonAndAreCounted() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      f.send(request("a", "h1", "m1", T0_MS + 100, 0, 1000, 2000, 5).build());
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      assertThat(f.aggregates().get(0).getRequests()).isEqualTo(1);
      f.send(request("late", "h1", "m1", T0_MS + 9_000, 0, 1000, 2000, 5).build());
      List<DeadLetter> dl = f.deadLetters.readValuesToList();
      assertThat(dl).hasSize(1);
      assertThat(dl.get(0).getReason()).isEqualTo("late");
      assertThat(dl.get(0).getStage()).isEqualTo("streams");
      assertThat(dl.get(0).getPayload()).isNotNull();
      assertThat(f.counters.lateRecords.sum()).isEqualTo(1);
      // within grace: not late (window [10 s, 20 s) still open)
      f.send(request("ontime", "h1", "m1", T0_MS + 10_600, 0, 1000, 2000, 5).build());
      assertThat(f.deadLetters.isEmpty()).isTrue();
    }
  }

  @Test
  void malformedAndInvalidRecordsGoToDeadLetters() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      f.rawRequests.pipeInput("h1", new byte[] {0, 0, 0, 0, 99, 1, 2}, T0_MS);
      f.rawRequests.pipeInput(
          "h1", "not avro".getBytes(java.nio.charset.StandardCharsets.UTF_8), T0_MS);
      RequestEvent bad = request("bad", "h1", "m1", T0_MS + 100, 0, 1000, 2000, 5).build();
      bad.setArrivalUs(bad.getCompletedUs() + 5);
      f.send(bad);
      // The deserialization handler returns its DeadLetter records to Kafka Streams
      // (Response.resume(records));
      // TopologyTestDriver does not capture handler-produced records, so here we check the handler
      // ran for both and the
      // stream went on; DeadLetterHandlersTest checks the records it returns, StreamsAppIT the real
      // topic.
      assertThat(f.counters.deadLetters().get("deserialization").sum()).isEqualTo(2);
      List<DeadLetter> dl = f.deadLetters.readValuesToList();
      assertThat(dl).extracting(DeadLetter::getReason).containsExactly("validation");
      assertThat(dl.get(0).getMessage()).contains("before arrivalUs");
      assertThat(dl.get(0).getSourceTopic()).isEqualTo("infermeter-requests");
      assertThat(f.counters.deadLetterTotal()).isEqualTo(3);
    }
  }

  @Test
  void keyCapFoldsExcessKeysIntoOther() {
    try (TopologyFixture f = new TopologyFixture(Map.of("keys.max.per.window", "2"))) {
      f.send(request("1", "h1", "m1", T0_MS + 1, 0, 1000, 2000, 5).build());
      f.send(request("2", "h1", "m2", T0_MS + 2, 0, 1000, 2000, 5).build());
      f.send(request("3", "h1", "m3", T0_MS + 3, 0, 1000, 2000, 5).build());
      f.send(request("4", "h1", "m4", T0_MS + 4, 0, 1000, 2000, 5).build());
      f.send(request("close", "h1", "m1", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      List<WindowAggregate> host =
          f.aggregates().stream().filter(a -> a.getScope().equals("host")).toList();
      assertThat(host)
          .extracting(WindowAggregate::getModel)
          .containsExactlyInAnyOrder("m1", "m2", "other");
      assertThat(host.stream().mapToLong(WindowAggregate::getRequests).sum()).isEqualTo(4);
      assertThat(
              host.stream()
                  .filter(a -> a.getModel().equals("other"))
                  .findFirst()
                  .orElseThrow()
                  .getHost())
          .isEqualTo("other");
      assertThat(f.counters.keyCapFolded.sum()).isEqualTo(2);
    }
  }

  @Test
  void oneMinuteWindowsBuiltFromClosedTenSecondWindowsEqualRecordingEveryRequest() {
    try (TopologyFixture f = new TopologyFixture(Map.of("windows.sizes", "10s,1m"))) {
      Random rnd = new Random(23);
      int n = 600;
      long[] e2e = new long[n];
      for (int i = 0; i < n; i++) {
        long decode = 20_000 + (long) (Math.exp(rnd.nextGaussian()) * 300_000);
        e2e[i] = 1000 + decode;
        f.send(
            request("m" + i, "h1", "m1", T0_MS + i * 100L, 0, 1000, decode, 10)
                .setBatchSize(1 + i % 7)
                .build());
      }
      f.send(request("close", "h1", "m1", T0_MS + 61_500, 0, 1000, 1000, 2).build());
      WindowAggregate minute =
          f.aggregates().stream()
              .filter(a -> a.getScope().equals("host") && a.getWindowSizeMs() == 60_000)
              .findFirst()
              .orElseThrow();
      assertThat(minute.getRequests()).isEqualTo(n);
      double absDiffSum = 0;
      for (int i = 1; i < n; i++) {
        absDiffSum += Math.abs(e2e[i] - e2e[i - 1]);
      }
      var jitter =
          minute.getJitter().stream()
              .filter(j -> j.getMetric().equals("e2e"))
              .findFirst()
              .orElseThrow();
      assertThat(jitter.getMeanAbsConsecutiveDiffUs())
          .as("consecutive pairs across the 10 s boundaries too")
          .isCloseTo(absDiffSum / (n - 1), org.assertj.core.data.Offset.offset(1e-6));
      long[] sorted = e2e.clone();
      Arrays.sort(sorted);
      LatencyStats s = stats(minute, "e2e", "warm");
      assertThat(s.getMinUs()).isEqualTo(sorted[0]);
      assertThat(s.getMaxUs()).isEqualTo(sorted[n - 1]);
      for (double p : PERCENTILES) {
        assertThat(relErr(percentile(s, p), exact(sorted, p)))
            .as("p%s", p)
            .isLessThanOrEqualTo(0.001);
      }
      assertThat(minute.getBatching().getMeanBatchSize())
          .isCloseTo(
              java.util.stream.IntStream.range(0, n).map(i -> 1 + i % 7).average().orElseThrow(),
              org.assertj.core.data.Offset.offset(1e-9));
    }
  }

  @Test
  void aRequestLateForItsTenSecondWindowStillCountsInItsMinute() {
    try (TopologyFixture f = new TopologyFixture(Map.of("windows.sizes", "10s,1m"))) {
      for (int i = 0; i < 200; i++) {
        f.send(request("m" + i, "h1", "m1", T0_MS + i * 100L, 0, 1000, 5000 + i, 10).build());
      }
      f.send(
          request("late", "h1", "m1", T0_MS + 5_000, 0, 1000, 777_000, 10)
              .build()); // [0, 10 s) closed at 11 s
      f.send(
          request("m0", "h1", "m1", T0_MS, 0, 1000, 5000, 10)
              .build()); // re-sent: a duplicate, not late
      f.send(request("close", "h1", "m1", T0_MS + 61_500, 0, 1000, 1000, 2).build());
      List<WindowAggregate> host =
          f.aggregates().stream().filter(a -> a.getScope().equals("host")).toList();
      assertThat(
              host.stream()
                  .filter(a -> a.getWindowSizeMs() == 10_000)
                  .mapToLong(WindowAggregate::getRequests)
                  .sum())
          .isEqualTo(200);
      WindowAggregate minute =
          host.stream().filter(a -> a.getWindowSizeMs() == 60_000).findFirst().orElseThrow();
      assertThat(minute.getRequests()).isEqualTo(201);
      assertThat(stats(minute, "e2e", "warm").getMaxUs()).isEqualTo(778_000);
      List<DeadLetter> dl = f.deadLetters.readValuesToList();
      assertThat(dl).extracting(DeadLetter::getReason).containsExactly("late");
      assertThat(dl.get(0).getMessage())
          .contains("10000 ms window")
          .doesNotContain("60000 ms window");
      assertThat(f.counters.duplicates.sum()).isEqualTo(1);
    }
  }

  @Test
  void rocksDbStoresGiveTheSameAggregates() {
    try (TopologyFixture f =
        new TopologyFixture(Map.of("state.store.type", "rocksdb", "windows.sizes", "10s,1m"))) {
      for (int i = 0; i < 100; i++) {
        f.send(request("r" + i, "h1", "m1", T0_MS + i * 100L, 0, 1000, 1000 + i, 5).build());
      }
      f.send(request("close", "h1", "m1", T0_MS + 61_500, 0, 1000, 1000, 2).build());
      List<WindowAggregate> host =
          f.aggregates().stream().filter(a -> a.getScope().equals("host")).toList();
      assertThat(
              host.stream()
                  .filter(a -> a.getWindowSizeMs() == 60_000)
                  .mapToLong(WindowAggregate::getRequests)
                  .sum())
          .isEqualTo(100);
      assertThat(
              host.stream()
                  .filter(a -> a.getWindowSizeMs() == 10_000)
                  .mapToLong(WindowAggregate::getRequests)
                  .sum())
          .isEqualTo(100);
    }
  }
}
