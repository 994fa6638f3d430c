/*
 * Stub libnvidia-ml.so for the collector's tests: the C signatures of nvml.h for the functions the GPU sampler binds,
 * returning fixed, documented values so tests can assert exactly what the JNA binding read. Built by the test build
 * (exec-maven-plugin, generate-test-resources) with gcc.
 *
 * Devices: GPU 0 "NVIDIA H100 80GB HBM3" (MIG off), GPU 1 "NVIDIA A100-SXM4-40GB" in MIG mode with two MIG instances
 * (slots 0 and 2 populated, slot 1 empty -> NVML_ERROR_NOT_FOUND). MIG instances do not support utilization, power,
 * energy, clocks, temperature, PCIe (NVML_ERROR_NOT_SUPPORTED) - as on real hardware - only memory and processes.
 * Per GPU index i: util gpu 40+i %, memory 10+i %, memory total (80-40i) GiB, used (8+i) GiB, power 250000+1000i mW,
 * energy 1234567890+i mJ, temperature 60+i C, SM clock 1800+i MHz, mem clock 2600+i MHz, clocks-event reasons
 * 0x4 for GPU 0 and 0 for GPU 1, PCIe TX 1000+i KB/s, RX 2000+i KB/s; GPU 0 runs two processes (pid 4242 with
 * 3 GiB, pid 4343 with 1 GiB). One XID 79 event is pending on GPU 0 once.
 *
 * Constant-power mode, for end-to-end energy tests: when the environment variable NVML_STUB_POWER_MW holds a
 * positive integer at nvmlInit_v2, every full GPU reads that power (mW) instead of 250000+1000i, and its energy
 * counter reads 1234567890+i mJ plus power x the time elapsed since nvmlInit_v2 (CLOCK_MONOTONIC), so counter
 * deltas between two samples equal the constant power times the time between the reads, as on a GPU drawing that
 * power. Everything else keeps the values above; utilization in particular stays at 40+i %, since the stub cannot
 * see the requests a test sends (the streams app takes device busy time from the requests, not from NVML). The
 * variable is not named INFERMETER_*, so the collector does not read it as one of its settings. Unset, empty, 0
 * or not a number: the fixed values above.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

typedef int nvmlReturn_t;
typedef struct stub_device { int index; int mig; } *nvmlDevice_t;
typedef void *nvmlEventSet_t;
typedef struct { unsigned int gpu; unsigned int memory; } nvmlUtilization_t;
typedef struct { unsigned long long total; unsigned long long free; unsigned long long used; } nvmlMemory_t;
typedef struct {
  unsigned int pid; unsigned long long usedGpuMemory; unsigned int gpuInstanceId; unsigned int computeInstanceId;
} nvmlProcessInfo_t;
typedef struct {
  nvmlDevice_t device; unsigned long long eventType; unsigned long long eventData;
  unsigned int gpuInstanceId; unsigned int computeInstanceId;
} nvmlEventData_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_TIMEOUT 10
#define GIB (1024ULL * 1024ULL * 1024ULL)

static struct stub_device gpus[2] = {{0, -1}, {1, -1}};
static struct stub_device migs[2] = {{1, 0}, {1, 2}};
static int initialized = 0;
static int xid_pending = 1;
static int event_set_token;
static unsigned long long constant_power_mw; /* 0: the fixed per-GPU values */
static struct timespec init_time;

static void read_constant_power(void) {
  const char *v = getenv("NVML_STUB_POWER_MW");
  char *end = NULL;
  unsigned long long mw = v != NULL && *v != '\0' ? strtoull(v, &end, 10) : 0;
  constant_power_mw = end != NULL && *end == '\0' && mw <= 0xFFFFFFFFULL ? mw : 0;
  clock_gettime(CLOCK_MONOTONIC, &init_time);
}

/* Energy in mJ drawn at constant_power_mw since nvmlInit_v2 (mW x s = mJ). */
static unsigned long long constant_energy_mj(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long sec = (long long) (now.tv_sec - init_time.tv_sec);
  long long nsec = (long long) (now.tv_nsec - init_time.tv_nsec);
  if (nsec < 0) { sec -= 1; nsec += 1000000000LL; }
  if (sec < 0) return 0;
  return constant_power_mw * (unsigned long long) sec
      + constant_power_mw * (unsigned long long) nsec / 1000000000ULL;
}

nvmlReturn_t nvmlInit_v2(void) {
  read_constant_power();
  initialized = 1;
  xid_pending = 1;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) { initialized = 0; return NVML_SUCCESS; }

