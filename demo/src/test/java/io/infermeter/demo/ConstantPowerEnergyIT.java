package io.infermeter.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.infermeter.testsupport.Infra;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 acceptance, end to end: idle energy follows the union of the requests' device time, and
 * the windows of the last requests before a pause get their usage. A collector process loads the
 * test build's NVML stub ({@code collector/src/test/c/nvml_stub.c}) in constant-power mode ({@code
 * NVML_STUB_POWER_MW=400000}: every GPU draws 400 W, its energy counter grows by 400 J per second
 * of CLOCK_MONOTONIC) and samples it at 1 Hz; the real streams app and sink run on the local Kafka,
 * registry and ClickHouse with 10 s windows, 2 s grace, a 5 s energy join delay and a 2 s {@code
 * windows.idle.timeout}.
 *
 * <p>In each of {@value #WINDOWS} consecutive 10 s windows, {@value #CONCURRENT} client threads run
 * a {@value #REQUEST_MS} ms request on GPU 0 together (all starting {@value #START_OFFSET_MS} ms
 * into the window) and post each one's JSON line to the collector when it completes, with its real
 * arrival, first-token and completion times; then nothing more is sent. Where the numbers come
 * from: the requests keep GPU 0 busy 2 s of each 10 s window (their union; their summed request
 * time is 32 s); the measured energy is 400 W x the time the window's samples cover (the counter
 * delta from the last sample before the window to the last sample in it), about 4,000 J over 10 s;
 * so the expected idle share is 1 - 2 s / sampled time: 1 - 2/10 = 80 % for a window sampled in
 * full, 77.8 % for the 9 s one left when a 1 Hz sample falls just past a window's end (the busy
 * share is taken against the covered time). Checked in ClickHouse (newest version per window,
 * {@code FINAL}) for GPU 0 in each of those windows: measured energy = 400 W x the sampled time
 * (from {@code hardware_samples}) within 2 %; device busy time = the union of the sent intervals
 * within 2 slots of 10 ms; idle share within 5 points of the expected share (and within 1 point of
 * 1 - busy / sampled time); the model's row holds the 16 requests; conservation: the model's energy
 * + idle = measured. GPU 1 (no requests) stays 100 % idle. The last window's request window is
 * closed by no later request: only the idle timeout moves its task's stream time, so its usage
 * reaching the energy window (busy time > 0, not 100 % idle) shows the idle close at work ({@code
 * infermeter_streams_idle_advances_total} > 0).
 */
class ConstantPowerEnergyIT {

  private static final int POWER_W = 400;
  private static final long WINDOW_MS = 10_000;
  private static final int WINDOWS = 3;
  private static final int CONCURRENT = 16;
  private static final long REQUEST_MS = 2_000;
  private static final long START_OFFSET_MS = 2_000;
  private static final long SLOT_US = 10_000;
  private static final String HOST = "const-power-0";
  private static final String MODEL = "const-power-model";
  private static final String GPU0 = "GPU-00000000-0000-0000-0000-000000000000";
  private static final String GPU1 = "GPU-00000000-0000-0000-0000-000000000001";
  private static final Duration SETTLED = Duration.ofSeconds(60);

  /** One request as sent: its device time [scheduled, completed], epoch microseconds. */
  private record Sent(long scheduledUs, long completedUs) {}

  /** One device window as read back from {@code device_energy}. */
  private record DeviceWindow(long busyUs, double measuredJ, double idleJ) {}

