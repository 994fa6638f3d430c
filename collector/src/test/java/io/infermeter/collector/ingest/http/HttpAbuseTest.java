package io.infermeter.collector.ingest.http;

import static io.infermeter.collector.ingest.http.NettyHttpServerTest.await;
import static io.infermeter.collector.ingest.http.NettyHttpServerTest.closedByServer;
import static io.infermeter.collector.ingest.http.NettyHttpServerTest.read;
import static io.infermeter.collector.ingest.http.NettyHttpServerTest.send;
import static io.infermeter.collector.ingest.http.NettyHttpServerTest.settings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.infermeter.collector.ingest.http.HttpLimitMetrics.Limit;
import io.infermeter.collector.ingest.http.NettyHttpServerTest.Answer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile clients against the real server on an ephemeral 127.0.0.1 port (plain sockets and
 * java.net.http): slow clients, floods, smuggling attempts, oversized heads, gzip bombs, clients
 * that never read, and TLS. Each must end in a 4xx/5xx or a closed connection, counted by reason,
 * with the server still answering legitimate requests.
 */
class HttpAbuseTest {

  private final NettyHttpServerTest t = new NettyHttpServerTest();
  private final List<Socket> sockets = new ArrayList<>();

  @AfterEach
  void stop() {
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    t.stop();
  }

  private Socket connect() throws IOException {
    Socket s = t.connect();
    sockets.add(s);
    return s;
  }

