package io.infermeter.collector.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EstimatedPowerModelTest {

  @ParameterizedTest
  @CsvSource({"0.0, 25.5", "1.0, 85.0", "0.5, 55.25", "1.7, 85.0", "-0.2, 25.5"})
  void linearBetweenIdleAndTdp(double utilization, double watts) {
    EstimatedPowerModel m = new EstimatedPowerModel(85, 0.3 * 85);
    assertThat(m.watts(utilization)).isCloseTo(watts, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void oshiSamplerFlagsTheEstimateAsEstimated() {
    OshiSampler s =
        new OshiSampler(
            new HardwareSamples("c", "r", "h"),
            OptionalInt.of((int) ProcessHandle.current().pid()),
            Optional.empty(),
            new EstimatedPowerModel(100, 20));
    s.sample(1);
    var samples = s.sample(2);
    HardwareSample host =
        samples.stream()
            .filter(x -> x.getDeviceKind() == DeviceKind.HOST)
            .findFirst()
            .orElseThrow();
    assertThat(host.getSource()).isEqualTo("oshi");
    assertThat(host.getPowerW()).isNull(); // OSHI measures no power: absent, not zero
    assertThat(host.getMemoryTotalBytes()).isPositive();
    HardwareSample est =
        samples.stream()
            .filter(x -> x.getDeviceKind() == DeviceKind.CPU_PACKAGE)
            .findFirst()
            .orElseThrow();
    assertThat(est.getSource()).isEqualTo("estimated");
    assertThat(est.getEnergyMj()).isNull();
    assertThat(est.getPowerW())
        .isCloseTo(
            20 + 80 * est.getUtilizationPct() / 100.0, org.assertj.core.data.Offset.offset(1e-9));
    HardwareSample proc =
        samples.stream()
            .filter(x -> x.getDeviceKind() == DeviceKind.PROCESS)
            .findFirst()
            .orElseThrow();
    assertThat(proc.getDeviceId()).isEqualTo("process-" + ProcessHandle.current().pid());
    assertThat(proc.getMemoryUsedBytes()).isPositive();
  }
}
