package io.infermeter.bench.capacity;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The pipeline's apps (collector, streams app, sink) as child JVMs started from their jars, each
 * with its own settings as INFERMETER_* environment variables over this process's environment, its
 * output in a log file. {@link #close} stops every one of them by its pid (TERM, then KILL after 30
 * s); a shutdown hook does the same when this JVM ends on a signal or an error.
 */
final class ChildApps implements AutoCloseable {

  /** One started app. */
  record App(String name, Process process, int metricsPort, Path log) {
    long pid() {
      return process.pid();
    }
  }

  private final List<App> apps = new ArrayList<>();
  private final Thread hook = new Thread(this::stopAll, "capacity-stop-apps");

  ChildApps() {
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /**
   * Starts {@code jar} as {@code name} with {@code settings} (key -> value, passed as INFERMETER_ +
   * key upper-cased with dots as underscores) and the JVM options {@code jvmOptions}.
   */
  synchronized App start(
      String name,
      Path jar,
      List<String> jvmOptions,
      Map<String, String> settings,
      int metricsPort,
      Path log)
      throws IOException {
    if (!jar.toFile().isFile()) {
      throw new IllegalStateException(
          jar + " is missing: build it first (mvn -B -ntp -DskipTests package)");
    }
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(jvmOptions);
    command.add("-jar");
    command.add(jar.toString());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    settings.forEach((k, v) -> pb.environment().put(envName(k), v));
    App app = new App(name, pb.start(), metricsPort, log);
    apps.add(app);
    return app;
  }

  /** The environment variable of setting {@code key}: INFERMETER_ + key, upper case, '.' -> '_'. */
  static String envName(String key) {
    return "INFERMETER_" + key.toUpperCase(java.util.Locale.ROOT).replace('.', '_');
  }

  /** Waits until {@code app}'s /metrics answers; fails when it exits or does not within seconds. */
  static void awaitMetrics(App app, int seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      if (!app.process().isAlive()) {
        throw new IllegalStateException(
            app.name() + " exited with " + app.process().exitValue() + "; see " + app.log());
      }
      try {
        HttpURLConnection c =
            (HttpURLConnection)
                URI.create("http://127.0.0.1:" + app.metricsPort() + "/metrics")
                    .toURL()
                    .openConnection();
        c.setConnectTimeout(1000);
        c.setReadTimeout(2000);
        if (c.getResponseCode() == 200) {
          c.getInputStream().readAllBytes();
          return;
        }
      } catch (IOException e) {
        // not up yet
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException(
        app.name() + " did not answer on :" + app.metricsPort() + " within " + seconds + " s");
  }

  /** A loopback port free now (for an app's HTTP or metrics endpoint). */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Every started app that has exited, as "name (exit code)". */
  synchronized List<String> exited() {
    List<String> out = new ArrayList<>();
    for (App a : apps) {
      if (!a.process().isAlive()) {
        out.add(a.name() + " (exit " + a.process().exitValue() + ", log " + a.log() + ")");
      }
    }
    return out;
  }

  private synchronized void stopAll() {
    // the last started first: the collector before the streams app before the sink
    for (int i = apps.size() - 1; i >= 0; i--) {
      App app = apps.get(i);
      ProcessHandle handle = app.process().toHandle();
      if (!handle.isAlive()) {
        continue;
      }
      handle.destroy();
      try {
        if (!app.process().waitFor(30, TimeUnit.SECONDS)) {
          handle.destroyForcibly();
          app.process().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        handle.destroyForcibly();
        Thread.currentThread().interrupt();
      }
      System.out.printf("capacity: stopped %s (pid %d)%n", app.name(), app.pid());
    }
    apps.clear();
  }

  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is already shutting down: the hook runs (and finds nothing left)
    }
  }
}
