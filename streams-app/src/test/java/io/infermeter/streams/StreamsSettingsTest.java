package io.infermeter.streams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StreamsSettingsTest {

  @Test
  void gpuPricesMatchWholeWordsOfTheNvmlName() {
    StreamsSettings s = StreamsSettings.fromMap(Map.of("cost.price.per.hour.H100 NVL", "3.00"));
    assertThat(s.pricePerHour("NVIDIA H100 80GB HBM3")).isEqualTo(2.50);
    assertThat(s.pricePerHour("NVIDIA A100-SXM4-80GB")).isEqualTo(1.50);
    assertThat(s.pricePerHour("nvidia h200")).isEqualTo(3.50);
    assertThat(s.pricePerHour("NVIDIA L4")).isEqualTo(0.70);
    // a substring is not a model: the L40S is not an L4, the T40 not a T4
    assertThat(s.pricePerHour("NVIDIA L40S")).isEqualTo(1.00);
    assertThat(s.pricePerHour("Tesla T40")).isEqualTo(1.00);
    // the key with more words wins over the shorter one it contains
    assertThat(s.pricePerHour("NVIDIA H100 NVL")).isEqualTo(3.00);
    assertThat(s.priceKey("NVIDIA H100 NVL")).isEqualTo("H100 NVL");
    assertThat(s.priceKey("NVIDIA L40S")).isNull();
  }

  @Test
  void defaultsAreValidAndDocumented() {
    StreamsSettings s = StreamsSettings.fromMap(Map.of());
    assertThat(s.windowSizes()).containsExactly(Duration.ofSeconds(10), Duration.ofMinutes(1));
    assertThat(s.sloClasses().get("default").ttftMaxUs()).isEqualTo(500_000);
    assertThat(s.sloClasses().get("default").tpotMaxUs()).isEqualTo(50_000);
    assertThat(s.sloClasses().get("default").e2eMaxUs()).isEqualTo(10_000_000);
    assertThat(s.pricePerHour("NVIDIA H100 80GB HBM3")).isEqualTo(2.50);
    assertThat(s.pricePerHour("unknown")).isEqualTo(1.00);
    assertThat(s.carbonIntensity("mars-1")).isEmpty();
    assertThat(s.defaultCarbonIntensity()).isEqualTo(475);
    assertThat(s.pue()).isEqualTo(1.2);
    Properties p = s.streamsProperties();
    assertThat(p.getProperty("processing.guarantee")).isEqualTo("exactly_once_v2");
    assertThat(p.getProperty("replication.factor")).isEqualTo("1");
  }

  @Test
  void kafkaStreamsOverridesPassThrough() {
    Properties p =
        StreamsSettings.fromMap(
                Map.of(
                    "kafka.streams.num.stream.threads",
                    "2",
                    "kafka.streams.commit.interval.ms",
                    "250"))
            .streamsProperties();
    assertThat(p.getProperty("num.stream.threads")).isEqualTo("2");
    assertThat(p.getProperty("commit.interval.ms")).isEqualTo("250");
  }

  @Test
  void fileAndEnvironmentLayers(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path file = dir.resolve("streams.properties");
    Files.writeString(file, "windows.sizes=5s\napplication.id=from-file\n");
    StreamsSettings s =
        StreamsSettings.from(
            Settings.load(
                StreamsSettings.DEFAULTS,
                Optional.of(file),
                "INFERMETER_",
                Map.of("INFERMETER_APPLICATION_ID", "from-env"),
                new Properties()));
    assertThat(s.windowSizes()).containsExactly(Duration.ofSeconds(5));
    assertThat(s.applicationId()).isEqualTo("from-env");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = ';',
      value = {
        "windows.sizes;10x;windows.sizes",
        "windows.sizes;'';windows.sizes",
        "windows.sizes;10s,1005ms;multiple of 10ms",
        "windows.grace;soon;windows.grace",
        "keys.max.per.window;0;keys.max.per.window",
        "energy.pue;0.9;energy.pue",
        "slo.default.class;gold;slo.default.class",
        "cost.price.per.hour.H100;-1;cost.price.per.hour.H100",
        "state.store.type;disk;state.store.type",
        "metrics.port;70000;metrics.port",
        "alerts.latency.regression.baseline.windows;0;alerts.latency.regression.baseline.windows",
        "alerts.slo.target.pct;100;alerts.slo.target.pct",
        "alerts.throttle.reasons.mask;thermal;alerts.throttle.reasons.mask",
        "alerts.slo.burn.fast.short;2h;alerts.slo.burn.fast.short",
        "alerts.slo.burn.slow.long;0s;alerts.slo.burn.slow.long",
        "alerts.memory.leak.horizon;1s;alerts.memory.leak.horizon",
        "alerts.memory.leak.rate;0;alerts.memory.leak.rate",
        "alerts.jitter.p99.ratio;1;alerts.jitter.p99.ratio",
        "alerts.deadband.pct;100;alerts.deadband.pct",
        "alerts.resolve.windows;0;alerts.resolve.windows",
        "alerts.throttle.reasons.mask;-1;alerts.throttle.reasons.mask",
        "dedup.retention;0s;dedup.retention",
        "topics.price.updates.enabled;maybe;topics.price.updates.enabled"
      })
  void invalidValuesFailNamingTheKey(String key, String value, String named) {
    assertThatThrownBy(() -> StreamsSettings.fromMap(Map.of(key, value)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(named);
  }

  @Test
  void aMissingSloClassThresholdFails() {
    assertThatThrownBy(() -> StreamsSettings.fromMap(Map.of("slo.classes", "default,gold")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("slo.class.gold.ttft.max");
  }

  @Test
  void windowSizesAreSortedSoTheFirstIsTheAlertWindow() {
    assertThat(StreamsSettings.fromMap(Map.of("windows.sizes", "1m,10s,5m")).windowSizes())
        .isEqualTo(List.of(Duration.ofSeconds(10), Duration.ofMinutes(1), Duration.ofMinutes(5)));
  }
}
