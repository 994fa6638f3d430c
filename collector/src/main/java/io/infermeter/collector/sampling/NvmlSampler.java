package io.infermeter.collector.sampling;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.ProcessMemory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GPU sampler over NVML (through JNA, loaded lazily from {@code nvml.library}). Each full GPU is a
 * device (id: its UUID); when a GPU runs in MIG mode every MIG instance NVML exposes is sampled as
 * its own device (kind MIG, id: the MIG UUID) as well. Per device: utilization (GPU and memory),
 * memory used/total, power, total energy counter, temperature, SM and memory clocks, clocks-event
 * (throttle) reasons, PCIe rx/tx, XID critical errors since start (from an NVML event set),
 * per-process memory. A value NVML does not support for a device stays null; a function the driver
 * lacks is remembered and not called again. No driver: {@link #open} logs one line and returns
 * empty. Not thread-safe (the sampler loop's thread only).
 */
public final class NvmlSampler implements Sampler {

  private static final Logger LOG = LoggerFactory.getLogger(NvmlSampler.class);

  /**
   * A device to sample; for a MIG instance, its parent GPU's UUID and its slices out of the
   * parent's (null otherwise).
   */
  private record Device(
      Pointer handle,
      String uuid,
      String name,
      DeviceKind kind,
      String parent,
      Integer slices,
      Integer slicesTotal) {}

  private final Nvml nvml;
  private final HardwareSamples factory;
  private final String gpuTypeOverride;
  private final List<Device> devices;
  private final Map<Pointer, Long> xidCounts = new HashMap<>();
  private final Pointer eventSet;
  private final Memory util = new Memory(8);
  private final Memory mem = new Memory(24);
  private final Memory event = new Memory(32);
  private final IntByReference intRef = new IntByReference();
  private final LongByReference longRef = new LongByReference();
  private boolean hasEnergy = true;
  private boolean hasEventReasons = true;
  private boolean hasThrottleReasons = true;
  private boolean hasProcesses = true;

  private NvmlSampler(Nvml nvml, HardwareSamples factory, String gpuTypeOverride) {
    this.nvml = nvml;
    this.factory = factory;
    this.gpuTypeOverride = gpuTypeOverride;
    this.devices = enumerate();
    this.eventSet = openEventSet();
  }

  /**
   * Loads NVML from {@code library} (a name such as {@code nvidia-ml} or a path) and initializes
   * it; empty, with one log line, when there is no driver.
   */
  public static Optional<NvmlSampler> open(
      String library, HardwareSamples factory, String gpuTypeOverride) {
    Nvml nvml;
    try {
      nvml = Native.load(library, Nvml.class);
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      LOG.info(
          "GPU sampler disabled: NVML library '{}' not loadable ({})",
          library,
          firstLine(e.getMessage()));
      return Optional.empty();
    }
    int rc;
    try {
      rc = nvml.nvmlInit_v2();
    } catch (UnsatisfiedLinkError e) {
      LOG.info("GPU sampler disabled: '{}' has no nvmlInit_v2", library);
      return Optional.empty();
    }
    if (rc != Nvml.SUCCESS) {
      LOG.info("GPU sampler disabled: nvmlInit_v2 failed: {}", error(nvml, rc));
      return Optional.empty();
    }
    NvmlSampler s = new NvmlSampler(nvml, factory, gpuTypeOverride);
    LOG.info(
        "GPU sampler enabled: {} devices ({})",
        s.devices.size(),
        s.devices.stream().map(d -> d.kind() + " " + d.uuid()).toList());
    return Optional.of(s);
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  static String error(Nvml nvml, int rc) {
    try {
      return rc + " " + nvml.nvmlErrorString(rc);
    } catch (UnsatisfiedLinkError e) {
      return String.valueOf(rc);
    }
  }

  @Override
  public String name() {
    return "nvml";
  }

  /** Device ids found at start, in sampling order (for tests and logs). */
  public List<String> deviceIds() {
    return devices.stream().map(Device::uuid).toList();
  }

  private List<Device> enumerate() {
    List<Device> out = new ArrayList<>();
    IntByReference count = new IntByReference();
    int rc = nvml.nvmlDeviceGetCount_v2(count);
    if (rc != Nvml.SUCCESS) {
      LOG.warn("nvmlDeviceGetCount_v2 failed: {}", error(nvml, rc));
      return out;
    }
    for (int i = 0; i < count.getValue(); i++) {
      PointerByReference ref = new PointerByReference();
      rc = nvml.nvmlDeviceGetHandleByIndex_v2(i, ref);
      if (rc != Nvml.SUCCESS) {
        LOG.warn("nvmlDeviceGetHandleByIndex_v2({}) failed: {}", i, error(nvml, rc));
        continue;
      }
      Pointer h = ref.getValue();
      Device gpu = new Device(h, uuid(h, "gpu-" + i), name(h), DeviceKind.GPU, null, null, null);
      out.add(gpu);
      out.addAll(migDevices(gpu, i));
    }
    return out;
  }

  private List<Device> migDevices(Device parent, int gpuIndex) {
    Pointer gpu = parent.handle();
    List<Device> out = new ArrayList<>();
    try {
      IntByReference current = new IntByReference();
      IntByReference pending = new IntByReference();
      if (nvml.nvmlDeviceGetMigMode(gpu, current, pending) != Nvml.SUCCESS
          || current.getValue() != 1) {
        return out;
      }
      IntByReference max = new IntByReference();
      if (nvml.nvmlDeviceGetMaxMigDeviceCount(gpu, max) != Nvml.SUCCESS) {
        return out;
      }
      for (int j = 0; j < max.getValue(); j++) {
        PointerByReference ref = new PointerByReference();
        if (nvml.nvmlDeviceGetMigDeviceHandleByIndex(gpu, j, ref) == Nvml.SUCCESS) {
          Pointer h = ref.getValue();
          String name = name(h);
          out.add(
              new Device(
                  h,
                  uuid(h, "gpu-" + gpuIndex + "-mig-" + j),
                  name,
                  DeviceKind.MIG,
                  parent.uuid(),
                  HardwareSamples.migSlices(name),
                  HardwareSamples.migSlicesTotal(parent.name())));
        }
      }
    } catch (UnsatisfiedLinkError e) {
      LOG.debug("driver has no MIG functions");
    }
    return out;
  }

  private String uuid(Pointer h, String fallback) {
    byte[] buf = new byte[96];
    return nvml.nvmlDeviceGetUUID(h, buf, buf.length) == Nvml.SUCCESS ? cString(buf) : fallback;
  }

  private String name(Pointer h) {
    byte[] buf = new byte[96];
    return nvml.nvmlDeviceGetName(h, buf, buf.length) == Nvml.SUCCESS ? cString(buf) : null;
  }

  private static String cString(byte[] buf) {
    int n = 0;
    while (n < buf.length && buf[n] != 0) {
      n++;
    }
    return new String(buf, 0, n, StandardCharsets.UTF_8);
  }

  private Pointer openEventSet() {
    try {
      PointerByReference ref = new PointerByReference();
      if (nvml.nvmlEventSetCreate(ref) != Nvml.SUCCESS) {
        return null;
      }
      Pointer set = ref.getValue();
      for (Device d : devices) {
        if (d.kind() == DeviceKind.GPU) {
          int rc =
              nvml.nvmlDeviceRegisterEvents(d.handle(), Nvml.EVENT_TYPE_XID_CRITICAL_ERROR, set);
          if (rc == Nvml.SUCCESS) {
            xidCounts.put(d.handle(), 0L);
          }
        }
      }
      return set;
    } catch (UnsatisfiedLinkError e) {
      return null;
    }
  }

  /** Counts the XID events waiting in the event set (non-blocking). */
  private void pollXids() {
    if (eventSet == null) {
      return;
    }
    for (int guard = 0; guard < 1000; guard++) {
      int rc = nvml.nvmlEventSetWait_v2(eventSet, event, 0);
      if (rc != Nvml.SUCCESS) {
        return; // ERROR_TIMEOUT: no more events
      }
      Pointer device = event.getPointer(0);
      long type = event.getLong(8);
      if ((type & Nvml.EVENT_TYPE_XID_CRITICAL_ERROR) != 0) {
        LOG.warn("NVML XID critical error {} on a GPU", event.getLong(16));
        xidCounts.merge(device, 1L, Long::sum);
      }
    }
  }

  @Override
  public List<HardwareSample> sample(long timestampUs) {
    pollXids();
    List<HardwareSample> out = new ArrayList<>(devices.size());
    for (Device d : devices) {
      out.add(sampleDevice(d, timestampUs));
    }
    return out;
  }

  private HardwareSample sampleDevice(Device d, long ts) {
    HardwareSample s = factory.newSample(d.uuid(), d.kind(), "nvml", ts);
    s.setGpuType(gpuTypeOverride != null ? gpuTypeOverride : d.name());
    s.setParentDeviceId(d.parent());
    s.setMigSlices(d.slices());
    s.setMigSlicesTotal(d.slicesTotal());
    Pointer h = d.handle();
    if (nvml.nvmlDeviceGetUtilizationRates(h, util) == Nvml.SUCCESS) {
      s.setUtilizationPct((double) util.getInt(0));
      s.setMemoryUtilizationPct((double) util.getInt(4));
    }
    if (nvml.nvmlDeviceGetMemoryInfo(h, mem) == Nvml.SUCCESS) {
      s.setMemoryTotalBytes(mem.getLong(0));
      s.setMemoryUsedBytes(mem.getLong(16));
    }
    if (nvml.nvmlDeviceGetPowerUsage(h, intRef) == Nvml.SUCCESS) {
      s.setPowerW(Integer.toUnsignedLong(intRef.getValue()) / 1000.0);
    }
    if (hasEnergy) {
      try {
        if (nvml.nvmlDeviceGetTotalEnergyConsumption(h, longRef) == Nvml.SUCCESS) {
          s.setEnergyMj(longRef.getValue());
        }
      } catch (UnsatisfiedLinkError e) {
        hasEnergy = false;
      }
    }
    if (nvml.nvmlDeviceGetTemperature(h, Nvml.TEMPERATURE_GPU, intRef) == Nvml.SUCCESS) {
      s.setTemperatureC((double) intRef.getValue());
    }
    if (nvml.nvmlDeviceGetClockInfo(h, Nvml.CLOCK_SM, intRef) == Nvml.SUCCESS) {
      s.setSmClockMhz(intRef.getValue());
    }
    if (nvml.nvmlDeviceGetClockInfo(h, Nvml.CLOCK_MEM, intRef) == Nvml.SUCCESS) {
      s.setMemClockMhz(intRef.getValue());
    }
    s.setThrottleReasons(throttleReasons(h));
    if (nvml.nvmlDeviceGetPcieThroughput(h, Nvml.PCIE_UTIL_RX_BYTES, intRef) == Nvml.SUCCESS) {
      s.setPcieRxBytesPerSec(Integer.toUnsignedLong(intRef.getValue()) * 1024L);
    }
    if (nvml.nvmlDeviceGetPcieThroughput(h, Nvml.PCIE_UTIL_TX_BYTES, intRef) == Nvml.SUCCESS) {
      s.setPcieTxBytesPerSec(Integer.toUnsignedLong(intRef.getValue()) * 1024L);
    }
    Long xids = xidCounts.get(h);
    if (xids != null) {
      s.setXidErrors(xids);
    }
    if (hasProcesses) {
      try {
        s.setProcesses(processes(h));
      } catch (UnsatisfiedLinkError e) {
        hasProcesses = false;
      }
    }
    return s;
  }

  private Long throttleReasons(Pointer h) {
    if (hasEventReasons) {
      try {
        return nvml.nvmlDeviceGetCurrentClocksEventReasons(h, longRef) == Nvml.SUCCESS
            ? longRef.getValue()
            : null;
      } catch (UnsatisfiedLinkError e) {
        hasEventReasons = false; // driver older than 535: fall back to the deprecated name
      }
    }
    if (hasThrottleReasons) {
      try {
        return nvml.nvmlDeviceGetCurrentClocksThrottleReasons(h, longRef) == Nvml.SUCCESS
            ? longRef.getValue()
            : null;
      } catch (UnsatisfiedLinkError e) {
        hasThrottleReasons = false;
      }
    }
    return null;
  }

  private List<ProcessMemory> processes(Pointer h) {
    IntByReference count = new IntByReference(0);
    int rc = nvml.nvmlDeviceGetComputeRunningProcesses_v3(h, count, null);
    List<ProcessMemory> out = new ArrayList<>();
    if (rc == Nvml.SUCCESS || count.getValue() == 0) {
      return out;
    }
    if (rc != Nvml.ERROR_INSUFFICIENT_SIZE) {
      return out;
    }
    int n = count.getValue() + 4; // processes may start between the two calls
    Memory infos = new Memory(24L * n);
    count.setValue(n);
    if (nvml.nvmlDeviceGetComputeRunningProcesses_v3(h, count, infos) != Nvml.SUCCESS) {
      return out;
    }
    for (int i = 0; i < count.getValue(); i++) {
      int pid = infos.getInt(24L * i);
      long used = infos.getLong(24L * i + 8);
      if (used == -1L) {
        continue; // NVML_VALUE_NOT_AVAILABLE (e.g. inside containers): absent, never reported as
        // zero
      }
      ProcessMemory pm = new ProcessMemory();
      pm.setPid(pid);
      pm.setName(processName(pid));
      pm.setUsedBytes(used);
      out.add(pm);
    }
    return out;
  }

  private static String processName(int pid) {
    try {
      return Files.readString(Path.of("/proc", Integer.toString(pid), "comm")).trim();
    } catch (Exception e) {
      return null;
    }
  }

  @Override
  public void close() {
    try {
      if (eventSet != null) {
        nvml.nvmlEventSetFree(eventSet);
      }
      nvml.nvmlShutdown();
    } catch (UnsatisfiedLinkError e) {
      LOG.debug("nvmlShutdown missing");
    }
  }
}
