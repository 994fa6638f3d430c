package io.infermeter.streams;

import static io.infermeter.streams.TopologyFixture.T0_MS;
import static io.infermeter.streams.TopologyFixture.engineSample;
import static io.infermeter.streams.TopologyFixture.request;
import static io.infermeter.streams.TopologyFixture.sample;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.avro.Bottleneck;
import io.infermeter.avro.BottleneckLabel;
import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.ModelAttribution;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Serving-engine state through the production topology: the memory-pressure alert ({@code
 * gpu_memory_high}) judged on KV-cache usage where the engine reports it, the KV_CACHE_BOUND and
 * QUEUE_GROWING bottlenecks, dead letters for invalid engine samples, and energy attributed per pod
 * with dcgm-exporter's pod labels.
 */
class EngineStateTopologyTest {

  private static final long MEM_TOTAL = 80_000L;

  /**
   * One GPU sample per second of {@code host}/{@code device} from fromS to toS: VRAM at {@code
   * memPct}.
   */
  private static void gpu(
      TopologyFixture f,
      String host,
      String device,
      String pod,
      int fromS,
      int toS,
      double memPct,
      double utilPct) {
    for (int i = fromS; i <= toS; i++) {
      f.send(
          sample(host, device, T0_MS + i * 1000L)
              .setPowerW(300.0)
              .setEnergyMj(1_000_000_000L + i * 300_000L)
              .setUtilizationPct(utilPct)
              .setMemoryUsedBytes((long) (memPct / 100 * MEM_TOTAL))
              .setMemoryTotalBytes(MEM_TOTAL)
              .setThrottleReasons(0L)
              .setPod(pod)
              .build());
    }
  }

  private static List<Alert> memoryAlerts(TopologyFixture f, String host) {
    return f.alerts.readValuesToList().stream()
        .filter(a -> a.getRule().equals("gpu_memory_high") && a.getHost().equals(host))
        .toList();
  }

