package io.infermeter.collector.sampling;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * CPU package and DRAM energy from the Linux powercap RAPL files under {@code root} (normally
 * {@code /sys/class/powercap}): zones {@code intel-rapl:N} (package N) and their sub-zones {@code
 * intel-rapl:N:M} whose {@code name} is {@code dram}. {@code energy_uj} is a counter that wraps at
 * {@code max_energy_range_uj}; the reader unwraps it into a monotonic total since the collector
 * started (energyMj = unwrapped µJ / 1000) and derives the mean power over the last period (ΔE /
 * Δt). A delta larger than half the range is taken as one wrap (a period is far shorter than a wrap
 * interval, minutes to hours). Not thread-safe (sampler thread only).
 */
public final class RaplReader implements Sampler {

  /** One RAPL zone and its unwrapping state. */
  static final class Zone {
    final Path dir;
    final String deviceId;
    final DeviceKind kind;
    final long maxRangeUj;
    long lastRawUj = -1;
    long totalUj;
    long lastTimestampUs;

    Zone(Path dir, String deviceId, DeviceKind kind, long maxRangeUj) {
      this.dir = dir;
      this.deviceId = deviceId;
      this.kind = kind;
      this.maxRangeUj = maxRangeUj;
    }

    /**
     * Folds a new raw reading into the total; returns the energy since the previous reading in µJ
     * (-1 for the first).
     */
    long update(long rawUj) {
      if (lastRawUj < 0) {
        lastRawUj = rawUj;
        return -1;
      }
      long delta = rawUj - lastRawUj;
      if (delta < 0) {
        delta += maxRangeUj; // the counter wrapped at max_energy_range_uj
      }
      lastRawUj = rawUj;
      totalUj += delta;
      return delta;
    }
  }

  private final List<Zone> zones;
  private final HardwareSamples factory;

  private RaplReader(List<Zone> zones, HardwareSamples factory) {
    this.zones = zones;
    this.factory = factory;
  }

  /**
   * Discovers readable zones under {@code root}; empty when there is no RAPL (no powercap tree or
   * no permission).
   */
  public static java.util.Optional<RaplReader> open(Path root, HardwareSamples factory) {
    List<Zone> zones = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return java.util.Optional.empty();
    }
    try (Stream<Path> s = Files.list(root)) {
      for (Path dir : s.sorted().toList()) {
        String n = dir.getFileName().toString();
        if (!n.matches("intel-rapl:\\d+(:\\d+)?") || !Files.isReadable(dir.resolve("energy_uj"))) {
          continue;
        }
        String name = readString(dir.resolve("name")).orElse("");
        long max = readLong(dir.resolve("max_energy_range_uj")).orElse(-1L);
        if (max <= 0 || readLong(dir.resolve("energy_uj")).isEmpty()) {
          continue;
        }
        String[] idx = n.substring("intel-rapl:".length()).split(":", -1);
        if (idx.length == 1 && name.startsWith("package")) {
          zones.add(new Zone(dir, "cpu-package-" + idx[0], DeviceKind.CPU_PACKAGE, max));
        } else if (idx.length == 2 && name.equals("dram")) {
          zones.add(new Zone(dir, "dram-" + idx[0], DeviceKind.DRAM, max));
        }
      }
    } catch (IOException e) {
      return java.util.Optional.empty();
    }
    return zones.isEmpty()
        ? java.util.Optional.empty()
        : java.util.Optional.of(new RaplReader(zones, factory));
  }

  private static java.util.Optional<String> readString(Path p) {
    try {
      return java.util.Optional.of(Files.readString(p).trim());
    } catch (IOException e) {
      return java.util.Optional.empty();
    }
  }

  private static java.util.Optional<Long> readLong(Path p) {
    try {
      return java.util.Optional.of(Long.parseLong(Files.readString(p).trim()));
    } catch (IOException | NumberFormatException e) {
      return java.util.Optional.empty();
    }
  }

  @Override
  public String name() {
    return "rapl";
  }

  List<String> deviceIds() {
    return zones.stream().map(z -> z.deviceId).toList();
  }

  @Override
  public List<HardwareSample> sample(long timestampUs) throws IOException {
    List<HardwareSample> out = new ArrayList<>(zones.size());
    for (Zone z : zones) {
      long raw = Long.parseLong(Files.readString(z.dir.resolve("energy_uj")).trim());
      long delta = z.update(raw);
      HardwareSample s = factory.newSample(z.deviceId, z.kind, "rapl", timestampUs);
      s.setEnergyMj(z.totalUj / 1000L);
      if (delta >= 0 && timestampUs > z.lastTimestampUs) {
        s.setPowerW(delta / ((timestampUs - z.lastTimestampUs) * 1.0));
      }
      z.lastTimestampUs = timestampUs;
      out.add(s);
    }
    return out;
  }
}
