package io.infermeter.demo.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.AlertState;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.streams.StreamsSettings;
import io.infermeter.streams.StreamsSettings.AlertSettings;
import io.infermeter.streams.alerts.AlertRules;
import io.infermeter.streams.alerts.RuleState;
import io.infermeter.streams.engine.EngineAcc;
import io.infermeter.streams.engine.EngineLast;
import io.infermeter.streams.engine.EngineSignals;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The demo's scripted KV-cache saturation, judged as the streams app judges the memory-pressure
 * alert ({@code gpu_memory_high}) on each GPU's 10 s windows: the production engine accumulators
 * ({@link EngineAcc}, {@link EngineLast}), the coverage of a GPU by its pod's engine ({@link
 * EngineSignals}) and the production decision and hysteresis ({@link AlertRules}), default
 * settings. The saturated GPU fires during the incident and is resolved by the end; no other GPU
 * fires (their device memory is judged through their engines' KV usage), whatever the alignment of
 * the run against the windows. Unit test: no Kafka.
 */
class ScenarioKvSaturationTest {

  private static final long DURATION_US = 240_000_000L; // the end-to-end test's backfill
  private static final long RUN_US = 330_000_000L;
  private static final long WINDOW_US = 10_000_000L;
  private static final long ENGINE_EVERY_US = 5_000_000L; // RunCommand's engine sample interval

  /** One GPU's 10 s window: device memory and pod from its samples. */
  private static final class Window {
    long memUsedMax = -1;
    long memTotal = -1;
    String pod = "";
  }

  @Test
  void theSaturatedGpuFiresAndResolvesAndNoOtherGpuFires() {
    AlertSettings cfg = StreamsSettings.fromMap(Map.of()).alerts();
    for (int k = 0; k < 4; k++) {
      long startUs = 1_795_000_000_000_000L + k * 2_513_000L;
      FleetSpec fleet = FleetSpec.defaultFleet();
      List<Incident> incidents = Scenario.incidents(fleet, startUs, DURATION_US);
      Incident kv =
          incidents.stream()
              .filter(i -> i.kind() == Incident.Kind.KV_SATURATION)
              .findFirst()
              .orElseThrow();
      FleetSimulator sim = new FleetSimulator(fleet, incidents, 42, startUs);
      // device id -> window index -> window; host -> instance -> last engine sample
      Map<String, TreeMap<Long, Window>> windows = new TreeMap<>();
      Map<String, String> hostOf = new HashMap<>();
      Map<String, Map<String, EngineLast>> lasts = new HashMap<>();
      Map<String, TreeMap<Long, Map<String, EngineAcc>>> hostEngines = new HashMap<>();
      for (long t = startUs + 1_000_000; t <= startUs + RUN_US; t += 1_000_000) {
        sim.requestsCompletedBefore(t);
        for (HardwareSample s : sim.samplesAt(t, 1_000_000L)) {
          Window w =
              windows
                  .computeIfAbsent(s.getDeviceId(), d -> new TreeMap<>())
                  .computeIfAbsent(Math.floorDiv(t, WINDOW_US), i -> new Window());
          w.memUsedMax = Math.max(w.memUsedMax, s.getMemoryUsedBytes());
          w.memTotal = s.getMemoryTotalBytes();
          w.pod = s.getPod();
          hostOf.put(s.getDeviceId(), s.getHost());
        }
        if ((t - startUs) % ENGINE_EVERY_US == 0) {
          for (EngineSample s : sim.engineSamplesAt(t, ENGINE_EVERY_US)) {
            long index = Math.floorDiv(t, WINDOW_US);
            Map<String, EngineLast> hostLasts =
                lasts.computeIfAbsent(s.getHost(), h -> new HashMap<>());
            hostEngines
                .computeIfAbsent(s.getHost(), h -> new TreeMap<>())
                .computeIfAbsent(index, i -> new TreeMap<>())
                .computeIfAbsent(s.getInstance(), i -> new EngineAcc())
                .add(s, hostLasts.get(s.getInstance()), index * WINDOW_US, WINDOW_US);
            hostLasts.put(s.getInstance(), EngineLast.of(s, 0));
          }
        }
      }
      Map<String, List<String>> transitions = new TreeMap<>();
      for (Map.Entry<String, TreeMap<Long, Window>> device : windows.entrySet()) {
        String host = hostOf.get(device.getKey());
        RuleState state = new RuleState();
        for (Map.Entry<Long, Window> e : device.getValue().entrySet()) {
          Window w = e.getValue();
          long endUs = (e.getKey() + 1) * WINDOW_US;
          Map<String, EngineAcc> inWindow =
              hostEngines.getOrDefault(host, new TreeMap<>()).getOrDefault(e.getKey(), Map.of());
          List<EngineSignals.View> views =
              EngineSignals.views(inWindow, Map.of(), endUs, 60_000_000L);
          Set<String> pods = new TreeSet<>();
          windows.forEach(
              (d, ws) -> {
                if (host.equals(hostOf.get(d)) && ws.containsKey(e.getKey())) {
                  pods.add(ws.get(e.getKey()).pod);
                }
              });
          EngineSignals.View engine = EngineSignals.coveringEngine(w.pod, pods, views);
          AlertRules.Decision d =
              engine != null
                  ? AlertRules.kvCacheHigh(
                      state,
                      endUs / 1000,
                      engine.kvUsagePct(),
                      engine.preemptions(),
                      engine.engine(),
                      engine.instance(),
                      w.memUsedMax,
                      w.memTotal,
                      cfg)
                  : AlertRules.gpuMemoryHigh(state, w.memUsedMax, w.memTotal, endUs / 1000, cfg);
          AlertState change = AlertRules.transition(state, d.condition(), endUs);
          if (change != null) {
            transitions
                .computeIfAbsent(device.getKey(), x -> new ArrayList<>())
                .add(
                    change
                        + "@"
                        + (endUs - startUs) / 1_000_000
                        + "s"
                        + (engine == null ? " (vram)" : ""));
          }
        }
      }
      long fromS = (kv.fromUs() - startUs) / 1_000_000;
      long toS = (kv.toUs() - startUs) / 1_000_000;
      assertThat(transitions)
          .as(
              "alignment %d: gpu_memory_high transitions per GPU; KV incident %d-%d s on %s",
              k, fromS, toS, kv.target())
          .containsOnlyKeys(kv.target());
      List<String> t = transitions.get(kv.target());
      assertThat(t).as("alignment %d: incident %d-%d s", k, fromS, toS).hasSize(2);
      assertThat(t.get(0)).startsWith("FIRING@");
      assertThat(seconds(t.get(0))).isBetween(fromS, toS + 10);
      assertThat(t.get(1)).startsWith("RESOLVED@");
      // resolved after 3 clear windows (alerts.resolve.windows)
      assertThat(seconds(t.get(1))).isBetween(toS, toS + 40);
    }
  }

  private static long seconds(String transition) {
    return Long.parseLong(
        transition.substring(
            transition.indexOf('@') + 1, transition.indexOf('s', transition.indexOf('@'))));
  }
}
