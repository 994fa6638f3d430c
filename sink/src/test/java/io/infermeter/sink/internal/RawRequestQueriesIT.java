package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.LatencyExemplar;
import io.infermeter.avro.LatencyStats;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.Severity;
import io.infermeter.avro.WindowAggregate;
import io.infermeter.schemas.SampleRecords;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The drill-down queries of docs/queries.sql on known requests written by the sink's RowBinary
 * writer (and, for the window join, the window_latency row the sink writes for the same requests'
 * histogram), each result checked against the same answer computed here from the requests
 * themselves.
 */
class RawRequestQueriesIT {

  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);
  private static ClickHouseTestDb db;
  private static ShippedQueries queries;
  private static final List<RequestEvent> REQUESTS = new ArrayList<>();

  /**
   * 3 windows of 10 s x 2 hosts x 2 models, 120 requests per (window, host, model), every 10th a
   * cold start; e2e and TTFT spread by a fixed recurrence so that percentiles, buckets and the
   * slowest are all distinct.
   */
  @BeforeAll
  static void setUp() throws Exception {
    db = new ClickHouseTestDb(RawRequestsIT.DB);
    db.migrate();
    queries = ShippedQueries.load();
    int i = 0;
    for (int w = 0; w < 3; w++) {
      for (String host : List.of("h1", "h2")) {
        for (String model : List.of("m-a", "m-b")) {
          for (int k = 0; k < 120; k++, i++) {
            long completed = Fixtures.T0_US + w * 10_000_000L + k * 80_000L + 1;
            long e2e = 50_000L + (i * 7919L % 997) * 1_000L;
            long ttft = 5_000L + (i * 104_729L % 389) * 100L;
            long arrival = completed - e2e;
            REQUESTS.add(
                RequestEvent.newBuilder(SampleRecords.requestEvent())
                    .setEventId("evt-" + i)
                    .setRequestId("req-" + i)
                    .setHost(host)
                    .setModel(model)
                    .setArrivalUs(arrival)
                    .setScheduledUs(arrival + 500)
                    .setFirstTokenUs(arrival + ttft)
                    .setCompletedUs(completed)
                    .setInputTokens((int) (i * 31L % 3000))
                    .setOutputTokens(40)
                    .setColdStart(k % 10 == 0)
                    .build());
          }
        }
      }
    }
    RawRequests raw = new RawRequests(1.0, List.of(Duration.ofSeconds(10), Duration.ofMinutes(1)));
    List<Object[]> rows = new ArrayList<>();
    long offset = 0;
    for (RequestEvent e : REQUESTS) {
      raw.map(e, 0, offset++, (t, r) -> rows.add(r));
    }
    try (RawRequestWriter writer =
        new RawRequestWriter(
            SinkFactory.writer(db.config),
            RawRequestWriter.client(db.config),
            Duration.ofSeconds(30))) {
      writer.insert(Table.REQUESTS, rows);
      writer.insert(
          Table.REQUESTS, rows.subList(0, 500)); // a re-delivered part: FINAL reads it once
      // the window_latency row of (window 1, h1, m-a): the warm e2e histogram of exactly its
      // requests
      Histogram warm = new Histogram(3);
      for (RequestEvent e : window(1, "h1", "m-a")) {
        if (!e.getColdStart()) {
          warm.recordValue(e.getCompletedUs() - e.getArrivalUs());
        }
      }
      // with the window's exemplars as the streams app keeps them: its 3 slowest warm requests
      WindowAggregate agg =
          Fixtures.window(1, "h1", "m-a", 120)
              .setLatencies(
                  List.of(
                      LatencyStats.newBuilder(Fixtures.latency("e2e", "warm", warm))
                          .setExemplars(exemplars(warmSlowest(window(1, "h1", "m-a"))))
                          .build()))
              .build();
      // and the fleet row of (window 1, m-a): the slowest 3 of both hosts
      List<RequestEvent> fleetRequests = new ArrayList<>(window(1, "h1", "m-a"));
      fleetRequests.addAll(window(1, "h2", "m-a"));
      WindowAggregate fleet =
          Fixtures.window(1, "*", "m-a", 240)
              .setScope("fleet")
              .setCluster("*")
              .setRegion("*")
              .setGpuType("*")
              .setLatencies(
                  List.of(
                      LatencyStats.newBuilder(Fixtures.latency("e2e", "warm", warm))
                          .setExemplars(exemplars(warmSlowest(fleetRequests)))
                          .build()))
              .build();
      List<Object[]> latency = new ArrayList<>();
      for (WindowAggregate a : List.of(agg, fleet)) {
        RowMappers.windowAggregate(
            a,
            0,
            0,
            (t, r) -> {
              if (t == Table.WINDOW_LATENCY) {
                latency.add(r);
              }
            });
      }
      writer.insert(Table.WINDOW_LATENCY, latency);
    }
    // alerts: a model alert on (h2, m-b) for window 2, a host alert on h1 (no model) for window 0,
    // each written twice
    List<Object[]> alerts = new ArrayList<>();
    for (int copy = 0; copy < 2; copy++) {
      RowMappers.alert(
          Alert.newBuilder(
                  Fixtures.alert(
                      "a-model",
                      "k1",
                      "latency_regression",
                      Severity.WARNING,
                      AlertState.FIRING,
                      "h2",
                      25_000_000L))
              .setModel("m-b")
              .setWindowStartUs(Fixtures.T0_US + 20_000_000L)
              .setWindowEndUs(Fixtures.T0_US + 30_000_000L)
              .build(),
          0,
          copy * 10L,
          (t, r) -> alerts.add(r));
      RowMappers.alert(
          Alert.newBuilder(
                  Fixtures.alert(
                      "a-host",
                      "k2",
                      "host_silent",
                      Severity.CRITICAL,
                      AlertState.FIRING,
                      "h1",
                      15_000_000L))
              .setModel("")
              .build(),
          0,
          copy * 10L + 1,
          (t, r) -> alerts.add(r));
    }
    try (ClickHouseWriter jdbc = SinkFactory.writer(db.config)) {
      jdbc.insert(Table.ALERTS, alerts);
    }
  }

  /**
   * The requests of host (and model, when not null) completed in window w, slowest first, as event
   * ids.
   */
  private static List<String> slowestOf(int w, String host, String model) {
    List<RequestEvent> in = new ArrayList<>(window(w, host, "m-a"));
    in.addAll(window(w, host, "m-b"));
    return in.stream()
        .filter(e -> model == null || e.getModel().equals(model))
        .sorted(
            Comparator.comparingLong((RequestEvent e) -> e.getArrivalUs() - e.getCompletedUs())
                .thenComparing(RequestEvent::getEventId))
        .map(RequestEvent::getEventId)
        .toList();
  }

  /** The warm requests of {@code in}, slowest e2e first (ties: smaller event id). */
  private static List<RequestEvent> warmSlowest(List<RequestEvent> in) {
    return in.stream()
        .filter(e -> !e.getColdStart())
        .sorted(
            Comparator.comparingLong((RequestEvent e) -> e.getArrivalUs() - e.getCompletedUs())
                .thenComparing(RequestEvent::getEventId))
        .toList();
  }

  /** The first 3 of {@code slowest} as exemplars; the second without a request id. */
  private static List<LatencyExemplar> exemplars(List<RequestEvent> slowest) {
    List<LatencyExemplar> out = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      RequestEvent e = slowest.get(i);
      out.add(
          new LatencyExemplar(
              e.getCompletedUs() - e.getArrivalUs(),
              e.getEventId(),
              i == 1 ? null : e.getRequestId()));
    }
    return out;
  }

  @Test
  void theSlowestRequestOfAWindowIsFoundFromTheWindowsRow() throws Exception {
    Map<String, Object> params =
        new java.util.HashMap<>(
            Map.of(
                "window_ms",
                10_000,
                "window_start",
                ts(Fixtures.T0_US + 10_000_000L),
                "host",
                "h1",
                "model",
                "m-a",
                "metric",
                "e2e",
                "cohort",
                "warm"));
    // the window's requests, computed here from the requests themselves
    List<RequestEvent> slowest = warmSlowest(window(1, "h1", "m-a"));
    List<List<Object>> rows = db.rows(queries.bind("window_exemplars", db.database, params));
    assertThat(rows)
        .extracting(r -> r.get(0) + "/" + r.get(5) + "/" + r.get(6) + "/" + r.get(8))
        .containsExactly(
            slowest.subList(0, 3).stream()
                .map(
                    e ->
                        (slowest.indexOf(e) + 1)
                            + "/"
                            + e.getEventId()
                            + "/"
                            + e.getRequestId()
                            + "/"
                            + (e.getCompletedUs() - e.getArrivalUs()))
                .toArray(String[]::new));
    // rank 1 is the slowest warm request of the window, at or above the window's p99, and its
    // exemplar value is its e2e in the raw table
    assertThat(rows.get(0).get(5).toString()).isEqualTo(slowest.get(0).getEventId());
    assertThat(((Number) rows.get(0).get(1)).longValue())
        .isEqualTo(((Number) rows.get(0).get(8)).longValue())
        .isGreaterThanOrEqualTo(((Number) rows.get(0).get(2)).longValue());
    assertThat(rows).allSatisfy(r -> assertThat(r.get(4)).isEqualTo("h1"));
    // a fleet row (host '*'): the slowest of every host of the model in the window
    params.put("host", "*");
    List<RequestEvent> both = new ArrayList<>(window(1, "h1", "m-a"));
    both.addAll(window(1, "h2", "m-a"));
    List<RequestEvent> fleetSlowest = warmSlowest(both);
    assertThat(db.rows(queries.bind("window_exemplars", db.database, params)))
        .extracting(r -> r.get(5).toString())
        .containsExactly(
            fleetSlowest.subList(0, 3).stream()
                .map(RequestEvent::getEventId)
                .toArray(String[]::new));
    // another window, metric or cohort has no exemplar rows here
    params.put("cohort", "cold");
    assertThat(db.rows(queries.bind("window_exemplars", db.database, params))).isEmpty();
  }

  @Test
  void requestsBehindAnAlertAreItsSubjectsRequestsInItsWindow() throws Exception {
    List<List<Object>> model =
        db.rows(
            queries.bind(
                "requests_behind_alert", db.database, Map.of("alert_id", "a-model", "n", 1000)));
    assertThat(model)
        .extracting(r -> r.get(3).toString())
        .containsExactlyElementsOf(slowestOf(2, "h2", "m-b"))
        .hasSize(120);
    assertThat(model).allSatisfy(r -> assertThat(r.get(1) + "/" + r.get(2)).isEqualTo("h2/m-b"));
    // a host alert without a model: every model of the host in its window, the LIMIT applied to the
    // slowest
    List<List<Object>> host =
        db.rows(
            queries.bind(
                "requests_behind_alert", db.database, Map.of("alert_id", "a-host", "n", 7)));
    assertThat(host)
        .extracting(r -> r.get(3).toString())
        .containsExactlyElementsOf(slowestOf(0, "h1", null).subList(0, 7));
    assertThat(
            db.rows(
                queries.bind(
                    "requests_behind_alert", db.database, Map.of("alert_id", "no-such", "n", 5))))
        .isEmpty();
  }

  @AfterAll
  static void tearDown() throws Exception {
    db.close();
  }

  private static List<RequestEvent> window(int w, String host, String model) {
    long start = Fixtures.T0_US + w * 10_000_000L;
    return REQUESTS.stream()
        .filter(
            e ->
                e.getHost().equals(host)
                    && e.getModel().equals(model)
                    && e.getCompletedUs() >= start
                    && e.getCompletedUs() < start + 10_000_000L)
        .toList();
  }

  private static String ts(long epochUs) {
    return TS.format(Instant.ofEpochSecond(0, epochUs * 1000));
  }

  @Test
  void slowestRequestsOfAModelInARange() throws Exception {
    long from = Fixtures.T0_US + 5_000_000L;
    long to = Fixtures.T0_US + 25_000_000L;
    List<RequestEvent> expected =
        REQUESTS.stream()
            .filter(
                e ->
                    e.getModel().equals("m-b")
                        && e.getCompletedUs() >= from
                        && e.getCompletedUs() < to)
            .sorted(
                Comparator.comparingLong((RequestEvent e) -> e.getArrivalUs() - e.getCompletedUs())
                    .thenComparing(RequestEvent::getEventId))
            .limit(5)
            .toList();
    List<List<Object>> rows =
        db.rows(
            queries.bind(
                "slowest_requests",
                db.database,
                Map.of("model", "m-b", "from_ts", ts(from), "to_ts", ts(to), "n", 5)));
    assertThat(rows)
        .extracting(r -> r.get(2) + "/" + r.get(3) + "/" + r.get(4))
        .containsExactlyElementsOf(
            expected.stream()
                .map(
                    e ->
                        e.getEventId()
                            + "/"
                            + e.getRequestId()
                            + "/"
                            + (e.getCompletedUs() - e.getArrivalUs()))
                .toList());
  }

  @Test
  void requestsBehindAWindowsP99AreItsWarmRequestsAtOrAboveIt() throws Exception {
    List<RequestEvent> inWindow = window(1, "h1", "m-a");
    Histogram warm = new Histogram(3);
    inWindow.stream()
        .filter(e -> !e.getColdStart())
        .forEach(e -> warm.recordValue(e.getCompletedUs() - e.getArrivalUs()));
    long p99 = warm.getValueAtPercentile(99);
    List<String> expected =
        inWindow.stream()
            .filter(e -> !e.getColdStart())
            .filter(e -> e.getCompletedUs() - e.getArrivalUs() >= p99)
            .sorted(
                Comparator.comparingLong((RequestEvent e) -> e.getArrivalUs() - e.getCompletedUs())
                    .thenComparing(RequestEvent::getEventId))
            .map(RequestEvent::getEventId)
            .toList();
    assertThat(expected).isNotEmpty();
    List<List<Object>> rows =
        db.rows(
            queries.bind(
                "requests_behind_window_p99",
                db.database,
                Map.of(
                    "window_ms",
                    10_000,
                    "window_start",
                    ts(Fixtures.T0_US + 10_000_000L),
                    "host",
                    "h1",
                    "model",
                    "m-a")));
    assertThat(rows).extracting(r -> r.get(1).toString()).containsExactlyElementsOf(expected);
    assertThat(rows).allSatisfy(r -> assertThat(((Number) r.get(4)).longValue()).isEqualTo(p99));
    // the slowest warm request of the window is the first row
    RequestEvent slowest =
        inWindow.stream()
            .filter(e -> !e.getColdStart())
            .max(Comparator.comparingLong(e -> e.getCompletedUs() - e.getArrivalUs()))
            .orElseThrow();
    assertThat(rows.get(0).get(2)).isEqualTo(slowest.getRequestId());
  }

  @Test
  void ttftPercentilesByPromptLengthBucket() throws Exception {
    long from = Fixtures.T0_US;
    long to = Fixtures.T0_US + 30_000_000L;
    Map<Long, List<Long>> byBucket = new TreeMap<>();
    for (RequestEvent e : REQUESTS) {
      if (e.getModel().equals("m-a")) {
        int tokens = e.getInputTokens();
        long bucket = tokens == 0 ? 0 : Integer.highestOneBit(tokens);
        byBucket
            .computeIfAbsent(bucket, b -> new ArrayList<>())
            .add(e.getFirstTokenUs() - e.getArrivalUs());
      }
    }
    List<List<Object>> rows =
        db.rows(
            queries.bind(
                "prompt_length_ttft",
                db.database,
                Map.of("model", "m-a", "from_ts", ts(from), "to_ts", ts(to))));
    assertThat(rows)
        .extracting(r -> ((Number) r.get(0)).longValue())
        .containsExactlyElementsOf(byBucket.keySet());
    for (List<Object> r : rows) {
      List<Long> ttfts = new ArrayList<>(byBucket.get(((Number) r.get(0)).longValue()));
      ttfts.sort(null);
      assertThat(((Number) r.get(1)).longValue()).isEqualTo(ttfts.size());
      // quantileExact(q): the element at floor(q * n) of the sorted values (ClickHouse's documented
      // definition)
      assertThat(((Number) r.get(2)).longValue())
          .isEqualTo(ttfts.get((int) Math.floor(0.5 * ttfts.size())));
      assertThat(((Number) r.get(4)).longValue())
          .isEqualTo(ttfts.get((int) Math.floor(0.99 * ttfts.size())));
    }
  }
}
