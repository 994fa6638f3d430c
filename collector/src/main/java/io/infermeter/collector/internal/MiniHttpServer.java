package io.infermeter.collector.internal;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small blocking HTTP/1.1 server for the collector's ingest endpoints: one thread per open connection (at most
 * {@code maxConnections}; a connection beyond that is answered 503 and closed), keep-alive, request bodies with
 * {@code Content-Length} or {@code Transfer-Encoding: chunked}, {@code Expect: 100-continue} (the interim answer is
 * sent when the handler first reads the body, so a request refused from its headers never sends its body), and every
 * response written with one socket write (status line, headers and body together).
 *
 * <p>Why not the JDK's {@code com.sun.net.httpserver}: at the collector's typical load (a batch every few ms from a
 * few kept-alive clients) its per-request overhead was the largest part of the collector's CPU (docs/BENCHMARKS.md,
 * Collector, session 3): a selector thread that wakes up for each request, hands it to a pool thread (a futex wake-up),
 * switches the socket to blocking mode and back and re-registers it with epoll afterwards, and two socket writes per
 * response (headers, then body: two TCP segments and two wake-ups of the client). Here a connection's thread blocks in
 * {@code read} between requests, and a request costs one read and one write in the usual case.
 *
 * <p>Limits: request line and headers at most {@value #MAX_HEAD_BYTES} bytes (431 beyond), {@value #MAX_HEADERS}
 * headers; a read that waits longer than {@code readTimeoutMillis} (an idle kept-alive connection or a stalled
 * client) closes the connection. That timeout is kept by a sweeper thread (once per {@code timeout / 4}, at most a
 * second) rather than by a socket read timeout, since a timed socket read costs two more system calls per read (a
 * non-blocking attempt, then poll) than a plain blocking one. Paths are matched exactly (the query string is
 * ignored); others get 404. The body limit is the handler's (it reads the body as a stream). Thread-safe.
 */
final class MiniHttpServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(MiniHttpServer.class);
  static final int MAX_HEAD_BYTES = 16 * 1024;
  static final int MAX_HEADERS = 100;
  /** Unread body bytes the server reads and discards after an answer to keep the connection; more: it closes. */
  static final int MAX_DRAIN_BYTES = 64 * 1024;

  /** Handles one request; must answer with {@link Exchange#respond} (else the server answers 500). */
  interface Handler {
    void handle(Exchange exchange) throws IOException;
  }

  private final ServerSocket serverSocket;
  private final Map<String, Handler> routes;
  private final int readTimeoutMillis;
  private final ThreadPoolExecutor pool;
  private final Thread acceptor;
  private final java.util.concurrent.ScheduledExecutorService sweeper;
  private final Map<Socket, Connection> open = new ConcurrentHashMap<>();
  private volatile boolean running = true;

  /**
   * Binds and starts accepting.
   *
   * @param routes handler per exact path
   * @param maxConnections most connections served at once (one thread each)
   * @param readTimeoutMillis longest wait for request bytes (idle keep-alive included) before the connection is closed
   */
  MiniHttpServer(String host, int port, Map<String, Handler> routes, int maxConnections, int readTimeoutMillis)
      throws IOException {
    this.routes = Map.copyOf(routes);
    this.readTimeoutMillis = readTimeoutMillis;
    this.serverSocket = new ServerSocket();
    serverSocket.setReuseAddress(true);
    serverSocket.bind(new InetSocketAddress(InetAddress.getByName(host), port), 256);
    AtomicInteger n = new AtomicInteger();
    this.pool = new ThreadPoolExecutor(0, maxConnections, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
      Thread t = new Thread(r, "infermeter-http-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.acceptor = new Thread(this::acceptLoop, "infermeter-http-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    this.sweeper = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "infermeter-http-timeouts");
      t.setDaemon(true);
      return t;
    });
    long period = Math.max(10, Math.min(1000, readTimeoutMillis / 4));
    sweeper.scheduleWithFixedDelay(this::closeStalled, period, period, TimeUnit.MILLISECONDS);
  }

  /** Closes connections whose thread has waited in a socket read for longer than the read timeout. */
  private void closeStalled() {
    long now = System.nanoTime();
    long limit = readTimeoutMillis * 1_000_000L;
    open.forEach((s, c) -> {
      long since = c.readSince;
      if (since != 0 && now - since > limit) {
        try {
          s.close(); // the blocked read ends with an exception; the connection's thread cleans up
        } catch (IOException ignored) {
          // closing anyway
        }
      }
    });
  }

  int port() {
    return serverSocket.getLocalPort();
  }

  private void acceptLoop() {
    while (running) {
      Socket s;
      try {
        s = serverSocket.accept();
      } catch (IOException e) {
        if (running) {
          LOG.warn("accept failed; continuing", e);
          sleepQuietly(); // e.g. out of file descriptors: do not spin
        }
        continue;
      }
      try {
        pool.execute(() -> serve(s));
      } catch (RejectedExecutionException e) {
        refuse(s);
      }
    }
  }

  private static void sleepQuietly() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Too many connections: a 503 without reading the request, then close. */
  private void refuse(Socket s) {
    try (s) {
      s.setSoTimeout(1000);
      byte[] body = "too many connections; retry later\n".getBytes(StandardCharsets.US_ASCII);
      s.getOutputStream().write(response(503, "text/plain", body, false, "Retry-After", "1"));
    } catch (IOException ignored) {
      // the client is gone; nothing to tell it
    }
  }

  private void serve(Socket s) {
    try (s) {
      s.setTcpNoDelay(true); // each response is one write: nothing to coalesce, and no delayed-ACK stall
      Connection c = new Connection(s.getInputStream(), s.getOutputStream());
      open.put(s, c);
      if (!running) {
        return;
      }
      while (running && c.serveOne()) {
        // next request on the kept-alive connection
      }
      lingeringClose(s);
    } catch (SocketTimeoutException | EOFException e) {
      // idle or stalled client, or it closed mid-request: the connection ends
    } catch (SocketException e) {
      // reset by the client or closed by close()
    } catch (IOException | RuntimeException e) {
      if (running) {
        LOG.debug("connection failed", e);
      }
    } finally {
      open.remove(s);
    }
  }

  /**
   * Ends a connection whose client may still be sending (a refused or unread body): first only our side (FIN after the
   * answer), then what the client still sends is read and dropped for a moment, so that closing with unread bytes
   * does not reset the connection before the client has read the answer.
   */
  private static void lingeringClose(Socket s) {
    try {
      s.shutdownOutput();
      s.setSoTimeout(LINGER_MILLIS);
      InputStream in = s.getInputStream();
      byte[] skip = new byte[8192];
      long deadline = System.nanoTime() + LINGER_MILLIS * 1_000_000L;
      int total = 0;
      int n;
      while (total < MAX_LINGER_BYTES && System.nanoTime() < deadline && (n = in.read(skip)) >= 0) {
        total += n;
      }
    } catch (IOException e) {
      // timeout or reset: closing anyway
    }
  }

  static final int LINGER_MILLIS = 500;
  static final int MAX_LINGER_BYTES = 1 << 20;

  /** A bad request found before the handler: answered with its status and the connection closed. */
  private static final class BadRequest extends Exception {
    final int status;

    BadRequest(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  /** One connection's buffered input and its output. */
  private final class Connection {
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buf = new byte[MAX_HEAD_BYTES];
    private int pos;
    private int lim;
    /** True from a request's complete head to its answer (close() lets such a request finish). */
    volatile boolean busy;
    /** System.nanoTime() when the current socket read began (odd, never 0), or 0 while not in a socket read. */
    volatile long readSince;

    /** A socket read, visible to the sweeper while it waits. */
    private int socketRead(byte[] b, int off, int len) throws IOException {
      readSince = System.nanoTime() | 1;
      try {
        return in.read(b, off, len);
      } finally {
        readSince = 0;
      }
    }

    Connection(InputStream in, OutputStream out) {
      this.in = in;
      this.out = out;
    }

    /** Serves one request; false when the connection is to be closed. */
    boolean serveOne() throws IOException {
      Exchange ex;
      try {
        ex = readHead();
      } catch (BadRequest e) {
        out.write(response(e.status, "text/plain", (e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8),
            false));
        return false;
      }
      if (ex == null) {
        return false; // closed between requests
      }
      busy = true;
      try {
        return handle(ex);
      } finally {
        busy = false;
      }
    }

    private boolean handle(Exchange ex) throws IOException {
      Handler h = routes.get(ex.path);
      try {
        if (h == null) {
          ex.respond(404, "text/plain", ("no endpoint " + ex.path + "\n").getBytes(StandardCharsets.UTF_8));
        } else {
          h.handle(ex);
        }
      } catch (IOException e) {
        // reading the request failed (stalled or vanished client, broken chunked framing): the connection ends
        if (!ex.responded) {
          LOG.debug("cannot read the request to {}", ex.path, e);
          ex.keepAlive = false;
          ex.respond(400, "text/plain", ("cannot read the request: " + e.getMessage() + "\n")
              .getBytes(StandardCharsets.UTF_8));
        }
        return false;
      } catch (RuntimeException e) {
        if (ex.responded) {
          throw e;
        }
        LOG.warn("error answering {}", ex.path, e);
        ex.keepAlive = false;
        ex.respond(500, "text/plain", "internal error\n".getBytes(StandardCharsets.US_ASCII));
        return false;
      }
      if (!ex.responded) {
        ex.keepAlive = false;
        ex.respond(500, "text/plain", "no answer\n".getBytes(StandardCharsets.US_ASCII));
      }
      return ex.keepAlive && ex.bodyFinished();
    }

    /** Reads the request line and headers; null on a clean end of stream before the first byte. */
    private Exchange readHead() throws IOException, BadRequest {
      // move what is left of the previous request's bytes to the front
      if (pos > 0) {
        System.arraycopy(buf, pos, buf, 0, lim - pos);
        lim -= pos;
        pos = 0;
      }
      String requestLine;
      do { // RFC 9112: ignore empty lines before the request line
        requestLine = line(true);
        if (requestLine == null) {
          return null;
        }
      } while (requestLine.isEmpty());
      int sp1 = requestLine.indexOf(' ');
      int sp2 = requestLine.lastIndexOf(' ');
      if (sp1 <= 0 || sp2 <= sp1) {
        throw new BadRequest(400, "malformed request line");
      }
      String method = requestLine.substring(0, sp1);
      String target = requestLine.substring(sp1 + 1, sp2);
      String version = requestLine.substring(sp2 + 1);
      boolean http11 = version.equals("HTTP/1.1");
      if (!http11 && !version.equals("HTTP/1.0")) {
        throw new BadRequest(505, "HTTP/1.1 or HTTP/1.0 only");
      }
      int q = target.indexOf('?');
      String path = q < 0 ? target : target.substring(0, q);
      List<String> headers = new ArrayList<>(16); // name (lower case), value, ...
      String h;
      while (!(h = line(false)).isEmpty()) {
        int colon = h.indexOf(':');
        if (colon <= 0 || h.charAt(0) == ' ' || h.charAt(0) == '\t' || h.charAt(colon - 1) == ' ') {
          throw new BadRequest(400, "malformed header line");
        }
        if (headers.size() >= 2 * MAX_HEADERS) {
          throw new BadRequest(431, "more than " + MAX_HEADERS + " headers");
        }
        headers.add(h.substring(0, colon).toLowerCase(Locale.ROOT));
        headers.add(h.substring(colon + 1).trim());
      }
      Exchange ex = new Exchange(this, method, path, headers);
      String connection = ex.header("connection");
      String conn = connection == null ? "" : connection.toLowerCase(Locale.ROOT);
      ex.keepAlive = http11 ? !conn.contains("close") : conn.contains("keep-alive");
      ex.http10KeepAlive = !http11 && ex.keepAlive;
      String te = ex.header("transfer-encoding");
      if (te != null) {
        if (!te.toLowerCase(Locale.ROOT).equals("chunked")) {
          throw new BadRequest(501, "unsupported Transfer-Encoding '" + te + "' (chunked only)");
        }
        ex.body = new ChunkedBody(ex);
        ex.contentLength = -1;
        if (ex.header("content-length") != null) {
          ex.keepAlive = false; // both framings: read the chunked one, never reuse the connection (RFC 9112 6.3)
        }
      } else {
        String cl = null;
        for (int i = 0; i < headers.size(); i += 2) {
          if (headers.get(i).equals("content-length")) {
            if (cl != null && !cl.equals(headers.get(i + 1))) {
              throw new BadRequest(400, "conflicting Content-Length headers");
            }
            cl = headers.get(i + 1);
          }
        }
        long length = cl == null ? 0 : digits(cl);
        if (length < 0) {
          throw new BadRequest(400, "invalid Content-Length '" + cl + "'");
        }
        ex.contentLength = length;
        ex.body = new FixedBody(ex, length);
      }
      String expect = ex.header("expect");
      ex.expectContinue = http11 && expect != null && expect.equalsIgnoreCase("100-continue");
      return ex;
    }

    /** A non-negative decimal without sign or spaces (up to 18 digits), or -1. */
    private static long digits(String s) {
      if (s.isEmpty() || s.length() > 18) {
        return -1;
      }
      long v = 0;
      for (int i = 0; i < s.length(); i++) {
        char ch = s.charAt(i);
        if (ch < '0' || ch > '9') {
          return -1;
        }
        v = v * 10 + (ch - '0');
      }
      return v;
    }

    /**
     * One head line without its CRLF (a bare LF is accepted), as Latin-1; null at a clean end of stream when
     * {@code first}. The whole head must fit the buffer ({@value #MAX_HEAD_BYTES} bytes).
     */
    private String line(boolean first) throws IOException, BadRequest {
      int start = pos;
      while (true) {
        for (int i = pos; i < lim; i++) {
          if (buf[i] == '\n') {
            int end = i > start && buf[i - 1] == '\r' ? i - 1 : i;
            pos = i + 1;
            return new String(buf, start, end - start, StandardCharsets.ISO_8859_1);
          }
        }
        pos = lim;
        if (lim == buf.length) {
          throw new BadRequest(431, "request line and headers exceed " + MAX_HEAD_BYTES + " bytes");
        }
        int n = socketRead(buf, lim, buf.length - lim);
        if (n < 0) {
          if (first && start == lim) {
            return null;
          }
          throw new EOFException("connection closed inside the request head");
        }
        lim += n;
      }
    }

    /** Reads body bytes: first what is buffered, then from the socket. */
    int read(byte[] b, int off, int len) throws IOException {
      if (pos < lim) {
        int n = Math.min(len, lim - pos);
        System.arraycopy(buf, pos, b, off, n);
        pos += n;
        return n;
      }
      return socketRead(b, off, len);
    }

    int read() throws IOException {
      if (pos < lim) {
        return buf[pos++] & 0xff;
      }
      int n = socketRead(buf, 0, buf.length);
      if (n <= 0) {
        return -1;
      }
      pos = 0;
      lim = n;
      return buf[pos++] & 0xff;
    }
  }

  /** One request and its answer. Not thread-safe (one connection thread). */
  static final class Exchange {
    private final Connection connection;
    final String method;
    final String path;
    private final List<String> headers;
    long contentLength;
    boolean keepAlive;
    boolean http10KeepAlive;
    boolean expectContinue;
    boolean responded;
    private Body body;

    private Exchange(Connection connection, String method, String path, List<String> headers) {
      this.connection = connection;
      this.method = method;
      this.path = path;
      this.headers = headers;
    }

    /** The first value of a header (name in any case), or null. */
    String header(String name) {
      String lower = name.toLowerCase(Locale.ROOT);
      for (int i = 0; i < headers.size(); i += 2) {
        if (headers.get(i).equals(lower)) {
          return headers.get(i + 1);
        }
      }
      return null;
    }

    /** The declared body length; -1 for a chunked body. */
    long contentLength() {
      return contentLength;
    }

    /** The request body (decoded from chunks when chunked; not decompressed). */
    InputStream body() {
      return body;
    }

    /**
     * Answers with one write: status line, {@code Content-Type}, {@code Content-Length}, the extra headers (name,
     * value, ...) and the body.
     */
    void respond(int status, String contentType, byte[] content, String... extraHeaders) throws IOException {
      if (responded) {
        throw new IllegalStateException("already answered");
      }
      responded = true;
      if (!bodyFinished()) {
        keepAlive = false; // the client may still be sending it: do not read it as the next request
      }
      connection.out.write(response(status, contentType, content, keepAlive && http10KeepAlive ? null : keepAlive,
          extraHeaders));
    }

    /** Whether the request body has been read to its end, reading and discarding a small rest if needed. */
    boolean bodyFinished() throws IOException {
      return body.finish();
    }

    private void sendContinueOnce() throws IOException {
      if (expectContinue && !responded) {
        expectContinue = false;
        connection.out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      }
    }
  }

  /** A request body stream. */
  private abstract static class Body extends InputStream {
    final Exchange ex;

    Body(Exchange ex) {
      this.ex = ex;
    }

    /** Reads the rest when it is small and known, so the connection can serve the next request; else false. */
    abstract boolean finish() throws IOException;

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }
  }

  /** A body of a known length. */
  private static final class FixedBody extends Body {
    private long remaining;

    FixedBody(Exchange ex, long length) {
      super(ex);
      this.remaining = length;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (remaining == 0) {
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      ex.sendContinueOnce();
      int n = ex.connection.read(b, off, (int) Math.min(len, remaining));
      if (n < 0) {
        throw new EOFException("connection closed " + remaining + " bytes before the end of the body");
      }
      remaining -= n;
      return n;
    }

    @Override
    boolean finish() throws IOException {
      if (remaining == 0) {
        return true;
      }
      if (remaining > MAX_DRAIN_BYTES || ex.expectContinue) {
        return false; // large, or the client waits for a 100 it will not get: close instead
      }
      byte[] skip = new byte[(int) remaining];
      while (remaining > 0) {
        if (read(skip, 0, (int) remaining) < 0) {
          return false;
        }
      }
      return true;
    }
  }

  /** A chunked body (RFC 9112 7.1; chunk extensions and trailers are skipped). */
  private static final class ChunkedBody extends Body {
    private long chunkLeft;
    private boolean done;

    ChunkedBody(Exchange ex) {
      super(ex);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (done) {
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      ex.sendContinueOnce();
      if (chunkLeft == 0) {
        chunkLeft = chunkSize();
        if (chunkLeft == 0) {
          String trailer;
          while (!(trailer = crlfLine()).isEmpty()) {
            // trailers: ignored
            if (trailer.length() > MAX_HEAD_BYTES) {
              throw new IOException("trailer too long");
            }
          }
          done = true;
          return -1;
        }
      }
      int n = ex.connection.read(b, off, (int) Math.min(len, chunkLeft));
      if (n < 0) {
        throw new EOFException("connection closed inside a chunk");
      }
      chunkLeft -= n;
      if (chunkLeft == 0 && !crlfLine().isEmpty()) {
        throw new IOException("malformed chunked body: no CRLF after a chunk");
      }
      return n;
    }

    private long chunkSize() throws IOException {
      String line = crlfLine();
      int semi = line.indexOf(';');
      String hex = (semi < 0 ? line : line.substring(0, semi)).trim();
      if (hex.isEmpty() || hex.length() > 15) {
        throw new IOException("malformed chunk size '" + line + "'");
      }
      long v = 0;
      for (int i = 0; i < hex.length(); i++) {
        int d = Character.digit(hex.charAt(i), 16);
        if (d < 0) {
          throw new IOException("malformed chunk size '" + line + "'");
        }
        v = v * 16 + d;
      }
      return v;
    }

    /** A line of the chunked framing (at most 4 KiB). */
    private String crlfLine() throws IOException {
      StringBuilder sb = new StringBuilder();
      int c;
      while ((c = ex.connection.read()) != '\n') {
        if (c < 0) {
          throw new EOFException("connection closed inside the chunked framing");
        }
        if (sb.length() > 4096) {
          throw new IOException("chunked framing line too long");
        }
        sb.append((char) c);
      }
      int len = sb.length();
      if (len > 0 && sb.charAt(len - 1) == '\r') {
        sb.setLength(len - 1);
      }
      return sb.toString();
    }

    @Override
    boolean finish() {
      return done; // an unread chunked rest is of unknown size: the connection is closed instead
    }
  }

  private static final byte[] CRLF = {'\r', '\n'};

  /**
   * The bytes of a whole response. {@code keepAlive}: true for nothing (HTTP/1.1's default), false for
   * {@code Connection: close}, null for {@code Connection: keep-alive} (an HTTP/1.0 client that asked for it).
   */
  static byte[] response(int status, String contentType, byte[] body, Boolean keepAlive, String... extraHeaders) {
    StringBuilder sb = new StringBuilder(128);
    sb.append("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n");
    if (contentType != null) {
      sb.append("Content-Type: ").append(contentType).append("\r\n");
    }
    sb.append("Content-Length: ").append(body.length).append("\r\n");
    if (keepAlive == null) {
      sb.append("Connection: keep-alive\r\n");
    } else if (!keepAlive) {
      sb.append("Connection: close\r\n");
    }
    for (int i = 0; i + 1 < extraHeaders.length; i += 2) {
      sb.append(extraHeaders[i]).append(": ").append(extraHeaders[i + 1]).append("\r\n");
    }
    sb.append("\r\n");
    byte[] head = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    byte[] all = new byte[head.length + body.length];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(body, 0, all, head.length, body.length);
    return all;
  }

  private void closeConnections(boolean busyToo) {
    open.forEach((s, c) -> {
      if (busyToo || !c.busy) {
        try {
          s.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
    });
  }

  private static String reason(int status) {
    return switch (status) {
      case 100 -> "Continue";
      case 200 -> "OK";
      case 400 -> "Bad Request";
      case 401 -> "Unauthorized";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 413 -> "Content Too Large";
      case 415 -> "Unsupported Media Type";
      case 431 -> "Request Header Fields Too Large";
      case 500 -> "Internal Server Error";
      case 501 -> "Not Implemented";
      case 503 -> "Service Unavailable";
      case 505 -> "HTTP Version Not Supported";
      default -> "Status";
    };
  }

  /**
   * Stops accepting and closes every connection: idle ones at once, those inside a request after up to a second (so a
   * request being handled can still be answered; one that takes longer fails its next read or write).
   */
  @Override
  public void close() {
    running = false;
    try {
      serverSocket.close();
    } catch (IOException e) {
      LOG.debug("closing the server socket", e);
    }
    pool.shutdown();
    sweeper.shutdownNow();
    closeConnections(false);
    try {
      if (!pool.awaitTermination(1, TimeUnit.SECONDS)) {
        closeConnections(true);
        pool.awaitTermination(4, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      acceptor.join(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
