package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.infermeter.avro.AlertState;
import io.infermeter.avro.BottleneckLabel;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.ModelAttribution;
import io.infermeter.avro.Severity;
import io.infermeter.avro.WindowAggregate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every query of docs/queries.sql (the V002 views) on the real ClickHouse server against known
 * data, compared with values computed independently in Java. Rows are written twice with different
 * offsets, as a re-delivery would, so the expected numbers also prove the FINAL de-duplication.
 */
class QueriesIT {

  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);
  private static ClickHouseTestDb db;
  private static ShippedQueries queries;
  private static final Map<Table, List<Object[]>> rows = new EnumMap<>(Table.class);
  private static long offset;

  @BeforeAll
  static void setUp() throws Exception {
    db = new ClickHouseTestDb(Map.of());
    db.migrate();
    queries = ShippedQueries.load();
  }

  @AfterAll
  static void tearDown() throws Exception {
    db.close();
  }

  private static final RowMappers.RowConsumer COLLECT =
      (t, row) -> rows.computeIfAbsent(t, k -> new ArrayList<>()).add(row);

  /**
   * Writes the collected rows twice (the second time with higher offsets, like a re-delivery) and
   * clears them.
   */
  private static void writeTwice(Runnable mapAll) throws Exception {
    try (ClickHouseWriter writer = SinkFactory.writer(db.config)) {
      for (int copy = 0; copy < 2; copy++) {
        rows.clear();
        mapAll.run();
        for (Map.Entry<Table, List<Object[]>> e : rows.entrySet()) {
          writer.insert(e.getKey(), e.getValue());
        }
      }
    }
    rows.clear();
  }

  private static Map<String, Object> range(long fromWindow, long toWindow) {
    Map<String, Object> p = new HashMap<>();
    p.put("from_ts", TS.format(RowMappers.micros(Fixtures.T0_US + fromWindow * 10_000_000L)));
    p.put("to_ts", TS.format(RowMappers.micros(Fixtures.T0_US + toWindow * 10_000_000L)));
    p.put("window_ms", 10_000);
    return p;
  }

  private static List<List<Object>> run(String name, Map<String, Object> params) throws Exception {
    return db.rows(queries.bind(name, db.database, params));
  }

  private static long nearestRank(long[] sorted, double q) {
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, rank - 1)];
  }

  private static double num(Object o) {
    return ((Number) o).doubleValue();
  }

  @Test
  void everyShippedQueryIsTested() {
    assertThat(queries.all().keySet())
        .containsExactlyInAnyOrder(
            "fleet_latency_percentiles",
            "latency_slo_attainment",
            "slo_class_attainment",
            "cost_per_million_tokens",
            "energy_carbon_by_region",
            "top_alerts",
            "bottleneck_share",
            "hardware_minutely",
            "slowest_requests",
            "requests_behind_window_p99",
            "window_exemplars",
            "requests_behind_alert",
            "prompt_length_ttft");
  }

  @Test
  void fleetPercentilesMergedInSqlEqualTheExactPercentilesOfTheUnion() throws Exception {
    Random random = new Random(42);
    Map<String, List<Long>> raw = new TreeMap<>();
    List<WindowAggregate> windows = new ArrayList<>();
    String[] models = {"fleet-llama", "fleet-mistral"};
    for (String model : models) {
      List<Long> all = new ArrayList<>();
      for (int host = 0; host < 6; host++) {
        for (int w = 0; w < 4; w++) {
          long[] values = new long[500 + random.nextInt(1500)];
          double scale =
              20_000 * (1 + host); // hosts differ, so averaging per-host p99s would be wrong
          for (int i = 0; i < values.length; i++) {
            values[i] = (long) (scale * Math.exp(random.nextGaussian() * 0.8)) + 1;
            all.add(values[i]);
          }
          windows.add(
              Fixtures.window(100 + w, "h" + host, model, values.length)
                  .setLatencies(
                      List.of(Fixtures.latency("e2e", "warm", Fixtures.histogram(values))))
                  .build());
        }
      }
      raw.put(model, all);
    }
    // Out of range or other scopes/sizes: must not count.
    Histogram huge = Fixtures.histogram(new long[] {90_000_000, 90_000_000, 90_000_000});
    windows.add(
        Fixtures.window(100, "*", "fleet-llama", 3)
            .setScope("fleet")
            .setLatencies(List.of(Fixtures.latency("e2e", "warm", huge)))
            .build());
    windows.add(
        Fixtures.window(100, "h0", "fleet-llama", 3)
            .setWindowSizeMs(60_000)
            .setLatencies(List.of(Fixtures.latency("e2e", "warm", huge)))
            .build());
    windows.add(
        Fixtures.window(99, "h0", "fleet-llama", 3)
            .setLatencies(List.of(Fixtures.latency("e2e", "warm", huge)))
            .build());
    writeTwice(() -> windows.forEach(w -> RowMappers.windowAggregate(w, 0, offset++, COLLECT)));

    List<List<Object>> result = run("fleet_latency_percentiles", range(100, 104));
    assertThat(result).hasSize(2);
    for (List<Object> row : result) {
      long[] sorted =
          raw.get(row.get(0).toString()).stream().mapToLong(Long::longValue).sorted().toArray();
      assertThat(num(row.get(3))).isEqualTo(sorted.length);
      double[] expected = {
        nearestRank(sorted, 0.5), nearestRank(sorted, 0.99), nearestRank(sorted, 0.999)
      };
      for (int i = 0; i < 3; i++) {
        double actual = num(row.get(4 + i));
        assertThat(Math.abs(actual - expected[i]) / expected[i])
            .as("%s quantile %d: SQL %s vs exact %s", row.get(0), i, actual, expected[i])
            .isLessThanOrEqualTo(0.001);
      }
    }
  }

  @Test
  void ttftAndTpotAttainmentCountRequestsWithinThresholds() throws Exception {
    Random random = new Random(7);
    long ttftThreshold = 200_000;
    long tpotThreshold = 30_000;
    long[] within = new long[2];
    long[] total = new long[2];
    List<WindowAggregate> windows = new ArrayList<>();
    for (int host = 0; host < 3; host++) {
      long[] ttft = new long[800];
      long[] tpot = new long[800];
      for (int i = 0; i < ttft.length; i++) {
        ttft[i] = 50_000L + random.nextInt(300_000);
        tpot[i] = 10_000L + random.nextInt(40_000);
      }
      Histogram ht = Fixtures.histogram(ttft);
      Histogram hp = Fixtures.histogram(tpot);
      // Judged at histogram resolution (a value counts when its bucket's highest value is within
      // the threshold).
      within[0] +=
          Arrays.stream(ttft).filter(v -> ht.highestEquivalentValue(v) <= ttftThreshold).count();
      within[1] +=
          Arrays.stream(tpot).filter(v -> hp.highestEquivalentValue(v) <= tpotThreshold).count();
      total[0] += ttft.length;
      total[1] += tpot.length;
      windows.add(
          Fixtures.window(200, "h" + host, "slo-model", ttft.length)
              .setLatencies(
                  List.of(
                      Fixtures.latency("ttft", "warm", ht), Fixtures.latency("tpot", "warm", hp)))
              .build());
    }
    writeTwice(() -> windows.forEach(w -> RowMappers.windowAggregate(w, 0, offset++, COLLECT)));
    Map<String, Object> p = range(200, 201);
    p.put("ttft_us", ttftThreshold);
    p.put("tpot_us", tpotThreshold);
    List<List<Object>> result = run("latency_slo_attainment", p);
    assertThat(result).extracting(r -> r.get(1)).containsExactly("tpot", "ttft");
    assertThat(num(result.get(1).get(3))).isEqualTo(total[0]);
    assertThat(num(result.get(1).get(4))).isEqualTo(within[0]);
    assertThat(num(result.get(1).get(5))).isCloseTo(within[0] * 100.0 / total[0], within(1e-9));
    assertThat(num(result.get(0).get(4))).isEqualTo(within[1]);
    assertThat(num(result.get(0).get(5))).isCloseTo(within[1] * 100.0 / total[1], within(1e-9));
  }

  @Test
  void sloClassAttainmentSumsGoodAndRequestsAcrossHostsAndWindows() throws Exception {
    List<WindowAggregate> windows = new ArrayList<>();
    long[][] interactive = {{100, 90}, {50, 20}, {30, 30}};
    long[][] batch = {{10, 1}, {20, 19}, {5, 0}};
    for (int i = 0; i < 3; i++) {
      windows.add(
          Fixtures.window(300 + i, "h" + i, "class-model", 200)
              .setSlo(
                  List.of(
                      Fixtures.slo("interactive", interactive[i][0], interactive[i][1]),
                      Fixtures.slo("batch", batch[i][0], batch[i][1])))
              .build());
    }
    writeTwice(() -> windows.forEach(w -> RowMappers.windowAggregate(w, 0, offset++, COLLECT)));
    List<List<Object>> result = run("slo_class_attainment", range(300, 303));
    assertThat(result).extracting(r -> r.get(1)).containsExactly("batch", "interactive");
    assertThat(num(result.get(0).get(4)))
        .isCloseTo(100.0 * (1 + 19 + 0) / (10 + 20 + 5), within(1e-9));
    assertThat(num(result.get(1).get(4)))
        .isCloseTo(100.0 * (90 + 20 + 30) / (100 + 50 + 30), within(1e-9));
  }

  private static List<DeviceWindowEnergy> energyData() {
    return List.of(
        Fixtures.energy(
            400,
            "e1",
            "eu-west",
            "H100",
            100,
            10,
            0.5,
            List.of(
                Fixtures.attribution("m-a", 10, 2000, 0.5, 300, 30, 1.5),
                Fixtures.attribution("m-b", 5, 1000, 0.25, 150, 15, 0.75))),
        Fixtures.energy(
            401,
            "e1",
            "eu-west",
            "H100",
            50,
            5,
            0.25,
            List.of(Fixtures.attribution("m-a", 20, 3000, 0.8, 400, 40, 2.0))),
        Fixtures.energy(
            400,
            "e2",
            "us-east",
            "A100",
            20,
            8,
            0.1,
            List.of(Fixtures.attribution("m-a", 7, 700, 0.9, 180, 72, 0.9))));
  }

  @Test
  void costPerMillionTokensByModelAndGpuType() throws Exception {
    List<DeviceWindowEnergy> data = energyData();
    writeTwice(() -> data.forEach(e -> RowMappers.energy(e, 1, offset++, COLLECT)));
    Map<String, double[]> expected = new TreeMap<>(); // model|gpu -> cost, tokens
    for (DeviceWindowEnergy e : data) {
      for (ModelAttribution a : e.getAttributions()) {
        double[] acc =
            expected.computeIfAbsent(a.getModel() + "|" + e.getGpuType(), k -> new double[2]);
        acc[0] += a.getCost();
        acc[1] += a.getOutputTokens();
      }
    }
    List<List<Object>> result = run("cost_per_million_tokens", range(400, 402));
    assertThat(result)
        .extracting(r -> r.get(0) + "|" + r.get(1))
        .containsExactlyElementsOf(expected.keySet());
    for (List<Object> row : result) {
      double[] acc = expected.get(row.get(0) + "|" + row.get(1));
      assertThat(num(row.get(5))).isCloseTo(acc[0] / acc[1] * 1e6, within(1e-6));
    }
  }

  @Test
  void energyPerThousandTokensAndCarbonByRegion() throws Exception {
    List<DeviceWindowEnergy> data = energyData();
    writeTwice(() -> data.forEach(e -> RowMappers.energy(e, 2, offset++, COLLECT)));
    Map<String, double[]> expected =
        new TreeMap<>(); // region -> measured, attributed, tokens, carbon, idleCarbon
    for (DeviceWindowEnergy e : data) {
      double[] acc = expected.computeIfAbsent(e.getRegion(), k -> new double[5]);
      acc[0] += e.getMeasuredEnergyJ();
      acc[3] += e.getCarbonG();
      acc[4] += e.getIdleCarbonG();
      for (ModelAttribution a : e.getAttributions()) {
        acc[1] += a.getEnergyJ();
        acc[2] += a.getOutputTokens();
      }
    }
    List<List<Object>> result = run("energy_carbon_by_region", range(400, 402));
    assertThat(result).extracting(r -> r.get(0)).containsExactlyElementsOf(expected.keySet());
    for (List<Object> row : result) {
      double[] acc = expected.get(row.get(0).toString());
      assertThat(num(row.get(1)))
          .as("conservation: attributed + idle = measured")
          .isCloseTo(acc[0], within(1e-9));
      assertThat(num(row.get(5))).isCloseTo(acc[1] / acc[2] * 1000, within(1e-9));
      assertThat(num(row.get(6))).isCloseTo(acc[3], within(1e-9));
      assertThat(num(row.get(7))).isCloseTo(acc[4], within(1e-9));
    }
  }

  @Test
  void topAlertsCountIncidentsPerRuleAndSubject() throws Exception {
    var alerts =
        List.of(
            Fixtures.alert(
                "a1",
                "lat|h1|1",
                "latency_regression",
                Severity.WARNING,
                AlertState.FIRING,
                "h1",
                1_000),
            Fixtures.alert(
                "a2",
                "lat|h1|1",
                "latency_regression",
                Severity.WARNING,
                AlertState.RESOLVED,
                "h1",
                2_000),
            Fixtures.alert(
                "a3",
                "lat|h1|2",
                "latency_regression",
                Severity.CRITICAL,
                AlertState.FIRING,
                "h1",
                3_000),
            Fixtures.alert(
                "a4",
                "mem|h2|1",
                "gpu_memory_high",
                Severity.CRITICAL,
                AlertState.FIRING,
                "h2",
                4_000),
            Fixtures.alert(
                "a5",
                "lat|h2|1",
                "latency_regression",
                Severity.INFO,
                AlertState.FIRING,
                "h2",
                5_000));
    writeTwice(() -> alerts.forEach(a -> RowMappers.alert(a, 0, offset++, COLLECT)));
    Map<String, Object> p = new HashMap<>();
    p.put("from_ts", TS.format(RowMappers.micros(Fixtures.T0_US)));
    p.put("to_ts", TS.format(RowMappers.micros(Fixtures.T0_US + 60_000_000L)));
    List<List<Object>> result = run("top_alerts", p);
    assertThat(result)
        .extracting(
            r ->
                r.get(0)
                    + "@"
                    + r.get(1)
                    + " incidents="
                    + num(r.get(4))
                    + " firings="
                    + num(r.get(5))
                    + " "
                    + r.get(6)
                    + " "
                    + r.get(7))
        .containsExactly(
            "latency_regression@h1 incidents=2.0 firings=2.0 CRITICAL FIRING",
            "gpu_memory_high@h2 incidents=1.0 firings=1.0 CRITICAL FIRING",
            "latency_regression@h2 incidents=1.0 firings=1.0 INFO FIRING");
  }

  @Test
  void bottleneckSharePerHost() throws Exception {
    BottleneckLabel[] h1 = {
      BottleneckLabel.COMPUTE_BOUND,
      BottleneckLabel.COMPUTE_BOUND,
      BottleneckLabel.COMPUTE_BOUND,
      BottleneckLabel.QUEUE_BOUND
    };
    BottleneckLabel[] h2 = {BottleneckLabel.IDLE, BottleneckLabel.MEMORY_BOUND};
    writeTwice(
        () -> {
          for (int i = 0; i < h1.length; i++) {
            RowMappers.bottleneck(Fixtures.bottleneck(500 + i, "b1", h1[i]), 0, offset++, COLLECT);
          }
          for (int i = 0; i < h2.length; i++) {
            RowMappers.bottleneck(Fixtures.bottleneck(500 + i, "b2", h2[i]), 0, offset++, COLLECT);
          }
        });
    List<List<Object>> result = run("bottleneck_share", range(500, 510));
    assertThat(result)
        .extracting(r -> r.get(0) + " " + r.get(1) + " " + num(r.get(2)) + " " + num(r.get(3)))
        .containsExactly(
            "b1 COMPUTE_BOUND 3.0 75.0",
            "b1 QUEUE_BOUND 1.0 25.0",
            "b2 IDLE 1.0 50.0",
            "b2 MEMORY_BOUND 1.0 50.0");
  }

  @Test
  void hardwareMinutelyRollupSkipsMissingValuesAndCountsThrottling() throws Exception {
    Random random = new Random(3);
    var samples = new ArrayList<io.infermeter.avro.HardwareSample>();
    for (int second = 0; second < 120; second++) {
      Double util =
          second % 10 == 0 ? null : 10 + random.nextInt(90) * 1.0; // not reported every 10th second
      Double power = 100 + random.nextInt(500) * 1.0;
      // T0 + 3640 s is a whole minute, so the two minutes hold 60 samples each
      samples.add(
          Fixtures.gpuSample(
              "hw1", 3_640_000_000L + second * 1_000_000L, util, power, second % 7 == 0 ? 4 : 0));
    }
    writeTwice(() -> samples.forEach(h -> RowMappers.hardware(h, 0, offset++, COLLECT)));
    Map<String, Object> p = new HashMap<>();
    p.put("from_ts", TS.format(RowMappers.micros(Fixtures.T0_US + 3_640_000_000L)));
    p.put("to_ts", TS.format(RowMappers.micros(Fixtures.T0_US + 3_760_000_000L)));
    List<List<Object>> result = run("hardware_minutely", p);
    assertThat(result).hasSize(2);
    for (int minute = 0; minute < 2; minute++) {
      List<io.infermeter.avro.HardwareSample> inMinute =
          samples.subList(minute * 60, minute * 60 + 60);
      List<Object> row = result.get(minute);
      assertThat(num(row.get(3))).isEqualTo(60);
      assertThat(num(row.get(4)))
          .isCloseTo(
              inMinute.stream()
                  .filter(h -> h.getUtilizationPct() != null)
                  .mapToDouble(h -> h.getUtilizationPct())
                  .average()
                  .orElseThrow(),
              within(1e-9));
      assertThat(num(row.get(7)))
          .isCloseTo(
              inMinute.stream().mapToDouble(h -> h.getPowerW()).average().orElseThrow(),
              within(1e-9));
      assertThat(num(row.get(8)))
          .isEqualTo(inMinute.stream().mapToDouble(h -> h.getPowerW()).max().orElseThrow());
      assertThat(num(row.get(10)))
          .isEqualTo(inMinute.stream().filter(h -> h.getThrottleReasons() > 0).count());
    }
  }
}
