package io.infermeter.alerts;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * A real Alertmanager (Debian's {@code prometheus-alertmanager} package, which {@code ./infermeter
 * test} installs) run by a test: on 127.0.0.1 with an ephemeral port, gossip off ({@code
 * --cluster.listen-address=}), a temporary config and data directory, grouping by {@code
 * alertname}, stopped by its PID in {@link #close()}.
 */
final class AlertmanagerProcess implements AutoCloseable {

  static final String CONFIG =
      String.join(
          "\n",
          "route:",
          "  receiver: blackhole",
          "  group_by: [alertname]",
          "  group_wait: 1s",
          "  group_interval: 1s",
          "  repeat_interval: 1h",
          "receivers:",
          "  - name: blackhole",
          "");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern RECEIVED =
      Pattern.compile(
          "(?m)^alertmanager_alerts_received_total\\{status=\"(firing|resolved)\",version=\"v2\"} (\\S+)$");

  private final Process process;
  private final Path dir;
  private final int port;
  private final Optional<String> authorization;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private AlertmanagerProcess(Process process, Path dir, int port, Optional<String> authorization) {
    this.process = process;
    this.dir = dir;
    this.port = port;
    this.authorization = authorization;
  }

  /**
   * The binary: INFERMETER_ALERTMANAGER_BIN, else Debian's /usr/bin/prometheus-alertmanager, else
   * alertmanager on PATH.
   */
  static Optional<Path> binary() {
    List<Path> candidates = new ArrayList<>();
    String env = System.getenv("INFERMETER_ALERTMANAGER_BIN");
    if (env != null && !env.isBlank()) {
      candidates.add(Path.of(env));
    }
    candidates.add(Path.of("/usr/bin/prometheus-alertmanager"));
    for (String p :
        System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator, -1)) {
      if (!p.isEmpty()) {
        candidates.add(Path.of(p, "alertmanager"));
      }
    }
    return candidates.stream().filter(Files::isExecutable).findFirst();
  }

  /**
   * Starts one; skips the calling test (with the reason) only when no Alertmanager binary is
   * installed.
   */
  static AlertmanagerProcess start() throws Exception {
    return start(0);
  }

  /**
   * A fresh one (empty storage) on {@code port}, e.g. the port of one that was stopped; 0 picks a
   * free port.
   */
  static AlertmanagerProcess start(int fixedPort) throws Exception {
    return start(fixedPort, null, Optional.empty());
  }

  /**
   * One on {@code fixedPort} (0: a free one) with Alertmanager's {@code --web.config.file} set to
   * {@code webConfig} when not null (e.g. basic_auth_users); {@code authorization} is the header
   * this helper's own requests send.
   */
  static AlertmanagerProcess start(int fixedPort, String webConfig, Optional<String> authorization)
      throws Exception {
    Optional<Path> bin = binary();
    Assumptions.assumeTrue(
        bin.isPresent(),
        "no Alertmanager binary: install Debian's prometheus-alertmanager "
            + "(./infermeter test does) or set INFERMETER_ALERTMANAGER_BIN");
    IOException last = null;
    for (int attempt = 0;
        attempt < 3;
        attempt++) { // the free port may be taken between probing and binding
      Path dir = Files.createTempDirectory("alertmanager-it");
      Files.writeString(dir.resolve("alertmanager.yml"), CONFIG);
      int port = fixedPort != 0 ? fixedPort : freePort();
      List<String> command =
          new ArrayList<>(
              List.of(
                  bin.get().toString(),
                  "--config.file=" + dir.resolve("alertmanager.yml"),
                  "--storage.path=" + dir.resolve("data"),
                  "--web.listen-address=127.0.0.1:" + port,
                  "--cluster.listen-address=",
                  "--log.level=warn"));
      if (webConfig != null) {
        Files.writeString(dir.resolve("web.yml"), webConfig);
        command.add("--web.config.file=" + dir.resolve("web.yml"));
      }
      Process p =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("alertmanager.log").toFile())
              .start();
      AlertmanagerProcess am = new AlertmanagerProcess(p, dir, port, authorization);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (p.isAlive() && System.nanoTime() < deadline) {
        try {
          if (am.get("/-/ready").statusCode() == 200) {
            return am;
          }
        } catch (IOException e) {
          last = e;
        }
        Thread.sleep(50);
      }
      String log =
          Files.exists(dir.resolve("alertmanager.log"))
              ? Files.readString(dir.resolve("alertmanager.log"))
              : "";
      am.close();
      last =
          new IOException("Alertmanager on port " + port + " did not become ready: " + log, last);
    }
    throw last;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  int port() {
    return port;
  }

  /** Base URL, e.g. http://127.0.0.1:41234. */
  String url() {
    return "http://127.0.0.1:" + port;
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url() + path)).timeout(Duration.ofSeconds(5));
    authorization.ifPresent(a -> request.header("Authorization", a));
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** {@code GET /api/v2/alerts}: the active (not resolved) alerts. */
  JsonNode alerts() throws IOException, InterruptedException {
    return JSON.readTree(get("/api/v2/alerts").body());
  }

  /** {@code GET /api/v2/alerts/groups}. */
  JsonNode groups() throws IOException, InterruptedException {
    return JSON.readTree(get("/api/v2/alerts/groups").body());
  }

  /**
   * Alertmanager's own count of alerts received through API v2 with {@code status} firing or
   * resolved.
   */
  double received(String status) throws IOException, InterruptedException {
    Matcher m = RECEIVED.matcher(get("/metrics").body());
    while (m.find()) {
      if (m.group(1).equals(status)) {
        return Double.parseDouble(m.group(2));
      }
    }
    throw new AssertionError(
        "no alertmanager_alerts_received_total{status=\"" + status + "\"} on " + url());
  }

  @Override
  public void close() throws IOException {
    process.destroy(); // SIGTERM to this PID
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    deleteTree(dir);
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (var paths = Files.walk(root)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