  @Test
  void idleEnergyFollowsTheUnionOfBusyTimeAndTheLastWindowsGetTheirUsage() throws Exception {
    Path stub =
        Pipeline.repoRoot().resolve("collector/target/nvml-stub/libnvidia-ml.so").toAbsolutePath();
    assertThat(stub).as("the NVML stub (collector build, generate-test-resources)").exists();
    Map<String, String> streamsEnv =
        Map.of(
            "INFERMETER_WINDOWS_SIZES", "10s",
            "INFERMETER_WINDOWS_GRACE", "2s",
            "INFERMETER_ENERGY_JOIN_DELAY", "5s",
            "INFERMETER_WINDOWS_IDLE_TIMEOUT", "2s");
    try (Pipeline p =
        Pipeline.start("constpower", Path.of("target", "constant-power-it"), 1, streamsEnv)) {
      Path noRapl = Files.createDirectories(p.dir.resolve("no-powercap"));
      int collector =
          p.collectorProcess(
              HOST,
              Map.of(
                  "INFERMETER_NVML_LIBRARY", stub.toString(),
                  "INFERMETER_OSHI_ENABLED", "false",
                  "INFERMETER_POWER_ESTIMATE_ENABLED", "false",
                  "INFERMETER_RAPL_ROOT", noRapl.toString(),
                  "NVML_STUB_POWER_MW", String.valueOf(POWER_W * 1000)));
      String samples = p.id + ".hardware_samples";
      Infra.await(
          Duration.ofSeconds(60),
          "a 400 W sample of GPU 0 in ClickHouse (collector log in " + p.dir + ")",
          () ->
              !p.longs(
                      "SELECT device_id, count() FROM "
                          + samples
                          + " WHERE host = '"
                          + HOST
                          + "' AND device_id = '"
                          + GPU0
                          + "' AND power_w = "
                          + POWER_W
                          + " GROUP BY device_id")
                  .isEmpty());

      // the first window starts after a sample of GPU 0, so every window with requests is sampled
      // from its start
      long firstWindowMs = (System.currentTimeMillis() / WINDOW_MS + 1) * WINDOW_MS;
      Map<Long, List<Sent>> sent = new TreeMap<>();
      ExecutorService clients = Executors.newFixedThreadPool(CONCURRENT);
      try {
        for (int w = 0; w < WINDOWS; w++) {
          long windowMs = firstWindowMs + w * WINDOW_MS;
          long startMs = windowMs + START_OFFSET_MS;
          List<Future<Sent>> requests = new ArrayList<>();
          for (int i = 0; i < CONCURRENT; i++) {
            String requestId = HOST + "-" + w + "-" + i;
            requests.add(clients.submit(() -> runRequest(p, collector, requestId, startMs)));
          }
          List<Sent> done = new ArrayList<>();
          for (Future<Sent> f : requests) {
            done.add(f.get(60, TimeUnit.SECONDS));
          }
          sent.put(windowMs, done);
        }
      } finally {
        clients.shutdownNow();
      }

      // nothing is sent from here on: the last window's requests are closed by the idle timeout
      long lastEndUs = (firstWindowMs + WINDOWS * WINDOW_MS) * 1000;
      Map<Long, DeviceWindow> gpu0 = new TreeMap<>();
      List<Long> sampleTimesUs = new ArrayList<>();
      try {
        Infra.await(
            SETTLED,
            "usage in every request window of GPU 0, and its samples past the last one",
            () -> {
              gpu0.clear();
              gpu0.putAll(deviceWindows(p, GPU0));
              sampleTimesUs.clear();
              sampleTimesUs.addAll(sampleTimesUs(p, GPU0));
              return sent.keySet().stream()
                      .allMatch(w -> gpu0.containsKey(w) && gpu0.get(w).busyUs() > 0)
                  && !sampleTimesUs.isEmpty()
                  && sampleTimesUs.get(sampleTimesUs.size() - 1) >= lastEndUs;
            });
      } catch (AssertionError e) {
        throw new AssertionError(
            e.getMessage()
                + ": GPU 0 windows "
                + gpu0
                + ", sent in windows "
                + sent.keySet()
                + ", idle advances "
                + p.streamsCounter("infermeter_streams_idle_advances_total", "")
                + " (logs in "
                + p.dir
                + ")",
            e);
      }
      Map<Long, DeviceWindow> gpu1 = deviceWindows(p, GPU1);

      List<String> figures = new ArrayList<>();
      for (Map.Entry<Long, List<Sent>> entry : sent.entrySet()) {
        long windowMs = entry.getKey();
        String at = "window " + Instant.ofEpochMilli(windowMs);
        DeviceWindow d = gpu0.get(windowMs);
        double sampledS = sampledSeconds(sampleTimesUs, windowMs);
        long unionUs = unionUs(entry.getValue(), windowMs);
        double idleShare = d.idleJ() / d.measuredJ();
        double expectedIdleShare = 1 - REQUEST_MS / 1000.0 / sampledS;
        figures.add(
            String.format(
                Locale.ROOT,
                "%s: measured %.1f J over %.3f s sampled, busy %d us (union sent %d us),"
                    + " idle %.2f %% (expected %.2f %%)",
                at,
                d.measuredJ(),
                sampledS,
                d.busyUs(),
                unionUs,
                100 * idleShare,
                100 * expectedIdleShare));

        assertThat(d.measuredJ())
            .as("%s: measured energy = 400 W x the sampled time", at)
            .isCloseTo(POWER_W * sampledS, within(0.02 * POWER_W * sampledS));
        assertThat(sampledS)
            .as("%s: samples cover the window (1 Hz)", at)
            .isCloseTo(WINDOW_MS / 1000.0, within(1.5));
        assertThat(d.busyUs())
            .as("%s: device busy time = the union of the requests' device time", at)
            .isCloseTo(unionUs, within(2 * SLOT_US));
        assertThat(idleShare)
            .as("%s: idle share within 5 points of 1 - 2 s / sampled time", at)
            .isCloseTo(expectedIdleShare, within(0.05));
        assertThat(idleShare)
            .as("%s: idle share = 1 - busy / sampled time", at)
            .isCloseTo(1 - d.busyUs() / 1e6 / sampledS, within(0.01));

        List<List<String>> rows = attributionRows(p, GPU0, windowMs);
        double modelJ = 0;
        double idleRowJ = Double.NaN;
        long requests = 0;
        for (List<String> r : rows) {
          if (r.get(0).equals("1")) {
            idleRowJ = Double.parseDouble(r.get(3));
          } else {
            assertThat(r.get(1)).as("%s: attributed model", at).isEqualTo(MODEL);
            requests += Long.parseLong(r.get(2));
            modelJ += Double.parseDouble(r.get(3));
          }
        }
        assertThat(requests).as("%s: requests attributed", at).isEqualTo(CONCURRENT);
        assertThat(idleRowJ).as("%s: idle row of energy_attribution", at).isEqualTo(d.idleJ());
        assertThat(modelJ + d.idleJ())
            .as("%s: conservation, model energy + idle = measured", at)
            .isCloseTo(d.measuredJ(), within(1e-9 * d.measuredJ()));

        DeviceWindow other = gpu1.get(windowMs);
        assertThat(other).as("%s: GPU 1 window", at).isNotNull();
        assertThat(other.busyUs()).as("%s: GPU 1 without requests is never busy", at).isZero();
        assertThat(other.idleJ())
            .as("%s: GPU 1 is 100 %% idle", at)
            .isEqualTo(other.measuredJ())
            .isPositive();
      }
      assertThat(p.streamsCounter("infermeter_streams_idle_advances_total", ""))
          .as("request windows closed by the idle timeout")
          .isPositive();
      System.out.println(
          "ConstantPowerEnergyIT, GPU 0 at 400 W:\n  " + String.join("\n  ", figures));
    }
  }

