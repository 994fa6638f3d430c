package io.infermeter.collector;

import static io.infermeter.collector.ingest.JsonLinesParserTest.DEFAULTS;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class RequestRecorderTest {

  static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1_763_900_000L), ZoneOffset.UTC);

  @Test
  void aRecordedRequestIdIsKeptForTheEventId() {
    RequestRecorder r = new RequestRecorder(8, CLOCK);
    r.record("req-7", "m", 100, 0, 0, 400, 1, 2, RequestStatus.OK, null);
    r.newTimer().arrival("m").requestId("req-8").complete(1, 2);
    r.record("m", 100, 0, 0, 400, 1, 2, RequestStatus.OK, null);
    List<RequestEvent> out = new ArrayList<>();
    r.drain(() -> DEFAULTS.newEvent("java-api"), out::add, 10);
    assertThat(out).extracting(RequestEvent::getRequestId).containsExactly("req-7", "req-8", null);
  }

  @Test
  void recordsAndDrainsInOrder() {
    RequestRecorder r = new RequestRecorder(8, CLOCK);
    assertThat(r.capacity()).isEqualTo(8);
    assertThat(r.record("m", 100, 110, 150, 400, 12, 34, RequestStatus.OK, null)).isTrue();
    assertThat(
            r.record(
                "n",
                200,
                0,
                0,
                300,
                RequestRecorder.ABSENT,
                RequestRecorder.ABSENT,
                RequestStatus.ERROR,
                "oom"))
        .isTrue();
    List<RequestEvent> out = new ArrayList<>();
    assertThat(r.drain(() -> DEFAULTS.newEvent("java-api"), out::add, 10)).isEqualTo(2);
    RequestEvent a = out.get(0);
    assertThat(a.getModel()).isEqualTo("m");
    assertThat(a.getArrivalUs()).isEqualTo(100);
    assertThat(a.getScheduledUs()).isEqualTo(110);
    assertThat(a.getFirstTokenUs()).isEqualTo(150);
    assertThat(a.getCompletedUs()).isEqualTo(400);
    assertThat(a.getInputTokens()).isEqualTo(12);
    assertThat(a.getOutputTokens()).isEqualTo(34);
    assertThat(a.getSource()).isEqualTo("java-api");
    RequestEvent b = out.get(1);
    assertThat(b.getScheduledUs()).isNull();
    assertThat(b.getFirstTokenUs()).isNull();
    assertThat(b.getInputTokens()).isNull();
    assertThat(b.getStatus()).isEqualTo(RequestStatus.ERROR);
    assertThat(b.getErrorType()).isEqualTo("oom");
    assertThat(r.backlog()).isZero();
  }

  @Test
  void fullRingDropsAndCounts() {
    RequestRecorder r = new RequestRecorder(4, CLOCK);
    for (int i = 0; i < 6; i++) {
      r.record("m", i + 1, 0, 0, i + 2, 1, 1, RequestStatus.OK, null);
    }
    assertThat(r.dropped()).isEqualTo(2);
    List<RequestEvent> out = new ArrayList<>();
    r.drain(() -> DEFAULTS.newEvent("java-api"), out::add, 100);
    assertThat(out).extracting(RequestEvent::getArrivalUs).containsExactly(1L, 2L, 3L, 4L);
    assertThat(r.record("m", 9, 0, 0, 10, 1, 1, RequestStatus.OK, null)).isTrue(); // slots reusable
  }

  @Test
  void timerMarksPhasesInOrder() {
    RequestRecorder r = new RequestRecorder(4, CLOCK);
    RequestRecorder.Timer t = r.newTimer();
    long before = r.nowMicros();
    t.arrival("m").scheduled().firstToken().complete(5, 6);
    List<RequestEvent> out = new ArrayList<>();
    r.drain(() -> DEFAULTS.newEvent("java-api"), out::add, 10);
    RequestEvent e = out.get(0);
    assertThat(e.getArrivalUs()).isGreaterThanOrEqualTo(before);
    assertThat(e.getScheduledUs()).isGreaterThanOrEqualTo(e.getArrivalUs());
    assertThat(e.getFirstTokenUs()).isGreaterThanOrEqualTo(e.getScheduledUs());
    assertThat(e.getCompletedUs()).isGreaterThanOrEqualTo(e.getFirstTokenUs());
    assertThat(e.getOutputTokens()).isEqualTo(6);
  }

  @Test
  void concurrentProducersLoseNothingUnaccounted() throws Exception {
    RequestRecorder r = new RequestRecorder(1024, CLOCK);
    int threads = 4;
    int perThread = 50_000;
    CountDownLatch done = new CountDownLatch(threads);
    for (int t = 0; t < threads; t++) {
      int id = t;
      new Thread(
              () -> {
                for (int i = 0; i < perThread; i++) {
                  r.record(
                      "m",
                      id * 1_000_000L + i + 1,
                      0,
                      0,
                      id * 1_000_000L + i + 2,
                      1,
                      1,
                      RequestStatus.OK,
                      null);
                }
                done.countDown();
              })
          .start();
    }
    Set<Long> seen = new HashSet<>();
    long[] lastPerThread = new long[threads];
    while (done.getCount() > 0 || r.backlog() > 0) {
      r.drain(
          () -> DEFAULTS.newEvent("java-api"),
          e -> {
            int id = (int) (e.getArrivalUs() / 1_000_000L);
            assertThat(e.getArrivalUs())
                .isGreaterThan(lastPerThread[id]); // each thread's order is kept
            lastPerThread[id] = e.getArrivalUs();
            seen.add(e.getArrivalUs());
          },
          512);
    }
    assertThat(seen.size() + r.dropped()).isEqualTo((long) threads * perThread);
  }
}
