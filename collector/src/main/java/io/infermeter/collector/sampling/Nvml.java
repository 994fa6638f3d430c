package io.infermeter.collector.sampling;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * JNA binding of the NVML functions the GPU sampler uses, with the C signatures of {@code nvml.h}:
 * every function returns an {@code nvmlReturn_t} (0 = success), {@code nvmlDevice_t} and {@code
 * nvmlEventSet_t} are opaque pointers, {@code unsigned int} maps to int, {@code unsigned long long}
 * to long. Structs are passed as raw memory ({@link com.sun.jna.Memory}) and read at their C
 * offsets. Functions an older driver lacks throw {@link UnsatisfiedLinkError} when called; the
 * sampler then treats the metric as not supported.
 */
public interface Nvml extends Library {

  int SUCCESS = 0;
  int ERROR_NOT_SUPPORTED = 3;
  int ERROR_NOT_FOUND = 6;
  int ERROR_INSUFFICIENT_SIZE = 7;
  int ERROR_TIMEOUT = 10;

  int TEMPERATURE_GPU = 0;
  int CLOCK_SM = 1;
  int CLOCK_MEM = 2;
  int PCIE_UTIL_TX_BYTES = 0;
  int PCIE_UTIL_RX_BYTES = 1;
  long EVENT_TYPE_XID_CRITICAL_ERROR = 0x8L;

  int nvmlInit_v2();

  int nvmlShutdown();

  String nvmlErrorString(int result);

  int nvmlDeviceGetCount_v2(IntByReference deviceCount);

  int nvmlDeviceGetHandleByIndex_v2(int index, PointerByReference device);

  int nvmlDeviceGetUUID(Pointer device, byte[] uuid, int length);

  int nvmlDeviceGetName(Pointer device, byte[] name, int length);

  /** nvmlUtilization_t: {unsigned int gpu; unsigned int memory;} percent. */
  int nvmlDeviceGetUtilizationRates(Pointer device, Pointer utilization);

  /**
   * nvmlMemory_t: {unsigned long long total; unsigned long long free; unsigned long long used;}
   * bytes.
   */
  int nvmlDeviceGetMemoryInfo(Pointer device, Pointer memory);

  /** Milliwatts. */
  int nvmlDeviceGetPowerUsage(Pointer device, IntByReference power);

  /** Millijoules since the driver was loaded (Volta and newer). */
  int nvmlDeviceGetTotalEnergyConsumption(Pointer device, LongByReference energy);

  /** Degrees C. */
  int nvmlDeviceGetTemperature(Pointer device, int sensorType, IntByReference temp);

  /** MHz. */
  int nvmlDeviceGetClockInfo(Pointer device, int clockType, IntByReference clock);

  /** Bitmask of nvmlClocksEventReason* (driver 535+). */
  int nvmlDeviceGetCurrentClocksEventReasons(Pointer device, LongByReference reasons);

  /** Older name of the same bitmask (deprecated in 535). */
  int nvmlDeviceGetCurrentClocksThrottleReasons(Pointer device, LongByReference reasons);

  /** KB/s over a 20 ms window. */
  int nvmlDeviceGetPcieThroughput(Pointer device, int counter, IntByReference value);

  /**
   * nvmlProcessInfo_t (v2/v3 layout, 24 bytes): {unsigned int pid; unsigned long long
   * usedGpuMemory; unsigned int gpuInstanceId; unsigned int computeInstanceId;}.
   */
  int nvmlDeviceGetComputeRunningProcesses_v3(
      Pointer device, IntByReference infoCount, Pointer infos);

  int nvmlDeviceGetMigMode(Pointer device, IntByReference currentMode, IntByReference pendingMode);

  int nvmlDeviceGetMaxMigDeviceCount(Pointer device, IntByReference count);

  int nvmlDeviceGetMigDeviceHandleByIndex(Pointer device, int index, PointerByReference migDevice);

  int nvmlEventSetCreate(PointerByReference set);

  int nvmlDeviceRegisterEvents(Pointer device, long eventTypes, Pointer set);

  /**
   * nvmlEventData_t (32 bytes): {nvmlDevice_t device; unsigned long long eventType; unsigned long
   * long eventData; unsigned int gpuInstanceId; unsigned int computeInstanceId;}.
   */
  int nvmlEventSetWait_v2(Pointer set, Pointer data, int timeoutMs);

  int nvmlEventSetFree(Pointer set);
}
