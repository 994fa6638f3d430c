package io.infermeter.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.collector.Collector;
import io.infermeter.testsupport.Infra;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 acceptance, "two sources replay the same period one after the other into shared
 * partitions": 4 minutes of event time of 7 hosts, about 20,000 requests. First 4 hosts export
 * their spans through the real OpenTelemetry Java SDK OTLP/HTTP exporter (one collector per node,
 * concurrently), then a JSON-lines source replays the same 4 minutes for 3 other hosts. The hosts
 * share the request topic's 2 partitions, so the JSON-lines hosts arrive up to 4 minutes of event
 * time behind their partition's stream time: with allowed lateness (10 min by default) they correct
 * the closed windows instead of being dead-lettered (before it, 87,004 of 200,000 such requests
 * were dropped as late).
 *
 * <p>Checked in ClickHouse, newest version per window ({@code FINAL}): every host's and every fleet
 * rollup's count equals what was sent, for the 10 s and the 1 min windows; warm e2e p50 and p99 of
 * every 1 min host and fleet window within 0.1 % (HdrHistogram's 3 significant digits) of the exact
 * nearest-rank values of the sent latencies; the streams app counted 0 late records and
 * dead-lettered nothing as late.
 */
class ReplayIT {

  private static final int PARTITIONS = 2;
  private static final int PER_HOST = 2_860; // 7 hosts: about 20,000 requests
  private static final int OTLP_BATCH = 512; // BatchSpanProcessor's default export size
  private static final int JSONL_BATCH = 1_000;
  private static final Duration COUNTED = Duration.ofSeconds(120);

  /** One sent request. */
  record Sent(String host, String model, long completedUs, long e2eUs) {}

  @Test
  void twoSourcesReplayingTheSamePeriodAreCountedExactly() throws Exception {
    List<String> otlpHosts =
        List.of("replay-otlp-0", "replay-otlp-1", "replay-otlp-2", "replay-otlp-3");
    List<String> jsonHosts = List.of("replay-jsonl-0", "replay-jsonl-1", "replay-jsonl-2");
    long periodEndUs =
        (System.currentTimeMillis() / 60_000 - 1) * 60_000 * 1000; // a minute boundary >= 1 min ago
    long periodStartUs = periodEndUs - 240_000_000L;
    Random random = new Random(11);
    Map<String, List<Sent>> sent = new TreeMap<>();
    List<String> all = new ArrayList<>(otlpHosts);
    all.addAll(jsonHosts);
    for (int h = 0; h < all.size(); h++) {
      String host = all.get(h);
      String model = h % 2 == 0 ? "replay-a" : "replay-b";
      List<Sent> reqs = new ArrayList<>();
      for (int i = 0; i < PER_HOST; i++) {
        long completed =
            periodStartUs + (long) (random.nextDouble() * (periodEndUs - periodStartUs));
        long e2e =
            Math.max(1_000, Math.round(Math.exp(Math.log(800_000) + 0.7 * random.nextGaussian())));
        reqs.add(new Sent(host, model, completed, e2e));
      }
      reqs.sort(Comparator.comparingLong(Sent::completedUs));
      sent.put(host, reqs);
    }

    try (Pipeline p =
        Pipeline.start("replay", Path.of("target", "replay-it"), PARTITIONS, Map.of())) {
      Map<Integer, List<String>> byPartition = new TreeMap<>();
      all.forEach(
          h -> byPartition.computeIfAbsent(p.partitionOf(h), k -> new ArrayList<>()).add(h));
      assertThat(byPartition.values())
          .as("hosts by partition: the two sources share partitions")
          .anySatisfy(
              hs ->
                  assertThat(hs).containsAnyElementsOf(otlpHosts).containsAnyElementsOf(jsonHosts));

      List<Collector> collectors = new ArrayList<>();
      Map<String, Collector> otlpCollectors = new HashMap<>();
      for (String h : otlpHosts) {
        Collector c = p.collector(h);
        otlpCollectors.put(h, c);
        collectors.add(c);
      }
      Collector jsonl = p.collector("replay-jsonl-node");
      collectors.add(jsonl);

      // source 1: the 4 OTLP hosts, each its own SDK exporter, concurrently, in completion order
      ExecutorService pool = Executors.newFixedThreadPool(otlpHosts.size());
      try {
        List<Future<?>> exports = new ArrayList<>();
        for (String h : otlpHosts) {
          exports.add(pool.submit(() -> export(otlpCollectors.get(h), sent.get(h))));
        }
        for (Future<?> f : exports) {
          f.get(2, TimeUnit.MINUTES);
        }
      } finally {
        pool.shutdownNow();
      }
      long otlpCount = otlpHosts.stream().mapToLong(h -> sent.get(h).size()).sum();
      Infra.await(
          Duration.ofSeconds(60),
          "the OTLP source acknowledged by Kafka",
          () -> p.acknowledged(collectors) >= otlpCount);

      // source 2: the same 4 minutes again, JSON lines of 3 other hosts
      List<Sent> lines = new ArrayList<>();
      jsonHosts.forEach(h -> lines.addAll(sent.get(h)));
      lines.sort(Comparator.comparingLong(Sent::completedUs));
      StringBuilder body = new StringBuilder();
      for (int i = 0; i < lines.size(); i++) {
        Sent s = lines.get(i);
        body.append(
            Pipeline.line(s.host() + "-" + i, s.host(), s.model(), s.completedUs(), s.e2eUs()));
        if ((i + 1) % JSONL_BATCH == 0 || i == lines.size() - 1) {
          p.post(jsonl, body.toString());
          body.setLength(0);
        }
      }
      long total = sent.values().stream().mapToLong(List::size).sum();
      Infra.await(
          Duration.ofSeconds(60),
          "both sources acknowledged by Kafka",
          () -> p.acknowledged(collectors) >= total);

      // live data of every host and one per partition moves every task's stream time to now: every
      // window closes
      long nowUs = System.currentTimeMillis() * 1000;
      StringBuilder closers = new StringBuilder();
      List<String> closerHosts = new ArrayList<>(all);
      closerHosts.addAll(p.hostsCoveringEveryPartition("replay-closer"));
      for (String h : closerHosts) {
        closers.append(Pipeline.line("closer-" + h, h, "closer", nowUs - 1_000_000, 100_000));
      }
      p.post(jsonl, closers.toString());

      Map<String, Long> hostExpected = new TreeMap<>();
      Map<String, Long> fleetExpected = new TreeMap<>();
      sent.forEach(
          (h, reqs) -> {
            hostExpected.put(h, (long) reqs.size());
            reqs.forEach(r -> fleetExpected.merge(r.model(), 1L, Long::sum));
          });
      String db = p.id;
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
                            + db
                            + ".window_aggregates"
                            + where
                            + " AND scope = 'host' GROUP BY host ORDER BY host");
                Map<String, Long> fleet =
                    p.longs(
                        "SELECT model, sum(requests) FROM "
                            + db
                            + ".window_aggregates"
                            + where
                            + " AND scope = 'fleet' GROUP BY model ORDER BY model");
                last.put("host " + size, hosts);
                last.put("fleet " + size, fleet);
                if (!hosts.equals(hostExpected) || !fleet.equals(fleetExpected)) {
                  return false;
                }
              }
              // the sink writes a window's latency rows in their own table: wait for their newest
              // versions too
              String where =
                  " FINAL WHERE model != 'closer' AND window_size_ms = 60000 AND metric = 'e2e' AND cohort = "
                      + "'warm'";
              Map<String, Long> hosts =
                  p.longs(
                      "SELECT host, sum(count) FROM "
                          + db
                          + ".window_latency"
                          + where
                          + " AND scope = 'host' GROUP BY host ORDER BY host");
              Map<String, Long> fleet =
                  p.longs(
                      "SELECT model, sum(count) FROM "
                          + db
                          + ".window_latency"
                          + where
                          + " AND scope = 'fleet' GROUP BY model ORDER BY model");
              last.put("host e2e samples 60000", hosts);
              last.put("fleet e2e samples 60000", fleet);
              return hosts.equals(hostExpected) && fleet.equals(fleetExpected);
            });
      } catch (AssertionError e) {
        throw new AssertionError(
            e.getMessage()
                + ": expected hosts "
                + hostExpected
                + ", fleet "
                + fleetExpected
                + ", counted "
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

      // percentiles of every 1 min window, host and fleet scope, against the exact values of what
      // was sent
      List<String> mismatches = new ArrayList<>();
      int checked = 0;
      for (List<String> row :
          p.rows(
              "SELECT scope, host, model, toUnixTimestamp64Micro(window_start), count, p50_us, "
                  + "p99_us FROM "
                  + db
                  + ".window_latency FINAL WHERE window_size_ms = 60000 AND metric = 'e2e' AND cohort = "
                  + "'warm' AND model != 'closer' ORDER BY scope, host, model, window_start")) {
        boolean fleet = row.get(0).equals("fleet");
        String host = row.get(1);
        String model = row.get(2);
        long start = Long.parseLong(row.get(3));
        long[] exact =
            sent.values().stream()
                .flatMap(List::stream)
                .filter(
                    s ->
                        (fleet ? s.model().equals(model) : s.host().equals(host))
                            && s.completedUs() >= start
                            && s.completedUs() < start + 60_000_000L)
                .mapToLong(Sent::e2eUs)
                .sorted()
                .toArray();
        long count = Long.parseLong(row.get(4));
        long p50 = Long.parseLong(row.get(5));
        long p99 = Long.parseLong(row.get(6));
        long x50 = Pipeline.nearestRank(exact, 0.50);
        long x99 = Pipeline.nearestRank(exact, 0.99);
        if (count != exact.length
            || !Pipeline.withinHdrPrecision(p50, x50)
            || !Pipeline.withinHdrPrecision(p99, x99)) {
          mismatches.add(
              row
                  + " exact count "
                  + exact.length
                  + " p50 "
                  + x50
                  + " p99 "
                  + x99
                  + "; requests of the "
                  + "window's aggregate: "
                  + p.longs(
                      "SELECT 'requests', requests FROM "
                          + db
                          + ".window_aggregates FINAL "
                          + "WHERE window_size_ms = 60000 AND scope = '"
                          + row.get(0)
                          + "' AND host = '"
                          + host
                          + "' AND model = '"
                          + model
                          + "' AND toUnixTimestamp64Micro(window_start) = "
                          + start));
        }
        checked++;
      }
      assertThat(mismatches)
          .as("1 min windows whose count or warm e2e p50/p99 differ from the exact values")
          .isEmpty();
      assertThat(checked)
          .as("1 min e2e rows: 7 hosts and 2 models over 4 minutes")
          .isEqualTo((7 + 2) * 4);

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
          .as("late records applied as corrections (the second source is behind its partitions)")
          .isPositive();
    }
  }

  /**
   * Exports one host's requests as vLLM-like SERVER spans through the SDK's OTLP/HTTP exporter, 512
   * per batch.
   */
  private static void export(Collector collector, List<Sent> reqs) {
    List<SpanData> spans = spans(reqs);
    OtlpHttpSpanExporter exporter =
        OtlpHttpSpanExporter.builder()
            .setEndpoint("http://127.0.0.1:" + collector.httpPort() + "/v1/traces")
            .setTimeout(Duration.ofSeconds(10))
            .build();
    try {
      for (int i = 0; i < spans.size(); i += OTLP_BATCH) {
        CompletableResultCode r =
            exporter
                .export(spans.subList(i, Math.min(spans.size(), i + OTLP_BATCH)))
                .join(30, TimeUnit.SECONDS);
        assertThat(r.isSuccess()).as("OTLP export: %s", r.getFailureThrowable()).isTrue();
      }
    } finally {
      exporter.shutdown().join(5, TimeUnit.SECONDS);
    }
  }

  /** The spans the SDK builds for {@code reqs}, as it hands them to an exporter. */
  static List<SpanData> spans(List<Sent> reqs) {
    List<SpanData> out = new ArrayList<>();
    SpanExporter capture =
        new SpanExporter() {
          @Override
          public CompletableResultCode export(Collection<SpanData> spans) {
            out.addAll(spans);
            return CompletableResultCode.ofSuccess();
          }

          @Override
          public CompletableResultCode flush() {
            return CompletableResultCode.ofSuccess();
          }

          @Override
          public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
          }
        };
    try (SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .setResource(Resource.getDefault())
            .addSpanProcessor(SimpleSpanProcessor.create(capture))
            .build()) {
      Tracer tracer = provider.get("vllm.llm_engine");
      for (Sent s : reqs) {
        span(tracer, s);
      }
    }
    return out;
  }

  /** A vLLM V1 {@code llm_request} span (latencies in seconds) that names its model. */
  static void span(Tracer tracer, Sent s) {
    long arrivalNs = (s.completedUs() - s.e2eUs()) * 1000;
    long ttftUs = s.e2eUs() / 5; // whole microseconds
    Span span =
        tracer
            .spanBuilder("llm_request")
            .setSpanKind(SpanKind.SERVER)
            .setStartTimestamp(arrivalNs, TimeUnit.NANOSECONDS)
            .startSpan();
    span.setAllAttributes(
        Attributes.builder()
            .put("gen_ai.response.model", s.model())
            .put("gen_ai.latency.e2e", s.e2eUs() / 1e6)
            .put("gen_ai.latency.time_to_first_token", ttftUs / 1e6)
            .put("gen_ai.usage.prompt_tokens", 100L)
            .put("gen_ai.usage.completion_tokens", 50L)
            .build());
    span.end(s.completedUs() * 1000, TimeUnit.NANOSECONDS);
  }
}
