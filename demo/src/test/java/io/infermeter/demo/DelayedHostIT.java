package io.infermeter.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.collector.Collector;
import io.infermeter.testsupport.Infra;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 acceptance, "one host delayed by 3 min (its collector spooled through an outage) while
 * the others keep sending live": 3 hosts send live requests (event time = wall clock) through their
 * collectors while a fourth host's collector delivers its requests 3 minutes of event time late (as
 * a spool flushed after a Kafka outage), on the same partition as a live host, so its windows have
 * closed by its partition's stream time long before its data arrives.
 *
 * <p>Checked in ClickHouse, newest version per window ({@code FINAL}), for the 10 s and the 1 min
 * windows: every host's total equals what it sent (the delayed host's included); per model the
 * fleet rollups' total equals the sum of its hosts' totals; the streams app counted 0 late records
 * and dead-lettered nothing as late. The live phase ends on a minute boundary so that the closing
 * requests 11.5 s after it (grace 5 s + fleet delay 5 s) close the last 1 min host and fleet
 * windows too.
 */
class DelayedHostIT {

  private static final int PARTITIONS = 2;
  private static final long DELAY_US = 180_000_000L;
  private static final long TICK_MS = 250;
  private static final int PER_TICK = 5; // 20 requests/s per host
  private static final Duration COUNTED = Duration.ofSeconds(90);

  @Test
  void aHostThreeMinutesBehindIsCountedAndFleetTotalsEqualHostTotals() throws Exception {
    try (Pipeline p =
        Pipeline.start("delayed", Path.of("target", "delayed-host-it"), PARTITIONS, Map.of())) {
      List<String> live = List.of("live-0", "live-1", "live-2");
      String delayed = "delayed-0";
      for (int i = 1; p.partitionOf(delayed) != p.partitionOf(live.get(0)); i++) {
        delayed =
            "delayed-"
                + i; // on a live host's partition: that host's clock closes the delayed host's
        // windows
      }
      Map<String, String> model = new LinkedHashMap<>();
      model.put(live.get(0), "delayed-a");
      model.put(live.get(1), "delayed-a");
      model.put(live.get(2), "delayed-b");
      model.put(delayed, "delayed-a");
      Map<String, Collector> collectors = new LinkedHashMap<>();
      for (String h : model.keySet()) {
        collectors.put(h, p.collector(h));
      }

      // live until the next minute boundary at least 20 s away (20-80 s)
      long endMs = (System.currentTimeMillis() + 20_000) / 60_000 * 60_000 + 60_000;
      Map<String, Long> sent = new TreeMap<>();
      Random random = new Random(3);
      long prevUs = System.currentTimeMillis() * 1000;
      int seq = 0;
      while (true) {
        long nowMs = System.currentTimeMillis();
        long tickEndUs = Math.min(nowMs, endMs) * 1000;
        for (Map.Entry<String, String> h : model.entrySet()) {
          long shift = h.getKey().equals(delayed) ? DELAY_US : 0;
          StringBuilder lines = new StringBuilder();
          for (int i = 0; i < PER_TICK; i++) {
            long completed = prevUs + (long) (random.nextDouble() * (tickEndUs - prevUs)) - shift;
            long e2e = 50_000L + random.nextInt(2_000_000);
            lines.append(
                Pipeline.line(h.getKey() + "-" + seq++, h.getKey(), h.getValue(), completed, e2e));
            sent.merge(h.getKey(), 1L, Long::sum);
          }
          p.post(collectors.get(h.getKey()), lines.toString());
        }
        prevUs = tickEndUs;
        if (nowMs >= endMs) {
          break;
        }
        Thread.sleep(Math.max(1, Math.min(TICK_MS, endMs - System.currentTimeMillis())));
      }
      long total = sent.values().stream().mapToLong(Long::longValue).sum();
      List<Collector> all = new ArrayList<>(collectors.values());
      Infra.await(
          Duration.ofSeconds(60),
          "every request acknowledged by Kafka",
          () -> p.acknowledged(all) >= total);

      // the next requests of every partition, past the last window's end + grace (5 s) + the fleet
      // delay (5 s): the
      // last host windows close, and the upstream watermark (stream time - grace) passes the last
      // fleet window's end +
      // the fleet delay
      Infra.await(
          Duration.ofSeconds(30),
          "the wall clock past the last window's grace and fleet delay",
          () -> System.currentTimeMillis() >= endMs + 11_500);
      long nowUs = System.currentTimeMillis() * 1000;
      StringBuilder closers = new StringBuilder();
      List<String> closerHosts = new ArrayList<>(live);
      closerHosts.addAll(p.hostsCoveringEveryPartition("delayed-closer"));
      for (String h : closerHosts) {
        closers.append(Pipeline.line("closer-" + h, h, "closer", nowUs - 500_000, 100_000));
      }
      p.post(collectors.get(live.get(0)), closers.toString());

      Map<String, Long> fleetExpected = new TreeMap<>();
      model.forEach((h, m) -> fleetExpected.merge(m, sent.get(h), Long::sum));
      Map<String, Map<String, Long>> last = new HashMap<>();
      try {
        Infra.await(
            COUNTED,
            "every request counted in ClickHouse",
            () -> {
              for (int size : new int[] {10_000, 60_000}) {
                String where = " FINAL WHERE model != 'closer' AND window_size_ms = " + size;
                Map<String, Long> hosts =
                    p.longs(
                        "SELECT host, sum(requests) FROM "
                            + p.id
                            + ".window_aggregates"
                            + where
                            + " AND scope = 'host' GROUP BY host ORDER BY host");
                Map<String, Long> hostsByModel =
                    p.longs(
                        "SELECT model, sum(requests) FROM "
                            + p.id
                            + ".window_aggregates"
                            + where
                            + " AND scope = 'host' GROUP BY model ORDER BY model");
                Map<String, Long> fleet =
                    p.longs(
                        "SELECT model, sum(requests) FROM "
                            + p.id
                            + ".window_aggregates"
                            + where
                            + " AND scope = 'fleet' GROUP BY model ORDER BY model");
                last.put("host " + size, hosts);
                last.put("host totals by model " + size, hostsByModel);
                last.put("fleet " + size, fleet);
                if (!hosts.equals(sent)
                    || !fleet.equals(hostsByModel)
                    || !fleet.equals(fleetExpected)) {
                  return false;
                }
              }
              return true;
            });
      } catch (AssertionError e) {
        throw new AssertionError(
            e.getMessage()
                + ": sent "
                + sent
                + " (delayed host "
                + delayed
                + "), counted "
                + last
                + ", late "
                + p.streamsCounter("infermeter_streams_late_records_total", "")
                + ", dead letters "
                + p.streamsCounter("infermeter_streams_dead_letters_total", "")
                + " (logs in "
                + p.dir
                + ")",
            e);
      }
      assertThat(p.streamsCounter("infermeter_streams_late_records_total", ""))
          .as("late records")
          .isZero();
      for (String reason : List.of("late", "late-partial", "late-usage")) {
        assertThat(
                p.streamsCounter(
                    "infermeter_streams_dead_letters_total", "reason=\"" + reason + "\""))
            .as("dead letters %s", reason)
            .isZero();
      }
      assertThat(p.streamsCounter("infermeter_streams_late_corrected_total", ""))
          .as("the delayed host's requests applied as corrections")
          .isPositive();
    }
  }
}
