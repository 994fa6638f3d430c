package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.SampleRecords;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The raw request row: durations, window keys, sampling and the values it refuses. */
class RawRequestsTest {

  private static final List<Duration> SIZES =
      List.of(Duration.ofSeconds(10), Duration.ofMinutes(1));

  private static Object[] row(RawRequests raw, RequestEvent e) {
    List<Object[]> rows = new ArrayList<>();
    raw.map(
        e,
        3,
        77,
        (t, r) -> {
          assertThat(t).isEqualTo(Table.REQUESTS);
          rows.add(r);
        });
    return rows.isEmpty() ? null : rows.get(0);
  }

  private static Object col(Object[] row, String column) {
    return row[Table.REQUESTS.columns().indexOf(column)];
  }

  @Test
  void sampleRecordMapsToItsDurationsAndWindowStarts() {
    // schemas' SampleRecords: arrival T0, scheduled +1.25 ms, first token +41.25 ms, completed
    // +1.04125 s, 101 tokens
    RequestEvent e = SampleRecords.requestEvent();
    Object[] row = row(new RawRequests(1.0, SIZES), e);
    assertThat(row).hasSize(Table.REQUESTS.columns().size());
    assertThat(col(row, "completed_at")).isEqualTo(e.getCompletedUs());
    assertThat(col(row, "e2e_us")).isEqualTo(e.getCompletedUs() - e.getArrivalUs());
    assertThat(col(row, "queue_us")).isEqualTo(e.getScheduledUs() - e.getArrivalUs());
    assertThat(col(row, "ttft_us")).isEqualTo(e.getFirstTokenUs() - e.getArrivalUs());
    assertThat(col(row, "prefill_us")).isEqualTo(e.getFirstTokenUs() - e.getScheduledUs());
    assertThat(col(row, "decode_us")).isEqualTo(e.getCompletedUs() - e.getFirstTokenUs());
    assertThat(col(row, "tpot_us"))
        .isEqualTo(
            Math.round(
                (e.getCompletedUs() - e.getFirstTokenUs()) / (double) (e.getOutputTokens() - 1)));
    assertThat(col(row, "status")).isEqualTo("ERROR");
    assertThat(col(row, "kafka_partition")).isEqualTo(3);
    assertThat(col(row, "kafka_offset")).isEqualTo(77L);
    RawRequests.WindowStarts w = (RawRequests.WindowStarts) col(row, "window_starts");
    long ms = e.getCompletedUs() / 1000;
    assertThat(w.sizesMs()).containsExactly(10_000, 60_000);
    assertThat(w.startsUs()).containsExactly(ms / 10_000 * 10_000_000L, ms / 60_000 * 60_000_000L);
    assertThat(w.startsUs()[0]).isLessThanOrEqualTo(e.getCompletedUs());
  }

  @Test
  void absentTimestampsGiveNullDurationsNotZero() {
    RequestEvent e =
        RequestEvent.newBuilder(SampleRecords.requestEvent())
            .setScheduledUs(null)
            .setFirstTokenUs(null)
            .setOutputTokens(null)
            .build();
    Object[] row = row(new RawRequests(1.0, SIZES), e);
    for (String c :
        List.of("queue_us", "ttft_us", "prefill_us", "decode_us", "tpot_us", "output_tokens")) {
      assertThat(col(row, c)).as(c).isNull();
    }
  }

  @Test
  void promptAttributesAreNeverStored() {
    RequestEvent e =
        RequestEvent.newBuilder(SampleRecords.requestEvent())
            .setAttributes(
                Map.of("tenant", "acme", "gen_ai.prompt.0.content", "secret text", "messages", "x"))
            .build();
    assertThat(col(row(new RawRequests(1.0, SIZES), e), "attributes"))
        .isEqualTo(Map.of("tenant", "acme"));
  }

  @Test
  void absurdValuesAreRefusedWithTheField() {
    RawRequests raw = new RawRequests(1.0, SIZES);
    RequestEvent ok = SampleRecords.requestEvent();
    Map<String, RequestEvent> bad =
        Map.of(
            "is before arrivalUs",
                RequestEvent.newBuilder(ok).setCompletedUs(ok.getArrivalUs() - 1).build(),
            "arrivalUs must be a positive", RequestEvent.newBuilder(ok).setArrivalUs(-5).build(),
            "beyond what DateTime64",
                RequestEvent.newBuilder(ok).setCompletedUs(Long.MAX_VALUE).build(),
            "inputTokens is negative", RequestEvent.newBuilder(ok).setInputTokens(-1).build(),
            "batchSize is negative",
                RequestEvent.newBuilder(ok).setBatchSize(Integer.MIN_VALUE).build(),
            "maxInterTokenGapUs is negative",
                RequestEvent.newBuilder(ok).setMaxInterTokenGapUs(-1L).build(),
            "eventId must be", RequestEvent.newBuilder(ok).setEventId("").build(),
            "eventId must be 1 to",
                RequestEvent.newBuilder(ok).setEventId("x".repeat(10_000)).build());
    bad.forEach(
        (message, e) ->
            assertThatThrownBy(() -> row(raw, e))
                .as(message)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message));
  }

  @Test
  void samplingIsDeterministicByEventIdAndNearTheRatio() {
    RawRequests quarter = new RawRequests(0.25, SIZES);
    int kept = 0;
    int n = 20_000;
    for (int i = 0; i < n; i++) {
      RequestEvent e =
          RequestEvent.newBuilder(SampleRecords.requestEvent()).setEventId("evt-" + i).build();
      boolean first = row(quarter, e) != null;
      assertThat(row(quarter, e) != null).isEqualTo(first);
      assertThat(RawRequests.sampled("evt-" + i, 0.25)).isEqualTo(first);
      // a kept event at 25 % is kept at every larger ratio: raising the ratio only adds requests
      if (first) {
        kept++;
        assertThat(RawRequests.sampled("evt-" + i, 0.5)).isTrue();
      }
    }
    // binomial(20000, 0.25): sd = 61; 5 sd either side
    assertThat(kept).isBetween(n / 4 - 306, n / 4 + 306);
    assertThat(row(new RawRequests(1.0, SIZES), SampleRecords.requestEvent())).isNotNull();
    assertThatThrownBy(() -> new RawRequests(0, SIZES))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new RawRequests(1.5, SIZES))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void httpEndpointOfJdbcUrls() {
    assertThat(RawRequestWriter.httpEndpoint("jdbc:clickhouse://127.0.0.1:8123"))
        .isEqualTo("http://127.0.0.1:8123");
    assertThat(RawRequestWriter.httpEndpoint("jdbc:ch://db.example:8124/infermeter?compress=0"))
        .isEqualTo("http://db.example:8124");
    assertThat(RawRequestWriter.httpEndpoint("jdbc:clickhouse://db.example/x?ssl=true"))
        .isEqualTo("https://db.example:8443");
    assertThat(RawRequestWriter.httpEndpoint("jdbc:clickhouse:https://db.example:9443"))
        .isEqualTo("https://db.example:9443");
  }
}