  @Test
  void vllmPreAllocationAt90PercentVramWithLowKvUsageDoesNotFire() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // h1: vLLM holds 90 % of the GPU from start (--gpu-memory-utilization 0.9); its KV cache is
      // 20 % used. Scraped
      // every 20 s, so every other 10 s window has no engine sample of its own: the last one still
      // stands for it.
      for (int s = 0; s <= 50; s++) {
        gpu(f, "h1", "g1", null, s, s, 90, 60);
        gpu(
            f, "h2", "g1", null, s, s, 90,
            60); // h2: the same GPU state, no engine reporting: VRAM is judged
        if (s % 20 == 5) {
          f.send(
              engineSample("h1", "10.0.0.1:8000", T0_MS + s * 1000L)
                  .setModel("llama")
                  .setKvCacheUsage(0.2)
                  .setRequestsRunning(12L)
                  .setRequestsWaiting(0L)
                  .setPreemptionsTotal(0L)
                  .build());
        }
      }
      List<Alert> alerts = f.alerts.readValuesToList();
      assertThat(alerts)
          .filteredOn(a -> a.getRule().equals("gpu_memory_high") && a.getHost().equals("h1"))
          .isEmpty();
      // the control host fires on VRAM as before
      assertThat(alerts)
          .filteredOn(a -> a.getRule().equals("gpu_memory_high") && a.getHost().equals("h2"))
          .extracting(Alert::getState)
          .containsExactly(AlertState.FIRING);
      assertThat(f.counters.deadLetterTotal()).isZero();
    }
  }

  @Test
  void kvCacheSaturationFiresOnceAndResolvesOnce() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // windows 0-1: KV 30 %; windows 2-3: KV 98 % with preemptions; windows 4-8: KV 40 %; VRAM 90
      // % throughout. Resolves after 3 clear windows (4, 5, 6).
      double[] kv = {0.3, 0.3, 0.98, 0.985, 0.4, 0.4, 0.4, 0.4, 0.4};
      long[] preemptions = {0, 0, 7, 19, 19, 19, 19, 19, 19};
      for (int s = 0; s < 90; s++) {
        gpu(f, "h1", "g1", "vllm-llama-0", s, s, 90, 95);
        if (s % 10 == 5) {
          int w = s / 10;
          f.send(
              engineSample("h1", "10.0.0.1:8000", T0_MS + s * 1000L)
                  .setPod("vllm-llama-0")
                  .setModel("llama")
                  .setKvCacheUsage(kv[w])
                  .setRequestsRunning(48L)
                  .setRequestsWaiting(w >= 2 && w <= 3 ? 30L : 0L)
                  .setPreemptionsTotal(preemptions[w])
                  .build());
        }
      }
      List<Alert> mem = memoryAlerts(f, "h1");
      assertThat(mem)
          .extracting(Alert::getState)
          .containsExactly(AlertState.FIRING, AlertState.RESOLVED);
      Alert firing = mem.get(0);
      assertThat(firing.getWindowStartUs()).isEqualTo((T0_MS + 20_000) * 1000);
      assertThat(mem.get(1).getWindowStartUs()).isEqualTo((T0_MS + 60_000) * 1000);
      assertThat(firing.getDedupKey()).isEqualTo(mem.get(1).getDedupKey());
      assertThat(firing.getDeviceId()).isEqualTo("g1");
      assertThat(firing.getObserved()).isCloseTo(98.0, within(1e-9));
      assertThat(firing.getThreshold()).isEqualTo(95.0);
      assertThat(firing.getEvidence())
          .containsEntry("basis", "kv_cache")
          .containsEntry("preemptions", "7")
          .containsEntry("engineInstance", "10.0.0.1:8000")
          .containsKey("memoryUsedBytes");

      Map<Long, Bottleneck> b =
          f.bottlenecks.readValuesToList().stream()
              .collect(
                  Collectors.toMap(
                      x -> (x.getWindowStartUs() / 1000 - T0_MS) / 10_000,
                      Function.identity(),
                      (x, y) -> y));
      assertThat(b.get(0L).getLabel()).isEqualTo(BottleneckLabel.COMPUTE_BOUND);
      assertThat(b.get(2L).getLabel()).isEqualTo(BottleneckLabel.KV_CACHE_BOUND);
      assertThat(b.get(2L).getInputs())
          .containsEntry("kvCacheUsageMaxPct", 98.0)
          .containsEntry("preemptions", 7.0);
      assertThat(b.get(3L).getLabel())
          .isEqualTo(BottleneckLabel.KV_CACHE_BOUND); // 12 more preemptions
      assertThat(b.get(4L).getLabel()).isEqualTo(BottleneckLabel.COMPUTE_BOUND);
    }
  }

  @Test
  void anEngineWithoutKvUsageLeavesTheGpuJudgedOnDeviceMemory() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      // TGI and Triton report no KV-cache usage: their GPU's memory is judged as before
      for (int s = 0; s <= 30; s++) {
        gpu(f, "h1", "g1", "tgi-0", s, s, 90, 60);
        if (s % 10 == 5) {
          f.send(
              engineSample("h1", "10.0.0.2:80", T0_MS + s * 1000L)
                  .setEngine("tgi")
                  .setPod("tgi-0")
                  .setRequestsRunning(4L)
                  .setRequestsWaiting(0L)
                  .build());
        }
      }
      assertThat(memoryAlerts(f, "h1"))
          .extracting(Alert::getState)
          .containsExactly(AlertState.FIRING);
    }
  }

  @Test
  void aGrowingQueueIsClassifiedQueueGrowing() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      long[] waiting = {2, 2, 14, 30, 30, 30, 30};
      for (int s = 0; s < 70; s++) {
        gpu(f, "h1", "g1", null, s, s, 90, 70); // GPU not saturated, KV cache not full
        if (s % 10 == 5) {
          f.send(
              engineSample("h1", "10.0.0.1:8000", T0_MS + s * 1000L)
                  .setKvCacheUsage(0.6)
                  .setRequestsRunning(8L)
                  .setRequestsWaiting(waiting[s / 10])
                  .setPreemptionsTotal(0L)
                  .build());
        }
      }
      Map<Long, Bottleneck> b =
          f.bottlenecks.readValuesToList().stream()
              .collect(
                  Collectors.toMap(
                      x -> (x.getWindowStartUs() / 1000 - T0_MS) / 10_000,
                      Function.identity(),
                      (x, y) -> y));
      assertThat(b.get(1L).getLabel()).isEqualTo(BottleneckLabel.BALANCED);
      assertThat(b.get(2L).getLabel()).isEqualTo(BottleneckLabel.QUEUE_GROWING);
      assertThat(b.get(2L).getInputs())
          .containsEntry("requestsWaitingStart", 2.0)
          .containsEntry("requestsWaitingEnd", 14.0);
      assertThat(b.get(2L).getReason()).contains("from 2 to 14");
      assertThat(b.get(3L).getLabel()).isEqualTo(BottleneckLabel.QUEUE_GROWING);
      assertThat(b.get(4L).getLabel())
          .isEqualTo(BottleneckLabel.BALANCED); // a long queue, but no longer growing
    }
  }

  @Test
  void invalidEngineSamplesAreDeadLetteredWithTheReason() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      f.send(engineSample("h1", "10.0.0.1:8000", T0_MS).setKvCacheUsage(1.5).build());
      f.send(engineSample("h1", "", T0_MS).build());
      f.send(engineSample("h1", "10.0.0.1:8000", T0_MS).setRequestsWaiting(-3L).build());
      f.send(engineSample("h1", "x".repeat(300), T0_MS).build());
      f.engine.pipeInput("h1", null, T0_MS);
      List<DeadLetter> dead = f.deadLetters.readValuesToList();
      assertThat(dead)
          .extracting(DeadLetter::getReason)
          .containsExactly(
              "validation", "validation", "validation", "dimension-too-long", "validation");
      assertThat(dead.get(0).getMessage()).contains("kvCacheUsage");
      assertThat(dead.get(1).getMessage()).contains("instance is empty");
      assertThat(dead.get(3).getMessage()).contains("instance is 300 bytes");
      assertThat(dead.get(0).getSourceTopic()).isEqualTo("infermeter-engine-state");
    }
  }

  // ---- per-pod GPU attribution ----

  @Test
  void aPodOverTheDimensionLimitIsDeadLettered() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      f.send(
          request("long-pod", "h1", "llama", T0_MS + 2000, 0, 1000, 1000, 2)
              .setPod("p".repeat(300))
              .build());
      f.send(
          request("long-attr", "h1", "llama", T0_MS + 2001, 0, 1000, 1000, 2)
              .setAttributes(Map.of("pod", "q".repeat(300)))
              .build());
      List<DeadLetter> dead = f.deadLetters.readValuesToList();
      assertThat(dead)
          .extracting(DeadLetter::getReason)
          .containsExactly("dimension-too-long", "dimension-too-long");
      assertThat(dead.get(0).getMessage()).startsWith("pod is 300 bytes");
      assertThat(dead.get(1).getMessage()).startsWith("attributes.pod is 300 bytes");
    }
  }

  /**
   * Requests of window 0 naming only their pod (no device id), as vLLM's spans do: llama busy 3 s
   * (the pod field of RequestEvent v2), mistral 1 s (the attribute pod, as events before v2 and
   * JSON lines carry it).
   */
  private static void podRequests(TopologyFixture f) {
    for (int i = 0; i < 3; i++) {
      f.send(
          request("l" + i, "h1", "llama", T0_MS + 2000 + i, 0, 100_000, 900_000, 100)
              .setPod("vllm-llama-0")
              .build());
    }
    f.send(
        request("m0", "h1", "mistral", T0_MS + 3000, 0, 200_000, 800_000, 50)
            .setAttributes(Map.of("pod", "vllm-mistral-0"))
            .build());
    f.send(
        request("close", "h1", "llama", T0_MS + 11_500, 0, 1000, 1000, 2)
            .setPod("vllm-llama-0")
            .build());
  }

  private static Map<String, DeviceWindowEnergy> window0(TopologyFixture f) {
    return f.energy.readValuesToList().stream()
        .filter(e -> e.getWindowStartUs() == T0_MS * 1000)
        .collect(
            Collectors.toMap(DeviceWindowEnergy::getDeviceId, Function.identity(), (x, y) -> y));
  }

  private static Map<String, ModelAttribution> byModel(DeviceWindowEnergy e) {
    return e.getAttributions().stream()
        .collect(Collectors.toMap(ModelAttribution::getModel, Function.identity()));
  }

  @Test
  void twoModelsOnTwoGpusOfOneNodeAreAttributedPerPodNotSplitEvenly() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      podRequests(f);
      for (int s = 0; s <= 25; s++) { // both GPUs each second, as the collector samples them
        gpu(f, "h1", "g1", "vllm-llama-0", s, s, 90, 60);
        gpu(f, "h1", "g2", "vllm-mistral-0", s, s, 90, 60);
      }
      Map<String, DeviceWindowEnergy> w = window0(f);
      Map<String, ModelAttribution> g1 = byModel(w.get("g1"));
      Map<String, ModelAttribution> g2 = byModel(w.get("g2"));
      // each model only on the GPU its pod holds, with all of its busy time, requests and tokens
      assertThat(g1).containsOnlyKeys("llama");
      assertThat(g2).containsOnlyKeys("mistral");
      assertThat(g1.get("llama").getBusyTimeUs()).isEqualTo(3_000_000L);
      assertThat(g1.get("llama").getRequests()).isEqualTo(3);
      assertThat(g2.get("mistral").getBusyTimeUs()).isEqualTo(1_000_000L);
      double measured = 9 * 300_000 / 1000.0; // counter deltas of samples 1..9
      assertThat(w.get("g1").getMeasuredEnergyJ()).isEqualTo(measured);
      // llama's three 1 s requests ran concurrently, 1 ms apart: g1 was busy 1.002 s, i.e. 101
      // slots of 10 ms; mistral's 1 s request is 100 slots on g2
      assertThat(w.get("g1").getBusyTimeUs()).isEqualTo(1_010_000L);
      assertThat(w.get("g2").getBusyTimeUs()).isEqualTo(1_000_000L);
      // shares of the 9 s the samples cover (they start at T0)
      assertThat(g1.get("llama").getEnergyJ()).isCloseTo(measured * 1.01 / 9, within(1e-9));
      assertThat(g2.get("mistral").getEnergyJ()).isCloseTo(measured * 1.0 / 9, within(1e-9));
      for (DeviceWindowEnergy e : w.values()) {
        double parts = e.getAttributions().stream().mapToDouble(ModelAttribution::getEnergyJ).sum();
        assertThat(parts + e.getIdleEnergyJ()).isEqualTo(e.getMeasuredEnergyJ());
      }
    }
  }

  @Test
  void withoutPodLabelsTheSameRequestsAreSplitEvenlyOverTheNodesGpus() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      podRequests(f);
      for (int s = 0; s <= 25; s++) { // both GPUs each second, as the collector samples them
        gpu(f, "h1", "g1", null, s, s, 90, 60);
        gpu(f, "h1", "g2", null, s, s, 90, 60);
      }
      Map<String, DeviceWindowEnergy> w = window0(f);
      for (String g : List.of("g1", "g2")) {
        Map<String, ModelAttribution> m = byModel(w.get(g));
        assertThat(m).containsOnlyKeys("llama", "mistral");
        assertThat(m.get("llama").getBusyTimeUs()).isEqualTo(1_500_000L);
        assertThat(m.get("mistral").getBusyTimeUs()).isEqualTo(500_000L);
      }
    }
  }

  @Test
  void aPodThatHoldsNoGpuOfTheNodeIsSplitOverAllItsGpus() {
    try (TopologyFixture f = new TopologyFixture(Map.of())) {
      f.send(
          request("x", "h1", "llama", T0_MS + 2000, 0, 100_000, 900_000, 100)
              .setAttributes(Map.of("pod", "somewhere-else"))
              .build());
      f.send(request("close", "h1", "llama", T0_MS + 11_500, 0, 1000, 1000, 2).build());
      for (int s = 0; s <= 25; s++) { // both GPUs each second, as the collector samples them
        gpu(f, "h1", "g1", "vllm-llama-0", s, s, 90, 60);
        gpu(f, "h1", "g2", "vllm-mistral-0", s, s, 90, 60);
      }
      Map<String, DeviceWindowEnergy> w = window0(f);
      assertThat(byModel(w.get("g1")).get("llama").getBusyTimeUs()).isEqualTo(500_000L);
      assertThat(byModel(w.get("g2")).get("llama").getBusyTimeUs()).isEqualTo(500_000L);
    }
  }
}