const char *nvmlErrorString(nvmlReturn_t r) {
  switch (r) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  *count = 2;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  if (index > 1) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &gpus[index];
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int length) {
  if (d->mig >= 0) snprintf(uuid, length, "MIG-00000000-0000-0000-0000-0000000001%02d", d->mig);
  else snprintf(uuid, length, "GPU-00000000-0000-0000-0000-00000000000%d", d->index);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length) {
  if (d->mig >= 0) snprintf(name, length, "NVIDIA A100-SXM4-40GB MIG 3g.20gb");
  else snprintf(name, length, d->index == 0 ? "NVIDIA H100 80GB HBM3" : "NVIDIA A100-SXM4-40GB");
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
  if (d->mig >= 0) return NVML_ERROR_NOT_SUPPORTED;
  u->gpu = 40 + d->index;
  u->memory = 10 + d->index;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
  if (d->mig >= 0) {
    m->total = 20 * GIB;
    m->used = (2 + d->mig) * GIB;
  } else {
    m->total = (80 - 40 * d->index) * GIB;
    m->used = (8 + d->index) * GIB;
  }
  m->free = m->total - m->used;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw) {
  if (d->mig >= 0) return NVML_ERROR_NOT_SUPPORTED;
  *mw = constant_power_mw > 0 ? (unsigned int) constant_power_mw : 250000 + 1000 * d->index;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *mj) {
  if (d->mig >= 0) return NVML_ERROR_NOT_SUPPORTED;
  *mj = 1234567890ULL + d->index + (constant_power_mw > 0 ? constant_energy_mj() : 0);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *t) {
  if (d->mig >= 0 || sensor != 0) return NVML_ERROR_NOT_SUPPORTED;
  *t = 60 + d->index;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned int *clock) {
  if (d->mig >= 0) return NVML_ERROR_NOT_SUPPORTED;
  if (type == 1) { *clock = 1800 + d->index; return NVML_SUCCESS; }
  if (type == 2) { *clock = 2600 + d->index; return NVML_SUCCESS; }
  return NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long *reasons) {
  if (d->mig >= 0) return NVML_ERROR_NOT_SUPPORTED;
  *reasons = d->index == 0 ? 0x4ULL : 0ULL;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t d, unsigned long long *reasons) {
  return nvmlDeviceGetCurrentClocksEventReasons(d, reasons);
}

nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t d, int counter, unsigned int *kbs) {
  if (d->mig >= 0) return NVML_ERROR_NOT_SUPPORTED;
  *kbs = (counter == 0 ? 1000 : 2000) + d->index;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *count, nvmlProcessInfo_t *infos) {
  unsigned int n = (d->mig < 0 && d->index == 0) ? 2 : 0;
  if (*count < n || infos == NULL) {
    unsigned int have = *count;
    *count = n;
    return (n == 0 || (have >= n && infos != NULL)) ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE;
  }
  *count = n;
  for (unsigned int i = 0; i < n; i++) {
    memset(&infos[i], 0, sizeof(infos[i]));
    infos[i].pid = i == 0 ? 4242 : 4343;
    infos[i].usedGpuMemory = (i == 0 ? 3 : 1) * GIB;
    infos[i].gpuInstanceId = 0xFFFFFFFF;
    infos[i].computeInstanceId = 0xFFFFFFFF;
  }
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *current, unsigned int *pending) {
  if (d->mig >= 0) return NVML_ERROR_NOT_SUPPORTED;
  *current = d->index == 1 ? 1 : 0;
  *pending = *current;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t d, unsigned int *count) {
  *count = d->index == 1 ? 3 : 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t d, unsigned int index, nvmlDevice_t *mig) {
  if (d->index != 1) return NVML_ERROR_NOT_SUPPORTED;
  if (index == 0) { *mig = &migs[0]; return NVML_SUCCESS; }
  if (index == 2) { *mig = &migs[1]; return NVML_SUCCESS; }
  return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) { *set = &event_set_token; return NVML_SUCCESS; }

nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t d, unsigned long long types, nvmlEventSet_t set) {
  (void) d; (void) types; (void) set;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms) {
  (void) set; (void) timeoutms;
  if (!xid_pending) return NVML_ERROR_TIMEOUT;
  xid_pending = 0;
  memset(data, 0, sizeof(*data));
  data->device = &gpus[0];
  data->eventType = 0x8ULL;
  data->eventData = 79;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) { (void) set; return NVML_SUCCESS; }
