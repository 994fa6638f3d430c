package io.infermeter.bench.streams;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.windows.AggKey;
import io.infermeter.streams.windows.RequestAccumulator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * State size and heap of 10k active window keys: builds K accumulators with R requests each
 * (latencies spread over 3-4 decades like real LLM traffic), then reports the heap they hold (used
 * heap after GC, before and after) and their serialized size (the accumulator codec used by the
 * state store and the fleet partials topic). Usage: {@code StateSizeBenchmark [keys=10000]
 * [requestsPerKey=200]}; run with e.g. -Xmx2g.
 */
public final class StateSizeBenchmark {

  private StateSizeBenchmark() {}

  public static void main(String[] args) {
    int keys = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int perKey = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    StreamsSettings.SloClass cls = StreamsSettings.fromMap(Map.of()).sloClasses().get("default");
    Random rnd = new Random(5);
    long before = usedAfterGc();
    List<RequestAccumulator> accs = new ArrayList<>(keys);
    for (int k = 0; k < keys; k++) {
      RequestAccumulator a =
          new RequestAccumulator(
              new AggKey(
                  "host", "c1", "eu-west-1", "host-" + (k / 4), "model-" + (k % 4), "v1", "H100"),
              1_700_000_040_000L,
              10_000);
      for (int i = 0; i < perKey; i++) {
        long completed = 1_700_000_045_000_000L;
        long decode = 50_000 + (long) (Math.exp(rnd.nextGaussian()) * 500_000);
        long prefill = 5_000 + (long) (Math.exp(rnd.nextGaussian()) * 50_000);
        long queue = (long) (rnd.nextDouble() * 100_000);
        RequestEvent e =
            RequestEvent.newBuilder()
                .setEventId("x")
                .setSource("simulated")
                .setCluster("c1")
                .setRegion("eu-west-1")
                .setHost("h")
                .setModel("m")
                .setStatus(RequestStatus.OK)
                .setArrivalUs(completed - decode - prefill - queue)
                .setScheduledUs(completed - decode - prefill)
                .setFirstTokenUs(completed - decode)
                .setCompletedUs(completed)
                .setOutputTokens(10 + rnd.nextInt(500))
                .setBatchSize(1 + rnd.nextInt(32))
                .setDeviceId("gpu" + (i % 8))
                .build();
        a.add(e, cls);
      }
      accs.add(a);
    }
    long after = usedAfterGc();
    long bytes = 0;
    double encodeMs = 0;
    for (int pass = 0;
        pass < 3;
        pass++) { // the last of 3 passes: JIT-compiled, as in a long-running app
      bytes = 0;
      long t0 = System.nanoTime();
      for (RequestAccumulator a : accs) {
        bytes += a.toBytes(false).length;
      }
      encodeMs = (System.nanoTime() - t0) / 1e6;
    }
    System.out.printf(Locale.ROOT, "keys=%d requestsPerKey=%d%n", keys, perKey);
    System.out.printf(
        Locale.ROOT,
        "heap held: %.1f MiB total, %.1f KiB per key%n",
        (after - before) / 1048576.0,
        (after - before) / 1024.0 / keys);
    System.out.printf(
        Locale.ROOT,
        "serialized accumulator (state store and partials codec): %.1f MiB total, "
            + "%.0f B per key; encoding all keys (3rd pass) took %.0f ms%n",
        bytes / 1048576.0,
        (double) bytes / keys,
        encodeMs);
    if (accs.size() == -1) {
      System.out.println(accs);
    }
  }

  private static long usedAfterGc() {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 4; i++) {
      System.gc();
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return rt.totalMemory() - rt.freeMemory();
  }
}