  /**
   * One client request: waits until {@code startMs}, is in flight for {@value #REQUEST_MS} ms and
   * posts its JSON line (device GPU 0, its real times) when it completes.
   */
  private static Sent runRequest(Pipeline p, int collector, String requestId, long startMs)
      throws InterruptedException {
    Thread.sleep(Math.max(0, startMs - System.currentTimeMillis()));
    long arrivalUs = nowUs();
    Thread.sleep(REQUEST_MS);
    long completedUs = nowUs();
    p.post(
        collector,
        "{\"requestId\":\""
            + requestId
            + "\",\"host\":\""
            + HOST
            + "\",\"deviceId\":\""
            + GPU0
            + "\",\"model\":\""
            + MODEL
            + "\",\"arrivalUs\":"
            + arrivalUs
            + ",\"scheduledUs\":"
            + arrivalUs
            + ",\"firstTokenUs\":"
            + (arrivalUs + 200_000)
            + ",\"completedUs\":"
            + completedUs
            + ",\"inputTokens\":100,\"outputTokens\":50}\n");
    return new Sent(arrivalUs, completedUs);
  }

  private static long nowUs() {
    return ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
  }

  /**
   * Union of the requests' device time clipped to the window, in 10 ms slots as the streams app
   * counts it (a slot is busy when any part of it is), microseconds.
   */
  private static long unionUs(List<Sent> requests, long windowMs) {
    long startUs = windowMs * 1000;
    long endUs = startUs + WINDOW_MS * 1000;
    BitSet slots = new BitSet();
    for (Sent s : requests) {
      long from = Math.max(s.scheduledUs(), startUs) - startUs;
      long to = Math.min(s.completedUs(), endUs) - startUs;
      if (to > from) {
        slots.set((int) (from / SLOT_US), (int) ((to + SLOT_US - 1) / SLOT_US));
      }
    }
    return slots.cardinality() * SLOT_US;
  }