  /**
   * A connection from another loopback address (Linux routes all of 127/8 to lo): another client to
   * the server.
   */
  private Socket connectFrom(String source) throws IOException {
    Socket s = new Socket();
    sockets.add(s);
    s.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), t.server.port()), 2000);
    s.setSoTimeout(10_000);
    return s;
  }

  private HttpResponse<String> post(HttpClient http, String path, byte[] body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + t.server.port() + path))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static boolean canBind(String address) {
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName(address), 0));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Slowloris: 80 connections from one address trickle a request head one byte every 2 s. The
   * per-client cap refuses those beyond it at once, the head deadline cuts the rest, and meanwhile
   * a legitimate client gets 200 within 1 s.
   */
  @Test
  void slowlorisDoesNotStarveALegitimateClient() throws Exception {
    assumeTrue(canBind("127.0.0.2"), "127.0.0.2 not routable here");
    t.start(settings("http.head.timeout", "3s"));
    List<Socket> trickle = new ArrayList<>();
    for (int i = 0; i < 80; i++) {
      trickle.add(connectFrom("127.0.0.2"));
    }
    byte[] head =
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
            .getBytes(StandardCharsets.US_ASCII);
    Thread trickler =
        new Thread(
            () -> {
              for (int k = 0; k < head.length && !Thread.currentThread().isInterrupted(); k++) {
                for (Socket s : trickle) {
                  try {
                    s.getOutputStream().write(head[k]);
                  } catch (IOException closed) {
                    // refused or cut: expected
                  }
                }
                try {
                  Thread.sleep(2000);
                } catch (InterruptedException e) {
                  return;
                }
              }
            });
    trickler.setDaemon(true);
    trickler.start();
    try {
      HttpClient http = HttpClient.newHttpClient();
      Thread.sleep(500); // the trickle has started
      for (int i = 0; i < 3; i++) {
        long t0 = System.nanoTime();
        HttpResponse<String> r = post(http, "/echo", "legit".getBytes(StandardCharsets.US_ASCII));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
        Thread.sleep(1000);
      }
      assertThat(t.metrics.countOf(Limit.CONNECTIONS_PER_CLIENT)).isEqualTo(80 - 32);
      // the head deadline (3 s) cuts the 32 admitted trickles: 408 and closed
      await(
          () -> t.metrics.countOf(Limit.HEAD_TIMEOUT) == 32,
          Duration.ofSeconds(10),
          "head timeouts");
      await(() -> t.server.openConnections() <= 1, Duration.ofSeconds(5), "trickles closed");
    } finally {
      trickler.interrupt();
    }
  }

  /**
   * Header-only flood: 64 connections each declare an 8 MiB body. Nothing is allocated for a
   * declared length; as bytes arrive, the global budget (16 MiB) is charged and those beyond it get
   * 503 with Retry-After, so the bodies held stay under the budget, not 64 x 8 MiB.
   */
  @Test
  void declaredLengthsReserveNothingAndTheBudgetCapsBodiesInFlight() throws Exception {
    long budget = 16L << 20;
    t.start(
        settings(
            "http.max.body.bytes",
            String.valueOf(8 << 20),
            "http.max.inflight.body.bytes",
            String.valueOf(budget),
            "http.max.connections.per.client",
            "256",
            "http.min.body.rate.bytes",
            "0")); // else the heads alone are cut after 1 s (408), before the budget acts
    List<Socket> flood = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      Socket s = connect();
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: " + (8 << 20) + "\r\n\r\n");
      flood.add(s);
    }
    await(() -> t.server.openConnections() == 64, Duration.ofSeconds(5), "64 connections open");
    Thread.sleep(200);
    assertThat(t.server.inflightBodyBytes()).isZero(); // heads only: no buffer from Content-Length
    byte[] mib = new byte[1 << 20];
    long maxSeen = 0;
    int refused = 0;
    for (Socket s : flood) {
      try {
        s.getOutputStream().write(mib);
      } catch (IOException e) {
        // refused and closed while writing
      }
      maxSeen = Math.max(maxSeen, t.server.inflightBodyBytes());
    }
    for (Socket s : flood) {
      s.setSoTimeout(300);
      try {
        Answer a = read(s.getInputStream());
        assertThat(a.status()).isEqualTo(503);
        assertThat(a.headers()).containsEntry("retry-after", "1");
        refused++;
      } catch (IOException e) {
        // still waiting for the rest of its body: admitted
      }
      maxSeen = Math.max(maxSeen, t.server.inflightBodyBytes());
    }
    assertThat(maxSeen).isLessThanOrEqualTo(budget);
    assertThat(refused).isGreaterThanOrEqualTo(64 - (int) (budget >> 20));
    assertThat(t.metrics.countOf(Limit.INFLIGHT_BUDGET)).isEqualTo(refused);
    // a legitimate request still fits once the flood is gone
    for (Socket s : flood) {
      s.close();
    }
    await(() -> t.server.inflightBodyBytes() == 0, Duration.ofSeconds(5), "budget given back");
    assertThat(post(HttpClient.newHttpClient(), "/echo", new byte[100]).statusCode())
        .isEqualTo(200);
  }

  /**
   * Heads alone, with the default minimum body rate: every one is cut after about the one-second
   * grace.
   */
  @Test
  void headsWithoutBodiesAreCutByTheMinimumRate() throws Exception {
    t.start(settings("http.max.connections.per.client", "256"));
    List<Socket> heads = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      Socket s = connect();
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: " + (1 << 20) + "\r\n\r\n");
      heads.add(s);
    }
    for (Socket s : heads) {
      Answer a = read(s.getInputStream());
      assertThat(a.status()).isEqualTo(408);
      assertThat(closedByServer(s)).isTrue();
    }
    assertThat(t.metrics.countOf(Limit.BODY_TOO_SLOW)).isEqualTo(20);
    assertThat(t.server.inflightBodyBytes()).isZero();
  }

  /**
   * Request smuggling: any ambiguity about where a body ends is refused with 400 and the connection
   * closed.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "Content-Length: 4\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked\r\nContent-Length: 4",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
        "Transfer-Encoding: gzip, chunked",
        "Transfer-Encoding: xchunked",
        "Transfer-Encoding: chunked, identity",
        "Content-Length: 4\r\nContent-Length: 5",
        "Content-Length: 4, 5",
        "Content-Length: -1",
        "Content-Length: 1x",
        "Content-Length : 4"
      })
  void ambiguousBodyLengthsAreRefusedAndTheConnectionClosed(String headers) throws Exception {
    t.start(settings());
    try (Socket s = connect()) {
      send(
          s,
          "POST /echo HTTP/1.1\r\nHost: x\r\n"
              + headers
              + "\r\n\r\n0\r\n\r\nGET /echo HTTP/1.1\r\n\r\n");
      Answer a = read(s.getInputStream());
      assertThat(a.status()).isEqualTo(400);
      assertThat(a.headers()).containsEntry("connection", "close");
      assertThat(closedByServer(s)).isTrue(); // the smuggled GET is never answered
    }
    assertThat(t.metrics.countOf(Limit.AMBIGUOUS_LENGTH) + t.metrics.countOf(Limit.MALFORMED_HEAD))
        .isEqualTo(1);
    assertThat(t.answered).doesNotContain("/echo 200");
  }

  @ParameterizedTest
  @ValueSource(strings = {"zz", "-1", "fffffffffffffffffff", "5 5", "", "0x5", "+5"})
  void badChunkSizesAreRefusedAndTheConnectionClosed(String size) throws Exception {
    t.start(settings());
    try (Socket s = connect()) {
      send(
          s,
          "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
              + size
              + "\r\nhello\r\n0\r\n\r\n");
      Answer a = read(s.getInputStream());
      assertThat(a.status()).isEqualTo(400);
      assertThat(closedByServer(s)).isTrue();
    }
    assertThat(t.metrics.countOf(Limit.BAD_CHUNK)).isEqualTo(1);
  }

  @Test
  void oversizedHeadsTooManyHeadersAndTrailersAre431() throws Exception {
    t.start(
        settings(
            "http.max.header.bytes", "4096", "http.max.headers", "20", "http.max.trailers", "2"));
    String[][] cases = {
      {
        "POST /echo HTTP/1.1\r\nX-Big: " + "a".repeat(5000) + "\r\nContent-Length: 0\r\n\r\n",
        "head_too_large"
      },
      {"POST /" + "a".repeat(5000) + " HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "head_too_large"},
      {
        "POST /echo HTTP/1.1\r\n" + "X-H: 1\r\n".repeat(21) + "Content-Length: 0\r\n\r\n",
        "too_many_headers"
      },
      {
        "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT1: 1\r\nT2: 2\r\nT3: 3\r\n\r\n",
        "too_many_trailers"
      },
      {
        "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT: "
            + "t".repeat(5000)
            + "\r\n\r\n",
        "head_too_large"
      },
    };
    for (String[] c : cases) {
      try (Socket s = connect()) {
        send(s, c[0]);
        Answer a = read(s.getInputStream());
        assertThat(a.status()).as(c[1]).isEqualTo(431);
        assertThat(closedByServer(s)).isTrue();
      }
    }
    assertThat(t.metrics.countOf(Limit.HEAD_TOO_LARGE)).isEqualTo(3);
    assertThat(t.metrics.countOf(Limit.TOO_MANY_HEADERS)).isEqualTo(1);
    assertThat(t.metrics.countOf(Limit.TOO_MANY_TRAILERS)).isEqualTo(1);
  }

  @Test
  void malformedRequestLinesAreRefused() throws Exception {
    t.start(settings());
    String[][] cases = {
      {"NONSENSE\r\n\r\n", "400"},
      {"POST /echo HTTP/2.0\r\n\r\n", "505"},
      {"POST /echo HTTP/1.1\r\nno colon here\r\n\r\n", "400"},
    };
    for (String[] c : cases) {
      try (Socket s = connect()) {
        send(s, c[0]);
        Answer a = read(s.getInputStream());
        assertThat(a.status()).as(c[0]).isEqualTo(Integer.parseInt(c[1]));
        assertThat(closedByServer(s)).isTrue();
      }
    }
  }

  private static byte[] gzip(byte[] b, int off, int len) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(b, off, len);
    }
    return out.toByteArray();
  }

  @Test
  void gzipBombIsRefusedOnceDecompressedOverTheLimit() throws Exception {
    t.start(settings());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      byte[] zeros = new byte[1 << 20];
      for (int i = 0; i < 100; i++) { // 100 MiB of zeros: about 100 KiB compressed
        gz.write(zeros);
      }
    }
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + t.server.port() + "/echo"))
                    .header("Content-Encoding", "gzip")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray()))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(r.body()).contains("decompressed");
    assertThat(t.metrics.countOf(Limit.DECOMPRESSED_TOO_LARGE)).isEqualTo(1);
    await(() -> t.server.inflightBodyBytes() == 0, Duration.ofSeconds(2), "budget given back");
  }

  /**
   * A two-member gzip body sent in small chunks decompresses whole, whatever the chunk boundaries.
   */
  @Test
  void multiMemberGzipIsReadWhole() throws Exception {
    t.start(settings());
    byte[] a = "first member\n".repeat(50).getBytes(StandardCharsets.US_ASCII);
    byte[] b = "second member\n".repeat(50).getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream both = new ByteArrayOutputStream();
    both.write(gzip(a, 0, a.length));
    both.write(gzip(b, 0, b.length));
    byte[] body = both.toByteArray();
    for (int piece : new int[] {1, 7, 10, 64, body.length}) {
      try (Socket s = connect()) {
        OutputStream os = s.getOutputStream();
        os.write(
            "POST /echo HTTP/1.1\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        for (int off = 0; off < body.length; off += piece) {
          int n = Math.min(piece, body.length - off);
          os.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
          os.write(body, off, n);
          os.write("\r\n".getBytes(StandardCharsets.US_ASCII));
          os.flush();
        }
        os.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        Answer r = read(s.getInputStream());
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body())
            .as("piece " + piece)
            .isEqualTo(
                new String(a, StandardCharsets.US_ASCII)
                    + new String(b, StandardCharsets.US_ASCII));
      }
    }
  }

  /**
   * A compressed body over the limit on the wire is refused while it arrives (chunked: no length to
   * check first).
   */
  @Test
  void chunkedBodyOverTheLimitIs413() throws Exception {
    t.start(settings("http.max.body.bytes", "10000"));
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (int i = 0; i < 20; i++) {
        try {
          send(s, "3e8\r\n" + "x".repeat(1000) + "\r\n");
        } catch (IOException closed) {
          break;
        }
      }
      assertThat(read(s.getInputStream()).status()).isEqualTo(413);
    }
    assertThat(t.metrics.countOf(Limit.BODY_TOO_LARGE)).isEqualTo(1);
  }

  /**
   * A client that pipelines requests but never reads the answers is closed after the write timeout.
   */
  @Test
  void aClientThatNeverReadsIsClosed() throws Exception {
    t.start(settings("http.write.timeout", "500ms"));
    Socket s = new Socket();
    sockets.add(s);
    s.setReceiveBufferSize(4096);
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), t.server.port()));
    OutputStream out = s.getOutputStream();
    Thread writer =
        new Thread(
            () -> {
              try {
                for (int i = 0; i < 2000; i++) {
                  out.write("GET /big HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                }
              } catch (IOException closed) {
                // the server gave up on us
              }
            });
    writer.setDaemon(true);
    writer.start();
    await(
        () -> t.metrics.countOf(Limit.WRITE_TIMEOUT) == 1, Duration.ofSeconds(10), "write timeout");
    await(() -> t.server.openConnections() == 0, Duration.ofSeconds(5), "closed");
    // and the server still answers others
    assertThat(post(HttpClient.newHttpClient(), "/echo", new byte[3]).statusCode()).isEqualTo(200);
  }

  @Test
  void aStalledBodyIsCutByTheBodyDeadlineAndASlowOneByTheMinimumRate() throws Exception {
    t.start(settings("http.body.timeout", "1s", "http.min.body.rate.bytes", "0"));
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"); // and nothing more
      assertThat(read(s.getInputStream()).status()).isEqualTo(408);
      assertThat(closedByServer(s)).isTrue();
    }
    assertThat(t.metrics.countOf(Limit.BODY_TIMEOUT)).isEqualTo(1);
    t.stop();
    t.start(settings("http.body.timeout", "60s", "http.min.body.rate.bytes", "1000"));
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\nabc");
      long t0 = System.nanoTime();
      for (int i = 0; i < 30 && !s.isInputShutdown(); i++) {
        try {
          send(s, "x"); // 10 bytes/s
        } catch (IOException closed) {
          break;
        }
        if (s.getInputStream().available() > 0) {
          break;
        }
        Thread.sleep(100);
      }
      assertThat(read(s.getInputStream()).status()).isEqualTo(408);
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    }
    assertThat(t.metrics.countOf(Limit.BODY_TOO_SLOW)).isEqualTo(1);
  }

  @Test
  void connectionsBeyondTheCapsGet503() throws Exception {
    t.start(settings("http.max.connections", "3", "http.max.connections.per.client", "2"));
    Socket a = connect();
    Socket b = connect();
    send(a, "GET /echo HTTP/1.1\r\n\r\n");
    assertThat(read(a.getInputStream()).status()).isEqualTo(200);
    Socket c = connect(); // third from 127.0.0.1: over the per-client cap
    Answer refused = read(c.getInputStream());
    assertThat(refused.status()).isEqualTo(503);
    assertThat(refused.headers()).containsEntry("retry-after", "1");
    assertThat(t.metrics.countOf(Limit.CONNECTIONS_PER_CLIENT)).isEqualTo(1);
    c.close();
    await(() -> t.server.openConnections() == 2, Duration.ofSeconds(2), "the refused one gone");
    if (canBind("127.0.0.2")) {
      Socket d = connectFrom("127.0.0.2"); // third open, first from its address: allowed
      await(() -> t.server.openConnections() == 3, Duration.ofSeconds(2), "three open");
      send(d, "GET /echo HTTP/1.1\r\n\r\n");
      assertThat(read(d.getInputStream()).status()).isEqualTo(200);
      Socket e = connectFrom("127.0.0.3"); // fourth: over the total cap
      assertThat(read(e.getInputStream()).status()).isEqualTo(503);
      assertThat(t.metrics.countOf(Limit.CONNECTIONS_TOTAL)).isEqualTo(1);
    }
    send(b, "GET /echo HTTP/1.1\r\n\r\n");
    assertThat(read(b.getInputStream()).status()).isEqualTo(200);
  }

  /**
   * A self-signed EC certificate for 127.0.0.1 made by the JDK's keytool, as a PKCS12 store
   * (password changeit).
   */
  private static KeyStore selfSigned(Path dir, String name) throws Exception {
    Path ks = dir.resolve(name + ".p12");
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-alias",
                name,
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=" + name,
                "-ext",
                "SAN=ip:127.0.0.1",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                ks.toString(),
                "-storepass",
                "changeit",
                "-keypass",
                "changeit")
            .redirectErrorStream(true)
            .start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue())
        .as(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
        .isZero();
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(ks)) {
      store.load(in, "changeit".toCharArray());
    }
    return store;
  }

  /**
   * Writes the store's certificate and PKCS#8 key as PEM files {@code <name>.crt.pem}, {@code
   * <name>.key.pem}.
   */
  private static Path[] pem(Path dir, String name, KeyStore store) throws Exception {
    PrivateKey key = (PrivateKey) store.getKey(name, "changeit".toCharArray());
    Certificate cert = store.getCertificate(name);
    Base64.Encoder b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
    Path certPem =
        Files.writeString(
            dir.resolve(name + ".crt.pem"),
            "-----BEGIN CERTIFICATE-----\n"
                + b64.encodeToString(cert.getEncoded())
                + "\n-----END CERTIFICATE-----\n");
    Path keyPem =
        Files.writeString(
            dir.resolve(name + ".key.pem"),
            "-----BEGIN PRIVATE KEY-----\n"
                + b64.encodeToString(key.getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
    return new Path[] {certPem, keyPem};
  }

  private static HttpClient https(KeyStore trusted, String alias, KeyStore clientKey)
      throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry(alias, trusted.getCertificate(alias));
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    javax.net.ssl.KeyManager[] keys = null;
    if (clientKey != null) {
      javax.net.ssl.KeyManagerFactory kmf =
          javax.net.ssl.KeyManagerFactory.getInstance(
              javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(clientKey, "changeit".toCharArray());
      keys = kmf.getKeyManagers();
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(keys, tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(ctx).build();
  }

  private HttpResponse<String> postTls(HttpClient client) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + t.server.port() + "/echo"))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofString("over tls"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * TLS with PEM files (a self-signed certificate made by the JDK's keytool): a request round trip
   * over HTTPS.
   */
  @Test
  void tlsRoundTrip(@TempDir Path dir) throws Exception {
    KeyStore server = selfSigned(dir, "collector");
    Path[] files = pem(dir, "collector", server);
    t.start(
        settings(
            "tls.cert.chain.file",
            files[0].toString(),
            "tls.private.key.file",
            files[1].toString()));
    HttpResponse<String> r = postTls(https(server, "collector", null));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("over tls");
    // plain HTTP to the TLS port gets no answer
    try (Socket s = connect()) {
      send(s, "GET /echo HTTP/1.1\r\n\r\n");
      assertThat(closedByServer(s)).isTrue();
    }
  }

  /** With a client CA, only clients with a certificate it signed get through (mTLS). */
  @Test
  void mutualTlsRequiresAClientCertificate(@TempDir Path dir) throws Exception {
    KeyStore server = selfSigned(dir, "collector");
    KeyStore client = selfSigned(dir, "client");
    KeyStore stranger = selfSigned(dir, "stranger");
    Path[] files = pem(dir, "collector", server);
    Path[] clientFiles = pem(dir, "client", client); // self-signed: its own CA
    t.start(
        settings(
            "tls.cert.chain.file",
            files[0].toString(),
            "tls.private.key.file",
            files[1].toString(),
            "tls.client.ca.file",
            clientFiles[0].toString()));
    assertThat(postTls(https(server, "collector", client)).statusCode()).isEqualTo(200);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> postTls(https(server, "collector", null)))
        .isInstanceOf(IOException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> postTls(https(server, "collector", stranger)))
        .isInstanceOf(IOException.class);
  }
}
