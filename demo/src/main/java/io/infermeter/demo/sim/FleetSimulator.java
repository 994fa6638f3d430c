package io.infermeter.demo.sim;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * A deterministic (seeded) simulator of an inference fleet in event time. Requests arrive as a
 * Poisson process per host; queue time is exponential with a heavy (Pareto) tail, prefill scales
 * with prompt length, decode with output tokens and batch size, each with lognormal noise; about 1
 * % of requests fail, 0.3 % time out, and the first request of a model on a host is a cold start. A
 * host with {@link FleetSpec.Bursts bursts} gets no request during its OFF periods (drawn from
 * their own seeded stream per host), so its GPUs idle once the requests in flight finish. GPUs
 * report power, a monotonic energy counter, utilization, memory and temperature that follow the
 * load: utilization is the requests in flight on the GPU (their prefill and decode) averaged over
 * the sample period, so a GPU with nothing in flight reports 0 % and its idle power (12 % of TDP).
 * Each GPU runs one vLLM instance in its own pod (dcgm-exporter's pod label on the GPU's samples,
 * the same pod on the engine's samples), whose state follows the load too: KV-cache usage, requests
 * running and waiting, preemptions. Scripted {@link Incident}s distort this on purpose. Every event
 * carries {@code source=simulated}.
 *
 * <p>Requests are returned when they complete (that is when a real collector publishes them),
 * ordered by completion time. Not thread-safe: drive it from one thread.
 */
public final class FleetSimulator {

  /** Source label of everything simulated. */
  public static final String SOURCE = "simulated";

  /** Concurrent sequences (continuous batching) at which a GPU counts as fully busy. */
  private static final double CONCURRENCY_AT_FULL_UTIL = 48.0;

  private final FleetSpec spec;
  private final List<Incident> incidents;
  private final SplittableRandom random;
  private final Map<String, Long> nextArrivalUs = new HashMap<>();
  private final Map<String, OnOff> schedules = new HashMap<>();
  private final Set<String> warmModels = new HashSet<>();
  private final PriorityQueue<RequestEvent> inFlight =
      new PriorityQueue<>(Comparator.comparingLong(RequestEvent::getCompletedUs));
  private final Map<String, DeviceState> devices = new HashMap<>();

  /** Per-GPU running state of the hardware model. */
  private static final class DeviceState {
    double energyMj;

    /** [start, end) us of the requests' device time (prefill and decode) not yet sampled past. */
    final List<long[]> busy = new ArrayList<>();

    long leakedBytes;

    /** GPU utilization (0-1) of the last hardware sample, which the engine state follows. */
    double util;

    long waiting;
    long preemptions;
  }

  public FleetSimulator(FleetSpec spec, List<Incident> incidents, long seed, long startUs) {
    this.spec = spec;
    this.incidents = new ArrayList<>(incidents);
    this.random = new SplittableRandom(seed);
    int index = 0;
    for (FleetSpec.Host host : spec.hosts()) {
      // the on/off periods have their own stream per host: they thin the host's arrivals without
      // shifting any other draw
      schedules.put(
          host.name(),
          new OnOff(
              host.bursts(),
              new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * ++index)),
              startUs));
      nextArrivalUs.put(host.name(), startUs + exponentialUs(host.qps()));
      for (int i = 0; i < host.gpus(); i++) {
        DeviceState state = new DeviceState();
        state.energyMj =
            1_000_000_000d * (1 + random.nextDouble()); // counters start at an arbitrary value
        devices.put(deviceId(host, i), state);
      }
    }
  }

  /** Adds an incident scripted later (e.g. once the live phase's start time is known). */
  public void addIncident(Incident incident) {
    incidents.add(incident);
  }

  /** The GPU id of GPU {@code index} of {@code host} (UUID-shaped, stable). */
  public static String deviceId(FleetSpec.Host host, int index) {
    return "GPU-"
        + UUID.nameUUIDFromBytes(
            (host.name() + "/" + index).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** The pod of GPU {@code index} of {@code host}: one vLLM pod per GPU. */
  public static String pod(FleetSpec.Host host, int index) {
    return "vllm-" + host.name() + "-" + index;
  }

  /** The vLLM instance (scrape target host:port) of GPU {@code index} of {@code host}. */
  public static String instance(FleetSpec.Host host, int index) {
    return host.name() + ":" + (8000 + index);
  }

  /**
   * One vLLM engine sample per GPU of every (non-silent) host at {@code tUs}, as the collector's
   * scrape of each instance maps it: KV-cache usage follows the GPU's load (15-70 %), a few
   * requests wait, no preemptions; during a {@link Incident.Kind#KV_SATURATION} the cache runs full
   * (97-99.5 %), the engine preempts and the queue grows by the incident's magnitude per second,
   * then drains. Call after {@link #samplesAt} of the same time.
   */
  public List<EngineSample> engineSamplesAt(long tUs, long periodUs) {
    List<EngineSample> out = new ArrayList<>();
    for (FleetSpec.Host host : spec.hosts()) {
      for (int i = 0; i < host.gpus(); i++) {
        String id = deviceId(host, i);
        DeviceState state = devices.get(id);
        Incident full = active(Incident.Kind.KV_SATURATION, id, tUs);
        double kv;
        if (full != null) {
          kv = 0.97 + 0.025 * random.nextDouble();
          state.waiting += Math.round(full.magnitude() * periodUs / 1e6);
          state.preemptions += 3 + random.nextInt(8);
        } else {
          kv = 0.15 + 0.55 * state.util + 0.02 * random.nextDouble();
          long calm = random.nextInt(3);
          state.waiting = Math.max(calm, state.waiting / 2); // a queue left by an incident drains
        }
        if (silent(host.name(), tUs)) {
          continue;
        }
        String modelName = host.models().get(i % host.models().size());
        out.add(
            EngineSample.newBuilder()
                .setCluster(host.cluster())
                .setRegion(host.region())
                .setHost(host.name())
                .setInstance(instance(host, i))
                .setPod(pod(host, i))
                .setEngine("vllm")
                .setModel(modelName)
                .setSource(SOURCE)
                .setTimestampUs(tUs)
                .setKvCacheUsage(Math.round(kv * 1000) / 1000.0)
                .setRequestsRunning(Math.round(state.util * CONCURRENCY_AT_FULL_UTIL))
                .setRequestsWaiting(state.waiting)
                .setPreemptionsTotal(state.preemptions)
                .build());
      }
    }
    return out;
  }

  /**
   * Requests that arrive before {@code untilUs} are generated; those completed before it are
   * returned, in order.
   */
  public List<RequestEvent> requestsCompletedBefore(long untilUs) {
    for (FleetSpec.Host host : spec.hosts()) {
      long t = nextArrivalUs.get(host.name());
      OnOff schedule = schedules.get(host.name());
      while (t < untilUs) {
        if (schedule.onAt(t) && !silent(host.name(), t)) {
          inFlight.add(request(host, t));
        }
        t += exponentialUs(host.qps());
      }
      nextArrivalUs.put(host.name(), t);
    }
    List<RequestEvent> done = new ArrayList<>();
    while (!inFlight.isEmpty() && inFlight.peek().getCompletedUs() < untilUs) {
      RequestEvent e = inFlight.poll();
      if (!silent(
          e.getHost(),
          e.getCompletedUs())) { // a host that went dark reports nothing, finished or not
        done.add(e);
      }
    }
    return done;
  }

  /**
   * One hardware sample per GPU of every (non-silent) host at {@code tUs}, covering the last {@code
   * periodUs}.
   */
  public List<HardwareSample> samplesAt(long tUs, long periodUs) {
    List<HardwareSample> out = new ArrayList<>();
    for (FleetSpec.Host host : spec.hosts()) {
      for (int i = 0; i < host.gpus(); i++) {
        String id = deviceId(host, i);
        DeviceState state = devices.get(id);
        double util =
            Math.min(
                1.0,
                inFlightUs(state, tUs - periodUs, tUs)
                    / (double) periodUs
                    / CONCURRENCY_AT_FULL_UTIL);
        state.util = util;
        double idleW = host.tdpWatts() * 0.12;
        double powerW =
            idleW
                + (host.tdpWatts() * 0.85 - idleW) * util
                + random.nextGaussian() * host.tdpWatts() * 0.01;
        boolean throttled = active(Incident.Kind.THERMAL_THROTTLE, id, tUs) != null;
        if (throttled) {
          powerW = Math.min(powerW, host.tdpWatts() * 0.6);
        }
        state.energyMj += Math.max(0, powerW) * periodUs / 1000.0;
        Incident leak = active(Incident.Kind.MEMORY_LEAK, id, tUs);
        if (leak != null) {
          state.leakedBytes += (long) (leak.magnitude() * periodUs / 1e6);
        } else {
          state.leakedBytes = 0; // the leaking process was restarted
        }
        String modelName = host.models().get(i % host.models().size());
        long weights = spec.model(modelName).weightsBytes();
        long kvCache =
            (long)
                ((host.memoryBytes() - weights) * (0.45 + 0.05 * util)); // the KV pool barely moves
        long used = Math.min(host.memoryBytes(), weights + kvCache + state.leakedBytes);
        if (silent(host.name(), tUs)) {
          continue;
        }
        out.add(
            HardwareSample.newBuilder()
                .setCluster(host.cluster())
                .setRegion(host.region())
                .setHost(host.name())
                .setDeviceId(id)
                .setDeviceKind(DeviceKind.GPU)
                .setGpuType(host.gpuType())
                .setSource(SOURCE)
                .setTimestampUs(tUs)
                .setUtilizationPct(round1(util * 100))
                .setMemoryUtilizationPct(round1(util * 55))
                .setMemoryUsedBytes(used)
                .setMemoryTotalBytes(host.memoryBytes())
                .setPowerW(round1(Math.max(0, powerW)))
                .setEnergyMj((long) state.energyMj)
                .setTemperatureC(round1(throttled ? 91 + random.nextDouble() * 2 : 38 + 35 * util))
                .setSmClockMhz(throttled ? 1095 : 1755)
                .setMemClockMhz(2619)
                .setThrottleReasons(throttled ? 0x20L | 0x40L : 0L)
                .setPcieRxBytesPerSec((long) (util * 2.0e9))
                .setPcieTxBytesPerSec((long) (util * 0.5e9))
                .setXidErrors(0L)
                .setPod(pod(host, i))
                .build());
      }
    }
    return out;
  }

  private RequestEvent request(FleetSpec.Host host, long arrivalUs) {
    int gpu = random.nextInt(host.gpus());
    String modelName = host.models().get(gpu % host.models().size());
    FleetSpec.Model model = spec.model(modelName);
    boolean cold = warmModels.add(host.name() + "/" + modelName + "/" + gpu);

    int inputTokens = Math.max(1, (int) lognormal(model.medianInputTokens(), 0.5));
    int outputTokens = Math.max(1, (int) lognormal(model.medianOutputTokens(), 0.45));
    int batch =
        1
            + (int)
                Math.min(
                    model.maxBatchSize() - 1,
                    Math.abs(random.nextGaussian()) * model.maxBatchSize() / 3);

    long queueUs = exponentialUs(1.0 / 0.015); // mean 15 ms
    if (random.nextDouble() < 0.02) {
      queueUs +=
          (long) (200_000 * Math.pow(random.nextDouble(), -1.0 / 1.5)); // Pareto tail, alpha 1.5
    }
    if (cold) {
      queueUs += 2_000_000 + random.nextInt(6_000_000); // model load
    }
    double slow = 1.0;
    Incident regression = active(Incident.Kind.LATENCY_REGRESSION, modelName, arrivalUs);
    if (regression != null) {
      slow = regression.magnitude();
    }
    long prefillUs = (long) (lognormal(model.prefillUsPerInputToken() * inputTokens, 0.25) * slow);
    double tpotUs = lognormal(model.tpotUs() * (1 + 0.02 * batch), 0.2) * slow;
    long decodeUs = (long) (tpotUs * Math.max(0, outputTokens - 1));

    RequestStatus status = RequestStatus.OK;
    String errorType = null;
    double u = random.nextDouble();
    if (u < 0.01) {
      status = RequestStatus.ERROR;
      errorType = random.nextBoolean() ? "InternalServerError" : "CUDA_OOM";
      outputTokens = 0;
      decodeUs = 0;
    } else if (u < 0.013) {
      status = RequestStatus.TIMEOUT;
      errorType = "Timeout";
      decodeUs = Math.max(decodeUs, 30_000_000);
    }
    long scheduled = arrivalUs + queueUs;
    long firstToken = scheduled + prefillUs;
    long completed = firstToken + decodeUs;
    devices.get(deviceId(host, gpu)).busy.add(new long[] {scheduled, completed});

    return RequestEvent.newBuilder()
        .setEventId(new UUID(random.nextLong(), random.nextLong()).toString())
        .setRequestId("cmpl-" + Long.toHexString(random.nextLong()))
        .setSource(SOURCE)
        .setCluster(host.cluster())
        .setRegion(host.region())
        .setHost(host.name())
        .setDeviceId(deviceId(host, gpu))
        .setGpuType(host.gpuType())
        .setModel(modelName)
        .setModelVersion(model.version())
        .setEngine("vllm")
        .setOperation("chat")
        .setStatus(status)
        .setErrorType(errorType)
        .setArrivalUs(arrivalUs)
        .setScheduledUs(scheduled)
        .setFirstTokenUs(status == RequestStatus.ERROR ? null : firstToken)
        .setCompletedUs(completed)
        .setInputTokens(inputTokens)
        .setOutputTokens(outputTokens)
        .setCachedTokens(random.nextDouble() < 0.3 ? inputTokens / 2 : 0)
        .setBatchSize(batch)
        .setMaxBatchSize(model.maxBatchSize())
        .setColdStart(cold)
        .setSloClass(modelName.contains("70b") ? "default" : "interactive")
        .build();
  }

  /**
   * The requests' device time on {@code state}'s GPU within [fromUs, toUs), summed over requests
   * (concurrent ones add up); forgets the requests that end by {@code toUs}.
   */
  private static long inFlightUs(DeviceState state, long fromUs, long toUs) {
    long sum = 0;
    for (Iterator<long[]> it = state.busy.iterator(); it.hasNext(); ) {
      long[] b = it.next();
      sum += Math.max(0, Math.min(b[1], toUs) - Math.max(b[0], fromUs));
      if (b[1] <= toUs) {
        it.remove();
      }
    }
    return sum;
  }

  /**
   * A host's on/off periods ({@link FleetSpec.Bursts}), drawn as time goes on: ON first, then
   * exponential OFF and ON lengths. Asked in non-decreasing time.
   */
  private static final class OnOff {
    private final FleetSpec.Bursts bursts;
    private final SplittableRandom random;
    private long offFromUs;
    private long offToUs;

    OnOff(FleetSpec.Bursts bursts, SplittableRandom random, long startUs) {
      this.bursts = bursts;
      this.random = random;
      if (bursts.bursty()) {
        offFromUs = startUs + lengthUs(bursts.meanOnSeconds());
        offToUs = offFromUs + lengthUs(bursts.meanOffSeconds());
      }
    }

    /** Whether the host has traffic at {@code tUs}. */
    boolean onAt(long tUs) {
      if (!bursts.bursty()) {
        return true;
      }
      while (tUs >= offToUs) {
        offFromUs = offToUs + lengthUs(bursts.meanOnSeconds());
        offToUs = offFromUs + lengthUs(bursts.meanOffSeconds());
      }
      return tUs < offFromUs;
    }

    private long lengthUs(double meanSeconds) {
      return (long) (-Math.log(1 - random.nextDouble()) * meanSeconds * 1e6);
    }
  }

  private boolean silent(String host, long tUs) {
    return active(Incident.Kind.SILENT_HOST, host, tUs) != null;
  }

  private Incident active(Incident.Kind kind, String target, long tUs) {
    for (Incident incident : incidents) {
      if (incident.kind() == kind && incident.target().equals(target) && incident.activeAt(tUs)) {
        return incident;
      }
    }
    return null;
  }

  private long exponentialUs(double ratePerSecond) {
    return (long) (-Math.log(1 - random.nextDouble()) / ratePerSecond * 1e6);
  }

  private double lognormal(double median, double sigma) {
    return median * Math.exp(sigma * random.nextGaussian());
  }

  private static double round1(double v) {
    return Math.round(v * 10) / 10.0;
  }
}
