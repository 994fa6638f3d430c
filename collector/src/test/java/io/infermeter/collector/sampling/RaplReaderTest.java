package io.infermeter.collector.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RaplReaderTest {

  static final HardwareSamples FACTORY = new HardwareSamples("c", "r", "h");
  static final long MAX = 262_143_328_850L; // a real max_energy_range_uj

  @TempDir Path root;

  private void zone(String dir, String name, long energy) throws Exception {
    Path d = root.resolve(dir);
    Files.createDirectories(d);
    Files.writeString(d.resolve("name"), name + "\n");
    Files.writeString(d.resolve("max_energy_range_uj"), MAX + "\n");
    Files.writeString(d.resolve("energy_uj"), energy + "\n");
  }

  private void energy(String dir, long energy) throws Exception {
    Files.writeString(root.resolve(dir).resolve("energy_uj"), energy + "\n");
  }

  @Test
  void packageAndDramWithWraparound() throws Exception {
    zone("intel-rapl:0", "package-0", MAX - 1_000_000);
    zone("intel-rapl:0:0", "core", 5);
    zone("intel-rapl:0:1", "dram", 100);
    zone("intel-rapl-mmio:0", "package-0", 5); // not a RAPL MSR zone: ignored
    RaplReader r = RaplReader.open(root, FACTORY).orElseThrow();
    assertThat(r.deviceIds()).containsExactly("cpu-package-0", "dram-0");

    List<HardwareSample> first = r.sample(1_000_000);
    assertThat(first.get(0).getDeviceKind()).isEqualTo(DeviceKind.CPU_PACKAGE);
    assertThat(first.get(0).getSource()).isEqualTo("rapl");
    assertThat(first.get(0).getEnergyMj()).isZero();
    assertThat(first.get(0).getPowerW()).isNull(); // no previous reading yet
    assertThat(first.get(1).getDeviceKind()).isEqualTo(DeviceKind.DRAM);

    // package counter wraps: 1 J before the wrap + 2.5 J after it, over 2 s
    energy("intel-rapl:0", 2_500_000);
    energy("intel-rapl:0:1", 100 + 4_000_000);
    List<HardwareSample> second = r.sample(3_000_000);
    assertThat(second.get(0).getEnergyMj()).isEqualTo(3_500L);
    assertThat(second.get(0).getPowerW()).isEqualTo(3.5e6 / 2e6);
    assertThat(second.get(1).getEnergyMj()).isEqualTo(4_000L);
    assertThat(second.get(1).getPowerW()).isEqualTo(2.0);

    energy("intel-rapl:0", 3_500_000);
    List<HardwareSample> third = r.sample(4_000_000);
    assertThat(third.get(0).getEnergyMj()).isEqualTo(4_500L); // monotonic across the wrap
    assertThat(third.get(0).getPowerW()).isEqualTo(1.0);
  }

  /**
   * A collector restarted 30 s later on the same boot continues the package's total with the 30 J
   * the counter gained meanwhile, across a wrap; after a gap longer than the counter's range at 1
   * kW (262 s here), or on another boot, it continues the total without the gap's energy. Never a
   * drop, which the streams app would book as a counter reset.
   */
  @Test
  void theTotalSurvivesARestartOfTheCollector() throws Exception {
    zone("intel-rapl:0", "package-0", MAX - 10_000_000);
    Path state = root.resolve("spool").resolve("rapl-state.properties");
    Files.createDirectories(state.getParent());
    Path tree = root;
    RaplReader first = RaplReader.open(tree, FACTORY, state, "boot-1").orElseThrow();
    first.sample(1_000_000);
    energy("intel-rapl:0", MAX - 5_000_000);
    assertThat(first.sample(2_000_000).get(0).getEnergyMj()).isEqualTo(5_000L);
    first.close();

    // 30 s down, 30 J gained, the counter wrapped meanwhile
    energy("intel-rapl:0", 25_000_000);
    RaplReader second = RaplReader.open(tree, FACTORY, state, "boot-1").orElseThrow();
    HardwareSample resumed = second.sample(32_000_000).get(0);
    assertThat(resumed.getEnergyMj()).isEqualTo(5_000L + 30_000L);
    assertThat(resumed.getPowerW()).isEqualTo(1.0); // 30 J over 30 s
    second.close();

    // 10 min down: more than one wrap may have happened, the gap's energy is unknown
    energy("intel-rapl:0", 40_000_000);
    RaplReader third = RaplReader.open(tree, FACTORY, state, "boot-1").orElseThrow();
    HardwareSample late = third.sample(632_000_000).get(0);
    assertThat(late.getEnergyMj()).isEqualTo(35_000L);
    assertThat(late.getPowerW()).isNull();
    energy("intel-rapl:0", 41_000_000);
    assertThat(third.sample(633_000_000).get(0).getEnergyMj()).isEqualTo(36_000L);
    third.close();

    // a reboot: the counter restarted, only the total carries over
    energy("intel-rapl:0", 2_000_000);
    RaplReader fourth = RaplReader.open(tree, FACTORY, state, "boot-2").orElseThrow();
    assertThat(fourth.sample(640_000_000).get(0).getEnergyMj()).isEqualTo(36_000L);
  }

  @Test
  void aStateFileThatCannotBeReadStartsFromZero() throws Exception {
    zone("intel-rapl:0", "package-0", 1_000_000);
    Path state = root.resolve("rapl-state.properties");
    Files.writeString(state, "cpu-package-0.raw.uj=oops\ncpu-package-0.total.uj=5\n");
    RaplReader r = RaplReader.open(root, FACTORY, state, "boot-1").orElseThrow();
    assertThat(r.sample(1_000_000).get(0).getEnergyMj()).isZero();
  }

  @Test
  void zoneUnwrapArithmetic() {
    RaplReader.Zone z =
        new RaplReader.Zone(Path.of("x"), "cpu-package-0", DeviceKind.CPU_PACKAGE, 1000);
    assertThat(z.update(900)).isEqualTo(-1);
    assertThat(z.update(950)).isEqualTo(50);
    assertThat(z.update(10)).isEqualTo(1000 - 950 + 10);
    assertThat(z.totalUj).isEqualTo(50 + 60);
  }

  @Test
  void absentTreeMeansNoRapl() {
    assertThat(RaplReader.open(root.resolve("missing"), FACTORY)).isEmpty();
    assertThat(RaplReader.open(root, FACTORY)).isEmpty();
  }
}
