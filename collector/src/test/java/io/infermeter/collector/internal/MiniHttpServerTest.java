package io.infermeter.collector.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The ingest HTTP server on raw sockets: framing, keep-alive, limits and errors. */
class MiniHttpServerTest {

  private MiniHttpServer server;
  private final CountDownLatch release = new CountDownLatch(1);

  /** /echo answers the body it read; /refuse answers 401 without reading; /boom throws; /slow waits for release. */
  private MiniHttpServer start(int maxConnections, int readTimeoutMillis) throws IOException {
    server = new MiniHttpServer("127.0.0.1", 0, Map.of(
        "/echo", ex -> ex.respond(200, "text/plain", ex.body().readAllBytes(), "X-Method", ex.method),
        "/refuse", ex -> ex.respond(401, "text/plain", "no\n".getBytes(StandardCharsets.US_ASCII)),
        "/boom", ex -> {
          throw new IllegalStateException("handler failed (test)");
        },
        "/slow", ex -> {
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          ex.respond(200, "text/plain", new byte[0]);
        }), maxConnections, readTimeoutMillis);
    return server;
  }

  @AfterEach
  void stop() {
    release.countDown();
    if (server != null) {
      server.close();
    }
  }

  private record Response(int status, Map<String, String> headers, String body) {}

  private Socket connect() throws IOException {
    Socket s = new Socket("127.0.0.1", server.port());
    s.setSoTimeout(5000);
    return s;
  }

  private static void send(Socket s, String raw) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  /** Reads one response (Content-Length framed). */
  private static Response read(InputStream in) throws IOException {
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
    return new Response(Integer.parseInt(status.substring(9, 12)), headers, new String(body, StandardCharsets.UTF_8));
  }

