package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.infermeter.avro.DeviceWindowEnergy;
import io.infermeter.avro.LatencyExemplar;
import io.infermeter.avro.LatencyStats;
import io.infermeter.avro.WindowAggregate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RowMappersTest {

  private record Row(Table table, Object[] values) {
    Object get(String column) {
      return values[table.columns().indexOf(column)];
    }
  }

  private static List<Row> map(WindowAggregate w) {
    List<Row> out = new ArrayList<>();
    RowMappers.windowAggregate(w, 2, 9, (t, v) -> out.add(new Row(t, v)));
    return out;
  }

  @ParameterizedTest
  @CsvSource({
    "0, 1970-01-01T00:00:00Z",
    "1, 1970-01-01T00:00:00.000001Z",
    "-1, 1969-12-31T23:59:59.999999Z",
    "1790000000123456, 2026-09-21T14:13:20.123456Z"
  })
  void microsecondsBecomeInstants(long micros, String expected) {
    assertThat(RowMappers.micros(micros)).isEqualTo(Instant.parse(expected));
  }

  @Test
  void everyRowMatchesItsTableWidth() {
    WindowAggregate w =
        Fixtures.window(0, "h", "m", 3)
            .setSlo(List.of(Fixtures.slo("a", 3, 2)))
            .setLatencies(
                List.of(
                    Fixtures.latency("e2e", "warm", Fixtures.histogram(new long[] {5, 6})),
                    Fixtures.latency("ttft", "cold", Fixtures.histogram(new long[] {7}))))
            .build();
    List<Row> rows = map(w);
    assertThat(rows)
        .extracting(Row::table)
        .containsExactly(Table.WINDOW_AGGREGATES, Table.WINDOW_LATENCY, Table.WINDOW_LATENCY);
    assertThat(rows).allSatisfy(r -> assertThat(r.values()).hasSize(r.table().columns().size()));
    assertThat(rows.get(0).get("kafka_offset")).isEqualTo(9L);
    assertThat(rows.get(0).get("slo_good")).isEqualTo(List.of(2L));
    assertThat(rows.get(2).get("cohort")).isEqualTo("cold");
  }

  @Test
  void exemplarsLandInParallelArraysWithAnEmptyRequestIdForNone() {
    WindowAggregate w =
        Fixtures.window(0, "h", "m", 2)
            .setLatencies(
                List.of(
                    LatencyStats.newBuilder(
                            Fixtures.latency("e2e", "warm", Fixtures.histogram(new long[] {5, 6})))
                        .setExemplars(
                            List.of(
                                new LatencyExemplar(6L, "e-6", null),
                                new LatencyExemplar(5L, "e-5", "r-5")))
                        .build(),
                    Fixtures.latency("ttft", "warm", Fixtures.histogram(new long[] {7}))))
            .build();
    List<Row> rows = map(w);
    assertThat(rows.get(1).get("exemplar_values_us")).isEqualTo(List.of(6L, 5L));
    assertThat(rows.get(1).get("exemplar_event_ids")).isEqualTo(List.of("e-6", "e-5"));
    assertThat(rows.get(1).get("exemplar_request_ids")).isEqualTo(List.of("", "r-5"));
    assertThat(rows.get(2).get("exemplar_event_ids")).isEqualTo(List.of());
    LatencyStats negative =
        LatencyStats.newBuilder(w.getLatencies().get(0))
            .setExemplars(List.of(new LatencyExemplar(-1L, "e", null)))
            .build();
    assertThatThrownBy(
            () -> map(Fixtures.window(0, "h", "m", 1).setLatencies(List.of(negative)).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("exemplars.valueUs");
  }

  @Test
  void energyGetsOneRowPerModelPlusAnIdleRowThatConservesEnergy() {
    DeviceWindowEnergy e =
        Fixtures.energy(
            0,
            "h",
            "eu",
            "H100",
            40,
            4,
            0.4,
            List.of(
                Fixtures.attribution("a", 1, 10, 0.5, 50, 5, 0.5),
                Fixtures.attribution("b", 1, 10, 0.1, 10, 1, 0.1)));
    List<Row> rows = new ArrayList<>();
    RowMappers.energy(e, 0, 1, (t, v) -> rows.add(new Row(t, v)));
    assertThat(rows)
        .extracting(Row::table)
        .containsExactly(
            Table.DEVICE_ENERGY,
            Table.ENERGY_ATTRIBUTION,
            Table.ENERGY_ATTRIBUTION,
            Table.ENERGY_ATTRIBUTION);
    List<Row> attribution = rows.subList(1, 4);
    assertThat(attribution.get(2).get("is_idle")).isEqualTo(1);
    assertThat(attribution.get(2).get("model")).isEqualTo(RowMappers.IDLE_MODEL);
    assertThat(attribution.stream().mapToDouble(r -> (Double) r.get("energy_j")).sum())
        .isCloseTo(e.getMeasuredEnergyJ(), within(1e-9));
    assertThat(attribution.stream().mapToDouble(r -> (Double) r.get("share")).sum())
        .isCloseTo(1.0, within(1e-9));
    assertThat(rows).allSatisfy(r -> assertThat(r.values()).hasSize(r.table().columns().size()));
  }

  @Test
  void negativeCountsAndMisalignedBucketsAreRefused() {
    assertThatThrownBy(() -> map(Fixtures.window(0, "h", "m", 1).setOutputTokens(-1).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("outputTokens");
    LatencyStats bad = Fixtures.latency("e2e", "warm", Fixtures.histogram(new long[] {1, 2000}));
    bad.setBucketCounts(List.of(1L));
    assertThatThrownBy(
            () -> map(Fixtures.window(0, "h", "m", 1).setLatencies(List.of(bad)).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bucket");
  }

  @Test
  void hardwareSampleKeepsMissingFieldsNull() {
    List<Row> rows = new ArrayList<>();
    RowMappers.hardware(
        Fixtures.gpuSample("h", 0, null, 300.0, 0), 1, 2, (t, v) -> rows.add(new Row(t, v)));
    assertThat(rows)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.values()).hasSize(r.table().columns().size());
              assertThat(r.get("utilization_pct")).isNull();
              assertThat(r.get("pcie_rx_bytes_per_sec")).isNull();
              assertThat(r.get("power_w")).isEqualTo(300.0);
              assertThat(r.get("process_pid")).isEqualTo(List.of(42));
            });
  }
}