  /**
   * The time the window's samples cover: from the last sample before the window to the last sample
   * in it (each counter delta belongs to the window of its later sample), seconds.
   */
  private static double sampledSeconds(List<Long> sampleTimesUs, long windowMs) {
    long startUs = windowMs * 1000;
    long endUs = startUs + WINDOW_MS * 1000;
    long before = Long.MIN_VALUE;
    long last = Long.MIN_VALUE;
    for (long ts : sampleTimesUs) {
      if (ts < startUs) {
        before = ts;
      } else if (ts < endUs) {
        last = ts;
      }
    }
    assertThat(before).as("a sample before window %s", windowMs).isNotEqualTo(Long.MIN_VALUE);
    assertThat(last).as("a sample in window %s", windowMs).isNotEqualTo(Long.MIN_VALUE);
    return (last - before) / 1e6;
  }

  /**
   * Window start (ms) -> the newest version of the device's 10 s window; empty while the sink has
   * no table yet.
   */
  private static Map<Long, DeviceWindow> deviceWindows(Pipeline p, String device) {
    Map<Long, DeviceWindow> out = new TreeMap<>();
    for (List<String> r :
        rows(
            p,
            "SELECT toUnixTimestamp64Milli(window_start), busy_time_us, measured_energy_j,"
                + " idle_energy_j FROM "
                + p.id
                + ".device_energy FINAL WHERE window_size_ms = 10000 AND host = '"
                + HOST
                + "' AND device_id = '"
                + device
                + "'")) {
      out.put(
          Long.parseLong(r.get(0)),
          new DeviceWindow(
              Long.parseLong(r.get(1)),
              Double.parseDouble(r.get(2)),
              Double.parseDouble(r.get(3))));
    }
    return out;
  }

  /** (is_idle, model, requests, energy_j) of the device window's attribution rows. */
  private static List<List<String>> attributionRows(Pipeline p, String device, long windowMs)
      throws SQLException {
    return p.rows(
        "SELECT is_idle, model, requests, energy_j FROM "
            + p.id
            + ".energy_attribution FINAL WHERE window_size_ms = 10000 AND host = '"
            + HOST
            + "' AND device_id = '"
            + device
            + "' AND toUnixTimestamp64Milli(window_start) = "
            + windowMs);
  }

  /**
   * Timestamps of the device's samples, epoch microseconds, ascending; empty while the sink has no
   * table yet.
   */
  private static List<Long> sampleTimesUs(Pipeline p, String device) {
    List<Long> out = new ArrayList<>();
    for (List<String> r :
        rows(
            p,
            "SELECT toUnixTimestamp64Micro(ts) FROM "
                + p.id
                + ".hardware_samples FINAL WHERE host = '"
                + HOST
                + "' AND device_id = '"
                + device
                + "' ORDER BY ts")) {
      out.add(Long.parseLong(r.get(0)));
    }
    return Collections.unmodifiableList(out);
  }

  private static List<List<String>> rows(Pipeline p, String sql) {
    try {
      return p.rows(sql);
    } catch (SQLException e) {
      return List.of();
    }
  }
}