  private static String line(InputStream in) throws IOException {
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

  private static boolean closedByServer(Socket s) throws IOException {
    try {
      return s.getInputStream().read() < 0;
    } catch (java.net.SocketException e) {
      return true; // reset
    }
  }

  @Test
  void keepAliveServesManyRequestsOnOneConnection() throws Exception {
    start(4, 5000);
    try (Socket s = connect()) {
      for (int i = 0; i < 3; i++) {
        String body = "line " + i + "\n";
        send(s, "POST /echo?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
        Response r = read(s.getInputStream());
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(body);
        assertThat(r.headers()).containsEntry("content-type", "text/plain").containsEntry("x-method", "POST")
            .doesNotContainKey("connection");
      }
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    start(4, 5000);
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\naPOST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nbc"
          + "GET /echo HTTP/1.1\r\n\r\n");
      assertThat(read(s.getInputStream()).body()).isEqualTo("a");
      assertThat(read(s.getInputStream()).body()).isEqualTo("bc");
      Response get = read(s.getInputStream());
      assertThat(get.body()).isEmpty();
      assertThat(get.headers()).containsEntry("x-method", "GET");
    }
  }

  @Test
  void chunkedBodiesAreDecoded() throws Exception {
    start(4, 5000);
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n"
          + "X-Trailer: t\r\n\r\n");
      assertThat(read(s.getInputStream()).body()).isEqualTo("hello, world");
      // the connection is still usable after the chunked body
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
      assertThat(read(s.getInputStream()).body()).isEqualTo("ok");
    }
  }

  @Test
  void expectContinueGetsTheInterimAnswerOnlyWhenTheBodyIsRead() throws Exception {
    start(4, 5000);
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
      assertThat(line(s.getInputStream())).isEqualTo("HTTP/1.1 100 Continue");
      assertThat(line(s.getInputStream())).isEmpty();
      send(s, "abc");
      assertThat(read(s.getInputStream()).body()).isEqualTo("abc");
    }
    try (Socket s = connect()) {
      // refused from its headers: no 100, and the connection is closed (the client never sent the body)
      send(s, "POST /refuse HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
      Response r = read(s.getInputStream());
      assertThat(r.status()).isEqualTo(401);
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue();
    }
  }

  @Test
  void aSmallUnreadBodyIsSkippedAndALargeOneClosesTheConnection() throws Exception {
    start(4, 5000);
    try (Socket s = connect()) {
      send(s, "POST /refuse HTTP/1.1\r\nContent-Length: 5\r\n\r\n12345");
      assertThat(read(s.getInputStream()).status()).isEqualTo(401);
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
      assertThat(read(s.getInputStream()).body()).isEqualTo("ok");
    }
    try (Socket s = connect()) {
      send(s, "POST /refuse HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n12345");
      Response r = read(s.getInputStream());
      assertThat(r.status()).isEqualTo(401);
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue();
    }
  }

  @Test
  void http10ClosesUnlessAskedToKeepAlive() throws Exception {
    start(4, 5000);
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.0\r\nContent-Length: 1\r\n\r\nx");
      Response r = read(s.getInputStream());
      assertThat(r.body()).isEqualTo("x");
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue();
    }
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\ny");
      assertThat(read(s.getInputStream()).headers()).containsEntry("connection", "keep-alive");
      send(s, "POST /echo HTTP/1.1\r\nConnection: close\r\nContent-Length: 1\r\n\r\nz");
      Response r = read(s.getInputStream());
      assertThat(r.body()).isEqualTo("z");
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue();
    }
  }

  @Test
  void malformedRequestsAreRefusedAndTheConnectionClosed() throws Exception {
    start(4, 5000);
    String[][] cases = {
        {"NONSENSE\r\n\r\n", "400"},
        {"POST /echo HTTP/2.0\r\n\r\n", "505"},
        {"POST /echo HTTP/1.1\r\nno colon here\r\n\r\n", "400"},
        {"POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400"},
        {"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "400"},
        {"POST /echo HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "400"},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "501"},
        {"POST /echo HTTP/1.1\r\nX-Big: " + "a".repeat(MiniHttpServer.MAX_HEAD_BYTES) + "\r\n\r\n", "431"},
    };
    for (String[] c : cases) {
      try (Socket s = connect()) {
        send(s, c[0]);
        Response r = read(s.getInputStream());
        assertThat(r.status()).as(c[0].length() > 60 ? c[0].substring(0, 60) : c[0])
            .isEqualTo(Integer.parseInt(c[1]));
        assertThat(r.headers()).containsEntry("connection", "close");
        assertThat(closedByServer(s)).isTrue();
      }
    }
    try (Socket s = connect()) {
      // a broken chunked body: the handler's read fails, the server answers 400 and closes
      send(s, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
      assertThat(read(s.getInputStream()).status()).isEqualTo(400);
      assertThat(closedByServer(s)).isTrue();
    }
  }

  @Test
  void unknownPathIs404AndAFailingHandler500() throws Exception {
    start(4, 5000);
    try (Socket s = connect()) {
      send(s, "GET /nope HTTP/1.1\r\n\r\n");
      assertThat(read(s.getInputStream()).status()).isEqualTo(404);
      send(s, "POST /boom HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
      Response r = read(s.getInputStream());
      assertThat(r.status()).isEqualTo(500);
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue();
    }
  }

  @Test
  void connectionsBeyondTheLimitGet503() throws Exception {
    start(1, 5000);
    try (Socket busy = connect(); Socket second = connect()) {
      send(busy, "POST /slow HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
      Response r = read(second.getInputStream());
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.headers()).containsEntry("retry-after", "1");
      release.countDown();
      assertThat(read(busy.getInputStream()).status()).isEqualTo(200);
    }
  }

  @Test
  void aStalledClientIsCutOffAfterTheReadTimeout() throws Exception {
    start(4, 300);
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"); // and nothing more
      long t0 = System.nanoTime();
      assertThat(closedByServer(s)).isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
    }
  }

  @Test
  void closeEndsIdleConnectionsAtOnce() throws Exception {
    start(4, 60_000);
    Socket s = connect();
    send(s, "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
    assertThat(read(s.getInputStream()).status()).isEqualTo(200);
    long t0 = System.nanoTime();
    server.close();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(900));
    assertThat(closedByServer(s)).isTrue();
    s.close();
    server = null;
  }
}
