package io.infermeter.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Unit test of the replay client against an in-test HTTP server standing in for the collector's
 * endpoints.
 */
class ReplayCommandTest {

  private HttpServer server;
  private final List<String> posts = Collections.synchronizedList(new ArrayList<>());
  private volatile int status = 200;

  @TempDir Path tmp;

  @BeforeEach
  void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        ex -> {
          String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          posts.add(
              ex.getRequestURI().getPath()
                  + " "
                  + ex.getRequestHeaders().getFirst("Content-Type")
                  + "\n"
                  + body);
          byte[] answer =
              (status == 200 ? "{}" : "rejected 1 of 2 items: line 2: model is missing")
                  .getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(status, answer.length);
          ex.getResponseBody().write(answer);
          ex.close();
        });
    server.start();
  }

  @AfterEach
  void stopServer() {
    server.stop(0);
  }

  private int replay(Path file, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                file.toString(),
                "--no-summary",
                "--batch",
                "2",
                "--collector",
                "http://127.0.0.1:" + server.getAddress().getPort()));
    args.addAll(List.of(extra));
    return new CommandLine(new ReplayCommand()).execute(args.toArray(String[]::new));
  }

  @Test
  void jsonLinesGoInBatchesLabelledReplayAndOtlpLinesGoToTraces() throws IOException {
    Path file = tmp.resolve("recorded.jsonl");
    Files.writeString(
        file,
        String.join(
            "\n",
            "# recorded on host a",
            "{\"model\":\"m\",\"arrivalUs\":1,\"e2eUs\":5}",
            "",
            "{\"resourceSpans\":[]}",
            "{\"model\":\"m\",\"source\":\"simulated\",\"arrivalUs\":2,\"e2eUs\":5}",
            "{ \"model\":\"m\",\"arrivalUs\":3,\"e2eUs\":5}"));
    assertThat(replay(file)).isZero();
    assertThat(posts)
        .containsExactly(
            "/v1/traces application/json\n{\"resourceSpans\":[]}",
            "/v1/requests application/x-ndjson\n{\"source\":\"replay\",\"model\":\"m\",\"arrivalUs\":1,\"e2eUs\":5}\n"
                + "{\"model\":\"m\",\"source\":\"simulated\",\"arrivalUs\":2,\"e2eUs\":5}",
            "/v1/requests application/x-ndjson\n{\"source\":\"replay\",\"model\":\"m\",\"arrivalUs\":3,\"e2eUs\":5}");
  }

  @Test
  void rejectedPostsMakeTheExitCodeNonZero() throws IOException {
    status = 400;
    Path file = tmp.resolve("bad.jsonl");
    Files.writeString(file, "{\"model\":\"m\"}\n{\"arrivalUs\":1}\n");
    assertThat(replay(file)).isEqualTo(1);
    assertThat(posts).hasSize(1);
  }

  @Test
  void missingFileIsAUsageError() {
    assertThat(replay(tmp.resolve("nope.jsonl"))).isEqualTo(2);
    assertThat(posts).isEmpty();
  }

  @Test
  void otlpDetectionLooksAtTheFirstKeyOnly() {
    assertThat(ReplayCommand.isOtlp("{\"resourceSpans\":[{}]}")).isTrue();
    assertThat(ReplayCommand.isOtlp("{ \"resourceSpans\" : []}")).isTrue();
    assertThat(ReplayCommand.isOtlp("{\"model\":\"resourceSpans\"}")).isFalse();
    assertThat(ReplayCommand.labelled("{}")).isEqualTo("{\"source\":\"replay\"}");
  }
}
