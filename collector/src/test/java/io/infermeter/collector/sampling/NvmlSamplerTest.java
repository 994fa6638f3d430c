package io.infermeter.collector.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.ProcessMemory;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs the real JNA binding against the stub libnvidia-ml.so built from src/test/c/nvml_stub.c. */
class NvmlSamplerTest {

  static final long GIB = 1024L * 1024 * 1024;

  static String stubLibrary() {
    String p = System.getProperty("nvml.stub.library");
    assertThat(p).as("system property nvml.stub.library (set by the build)").isNotNull();
    return p;
  }

  @Test
  void readsEveryMetricOfGpusAndMigInstances() {
    try (NvmlSampler s =
        NvmlSampler.open(stubLibrary(), new HardwareSamples("c", "r", "h"), null).orElseThrow()) {
      assertThat(s.deviceIds())
          .containsExactly(
              "GPU-00000000-0000-0000-0000-000000000000",
              "GPU-00000000-0000-0000-0000-000000000001",
              "MIG-00000000-0000-0000-0000-000000000100",
              "MIG-00000000-0000-0000-0000-000000000102");
      List<HardwareSample> samples = s.sample(42);
      assertThat(samples).hasSize(4);
      for (int i = 0; i < 2; i++) {
        HardwareSample g = samples.get(i);
        assertThat(g.getDeviceKind()).isEqualTo(DeviceKind.GPU);
        assertThat(g.getSource()).isEqualTo("nvml");
        assertThat(g.getTimestampUs()).isEqualTo(42);
        assertThat(g.getGpuType())
            .isEqualTo(i == 0 ? "NVIDIA H100 80GB HBM3" : "NVIDIA A100-SXM4-40GB");
        assertThat(g.getUtilizationPct()).isEqualTo(40.0 + i);
        assertThat(g.getMemoryUtilizationPct()).isEqualTo(10.0 + i);
        assertThat(g.getMemoryTotalBytes()).isEqualTo((80 - 40L * i) * GIB);
        assertThat(g.getMemoryUsedBytes()).isEqualTo((8L + i) * GIB);
        assertThat(g.getPowerW()).isEqualTo((250_000 + 1000 * i) / 1000.0);
        assertThat(g.getEnergyMj()).isEqualTo(1_234_567_890L + i);
        assertThat(g.getTemperatureC()).isEqualTo(60.0 + i);
        assertThat(g.getSmClockMhz()).isEqualTo(1800 + i);
        assertThat(g.getMemClockMhz()).isEqualTo(2600 + i);
        assertThat(g.getThrottleReasons()).isEqualTo(i == 0 ? 0x4L : 0L);
        assertThat(g.getPcieTxBytesPerSec()).isEqualTo((1000L + i) * 1024);
        assertThat(g.getPcieRxBytesPerSec()).isEqualTo((2000L + i) * 1024);
        assertThat(g.getXidErrors()).isEqualTo(i == 0 ? 1L : 0L);
      }
      assertThat(samples.get(0).getProcesses())
          .extracting(ProcessMemory::getPid, ProcessMemory::getUsedBytes)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple(4242, 3 * GIB),
              org.assertj.core.groups.Tuple.tuple(4343, GIB));
      assertThat(samples.get(1).getProcesses()).isEmpty();
      HardwareSample mig = samples.get(3);
      assertThat(mig.getDeviceKind()).isEqualTo(DeviceKind.MIG);
      assertThat(mig.getMemoryTotalBytes()).isEqualTo(20 * GIB);
      assertThat(mig.getMemoryUsedBytes()).isEqualTo(4 * GIB);
      // carved from GPU 1 (an A100: 7 slices); the stub names it "... MIG 3g.20gb"
      assertThat(mig.getParentDeviceId()).isEqualTo("GPU-00000000-0000-0000-0000-000000000001");
      assertThat(mig.getMigSlices()).isEqualTo(3);
      assertThat(mig.getMigSlicesTotal()).isEqualTo(7);
      assertThat(samples.get(1).getParentDeviceId()).isNull();
      assertThat(samples.get(1).getMigSlices()).isNull();
      // not supported on a MIG instance: absent, never zero
      assertThat(mig.getUtilizationPct()).isNull();
      assertThat(mig.getPowerW()).isNull();
      assertThat(mig.getEnergyMj()).isNull();
      assertThat(mig.getTemperatureC()).isNull();
      assertThat(mig.getThrottleReasons()).isNull();
      assertThat(mig.getXidErrors()).isNull();
      // the XID event was consumed once: the count stays, it is not re-counted
      assertThat(s.sample(43).get(0).getXidErrors()).isEqualTo(1L);
    }
  }

  @Test
  void gpuTypeOverride() {
    try (NvmlSampler s =
        NvmlSampler.open(stubLibrary(), new HardwareSamples("c", "r", "h"), "H100-SXM")
            .orElseThrow()) {
      assertThat(s.sample(1)).extracting(HardwareSample::getGpuType).containsOnly("H100-SXM");
    }
  }

  @Test
  void missingDriverDisablesTheSampler() {
    assertThat(
            NvmlSampler.open(
                "/nonexistent/libnvidia-ml.so", new HardwareSamples("c", "r", "h"), null))
        .isEmpty();
  }
}
