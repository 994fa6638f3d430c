package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.BottleneckLabel;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.WindowAggregate;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The hourly rollups of V006 on the real ClickHouse server: every range view answers the same
 * before any rollup (source tables only), after the rollup (rollup for whole hours, source for the
 * partial ones) and after a correction was written into a rolled hour and rolled again; a rollup
 * run is idempotent; unsettled hours stay with the source.
 */
class RollupsIT {

  /** The labels the fixture cycles through. */
  private static final List<BottleneckLabel> LABELS =
      List.of(
          BottleneckLabel.COMPUTE_BOUND, BottleneckLabel.MEMORY_BOUND, BottleneckLabel.CPU_BOUND);

  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

  /** Window index of the first whole hour after Fixtures.T0_US (T0 is 800 s past an hour). */
  private static final long HOUR0 = 280;

  private static final long WINDOWS_PER_HOUR = 360;

  private ClickHouseTestDb db;
  private ShippedQueries queries;
  private final Map<Table, List<Object[]>> rows = new EnumMap<>(Table.class);
  private long offset;

  @BeforeEach
  void setUp() throws Exception {
    db = new ClickHouseTestDb(Map.of());
    db.migrate();
    queries = ShippedQueries.load();
  }

  @AfterEach
  void tearDown() throws Exception {
    db.close();
  }

  private void write(Runnable mapAll) throws Exception {
    rows.clear();
    mapAll.run();
    try (ClickHouseWriter writer = SinkFactory.writer(db.config)) {
      for (Map.Entry<Table, List<Object[]>> e : rows.entrySet()) {
        writer.insert(e.getKey(), e.getValue());
      }
    }
    rows.clear();
  }

  private final RowMappers.RowConsumer collect =
      (t, row) -> rows.computeIfAbsent(t, k -> new ArrayList<>()).add(row);

  /**
   * Windows of 3 hosts and 2 models at a few places in each of hours 0-3 (the partial last hour
   * included).
   */
  private void writeFleet(Random random) throws Exception {
    List<WindowAggregate> windows = new ArrayList<>();
    List<DeviceWindowEnergy> energy = new ArrayList<>();
    long[] places = {0, 1, 17, 180, 359};
    for (int hour = 0; hour < 4; hour++) {
      for (long place : places) {
        long w = HOUR0 + hour * WINDOWS_PER_HOUR + place;
        for (int host = 0; host < 3; host++) {
          String model = host == 0 ? "m-a" : "m-b";
          long[] values = new long[20 + random.nextInt(80)];
          for (int i = 0; i < values.length; i++) {
            values[i] = (long) (50_000 * (1 + host) * Math.exp(random.nextGaussian() * 0.7)) + 1;
          }
          windows.add(
              Fixtures.window(w, "h" + host, model, values.length)
                  .setLatencies(
                      List.of(
                          Fixtures.latency("e2e", "warm", Fixtures.histogram(values)),
                          Fixtures.latency("ttft", "warm", Fixtures.histogram(values))))
                  .setSlo(
                      List.of(
                          Fixtures.slo(
                              "default", values.length, values.length - random.nextInt(5))))
                  .build());
          energy.add(
              Fixtures.energy(
                  w,
                  "h" + host,
                  host == 2 ? "us-east" : "eu-west",
                  "H100",
                  10 + random.nextInt(10),
                  1.5,
                  0.01,
                  List.of(
                      Fixtures.attribution(
                          model,
                          values.length,
                          values.length * 40L,
                          0.7,
                          30 + random.nextInt(30),
                          4.5,
                          0.03))));
        }
      }
    }
    write(
        () -> {
          windows.forEach(w -> RowMappers.windowAggregate(w, 0, offset++, collect));
          energy.forEach(e -> RowMappers.energy(e, 1, offset++, collect));
          for (int hour = 0; hour < 4; hour++) {
            for (long place : places) {
              for (int host = 0; host < 3; host++) {
                BottleneckLabel label = LABELS.get((int) ((place + host) % LABELS.size()));
                RowMappers.bottleneck(
                    Fixtures.bottleneck(HOUR0 + hour * WINDOWS_PER_HOUR + place, "h" + host, label),
                    2,
                    offset++,
                    collect);
              }
            }
          }
        });
  }

