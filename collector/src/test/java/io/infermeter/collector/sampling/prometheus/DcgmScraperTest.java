package io.infermeter.collector.sampling.prometheus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.infermeter.avro.HardwareSample;
import io.infermeter.collector.sampling.HardwareSamples;
import io.infermeter.collector.sampling.SamplerLoop;
import io.infermeter.collector.support.CollectorMetrics;
import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.Settings;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The scraper against a local com.sun.net.httpserver on 127.0.0.1 serving the dcgm-exporter fixture
 * (field/dcgm-exporter-metrics.txt), and against abusive targets: huge body, slow target, error
 * status, refused connection, malformed lines, duplicate series.
 */
class DcgmScraperTest {

  private HttpServer server;
  private final AtomicReference<Handler> handler = new AtomicReference<>();
  private final CollectorMetrics metrics = new CollectorMetrics();
  private final Clock clock = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);

  interface Handler {
    void handle(OutputStream out, com.sun.net.httpserver.HttpExchange ex) throws Exception;
  }

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/metrics",
        ex -> {
          try {
            handler.get().handle(ex.getResponseBody(), ex);
          } catch (Exception e) {
            // the client went away (timeout, cap): nothing to answer
          } finally {
            ex.close();
          }
        });
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private URI target() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/metrics");
  }

  private static Handler serve(String body) {
    return (out, ex) -> {
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      ex.sendResponseHeaders(200, b.length);
      out.write(b);
    };
  }

  private DcgmScraper scraper(Duration timeout, long maxBody, URI... targets) {
    return new DcgmScraper(
        new ScrapeSettings(List.of(targets), Duration.ofSeconds(10), timeout, maxBody),
        new HardwareSamples("c1", "r1", "node-a"),
        null,
        metrics,
        clock);
  }

  @Test
  void theFixtureBecomesOneSamplePerGpuThroughTheSamplerLoop() throws IOException {
    handler.set(serve(PrometheusTextTest.fixture()));
    List<HardwareSample> published = Collections.synchronizedList(new ArrayList<>());
    try (DcgmScraper s = scraper(Duration.ofSeconds(5), 1 << 20, target());
        SamplerLoop loop = new SamplerLoop(List.of(s), published::add, metrics, clock)) {
      s.scrapeAll();
      loop.runOnce();
      assertThat(published).hasSize(2);
      assertThat(published)
          .allSatisfy(
              h -> {
                assertThat(h.getHost()).isEqualTo("node-a");
                assertThat(h.getSource()).isEqualTo("dcgm");
                assertThat(h.getTimestampUs()).isEqualTo(clock.instant().toEpochMilli() * 1000);
                assertThat(h.getPowerW()).isPositive();
                assertThat(h.getEnergyMj()).isPositive();
              });
      assertThat(s.latest()).hasSize(2);
      assertThat(s.latest().values())
          .flatExtracting(g -> List.copyOf(g.pods()))
          .extracting(DcgmMapping.PodRef::pod)
          .hasSize(2)
          .allMatch(p -> p.contains("-"));
      loop.runOnce();
      assertThat(published).as("a sample is handed over once").hasSize(2);
      assertThat(s.errorCount(target(), "connect")).isZero();
    }
  }

  @Test
  void aBodyOverTheCapIsAbandonedAndCounted() {
    String line = "DCGM_FI_DEV_POWER_USAGE{UUID=\"GPU-1\"} 1\n";
    handler.set(
        (out, ex) -> {
          ex.sendResponseHeaders(200, 0); // chunked, no length announced
          byte[] b = line.getBytes(StandardCharsets.UTF_8);
          for (int i = 0; i < 2_000_000; i++) {
            out.write(b);
          }
        });
    try (DcgmScraper s = scraper(Duration.ofSeconds(5), 64 * 1024, target())) {
      long t0 = System.nanoTime();
      s.scrapeAll();
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
      assertThat(s.errorCount(target(), "too_large")).isEqualTo(1.0);
      assertThat(s.sample(0)).isEmpty();
    }
  }

  @Test
  void aSlowTargetTimesOutWithinTheTimeout() {
    handler.set(
        (out, ex) -> {
          ex.sendResponseHeaders(200, 0);
          out.write("DCGM_FI_DEV_POWER_USAGE{UUID=\"GPU-1\"} 1\n".getBytes(StandardCharsets.UTF_8));
          out.flush();
          Thread.sleep(10_000); // headers and a first line, then nothing (a trickling target)
        });
    try (DcgmScraper s = scraper(Duration.ofMillis(500), 1 << 20, target())) {
      long t0 = System.nanoTime();
      s.scrapeAll();
      s.scrapeAll();
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
      assertThat(s.errorCount(target(), "timeout")).isEqualTo(2.0);
      assertThat(s.sample(0)).isEmpty();
    }
  }

  @Test
  void errorStatusAndRefusedConnectionAreCountedAndTheOtherTargetStillWorks() throws IOException {
    int closedPort;
    try (ServerSocket ss = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = ss.getLocalPort();
    }
    URI refused = URI.create("http://127.0.0.1:" + closedPort + "/metrics");
    URI missing = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/nothing");
    handler.set(serve(PrometheusTextTest.fixture()));
    try (DcgmScraper s = scraper(Duration.ofSeconds(2), 1 << 20, refused, missing, target())) {
      s.scrapeAll();
      assertThat(s.errorCount(refused, "connect")).isEqualTo(1.0);
      assertThat(s.errorCount(missing, "status")).isEqualTo(1.0);
      assertThat(s.sample(0)).hasSize(2);
    }
  }

  @Test
  void malformedLinesAndDuplicateSeriesAreSkippedAndCounted() {
    handler.set(
        serve(
            "DCGM_FI_DEV_POWER_USAGE{UUID=\"GPU-1\"} 100\n"
                + "DCGM_FI_DEV_POWER_USAGE{UUID=\"GPU-1\"} 200\n"
                + "DCGM_FI_DEV_GPU_TEMP{UUID=\"GPU-1\" 50\n"
                + "DCGM_FI_DEV_GPU_UTIL{UUID=\"GPU-1\",note=\"a \\\"quoted\\\" \\\\ value\"} 40\n"));
    try (DcgmScraper s = scraper(Duration.ofSeconds(2), 1 << 20, target())) {
      s.scrapeAll();
      assertThat(s.malformedCount(target())).isEqualTo(1.0);
      assertThat(s.duplicateCount(target())).isEqualTo(1.0);
      HardwareSample h = s.sample(0).get(0);
      assertThat(h.getPowerW()).isEqualTo(100.0);
      assertThat(h.getTemperatureC()).isNull();
      assertThat(h.getUtilizationPct()).isEqualTo(40.0);
    }
  }

  @Test
  void settingsDefaultsAndValidation() {
    ScrapeSettings d = ScrapeSettings.from(Settings.fromMap(ScrapeSettings.defaults()));
    assertThat(d.dcgmTargets()).isEmpty();
    assertThat(d.interval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(d.timeout()).isEqualTo(Duration.ofSeconds(5));
    Map<String, String> m = new java.util.HashMap<>(ScrapeSettings.defaults());
    m.put("scrape.dcgm.targets", " http://10.0.0.1:9400/metrics , https://u:p@h:9400/metrics ");
    ScrapeSettings two = ScrapeSettings.from(Settings.fromMap(m));
    assertThat(two.dcgmTargets()).hasSize(2);
    assertThat(ScrapeSettings.label(two.dcgmTargets().get(1))).isEqualTo("https://h:9400/metrics");
    m.put("scrape.dcgm.targets", "ftp://h/metrics");
    assertThatThrownBy(() -> ScrapeSettings.from(Settings.fromMap(m)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("scrape.dcgm.targets");
    m.put("scrape.dcgm.targets", "");
    m.put("scrape.timeout", "0s");
    assertThatThrownBy(() -> ScrapeSettings.from(Settings.fromMap(m)))
        .hasMessageContaining("scrape.timeout");
    m.put("scrape.timeout", "5s");
    m.put("scrape.max.body.bytes", "0");
    assertThatThrownBy(() -> ScrapeSettings.from(Settings.fromMap(m)))
        .hasMessageContaining("scrape.max.body.bytes");
  }
}
