package io.infermeter.collector;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.Uuid;

/**
 * A single-node KRaft Kafka broker in its own JVM (started from the test classpath, which holds
 * kafka_2.13), so an outage test can make "Kafka" unreachable without touching the shared local
 * broker. It advertises {@code advertisedPort} (an {@link io.infermeter.testsupport.TcpProxy} in
 * front of it) so every client connection goes through the proxy.
 */
final class OwnBroker implements AutoCloseable {

  private final Process process;
  final int port;

  OwnBroker(Path dir, int advertisedPort) throws Exception {
    this.port = freePort();
    int controller = freePort();
    Path props = dir.resolve("server.properties");
    Files.writeString(
        props,
        String.join(
            "\n",
            "process.roles=broker,controller",
            "node.id=1",
            "controller.quorum.bootstrap.servers=127.0.0.1:" + controller,
            "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller,
            "advertised.listeners=PLAINTEXT://127.0.0.1:" + advertisedPort,
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "log.dirs=" + dir.resolve("data"),
            "num.partitions=3",
            "auto.create.topics.enable=true",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            ""));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("java.class.path");
    run(
        List.of(
            java,
            "-Xmx256m",
            "-cp",
            cp,
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "-t",
            Uuid.randomUuid().toString(),
            "-c",
            props.toString()),
        dir.resolve("format.log"));
    List<String> cmd =
        new ArrayList<>(
            List.of(
                java, "-Xmx384m", "-XX:+UseSerialGC", "-cp", cp, "kafka.Kafka", props.toString()));
    process =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("broker.log").toFile())
            .start();
  }

  private static void run(List<String> cmd, Path log) throws Exception {
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("command failed: " + cmd + "\n" + Files.readString(log));
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