  private static Instant at(long windowIndex) {
    return Instant.ofEpochSecond(0, (Fixtures.T0_US + windowIndex * 10_000_000L) * 1000);
  }

  /** Every range view over [from, to), as text rows. */
  private Map<String, List<List<Object>>> views(long fromWindow, long toWindow) throws Exception {
    Map<String, Object> p = new HashMap<>();
    p.put("from_ts", TS.format(at(fromWindow)));
    p.put("to_ts", TS.format(at(toWindow)));
    p.put("window_ms", 10_000);
    p.put("ttft_us", 100_000);
    p.put("tpot_us", 50_000);
    Map<String, List<List<Object>>> out = new LinkedHashMap<>();
    for (String name :
        List.of(
            "fleet_latency_percentiles",
            "latency_slo_attainment",
            "slo_class_attainment",
            "cost_per_million_tokens",
            "energy_carbon_by_region",
            "bottleneck_share")) {
      out.put(name, rounded(db.rows(queries.bind(name, db.database, p))));
    }
    return out;
  }

  /**
   * Floating sums are added in another order through a rollup: compare them at 9 significant
   * digits.
   */
  private static List<List<Object>> rounded(List<List<Object>> in) {
    List<List<Object>> out = new ArrayList<>();
    for (List<Object> row : in) {
      List<Object> r = new ArrayList<>();
      for (Object o : row) {
        r.add(
            o instanceof Double || o instanceof Float
                ? String.format("%.9g", ((Number) o).doubleValue())
                : String.valueOf(o));
      }
      out.add(r);
    }
    return out;
  }

  private Rollups.Result rollUp(Instant now) throws Exception {
    return Rollups.rollUp(
        sql -> RollupTask.query(db.connection, sql),
        db.database,
        now,
        Duration.ofMinutes(15),
        Duration.ofHours(6));
  }

  @Test
  void viewsAnswerTheSameFromRollupsAsFromTheSourceTables() throws Exception {
    writeFleet(new Random(7));
    // from the middle of hour 0 to the middle of hour 3: hours 1 and 2 whole, 0 and 3 partial
    long from = HOUR0 + 150;
    long to = HOUR0 + 3 * WINDOWS_PER_HOUR + 200;
    Map<String, List<List<Object>>> before = views(from, to);
    assertThat(before.get("fleet_latency_percentiles")).hasSize(2); // docs/queries.sql: e2e, warm
    assertThat(before.values()).allSatisfy(v -> assertThat(v).isNotEmpty());

    // "now" 10 minutes after hour 3 ended: hour 3 is not settled (15 min) and stays with the source
    Rollups.Result first = rollUp(at(HOUR0 + 4 * WINDOWS_PER_HOUR + 60));
    assertThat(first.hoursRolled())
        .containsOnly(
            Map.entry("window_latency", 3),
            Map.entry("window_aggregates", 3),
            Map.entry("energy_attribution", 3),
            Map.entry("bottlenecks", 3));
    assertThat(db.longValue("SELECT count() FROM ${db}.window_latency_hourly FINAL"))
        .isEqualTo(3 * 2 * 2);
    assertThat(db.longValue("SELECT count() FROM ${db}.rollup_hours FINAL")).isEqualTo(12);
    assertThat(views(from, to)).isEqualTo(before);
    // whole range and an hour-aligned one as well
    assertThat(views(HOUR0, HOUR0 + 3 * WINDOWS_PER_HOUR))
        .isEqualTo(viewsWithoutRollups(HOUR0, HOUR0 + 3 * WINDOWS_PER_HOUR));

    // idempotent: nothing new, nothing rolled
    assertThat(rollUp(at(HOUR0 + 4 * WINDOWS_PER_HOUR + 60)).total()).isZero();
  }

