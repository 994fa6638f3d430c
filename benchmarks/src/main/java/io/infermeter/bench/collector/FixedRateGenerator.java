package io.infermeter.bench.collector;

import java.util.concurrent.locks.LockSupport;

/**
 * The fixed-rate load of {@link CollectorLoadDriver} as a process of its own ({@code
 * -Dgenerator=process}): posts a 100-line JSON-lines batch every 10 ms (open loop, 10,000 events/s)
 * to {@code url} for {@code warmupSeconds}, prints {@code MEASURE}, keeps the same rate for {@code
 * seconds}, and prints {@code DONE accepted=<events>}.
 *
 * <p>Usage: {@code FixedRateGenerator url warmupSeconds seconds}.
 */
public final class FixedRateGenerator {

  private FixedRateGenerator() {}

  public static void main(String[] args) {
    String url = args[0];
    int warmupSeconds = Integer.parseInt(args[1]);
    int seconds = Integer.parseInt(args[2]);
    byte[] body = CollectorLoadDriver.body(100, 7);
    run(url, body, warmupSeconds);
    System.out.println("MEASURE");
    System.out.flush();
    long accepted = run(url, body, seconds);
    System.out.println("DONE accepted=" + accepted);
    System.out.flush();
  }

  private static long run(String url, byte[] body, int seconds) {
    long accepted = 0;
    long next = System.nanoTime();
    long end = next + seconds * 1_000_000_000L;
    while (next < end) {
      accepted += CollectorLoadDriver.post(url, body);
      next += 10_000_000L;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
    }
    return accepted;
  }
}
