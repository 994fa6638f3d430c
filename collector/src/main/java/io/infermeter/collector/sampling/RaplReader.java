package io.infermeter.collector.sampling;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CPU package and DRAM energy from the Linux powercap RAPL files under {@code root} (normally
 * {@code /sys/class/powercap}): zones {@code intel-rapl:N} (package N) and their sub-zones {@code
 * intel-rapl:N:M} whose {@code name} is {@code dram}. {@code energy_uj} is a counter that wraps at
 * {@code max_energy_range_uj}; the reader unwraps it into a monotonic total (energyMj = unwrapped
 * µJ / 1000) and derives the mean power over the last period (ΔE / Δt). A reading below the
 * previous one is taken as one wrap (a period is far shorter than a wrap interval, minutes to
 * hours).
 *
 * <p>The total survives a collector restart: each zone's last raw reading, total and time are kept
 * in a state file ({@code rapl-state.properties} in the spool directory, written at most every 5 s
 * and at close). A restarted collector on the same boot continues the total, with the energy the
 * counter gained while it was down, when the gap is shorter than the counter's range at 1 kW
 * ({@code max_energy_range_uj} / 10^9 s, about 4 min for a 262 kJ range: at most one wrap can have
 * happened); after a longer gap or a reboot it continues the total without the gap's energy (the
 * counter's history is unknown), so the streams app never sees a drop that it would book as a
 * reset. Not thread-safe (sampler thread only).
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

    /** A total saved by an earlier run, continued at the first reading; -1 when none. */
    long savedRawUj = -1;

    long savedTotalUj;
    long savedTimestampUs;
    boolean savedSameBoot;

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
      return update(rawUj, Long.MIN_VALUE);
    }

    /**
     * As {@link #update(long)} at {@code timestampUs}: the first reading after a restart continues
     * a saved total, with the energy gained since it when the gap allows (see the class comment).
     */
    long update(long rawUj, long timestampUs) {
      if (lastRawUj < 0) {
        lastRawUj = rawUj;
        if (savedRawUj < 0) {
          return -1;
        }
        totalUj = savedTotalUj;
        long gapUs = timestampUs - savedTimestampUs;
        long safeGapUs = maxRangeUj / 1_000L; // µJ at 1 kW (10^9 µJ/s) is the range in s x 10^6 µs
        if (!savedSameBoot || timestampUs == Long.MIN_VALUE || gapUs <= 0 || gapUs >= safeGapUs) {
          return -1;
        }
        long delta = rawUj - savedRawUj;
        if (delta < 0) {
          delta += maxRangeUj;
        }
        totalUj += delta;
        lastTimestampUs = savedTimestampUs;
        return delta;
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

  private static final Logger LOG = LoggerFactory.getLogger(RaplReader.class);
  private static final long SAVE_EVERY_US = 5_000_000L;
  private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

  private final List<Zone> zones;
  private final HardwareSamples factory;
  private final Path stateFile;
  private final String bootId;
  private long savedAtUs = Long.MIN_VALUE;

  private RaplReader(List<Zone> zones, HardwareSamples factory, Path stateFile, String bootId) {
    this.zones = zones;
    this.factory = factory;
    this.stateFile = stateFile;
    this.bootId = bootId;
    restore();
  }

  /**
   * Discovers readable zones under {@code root}; empty when there is no RAPL (no powercap tree or
   * no permission).
   */
  public static java.util.Optional<RaplReader> open(Path root, HardwareSamples factory) {
    return open(root, factory, null, "");
  }

  /**
   * As {@link #open(Path, HardwareSamples)}, keeping the totals in {@code stateFile} (null: none)
   * across restarts of this collector on the boot {@code bootId}.
   */
  public static java.util.Optional<RaplReader> open(
      Path root, HardwareSamples factory, Path stateFile) {
    return open(root, factory, stateFile, readString(BOOT_ID).orElse(""));
  }

  static java.util.Optional<RaplReader> open(
      Path root, HardwareSamples factory, Path stateFile, String bootId) {
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
        : java.util.Optional.of(new RaplReader(zones, factory, stateFile, bootId));
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
      long delta = z.update(raw, timestampUs);
      HardwareSample s = factory.newSample(z.deviceId, z.kind, "rapl", timestampUs);
      s.setEnergyMj(z.totalUj / 1000L);
      if (delta >= 0 && timestampUs > z.lastTimestampUs) {
        s.setPowerW(delta / ((timestampUs - z.lastTimestampUs) * 1.0));
      }
      z.lastTimestampUs = timestampUs;
      out.add(s);
    }
    if (savedAtUs == Long.MIN_VALUE || timestampUs - savedAtUs >= SAVE_EVERY_US) {
      save();
      savedAtUs = timestampUs;
    }
    return out;
  }

  @Override
  public void close() {
    save();
  }

  private void restore() {
    if (stateFile == null || !Files.isRegularFile(stateFile)) {
      return;
    }
    Properties p = new Properties();
    try (var in = Files.newBufferedReader(stateFile)) {
      p.load(in);
    } catch (IOException | IllegalArgumentException e) {
      LOG.warn("cannot read the RAPL state {}; totals start from 0", stateFile, e);
      return;
    }
    boolean sameBoot = !bootId.isEmpty() && bootId.equals(p.getProperty("boot.id"));
    for (Zone z : zones) {
      try {
        String raw = p.getProperty(z.deviceId + ".raw.uj");
        if (raw == null) {
          continue;
        }
        z.savedRawUj = Long.parseLong(raw);
        z.savedTotalUj = Long.parseLong(p.getProperty(z.deviceId + ".total.uj"));
        z.savedTimestampUs = Long.parseLong(p.getProperty(z.deviceId + ".timestamp.us"));
        z.savedSameBoot = sameBoot;
      } catch (RuntimeException e) {
        z.savedRawUj = -1;
        LOG.warn("ignoring the RAPL state of {} in {}: {}", z.deviceId, stateFile, e.toString());
      }
    }
  }

  /** Writes every zone's last reading (atomically: a temporary file, then a move). */
  private void save() {
    if (stateFile == null || stateFile.getParent() == null) {
      return;
    }
    Properties p = new Properties();
    p.setProperty("boot.id", bootId);
    for (Zone z : zones) {
      if (z.lastRawUj >= 0) {
        p.setProperty(z.deviceId + ".raw.uj", Long.toString(z.lastRawUj));
        p.setProperty(z.deviceId + ".total.uj", Long.toString(z.totalUj));
        p.setProperty(z.deviceId + ".timestamp.us", Long.toString(z.lastTimestampUs));
      }
    }
    try {
      if (!Files.isDirectory(stateFile.getParent())) {
        return; // the spool creates its directory with its permissions; nothing to keep before
      }
      Path tmp = stateFile.resolveSibling(stateFile.getFileName() + ".tmp");
      try (var out = Files.newBufferedWriter(tmp)) {
        p.store(out, "RAPL counters of the infermeter collector (read back at its next start)");
      }
      Files.move(
          tmp, stateFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      LOG.debug("cannot write the RAPL state {}: {}", stateFile, e.toString());
    }
  }
}