  @Test
  void aCorrectionOfARolledHourIsRolledAgain() throws Exception {
    writeFleet(new Random(11));
    long from = HOUR0;
    long to = HOUR0 + 3 * WINDOWS_PER_HOUR;
    rollUp(at(HOUR0 + 4 * WINDOWS_PER_HOUR + 60));
    long samplesBefore =
        db.longValue(
            "SELECT sum(samples) FROM ${db}.fleet_latency_percentiles(from_ts = '"
                + TS.format(at(from))
                + "', to_ts = '"
                + TS.format(at(to))
                + "', window_ms = 10000) WHERE metric = 'e2e'");

    // a later version of one window of hour 1 (the streams app's correction): 1000 e2e samples
    // instead of its own
    long[] values = new long[1000];
    java.util.Arrays.fill(values, 7_000_000L);
    WindowAggregate corrected =
        Fixtures.window(HOUR0 + WINDOWS_PER_HOUR + 17, "h0", "m-a", 1000)
            .setLatencies(List.of(Fixtures.latency("e2e", "warm", Fixtures.histogram(values))))
            .build();
    long oldCount =
        db.longValue(
            "SELECT `count` FROM ${db}.window_latency FINAL WHERE host = 'h0' AND metric = 'e2e'"
                + " AND window_start = toDateTime64('"
                + TS.format(at(HOUR0 + WINDOWS_PER_HOUR + 17))
                + "', 6, 'UTC')");
    write(() -> RowMappers.windowAggregate(corrected, 0, 1_000_000L, collect));

    Rollups.Result again = rollUp(at(HOUR0 + 4 * WINDOWS_PER_HOUR + 60));
    assertThat(again.hoursRolled().get("window_latency")).isEqualTo(1);
    assertThat(again.hoursRolled().get("bottlenecks")).isZero();
    long samplesAfter =
        db.longValue(
            "SELECT sum(samples) FROM ${db}.fleet_latency_percentiles(from_ts = '"
                + TS.format(at(from))
                + "', to_ts = '"
                + TS.format(at(to))
                + "', window_ms = 10000) WHERE metric = 'e2e'");
    assertThat(samplesAfter).isEqualTo(samplesBefore - oldCount + 1000);
    assertThat(views(from, to)).isEqualTo(viewsWithoutRollups(from, to));
  }

  @Test
  void withoutSettledHoursNothingIsRolled() throws Exception {
    writeFleet(new Random(3));
    // "now" 5 minutes after the end of hour 0: not settled
    assertThat(rollUp(at(HOUR0 + WINDOWS_PER_HOUR + 30)).total()).isZero();
    assertThat(db.longValue("SELECT count() FROM ${db}.rollup_hours")).isZero();
  }

  /**
   * The views' answers from the source tables alone: rollup_hours emptied for the query, then
   * restored.
   */
  private Map<String, List<List<Object>>> viewsWithoutRollups(long fromWindow, long toWindow)
      throws Exception {
    try (var st = db.connection.createStatement()) {
      st.execute(
          "CREATE TABLE "
              + db.database
              + ".rollup_hours_saved AS "
              + db.database
              + ".rollup_hours");
      st.execute(
          "INSERT INTO "
              + db.database
              + ".rollup_hours_saved SELECT * FROM "
              + db.database
              + ".rollup_hours");
      st.execute("TRUNCATE TABLE " + db.database + ".rollup_hours");
      try {
        return views(fromWindow, toWindow);
      } finally {
        st.execute(
            "INSERT INTO "
                + db.database
                + ".rollup_hours SELECT * FROM "
                + db.database
                + ".rollup_hours_saved");
        st.execute("DROP TABLE " + db.database + ".rollup_hours_saved");
      }
    }
  }
}
