package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.infermeter.avro.HardwareSample;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole collector scraping a local HTTP server that serves the dcgm-exporter fixture
 * (field/dcgm-exporter-metrics.txt, written from NVIDIA/dcgm-exporter's counter CSVs and README):
 * the GPUs' samples reach the real hardware topic as Avro, keyed and stamped with the collector's
 * node identity.
 */
class DcgmScrapeIT {

  @TempDir Path spool;

  @Test
  void dcgmExporterSamplesReachTheHardwareTopic() throws Exception {
    byte[] body;
    try (InputStream in =
        DcgmScrapeIT.class.getResourceAsStream("/field/dcgm-exporter-metrics.txt")) {
      body = in.readAllBytes();
    }
    Set<String> uuids =
        new String(body, StandardCharsets.UTF_8)
            .lines()
            .filter(l -> l.startsWith("DCGM_FI_"))
            .map(l -> l.replaceAll(".*UUID=\"([^\"]+)\".*", "$1"))
            .collect(Collectors.toSet());
    HttpServer exporter =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    exporter.createContext(
        "/metrics",
        ex -> {
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    exporter.start();
    String prefix = Infra.uniqueName("it-dcgm") + "-";
    String hardware = Topics.HARDWARE.withPrefix(prefix).name();
    ItSupport.createTopics(
        Infra.get().kafkaBootstrap(),
        Topics.REQUESTS.withPrefix(prefix).name(),
        hardware,
        Topics.DEAD_LETTERS.withPrefix(prefix).name());
    Map<String, Object> cfg = CollectorIT.baseConfig(prefix, spool);
    cfg.put(
        "scrape.dcgm.targets", "http://127.0.0.1:" + exporter.getAddress().getPort() + "/metrics");
    cfg.put("scrape.interval", "500ms");
    try (Collector collector = Collector.start(CollectorConfig.from(Settings.fromMap(cfg)))) {
      List<ConsumerRecord<String, HardwareSample>> got =
          ItSupport.readUntil(
              hardware,
              HardwareSample.class,
              Duration.ofSeconds(60),
              l ->
                  l.stream()
                      .filter(r -> r.value().getSource().equals("dcgm"))
                      .map(r -> r.value().getDeviceId())
                      .collect(Collectors.toSet())
                      .containsAll(uuids));
      List<HardwareSample> dcgm =
          got.stream()
              .map(ConsumerRecord::value)
              .filter(s -> s.getSource().equals("dcgm"))
              .toList();
      assertThat(dcgm).extracting(HardwareSample::getDeviceId).containsAll(uuids);
      assertThat(dcgm)
          .allSatisfy(
              s -> {
                assertThat(s.getHost()).isEqualTo("it-host");
                assertThat(s.getCluster()).isEqualTo("it-cluster");
                assertThat(s.getGpuType()).isEqualTo("NVIDIA H100 80GB HBM3");
                assertThat(s.getPowerW()).isPositive();
                assertThat(s.getEnergyMj()).isPositive();
                assertThat(s.getMemoryUsedBytes()).isPositive();
              });
      assertThat(got)
          .filteredOn(r -> r.value().getSource().equals("dcgm"))
          .allSatisfy(r -> assertThat(r.key()).isEqualTo("it-host/" + r.value().getDeviceId()));
    } finally {
      exporter.stop(0);
    }
  }
}
