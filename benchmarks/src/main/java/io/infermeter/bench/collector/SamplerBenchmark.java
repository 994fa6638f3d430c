package io.infermeter.bench.collector;

import io.infermeter.avro.HardwareSample;
import io.infermeter.collector.sampling.EstimatedPowerModel;
import io.infermeter.collector.sampling.HardwareSamples;
import io.infermeter.collector.sampling.OshiSampler;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One run of the OSHI host sampler (host CPU + memory + estimated CPU power, and the benchmark's
 * own process as the configured inference process), as the collector does once per sampling period.
 * Single-shot runs 50 ms apart would be closer to production (OSHI memoizes some /proc reads for a
 * short time), so this is a lower bound; the collector's {@code
 * infermeter_collector_sample_duration_seconds} histogram gives the production figure.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SamplerBenchmark {

  private OshiSampler hostOnly;
  private OshiSampler withProcess;

  @Setup
  public void setup() {
    HardwareSamples f = new HardwareSamples("c", "r", "h");
    hostOnly =
        new OshiSampler(
            f, OptionalInt.empty(), Optional.empty(), new EstimatedPowerModel(85, 25.5));
    withProcess =
        new OshiSampler(
            f,
            OptionalInt.of((int) ProcessHandle.current().pid()),
            Optional.empty(),
            new EstimatedPowerModel(85, 25.5));
  }

  @Benchmark
  public List<HardwareSample> oshiHost() {
    return hostOnly.sample(1);
  }

  @Benchmark
  public List<HardwareSample> oshiHostAndProcess() {
    return withProcess.sample(1);
  }
}
