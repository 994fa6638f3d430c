package io.infermeter.bench.collector;

import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.RequestRecorder;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of the in-process API per recorded request on the server's thread: {@code record(...)} with
 * all four timestamps, and the {@link RequestRecorder.Timer} path (four clock reads + record). A
 * background thread drains the ring continuously with a no-op visitor (so the drain side neither
 * allocates nor lets the ring fill); the drops counter is printed at teardown so a run that
 * measured the drop path is visible. Run with {@code -prof gc}: the hot path should show ~0 B/op.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RecorderBenchmark {

  private RequestRecorder recorder;
  private RequestRecorder.Timer timer;
  private Thread drainer;
  private volatile boolean running;
  private long t;

  @Setup(Level.Trial)
  public void setup() {
    recorder = new RequestRecorder(1 << 16, Clock.systemUTC());
    timer = recorder.newTimer();
    running = true;
    RequestRecorder.SlotVisitor discard = (m, a, sc, f, c, in, out, st, err) -> {};
    drainer =
        new Thread(
            () -> {
              while (running) {
                if (recorder.drain(discard, 4096) == 0) {
                  LockSupport.parkNanos(10_000);
                }
              }
            },
            "bench-drainer");
    drainer.setDaemon(true);
    drainer.start();
    t = recorder.nowMicros();
  }

  @TearDown(Level.Trial)
  public void teardown() throws InterruptedException {
    running = false;
    drainer.join();
    System.out.println("\nrecorder drops during the trial: " + recorder.dropped());
  }

  @Benchmark
  public boolean record() {
    long a = t++;
    return recorder.record(
        "llama-3-8b", a, a + 10, a + 200, a + 5000, 128, 64, RequestStatus.OK, null);
  }

  /**
   * Ring drained on the recording thread every 1024 records: never full, so no drop path is
   * measured.
   */
  @State(Scope.Thread)
  public static class Inline {
    RequestRecorder recorder;
    RequestRecorder.Timer timer;
    RequestRecorder.SlotVisitor discard = (m, a, sc, f, c, in, out, st, err) -> {};
    long t;
    int n;

    @Setup(Level.Trial)
    public void setup() {
      recorder = new RequestRecorder(4096, Clock.systemUTC());
      timer = recorder.newTimer();
      t = recorder.nowMicros();
    }

    @TearDown(Level.Trial)
    public void teardown() {
      System.out.println("\ninline recorder drops during the trial: " + recorder.dropped());
    }
  }

  @Benchmark
  public boolean recordInlineDrain(Inline s) {
    long a = s.t++;
    boolean ok =
        s.recorder.record(
            "llama-3-8b", a, a + 10, a + 200, a + 5000, 128, 64, RequestStatus.OK, null);
    if ((++s.n & 1023) == 0) {
      s.recorder.drain(s.discard, 1024);
    }
    return ok;
  }

  @Benchmark
  public boolean timerInlineDrain(Inline s) {
    boolean ok = s.timer.arrival("llama-3-8b").scheduled().firstToken().complete(128, 64);
    if ((++s.n & 1023) == 0) {
      s.recorder.drain(s.discard, 1024);
    }
    return ok;
  }

  @Benchmark
  public long nowMicros(Inline s) {
    return s.recorder.nowMicros();
  }

  @Benchmark
  public boolean timer() {
    return timer.arrival("llama-3-8b").scheduled().firstToken().complete(128, 64);
  }
}
