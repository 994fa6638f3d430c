package io.infermeter.bench.collector;

import io.infermeter.collector.ingest.EventDefaults;
import io.infermeter.collector.ingest.IngestServer;
import io.infermeter.collector.ingest.RequestValidator;
import io.infermeter.collector.support.CollectorMetrics;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * The JSON-lines fast path (body bytes to Kafka value bytes, as {@code
 * JsonLinesIngestBenchmark.wirePath}) timed in the measuring thread's own CPU time ({@link
 * ThreadMXBean#getCurrentThreadCpuTime}) rather than wall time, so that other processes on a loaded
 * machine inflate the figure far less than they do JMH's: for before/after comparisons of the
 * per-line cost on a shared VM. Lines with a {@code requestId} (the load driver's) and the same
 * lines without one. Prints the median and the minimum of {@code rounds} rounds, ns of CPU per
 * line.
 *
 * <p>Usage: {@code java -cp <jars> io.infermeter.bench.collector.IngestCpuTime [rounds]} (default
 * 15).
 */
public final class IngestCpuTime {

  private IngestCpuTime() {}

  static final int LINES = 100;

  static byte[] body(boolean withRequestId) {
    long a = System.currentTimeMillis() * 1000L - 60_000_000L;
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < LINES; i++) {
      sb.append('{');
      if (withRequestId) {
        sb.append("\"requestId\":\"r-7-").append(i).append("\",");
      }
      sb.append("\"model\":\"llama-3-8b\",\"arrivalUs\":")
          .append(a)
          .append(",\"scheduledUs\":")
          .append(a + 10)
          .append(",\"firstTokenUs\":")
          .append(a + 200)
          .append(",\"completedUs\":")
          .append(a + 4000)
          .append(",\"inputTokens\":128,\"outputTokens\":64}\n");
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  public static void main(String[] args) throws IOException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
    EventDefaults defaults = new EventDefaults("default", "unknown", "bench-host", null, null);
    RequestValidator validator =
        new RequestValidator(
            Clock.systemUTC(),
            Duration.ofHours(1),
            Duration.ofMinutes(5),
            Duration.ofDays(7),
            10_000_000);
    byte[] header = {0, 0, 0, 0, 1};
    long[] sink = new long[1];
    try (IngestServer server =
        new IngestServer(
            "127.0.0.1",
            0,
            1,
            1 << 20,
            Optional.empty(),
            defaults,
            validator,
            e -> sink[0] += e.getEventId().length(),
            new IngestServer.EncodedSink() {
              @Override
              public byte[] requestHeader() {
                return header;
              }

              @Override
              public void acceptEncoded(String key, byte[] wire) {
                sink[0] += wire.length + wire[wire.length - 40];
              }
            },
            d -> {},
            new CollectorMetrics())) {
      ThreadMXBean mx = ManagementFactory.getThreadMXBean();
      for (boolean withId : new boolean[] {true, false}) {
        byte[] body = body(withId);
        int batches = 20_000;
        for (int w = 0; w < 3; w++) { // warm-up
          for (int b = 0; b < batches; b++) {
            server.ingestJsonLines(body, body.length);
          }
        }
        double[] perLine = new double[rounds];
        for (int r = 0; r < rounds; r++) {
          long t0 = mx.getCurrentThreadCpuTime();
          for (int b = 0; b < batches; b++) {
            if (server.ingestJsonLines(body, body.length).accepted() != LINES) {
              throw new IllegalStateException("lines rejected");
            }
          }
          perLine[r] = (mx.getCurrentThreadCpuTime() - t0) / (double) batches / LINES;
        }
        Arrays.sort(perLine);
        System.out.printf(
            "wire path, lines %s requestId: median %.0f ns, min %.0f ns CPU per line (%d rounds)%n",
            withId ? "with" : "without", perLine[rounds / 2], perLine[0], rounds);
      }
    }
    System.out.println("(checksum " + sink[0] + ")");
  }
}
