package io.infermeter.collector.ingest.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.collector.ingest.http.HttpLimitMetrics.Limit;
import io.infermeter.collector.ingest.http.NettyHttpServer.Request;
import io.infermeter.collector.ingest.http.NettyHttpServer.Response;
import io.infermeter.collector.ingest.http.NettyHttpServer.Route;
import io.infermeter.schemas.config.Settings;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP server on raw sockets: framing, keep-alive, pipelining, 100-continue, errors and the
 * basic limits.
 */
class NettyHttpServerTest {

  NettyHttpServer server;
  HttpLimitMetrics metrics;
  final CopyOnWriteArrayList<String> answered = new CopyOnWriteArrayList<>();

  static Route route(BiFunction<Request, byte[], Response> handler, Response headAnswer) {
    return new Route() {
      @Override
      public Response head(Request request) {
        return headAnswer;
      }

      @Override
      public Response handle(Request request, byte[] body, int length) {
        byte[] exact = java.util.Arrays.copyOf(body, length);
        return handler.apply(request, exact);
      }
    };
  }

  /** Test settings: the documented defaults, a 1 MiB body limit, then {@code overrides}. */
  static HttpServerSettings settings(String... overrides) {
    Map<String, String> m = new LinkedHashMap<>(HttpServerSettings.defaults());
    m.put("http.host", "127.0.0.1");
    m.put("http.port", "0");
    m.put("http.max.connections", "256");
    m.put("http.max.body.bytes", String.valueOf(1 << 20));
    for (int i = 0; i < overrides.length; i += 2) {
      m.put(overrides[i], overrides[i + 1]);
    }
    return HttpServerSettings.from(Settings.fromMap(m));
  }

