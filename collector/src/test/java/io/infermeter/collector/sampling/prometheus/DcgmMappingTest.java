package io.infermeter.collector.sampling.prometheus;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.DeviceKind;
import io.infermeter.avro.HardwareSample;
import io.infermeter.collector.sampling.HardwareSamples;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * dcgm-exporter series to hardware samples. Metric names, units and types as in
 * NVIDIA/dcgm-exporter etc/default-counters.csv and etc/dcp-metrics-included.csv; the fixture is
 * field/dcgm-exporter-metrics.txt (its header names the sources). Expected values are read from the
 * fixture's own series, so the test checks the mapping and the unit conversions, not copied
 * numbers.
 */
class DcgmMappingTest {

  static final HardwareSamples NODE = new HardwareSamples("c1", "eu-west-1", "node-a");
  static final long TS = 1_700_000_000_000_000L;

  /** The fixture's value of {@code metric} for the GPU with index {@code gpu}. */
  static double value(List<PrometheusText.Sample> samples, String metric, String gpu) {
    return samples.stream()
        .filter(s -> s.name().equals(metric) && s.labels().get("gpu").equals(gpu))
        .findFirst()
        .orElseThrow()
        .value();
  }

  @Test
  void everyDocumentedFieldOfTheFixtureMapsWithItsUnit() throws IOException {
    List<PrometheusText.Sample> in = PrometheusText.parse(PrometheusTextTest.fixture()).samples();
    Map<String, DcgmMapping.GpuState> out =
        new DcgmMapping(NODE, null)
            .map(in, TS).stream().collect(Collectors.toMap(g -> g.gpuIndex(), g -> g));
    assertThat(out).containsOnlyKeys("0", "1");
    for (String gpu : List.of("0", "1")) {
      DcgmMapping.GpuState st = out.get(gpu);
      HardwareSample s = st.sample();
      String uuid =
          in.stream()
              .filter(x -> x.labels().get("gpu").equals(gpu))
              .findFirst()
              .orElseThrow()
              .labels()
              .get("UUID");
      assertThat(s.getDeviceId()).isEqualTo(uuid);
      assertThat(s.getDeviceKind()).isEqualTo(DeviceKind.GPU);
      assertThat(s.getSource()).isEqualTo("dcgm");
      assertThat(s.getHost())
          .as("the node's configured identity, not dcgm's Hostname")
          .isEqualTo("node-a");
      assertThat(st.dcgmHostname()).isEqualTo("gpu-node-07");
      assertThat(s.getCluster()).isEqualTo("c1");
      assertThat(s.getTimestampUs()).isEqualTo(TS);
      assertThat(s.getGpuType()).isEqualTo("NVIDIA H100 80GB HBM3");
      assertThat(s.getPowerW()).isEqualTo(value(in, "DCGM_FI_DEV_POWER_USAGE", gpu));
      assertThat(s.getEnergyMj())
          .isEqualTo((long) value(in, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu));
      double mib = 1024.0 * 1024.0;
      assertThat(s.getMemoryUsedBytes())
          .isEqualTo((long) (value(in, "DCGM_FI_DEV_FB_USED", gpu) * mib));
      assertThat(s.getMemoryTotalBytes())
          .isEqualTo(
              (long)
                  ((value(in, "DCGM_FI_DEV_FB_USED", gpu)
                          + value(in, "DCGM_FI_DEV_FB_FREE", gpu)
                          + value(in, "DCGM_FI_DEV_FB_RESERVED", gpu))
                      * mib));
      assertThat(s.getUtilizationPct()).isEqualTo(value(in, "DCGM_FI_DEV_GPU_UTIL", gpu));
      assertThat(s.getMemoryUtilizationPct())
          .isEqualTo(value(in, "DCGM_FI_DEV_MEM_COPY_UTIL", gpu));
      assertThat(s.getTemperatureC()).isEqualTo(value(in, "DCGM_FI_DEV_GPU_TEMP", gpu));
      assertThat(s.getSmClockMhz()).isEqualTo((int) value(in, "DCGM_FI_DEV_SM_CLOCK", gpu));
      assertThat(s.getMemClockMhz()).isEqualTo((int) value(in, "DCGM_FI_DEV_MEM_CLOCK", gpu));
      assertThat(s.getPcieTxBytesPerSec())
          .isEqualTo((long) value(in, "DCGM_FI_PROF_PCIE_TX_BYTES", gpu));
      assertThat(s.getPcieRxBytesPerSec())
          .isEqualTo((long) value(in, "DCGM_FI_PROF_PCIE_RX_BYTES", gpu));
      assertThat(s.getXidErrors()).as("first scrape is the baseline").isZero();
      assertThat(s.getThrottleReasons()).as("not in the counter set: absent, not zero").isNull();
      assertThat(st.smActive()).isEqualTo(value(in, "DCGM_FI_PROF_SM_ACTIVE", gpu));
      assertThat(st.tensorActive()).isEqualTo(value(in, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", gpu));
      assertThat(st.pods())
          .singleElement()
          .satisfies(p -> assertThat(p.namespace()).isEqualTo("inference"));
    }
    assertThat(out.get("0").pods())
        .extracting(DcgmMapping.PodRef::container)
        .containsExactly("vllm");
    assertThat(out.get("1").pods())
        .extracting(DcgmMapping.PodRef::container)
        .containsExactly("sglang");
    assertThat(out.get("0").dramActive()).isEqualTo(value(in, "DCGM_FI_PROF_DRAM_ACTIVE", "0"));
    assertThat(out.get("1").dramActive()).as("no series for GPU 1").isNull();
  }

  @Test
  void sentinelsNonFiniteAndOutOfRangeValuesAreAbsentNotZero() {
    String u = "UUID=\"GPU-1\"";
    String body =
        "DCGM_FI_DEV_MEMORY_TEMP{"
            + u
            + "} 9223372036854775794\n" // README: not supported
            + "DCGM_FI_DEV_GPU_TEMP{"
            + u
            + "} 140737488355328\n" // DCGM_FP64_BLANK
            + "DCGM_FI_DEV_POWER_USAGE{"
            + u
            + "} NaN\n"
            + "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{"
            + u
            + "} +Inf\n"
            + "DCGM_FI_DEV_GPU_UTIL{"
            + u
            + "} 130\n"
            + "DCGM_FI_DEV_SM_CLOCK{"
            + u
            + "} -5\n"
            + "DCGM_FI_PROF_SM_ACTIVE{"
            + u
            + "} 1.7\n"
            + "DCGM_FI_DEV_FB_FREE{"
            + u
            + "} 100\n";
    DcgmMapping.GpuState st =
        new DcgmMapping(NODE, null).map(PrometheusText.parse(body).samples(), TS).get(0);
    HardwareSample s = st.sample();
    assertThat(s.getTemperatureC()).isNull();
    assertThat(s.getPowerW()).isNull();
    assertThat(s.getEnergyMj()).isNull();
    assertThat(s.getUtilizationPct()).isNull();
    assertThat(s.getSmClockMhz()).isNull();
    assertThat(s.getMemoryUsedBytes()).isNull();
    assertThat(s.getMemoryTotalBytes()).as("free without used gives no total").isNull();
    assertThat(s.getGpuType()).isNull();
    assertThat(st.smActive()).isNull();
    assertThat(st.pods()).isEmpty();
  }

  @Test
  void seriesWithoutUuidAndForeignMetricsAreIgnored() {
    String body =
        "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 100\nDCGM_FI_DEV_POWER_USAGE{UUID=\"\"} 100\n"
            + "go_goroutines{UUID=\"GPU-1\"} 12\n";
    assertThat(new DcgmMapping(NODE, null).map(PrometheusText.parse(body).samples(), TS)).isEmpty();
  }

  @Test
  void aSharedGpuKeepsEveryPodAndTheFirstValue() {
    String body =
        "DCGM_FI_DEV_POWER_USAGE{UUID=\"GPU-1\",namespace=\"a\",pod=\"p1\",container=\"c\"} 100\n"
            + "DCGM_FI_DEV_POWER_USAGE{UUID=\"GPU-1\",namespace=\"b\",pod=\"p2\",container=\"c\"} 100.5\n";
    DcgmMapping.GpuState st =
        new DcgmMapping(NODE, "override").map(PrometheusText.parse(body).samples(), TS).get(0);
    assertThat(st.sample().getPowerW()).isEqualTo(100.0);
    assertThat(st.sample().getGpuType()).isEqualTo("override");
    assertThat(st.pods()).extracting(DcgmMapping.PodRef::pod).containsExactly("p1", "p2");
  }

  @Test
  void migInstancesAreTheirOwnDevices() {
    String body =
        "DCGM_FI_DEV_FB_USED{UUID=\"GPU-1\",GPU_I_ID=\"3\",GPU_I_PROFILE=\"1g.10gb\"} 10\n"
            + "DCGM_FI_DEV_FB_USED{UUID=\"GPU-1\",GPU_I_ID=\"5\",GPU_I_PROFILE=\"1g.10gb\"} 20\n";
    List<DcgmMapping.GpuState> out =
        new DcgmMapping(NODE, null).map(PrometheusText.parse(body).samples(), TS);
    assertThat(out)
        .extracting(g -> g.sample().getDeviceId())
        .containsExactly("GPU-1/gi-3", "GPU-1/gi-5");
    assertThat(out)
        .allSatisfy(g -> assertThat(g.sample().getDeviceKind()).isEqualTo(DeviceKind.MIG));
    // each shares the energy and price of its parent GPU by its slices: 1 of 7
    assertThat(out)
        .allSatisfy(
            g -> {
              assertThat(g.sample().getParentDeviceId()).isEqualTo("GPU-1");
              assertThat(g.sample().getMigSlices()).isEqualTo(1);
              assertThat(g.sample().getMigSlicesTotal()).isEqualTo(7);
            });
  }

  @Test
  void migProfileNamesGiveTheInstancesSlices() {
    assertThat(HardwareSamples.migSlices("NVIDIA H100 80GB HBM3 MIG 3g.40gb")).isEqualTo(3);
    assertThat(HardwareSamples.migSlices("1g.18gb+me")).isEqualTo(1);
    assertThat(HardwareSamples.migSlices("7g.80gb")).isEqualTo(7);
    assertThat(HardwareSamples.migSlices("NVIDIA H100 80GB HBM3")).isNull();
    assertThat(HardwareSamples.migSlices(null)).isNull();
    assertThat(HardwareSamples.migSlicesTotal("NVIDIA A30")).isEqualTo(4);
    assertThat(HardwareSamples.migSlicesTotal("NVIDIA H200")).isEqualTo(7);
  }

  @Test
  void xidCountsChangesOfTheLastXidCodeSinceTheFirstScrape() {
    DcgmMapping m = new DcgmMapping(NODE, null);
    long[] codes = {13, 13, 0, 79, 79, 31, 0, 0};
    long[] expected = {0, 0, 0, 1, 1, 2, 2, 2};
    for (int i = 0; i < codes.length; i++) {
      String body = "DCGM_FI_DEV_XID_ERRORS{UUID=\"GPU-1\"} " + codes[i] + "\n";
      assertThat(m.map(PrometheusText.parse(body).samples(), TS + i).get(0).sample().getXidErrors())
          .as("scrape %d", i)
          .isEqualTo(expected[i]);
    }
  }

  @Test
  void throttleReasonsUnderBothNames() {
    String body =
        "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS{UUID=\"GPU-1\"} 4\n"
            + "DCGM_FI_DEV_CLOCKS_EVENT_REASONS{UUID=\"GPU-2\"} 32\n";
    List<DcgmMapping.GpuState> out =
        new DcgmMapping(NODE, null).map(PrometheusText.parse(body).samples(), TS);
    assertThat(out).extracting(g -> g.sample().getThrottleReasons()).containsExactly(4L, 32L);
  }
}
