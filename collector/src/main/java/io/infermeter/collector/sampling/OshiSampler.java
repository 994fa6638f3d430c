package io.infermeter.collector.sampling;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import oshi.SystemInfo;
import oshi.hardware.CentralProcessor;
import oshi.hardware.GlobalMemory;
import oshi.software.os.OSProcess;
import oshi.software.os.OperatingSystem;

/**
 * Host CPU and memory through OSHI (device {@code host}, kind HOST, source oshi), and the inference
 * server process when its pid or name is configured (device {@code process-<pid>}, kind PROCESS:
 * CPU share of the whole host over the period and resident memory). Without RAPL it also emits the
 * estimated CPU package power (device {@code cpu-package-0}, kind CPU_PACKAGE, source estimated,
 * from {@link EstimatedPowerModel}). CPU utilization is measured between consecutive samples, so
 * the first sample has none. Not thread-safe (sampler thread only).
 */
public final class OshiSampler implements Sampler {

  private final HardwareSamples factory;
  private final CentralProcessor cpu;
  private final GlobalMemory memory;
  private final OperatingSystem os;
  private final OptionalInt pid;
  private final Optional<String> processName;
  private final EstimatedPowerModel powerModel;
  private long[] prevTicks;
  private OSProcess prevProcess;
  private int resolvedPid = -1;

  public OshiSampler(
      HardwareSamples factory,
      OptionalInt pid,
      Optional<String> processName,
      EstimatedPowerModel powerModel) {
    SystemInfo si = new SystemInfo();
    this.factory = factory;
    this.cpu = si.getHardware().getProcessor();
    this.memory = si.getHardware().getMemory();
    this.os = si.getOperatingSystem();
    this.pid = pid;
    this.processName = processName;
    this.powerModel = powerModel;
    this.prevTicks = cpu.getSystemCpuLoadTicks();
  }

  @Override
  public String name() {
    return "oshi";
  }

  @Override
  public List<HardwareSample> sample(long timestampUs) {
    List<HardwareSample> out = new ArrayList<>(3);
    long[] ticks = cpu.getSystemCpuLoadTicks();
    double load = cpu.getSystemCpuLoadBetweenTicks(prevTicks);
    prevTicks = ticks;
    HardwareSample host = factory.newSample("host", DeviceKind.HOST, "oshi", timestampUs);
    if (load >= 0) {
      host.setUtilizationPct(load * 100.0);
    }
    long total = memory.getTotal();
    host.setMemoryTotalBytes(total);
    host.setMemoryUsedBytes(total - memory.getAvailable());
    out.add(host);
    if (powerModel != null && load >= 0) {
      HardwareSample est =
          factory.newSample("cpu-package-0", DeviceKind.CPU_PACKAGE, "estimated", timestampUs);
      est.setUtilizationPct(load * 100.0);
      est.setPowerW(powerModel.watts(load));
      out.add(est);
    }
    OSProcess p = findProcess();
    if (p != null) {
      HardwareSample ps =
          factory.newSample("process-" + p.getProcessID(), DeviceKind.PROCESS, "oshi", timestampUs);
      if (prevProcess != null && prevProcess.getProcessID() == p.getProcessID()) {
        // share of the whole host (all logical CPUs), comparable with the host utilization
        ps.setUtilizationPct(
            100.0 * p.getProcessCpuLoadBetweenTicks(prevProcess) / cpu.getLogicalProcessorCount());
      }
      ps.setMemoryUsedBytes(p.getResidentSetSize());
      ps.setMemoryTotalBytes(total);
      out.add(ps);
      prevProcess = p;
    }
    return out;
  }

  private OSProcess findProcess() {
    if (pid.isPresent()) {
      return os.getProcess(pid.getAsInt());
    }
    if (processName.isPresent()) {
      // listing every process each period is the expensive part: look the name up again only when
      // the pid is gone
      if (resolvedPid > 0) {
        OSProcess p = os.getProcess(resolvedPid);
        if (p != null && p.getName().equals(processName.get())) {
          return p;
        }
      }
      String name = processName.get();
      OSProcess p =
          os.getProcesses(x -> x.getName().equals(name), null, 1).stream().findFirst().orElse(null);
      resolvedPid = p == null ? -1 : p.getProcessID();
      return p;
    }
    return null;
  }
}