  /**
   * /echo answers the body it read (and the method in X-Method); /refuse answers 401 from the head;
   * /boom throws; /big answers 256 KiB.
   */
  NettyHttpServer start(HttpServerSettings s) throws IOException {
    metrics = HttpLimitMetrics.of(new PrometheusRegistry());
    server =
        new NettyHttpServer(
            s,
            Map.of(
                "/echo",
                    route(
                        (r, b) -> new Response(200, "text/plain", b, "X-Method", r.method()), null),
                "/refuse",
                    route((r, b) -> Response.text(200, "unreachable"), Response.text(401, "no\n")),
                "/boom",
                    route(
                        (r, b) -> {
                          throw new IllegalStateException("handler failed (test)");
                        },
                        null),
                "/big",
                    route(
                        (r, b) ->
                            new Response(200, "application/octet-stream", new byte[256 * 1024]),
                        null)),
            metrics,
            (path, code) -> answered.add(path + " " + code));
    return server;
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  record Answer(int status, Map<String, String> headers, String body) {}

  Socket connect() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port());
    s.setSoTimeout(10_000);
    return s;
  }

  static void send(Socket s, String raw) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  /** Reads one response (Content-Length framed). */
  static Answer read(InputStream in) throws IOException {
    String status = line(in);
    assertThat(status).startsWith("HTTP/1.1 ");
    Map<String, String> headers = new LinkedHashMap<>();
    String h;
    while (!(h = line(in)).isEmpty()) {
      int colon = h.indexOf(':');
      headers.put(h.substring(0, colon).toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
    }
    int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
    byte[] body = in.readNBytes(length);
    assertThat(body).hasSize(length);
    return new Answer(
        Integer.parseInt(status.substring(9, 12)),
        headers,
        new String(body, StandardCharsets.UTF_8));
  }

  static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != '\n') {
      if (c < 0) {
        throw new IOException("closed; got '" + b + "'");
      }
      b.write(c);
    }
    String s = b.toString(StandardCharsets.ISO_8859_1);
    assertThat(s).endsWith("\r");
    return s.substring(0, s.length() - 1);
  }

  static boolean closedByServer(Socket s) throws IOException {
    try {
      InputStream in = s.getInputStream();
      while (true) { // what the server still sent is read past
        if (in.read() < 0) {
          return true;
        }
      }
    } catch (java.net.SocketException e) {
      return true; // reset
    } catch (java.net.SocketTimeoutException e) {
      return false;
    }
  }

  static void await(BooleanSupplier condition, Duration timeout, String what)
      throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(end);
      Thread.sleep(20);
    }
  }

  @Test
  void keepAliveServesManyRequestsOnOneConnection() throws Exception {
    start(settings());
    try (Socket s = connect()) {
      for (int i = 0; i < 3; i++) {
        String body = "line " + i + "\n";
        send(
            s,
            "POST /echo?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: "
                + body.length()
                + "\r\n\r\n"
                + body);
        Answer r = read(s.getInputStream());
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(body);
        assertThat(r.headers())
            .containsEntry("content-type", "text/plain")
            .containsEntry("x-method", "POST")
            .doesNotContainKey("connection");
      }
    }
    assertThat(answered).containsExactly("/echo 200", "/echo 200", "/echo 200");
    // the server releases a body's bytes just after writing its answer, so the client can read
    // the answer a moment before the release
    await(
        () -> server.inflightBodyBytes() == 0,
        Duration.ofSeconds(5),
        "body bytes released after the last answer");
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    start(settings());
    try (Socket s = connect()) {
      send(
          s,
          "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\naPOST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nbc"
              + "GET /echo HTTP/1.1\r\n\r\n");
      assertThat(read(s.getInputStream()).body()).isEqualTo("a");
      assertThat(read(s.getInputStream()).body()).isEqualTo("bc");
      Answer get = read(s.getInputStream());
      assertThat(get.body()).isEmpty();
      assertThat(get.headers()).containsEntry("x-method", "GET");
    }
  }

  @Test
  void chunkedBodiesAreDecoded() throws Exception {
    start(settings());
    try (Socket s = connect()) {
      send(
          s,
          "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n"
              + "X-Trailer: t\r\n\r\n");
      assertThat(read(s.getInputStream()).body()).isEqualTo("hello, world");
      // the connection is still usable after the chunked body
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
      assertThat(read(s.getInputStream()).body()).isEqualTo("ok");
    }
  }

  @Test
  void expectContinueGetsTheInterimAnswerOnlyWhenTheHeadIsAccepted() throws Exception {
    start(settings());
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
      assertThat(line(s.getInputStream())).isEqualTo("HTTP/1.1 100 Continue");
      String next;
      while (!(next = line(s.getInputStream())).isEmpty()) {
        assertThat(next).doesNotStartWith("HTTP/"); // headers of the interim answer, if any
      }
      send(s, "abc");
      assertThat(read(s.getInputStream()).body()).isEqualTo("abc");
    }
    try (Socket s = connect()) {
      // refused from its headers: no 100, and the connection is closed (the client never sent the
      // body)
      send(s, "POST /refuse HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
      Answer r = read(s.getInputStream());
      assertThat(r.status()).isEqualTo(401);
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue();
    }
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nExpect: teapot\r\n\r\nabc");
      assertThat(read(s.getInputStream()).status()).isEqualTo(417);
      assertThat(closedByServer(s)).isTrue();
    }
  }

  @Test
  void aSmallUnreadBodyIsSkippedAndALargeOneClosesTheConnection() throws Exception {
    start(settings());
    try (Socket s = connect()) {
      send(s, "POST /refuse HTTP/1.1\r\nContent-Length: 5\r\n\r\n12345");
      assertThat(read(s.getInputStream()).status()).isEqualTo(401);
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
      assertThat(read(s.getInputStream()).body()).isEqualTo("ok");
    }
    try (Socket s = connect()) {
      send(s, "POST /refuse HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n12345");
      Answer r = read(s.getInputStream());
      assertThat(r.status()).isEqualTo(401);
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue();
    }
  }

  @Test
  void http10ClosesUnlessAskedToKeepAlive() throws Exception {
    start(settings());
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.0\r\nContent-Length: 1\r\n\r\nx");
      Answer r = read(s.getInputStream());
      assertThat(r.body()).isEqualTo("x");
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue();
    }
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\ny");
      assertThat(read(s.getInputStream()).headers()).containsEntry("connection", "keep-alive");
      send(s, "POST /echo HTTP/1.1\r\nConnection: close\r\nContent-Length: 1\r\n\r\nz");
      Answer r = read(s.getInputStream());
      assertThat(r.body()).isEqualTo("z");
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue();
    }
  }

  @Test
  void unknownPathIs404AndAFailingHandler500() throws Exception {
    start(settings());
    try (Socket s = connect()) {
      send(s, "GET /nope HTTP/1.1\r\n\r\n");
      assertThat(read(s.getInputStream()).status()).isEqualTo(404);
      send(s, "POST /boom HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
      Answer r = read(s.getInputStream());
      assertThat(r.status()).isEqualTo(500);
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue();
    }
    // the client's path never becomes a metric label
    assertThat(answered).containsExactly(NettyHttpServer.OTHER_PATH + " 404", "/boom 500");
  }

  @Test
  void closeEndsIdleConnectionsAtOnce() throws Exception {
    start(settings());
    Socket s = connect();
    send(s, "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
    assertThat(read(s.getInputStream()).status()).isEqualTo(200);
    long t0 = System.nanoTime();
    server.close();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
    assertThat(closedByServer(s)).isTrue();
    s.close();
    server = null;
  }

  @Test
  void anIdleConnectionIsClosedAfterTheIdleTimeout() throws Exception {
    start(settings("http.idle.timeout", "300ms"));
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
      assertThat(read(s.getInputStream()).status()).isEqualTo(200);
      long t0 = System.nanoTime();
      assertThat(closedByServer(s)).isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
    }
    assertThat(metrics.countOf(Limit.IDLE_TIMEOUT)).isEqualTo(1);
  }
}
