package io.infermeter.collector.ingest.http;

import io.infermeter.collector.ingest.http.HttpLimitMetrics.Limit;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.zip.GZIPInputStream;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The collector's HTTP/1.1 server on Netty: a few event loop threads serve every connection
 * (non-blocking), and a route's handler runs on the connection's event loop with the whole body in
 * one array, as the ingest parsers want it. Keep-alive, pipelining (answers in request order),
 * {@code Expect: 100-continue} (the interim answer only once the route accepted the head, so a
 * refused request never sends its body), gzip request bodies (every member of a multi-member
 * stream), optional TLS (PEM, optional client certificates).
 *
 * <p>Every limit of {@link HttpServerSettings} is enforced here and counted in {@link
 * HttpLimitMetrics}: connection caps (total and per client address), head/body deadlines and a
 * minimum body rate, idle and write timeouts, header, trailer and body sizes (on the wire and
 * decompressed), and a global budget of body bytes in flight that is charged as bytes arrive (a
 * declared {@code Content-Length} reserves nothing). Requests whose length is ambiguous (both
 * {@code Content-Length} and {@code Transfer-Encoding}, a coding other than {@code chunked}, bad
 * chunk sizes) get 400 and the connection is closed. Paths are matched exactly (the query string is
 * ignored); others get 404.
 *
 * <p>Thread-safe; {@link #close} stops accepting, closes every connection and stops the event
 * loops.
 */
public final class NettyHttpServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(NettyHttpServer.class);

  /**
   * Unread body bytes of a request refused from its head that are read and dropped to keep the
   * connection.
   */
  static final int MAX_DRAIN_BYTES = 64 * 1024;

  /**
   * How long a closing connection keeps reading (and dropping) what the client still sends, so it
   * sees the answer.
   */
  static final int LINGER_MILLIS = 500;

  /** Grace before the minimum body rate applies. */
  static final long RATE_GRACE_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * Label of {@link Observer#answered} for a path with no route (never the client's string: it
   * would be a label).
   */
  public static final String OTHER_PATH = "other";

  /**
   * One request: its head, the client's address, and a slot for the route to pass state from head
   * to body.
   */
  public static final class Request {
    private final HttpRequest head;
    private final String path;
    private final InetSocketAddress remote;
    private Object attachment;

    Request(HttpRequest head, String path, InetSocketAddress remote) {
      this.head = head;
      this.path = path;
      this.remote = remote;
    }

    public String method() {
      return head.method().name();
    }

    public String path() {
      return path;
    }

    /** A header's first value, or null. */
    public String header(String name) {
      return head.headers().get(name);
    }

    public HttpHeaders headers() {
      return head.headers();
    }

    public InetSocketAddress remote() {
      return remote;
    }

    public Object attachment() {
      return attachment;
    }

    public void attach(Object o) {
      attachment = o;
    }
  }

  /** An answer: status, content type, body and extra headers as name, value pairs. */
  public record Response(int status, String contentType, byte[] body, String... headers) {

    public static Response text(int status, String body, String... headers) {
      return new Response(status, "text/plain", body.getBytes(StandardCharsets.UTF_8), headers);
    }
  }

  /**
   * A path's handler; both methods are called on the connection's event loop and must not block for
   * long.
   */
  public interface Route {
    /**
     * Checks a request from its head: null accepts it (the body is then read), else the answer
     * (body not read).
     */
    Response head(Request request);

    /** Answers an accepted request given its whole body (decompressed): {@code body[0..length)}. */
    Response handle(Request request, byte[] body, int length);

    /** Answers a request whose body cannot be read (e.g. broken gzip); the default is 400. */
    default Response unreadable(Request request, String message) {
      return Response.text(400, "cannot read the body: " + message + "\n");
    }
  }

  /**
   * Sees every answer (for per-path status counters); path is a route's path or {@link
   * #OTHER_PATH}.
   */
  public interface Observer {
    void answered(String path, int status);
  }

  private final HttpServerSettings settings;
  private final Map<String, Route> routes;
  private final HttpLimitMetrics metrics;
  private final Observer observer;
  private final EventLoopGroup group;
  private final Channel serverChannel;
  private final SslContext ssl;
  private final AtomicInteger open = new AtomicInteger();
  private final Map<InetAddress, AtomicInteger> perClient = new ConcurrentHashMap<>();
  private final AtomicLong inflight = new AtomicLong();
  private final LongSupplier openGauge = open::get;
  private final LongSupplier inflightGauge = inflight::get;
  private final long tickNanos;
  private final byte[] refusal = refusalBytes();

  /**
   * Binds and starts serving.
   *
   * @param routes handler per exact path
   * @throws IOException when the address cannot be bound or the TLS files cannot be read
   */
  public NettyHttpServer(
      HttpServerSettings settings,
      Map<String, Route> routes,
      HttpLimitMetrics metrics,
      Observer observer)
      throws IOException {
    this.settings = settings;
    this.routes = Map.copyOf(routes);
    this.metrics = metrics;
    this.observer = observer;
    this.ssl = settings.tls().isPresent() ? sslContext(settings.tls().get()) : null;
    long shortest =
        Math.min(
            Math.min(settings.headTimeout().toNanos(), settings.bodyTimeout().toNanos()),
            Math.min(settings.idleTimeout().toNanos(), settings.writeTimeout().toNanos()));
    this.tickNanos =
        Math.max(
            TimeUnit.MILLISECONDS.toNanos(10), Math.min(TimeUnit.SECONDS.toNanos(1), shortest / 4));
    // epoll where Netty's native library loads (Linux x86_64): fewer system calls per request than
    // the JDK selector
    boolean epoll = Epoll.isAvailable();
    DefaultThreadFactory threads = new DefaultThreadFactory("infermeter-http", true);
    this.group =
        epoll
            ? new EpollEventLoopGroup(settings.eventLoopThreads(), threads)
            : new NioEventLoopGroup(settings.eventLoopThreads(), threads);
    ServerBootstrap b =
        new ServerBootstrap()
            .group(group)
            .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 256)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(
                ChannelOption.TCP_NODELAY, true) // one write per answer: nothing to coalesce
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    init(ch);
                  }
                });
    try {
      this.serverChannel =
          b.bind(InetAddress.getByName(settings.host()), settings.port()).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      // not awaited: the bind failed, the error below is what matters
      Future<?> unused = group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw new IOException(
          "interrupted while binding " + settings.host() + ":" + settings.port(), e);
    } catch (RuntimeException e) {
      // not awaited: the bind failed, the error below is what matters
      Future<?> unused = group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw new IOException(
          "cannot bind " + settings.host() + ":" + settings.port() + ": " + e.getMessage(), e);
    }
    metrics.register(openGauge, inflightGauge);
  }

  private static SslContext sslContext(HttpServerSettings.Tls tls) throws IOException {
    try {
      SslContextBuilder b =
          SslContextBuilder.forServer(
              tls.certChain().toFile(), tls.privateKey().toFile(), tls.keyPassword().orElse(null));
      if (tls.clientCa().isPresent()) {
        b.trustManager(tls.clientCa().get().toFile()).clientAuth(ClientAuth.REQUIRE);
      }
      return b.build();
    } catch (SSLException | IllegalArgumentException e) {
      throw new IOException("cannot set up TLS from " + tls + ": " + e.getMessage(), e);
    }
  }

  public int port() {
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  /** Body bytes held by requests in progress now (the budget's use). */
  public long inflightBodyBytes() {
    return inflight.get();
  }

  /** Open connections now. */
  public int openConnections() {
    return open.get();
  }

  private void init(SocketChannel ch) {
    InetAddress client = ch.remoteAddress().getAddress();
    AtomicInteger mine = perClient.computeIfAbsent(client, k -> new AtomicInteger());
    int total = open.incrementAndGet();
    int own = mine.incrementAndGet();
    ch.closeFuture()
        .addListener(
            f -> {
              open.decrementAndGet();
              if (mine.decrementAndGet() == 0) {
                perClient.remove(client, mine);
              }
            });
    Limit refused =
        total > settings.maxConnections()
            ? Limit.CONNECTIONS_TOTAL
            : own > settings.maxConnectionsPerClient() ? Limit.CONNECTIONS_PER_CLIENT : null;
    ChannelPipeline p = ch.pipeline();
    if (refused != null) {
      metrics.count(refused);
      p.addLast(
          new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
              if (ssl != null) {
                // no TLS session to answer in; the client retries
                ChannelFuture unused = ctx.close();
              } else {
                ctx.writeAndFlush(Unpooled.wrappedBuffer(refusal))
                    .addListener(x -> lingeringClose(ctx.channel()));
              }
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
              ReferenceCountUtil.release(msg);
            }
          });
      return;
    }
    if (ssl != null) {
      p.addLast("tls", ssl.newHandler(ch.alloc()));
    }
    Connection c = new Connection();
    p.addLast("meter", c.meter);
    p.addLast(
        "decoder",
        new StrictRequestDecoder(
            new HttpDecoderConfig()
                .setMaxInitialLineLength(settings.maxHeaderBytes())
                .setMaxHeaderSize(settings.maxHeaderBytes())
                .setMaxChunkSize(64 * 1024)
                .setAllowDuplicateContentLengths(false)
                .setStrictLineParsing(true)));
    p.addLast("encoder", new HttpResponseEncoder());
    p.addLast("handler", c);
  }

  private static byte[] refusalBytes() {
    String body = "too many connections; retry later\n";
    return ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: "
            + body.length()
            + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
            + body)
        .getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Ends a connection whose client may still be sending: our side first (FIN after the answer),
   * then what the client still sends is dropped for a moment, so that unread bytes do not reset the
   * connection before the client has read the answer.
   */
  private static void lingeringClose(Channel ch) {
    if (ch instanceof SocketChannel s && ch.pipeline().get("tls") == null && s.isActive()) {
      ch.config().setAutoRead(true);
      s.shutdownOutput()
          .addListener(
              f -> {
                ScheduledFuture<?> unused =
                    ch.eventLoop()
                        .schedule(
                            () -> {
                              ChannelFuture unusedClose = ch.close();
                            },
                            LINGER_MILLIS,
                            TimeUnit.MILLISECONDS);
              });
    } else {
      ChannelFuture unused = ch.close();
    }
  }

  /**
   * The answer's bytes, head and body in one array, so that it goes out in one write with no header
   * objects (the server's own answers are few and simple; the response encoder stays in the
   * pipeline for the interim 100).
   */
  static byte[] encode(Response r, String connection) {
    StringBuilder sb =
        new StringBuilder(128)
            .append("HTTP/1.1 ")
            .append(r.status())
            .append(' ')
            .append(HttpResponseStatus.valueOf(r.status()).reasonPhrase())
            .append("\r\nContent-Type: ")
            .append(r.contentType())
            .append("\r\nContent-Length: ")
            .append(r.body().length)
            .append("\r\n");
    String[] extra = r.headers();
    for (int i = 0; i + 1 < extra.length; i += 2) {
      sb.append(extra[i]).append(": ").append(extra[i + 1]).append("\r\n");
    }
    if (connection != null) {
      sb.append("Connection: ").append(connection).append("\r\n");
    }
    sb.append("\r\n");
    int headLength = sb.length();
    byte[] out = new byte[headLength + r.body().length];
    for (int i = 0; i < headLength; i++) {
      char c = sb.charAt(i);
      out[i] = (byte) (c < 0x80 ? c : '?'); // header values are ASCII
    }
    System.arraycopy(r.body(), 0, out, headLength, r.body().length);
    return out;
  }

  /**
   * Refuses a request with both Content-Length and Transfer-Encoding instead of dropping the
   * Content-Length.
   */
  private static final class StrictRequestDecoder extends HttpRequestDecoder {
    StrictRequestDecoder(HttpDecoderConfig config) {
      super(config);
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
      throw new AmbiguousLength("both Content-Length and Transfer-Encoding");
    }
  }

  private static final class AmbiguousLength extends IllegalArgumentException {
    AmbiguousLength(String m) {
      super(m);
    }
  }

  private static final class Refusal extends Exception {
    final Limit limit;
    final int status;

    Refusal(Limit limit, int status, String message) {
      super(message, null, false, false);
      this.limit = limit;
      this.status = status;
    }
  }

  private enum State {
    IDLE,
    HEAD,
    BODY,
    DISCARD,
    CLOSING
  }

  /**
   * One connection's request cycle; all its methods run on the connection's event loop. {@link
   * #meter} sits before the decoder and sees raw bytes (the start of a request head); the rest sits
   * after it.
   */
  private final class Connection extends ChannelInboundHandlerAdapter {

    final ChannelInboundHandlerAdapter meter =
        new ChannelInboundHandlerAdapter() {
          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (state == State.IDLE) {
              state = State.HEAD;
              since = System.nanoTime();
            }
            ctx.fireChannelRead(msg);
          }
        };

    private State state = State.IDLE;
    private long since = System.nanoTime();
    private long unwritableSince;
    private ScheduledFuture<?> tick;
    private Request request;
    private Route route;
    private boolean keepAlive;
    private boolean gzip;
    private long bodyBytes;
    private long charged;
    private long drainLeft;

    /**
     * The body so far: {@code body[0..bodyBytes)}; its capacity is what the budget is charged for.
     */
    private byte[] body;

    private long declared;

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      since = System.nanoTime();
      tick =
          ctx.executor()
              .scheduleAtFixedRate(() -> tick(ctx), tickNanos, tickNanos, TimeUnit.NANOSECONDS);
      ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (tick != null) {
        tick.cancel(false);
      }
      reset();
      ctx.fireChannelInactive();
    }

    /** Frees the body and gives back its budget. */
    private void reset() {
      body = null;
      if (charged > 0) {
        inflight.addAndGet(-charged);
        charged = 0;
      }
      request = null;
      route = null;
    }

    private void tick(ChannelHandlerContext ctx) {
      long now = System.nanoTime();
      long in = now - since;
      switch (state) {
        case IDLE -> {
          if (in > settings.idleTimeout().toNanos()) {
            metrics.count(Limit.IDLE_TIMEOUT);
            state = State.CLOSING;
            ChannelFuture unused = ctx.close();
          }
        }
        case HEAD -> {
          if (in > settings.headTimeout().toNanos()) {
            refuse(
                ctx,
                new Refusal(
                    Limit.HEAD_TIMEOUT,
                    408,
                    "request head not complete within "
                        + settings.headTimeout().toMillis()
                        + " ms (http.head.timeout)"));
          }
        }
        case BODY, DISCARD -> {
          if (in > settings.bodyTimeout().toNanos()) {
            refuse(
                ctx,
                new Refusal(
                    Limit.BODY_TIMEOUT,
                    408,
                    "body not complete within "
                        + settings.bodyTimeout().toMillis()
                        + " ms (http.body.timeout)"));
          } else if (settings.minBodyRate() > 0
              && in > RATE_GRACE_NANOS
              && bodyBytes < settings.minBodyRate() * (double) (in - RATE_GRACE_NANOS) / 1e9) {
            refuse(
                ctx,
                new Refusal(
                    Limit.BODY_TOO_SLOW,
                    408,
                    "body slower than "
                        + settings.minBodyRate()
                        + " bytes/s (http.min.body.rate.bytes)"));
          }
        }
        default -> {
          // closing
        }
      }
      if (ctx.channel().isWritable()) {
        unwritableSince = 0;
      } else if (unwritableSince == 0) {
        unwritableSince = now;
      } else if (now - unwritableSince > settings.writeTimeout().toNanos()
          && ctx.channel().isOpen()) {
        metrics.count(Limit.WRITE_TIMEOUT);
        state = State.CLOSING;
        ChannelFuture unused = ctx.close();
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      // a client that does not read its answers is not read from either (pipelined requests stay in
      // its socket)
      ctx.channel().config().setAutoRead(ctx.channel().isWritable());
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (state == State.CLOSING) {
          return;
        }
        if (msg instanceof HttpRequest head) {
          onHead(ctx, head);
        }
        if (msg instanceof HttpContent content && state != State.CLOSING) {
          onContent(ctx, content);
        }
      } catch (Refusal r) {
        refuse(ctx, r);
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    private void onHead(ChannelHandlerContext ctx, HttpRequest head) throws Refusal {
      if (head.decoderResult().isFailure()) {
        Throwable cause = head.decoderResult().cause();
        if (cause instanceof TooLongHttpHeaderException
            || cause instanceof TooLongHttpLineException
            || cause instanceof TooLongFrameException) {
          throw new Refusal(
              Limit.HEAD_TOO_LARGE,
              431,
              "request line and headers exceed "
                  + settings.maxHeaderBytes()
                  + " bytes (http.max.header.bytes)");
        }
        if (cause instanceof AmbiguousLength
            || String.valueOf(cause.getMessage()).contains("Content-Length")
            || String.valueOf(cause.getMessage()).contains("Transfer-Encoding")) {
          throw new Refusal(
              Limit.AMBIGUOUS_LENGTH, 400, "ambiguous body length: " + cause.getMessage());
        }
        throw new Refusal(Limit.MALFORMED_HEAD, 400, "malformed request: " + cause.getMessage());
      }
      if (head.protocolVersion().majorVersion() != 1) {
        throw new Refusal(Limit.MALFORMED_HEAD, 505, "HTTP/1.0 or HTTP/1.1 only");
      }
      HttpHeaders h = head.headers();
      if (h.size() > settings.maxHeaders()) {
        throw new Refusal(
            Limit.TOO_MANY_HEADERS,
            431,
            "more than " + settings.maxHeaders() + " header fields (http.max.headers)");
      }
      List<String> te = h.getAll(HttpHeaderNames.TRANSFER_ENCODING);
      if (!te.isEmpty()
          && (te.size() != 1
              || !te.get(0).trim().equalsIgnoreCase("chunked")
              || h.contains(HttpHeaderNames.CONTENT_LENGTH))) {
        throw new Refusal(
            Limit.AMBIGUOUS_LENGTH,
            400,
            "ambiguous body length: Transfer-Encoding "
                + te
                + " (only a single 'chunked', without Content-Length)");
      }
      String expect = h.get(HttpHeaderNames.EXPECT);
      if (expect != null && !HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect.trim())) {
        throw new Refusal(
            Limit.EXPECTATION, 417, "unsupported Expect '" + h.get(HttpHeaderNames.EXPECT) + "'");
      }
      state = State.BODY;
      since = System.nanoTime();
      bodyBytes = 0;
      keepAlive = HttpUtil.isKeepAlive(head);
      String uri = head.uri();
      int q = uri.indexOf('?');
      String path = q < 0 ? uri : uri.substring(0, q);
      route = routes.get(path);
      request =
          new Request(
              head,
              route != null ? path : OTHER_PATH,
              (InetSocketAddress) ctx.channel().remoteAddress());
      if (route == null) {
        early(
            ctx,
            head,
            Response.text(
                404,
                "no such path; endpoints: "
                    + String.join(" ", routes.keySet().stream().sorted().toList())
                    + "\n"));
        return;
      }
      Response r = route.head(request);
      if (r != null) {
        if (r.status() == 401) {
          metrics.count(Limit.UNAUTHORIZED);
        }
        early(ctx, head, r);
        return;
      }
      String encoding =
          h.get(HttpHeaderNames.CONTENT_ENCODING, "identity").trim().toLowerCase(Locale.ROOT);
      if (!encoding.equals("identity") && !encoding.equals("gzip")) {
        early(
            ctx,
            head,
            Response.text(
                415, "unsupported Content-Encoding '" + encoding + "' (gzip or identity)\n"));
        return;
      }
      gzip = encoding.equals("gzip");
      declared = HttpUtil.getContentLength(head, -1L);
      if (declared > settings.maxBodyBytes()) {
        metrics.count(Limit.BODY_TOO_LARGE);
        early(
            ctx,
            head,
            Response.text(
                413,
                "body of "
                    + declared
                    + " bytes exceeds the limit of "
                    + settings.maxBodyBytes()
                    + " bytes (http.max.body.bytes)\n"));
        return;
      }
      if (HttpUtil.is100ContinueExpected(head)) {
        // not awaited: a failed write closes the channel (Netty's auto-close)
        ChannelFuture unused =
            ctx.writeAndFlush(
                new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER));
      }
    }

    /**
     * Answers a request from its head. A small unsent body is read and dropped to keep the
     * connection; a larger one, or one the client waits to be asked for (100-continue), ends the
     * connection after the answer.
     */
    private void early(ChannelHandlerContext ctx, HttpRequest head, Response r) {
      long declared = HttpUtil.getContentLength(head, -1L);
      boolean chunked = HttpUtil.isTransferEncodingChunked(head);
      boolean pending = chunked || declared > 0;
      if (pending
          && (chunked || declared > MAX_DRAIN_BYTES || HttpUtil.is100ContinueExpected(head))) {
        keepAlive = false;
      }
      state = State.DISCARD;
      drainLeft = MAX_DRAIN_BYTES;
      respond(ctx, r, true);
    }

    private void onContent(ChannelHandlerContext ctx, HttpContent content) throws Refusal {
      if (content.decoderResult().isFailure()) {
        Throwable cause = content.decoderResult().cause();
        if (cause instanceof TooLongFrameException) {
          throw new Refusal(
              Limit.HEAD_TOO_LARGE,
              431,
              "trailers exceed " + settings.maxHeaderBytes() + " bytes (http.max.header.bytes)");
        }
        throw new Refusal(Limit.BAD_CHUNK, 400, "bad chunked body: " + cause.getMessage());
      }
      ByteBuf bytes = content.content();
      int n = bytes.readableBytes();
      if (state == State.DISCARD) {
        drainLeft -= n;
        if (content instanceof LastHttpContent) {
          state = State.IDLE;
          since = System.nanoTime();
          reset();
        } else if (drainLeft < 0) {
          state = State.CLOSING;
          ChannelFuture unused = ctx.close();
        }
        return;
      }
      if (state != State.BODY) {
        return;
      }
      if (n > 0) {
        bodyBytes += n;
        if (bodyBytes > settings.maxBodyBytes()) {
          throw new Refusal(
              Limit.BODY_TOO_LARGE,
              413,
              "body exceeds the limit of "
                  + settings.maxBodyBytes()
                  + " bytes (http.max.body.bytes)");
        }
        int size = (int) (bodyBytes - n);
        if (body == null || bodyBytes > body.length) {
          grow(size, (int) bodyBytes);
        }
        bytes.readBytes(body, size, n);
      }
      if (content instanceof LastHttpContent last) {
        if (last.trailingHeaders().size() > settings.maxTrailers()) {
          throw new Refusal(
              Limit.TOO_MANY_TRAILERS,
              431,
              "more than " + settings.maxTrailers() + " trailer fields (http.max.trailers)");
        }
        complete(ctx);
      }
    }

    /**
     * Grows the body array to hold at least {@code need} bytes: to the declared length when that is
     * all that is still expected, else at most doubling (so it never holds more than twice what
     * arrived), charging the budget for the added capacity before allocating it.
     */
    private void grow(int size, int need) throws Refusal {
      int cap = body == null ? 0 : body.length;
      long target = Math.max(need, Math.min(2L * cap, settings.maxBodyBytes()));
      if (declared >= need && declared <= 2L * need) {
        target = declared; // the rest is on its way: allocate exactly once more
      }
      charge(target - cap);
      byte[] bigger = new byte[(int) target];
      if (size > 0) {
        System.arraycopy(body, 0, bigger, 0, size);
      }
      body = bigger;
    }

    /** Takes n bytes from the global budget, or refuses the request when the budget has no room. */
    private void charge(long n) throws Refusal {
      long max = settings.maxInflightBodyBytes();
      for (; ; ) {
        long cur = inflight.get();
        if (cur + n > max) {
          throw new Refusal(
              Limit.INFLIGHT_BUDGET,
              503,
              "the collector is busy: "
                  + max
                  + " body bytes in flight (http.max.inflight.body.bytes); retry later");
        }
        if (inflight.compareAndSet(cur, cur + n)) {
          charged += n;
          return;
        }
      }
    }

    private void complete(ChannelHandlerContext ctx) throws Refusal {
      int length = (int) bodyBytes;
      byte[] bytes = body == null ? new byte[0] : body; // the parsers read [0, length): no copy
      Response r;
      if (gzip) {
        try {
          bytes = gunzip(bytes, length);
          length = bytes.length;
        } catch (IOException e) {
          respond(ctx, route.unreadable(request, e.getMessage()), false);
          return;
        }
      }
      try {
        r = route.handle(request, bytes, length);
      } catch (RuntimeException e) {
        LOG.warn("error answering {}", request.path(), e);
        keepAlive = false;
        r = Response.text(500, "internal error\n");
      }
      respond(ctx, r, false);
    }

    /**
     * Decompresses every member of a gzip stream (GZIPInputStream reads concatenated members; the
     * source here is the whole body in memory, so its end is never mistaken for the end of the
     * stream), charging the output to the budget as it grows.
     */
    private byte[] gunzip(byte[] in, int length) throws IOException, Refusal {
      long limit = settings.maxBodyBytes();
      ByteArrayOutputStream out =
          new ByteArrayOutputStream((int) Math.min(limit, Math.max(1024, 4L * length)));
      byte[] buf = new byte[16 * 1024];
      long total = 0;
      try (GZIPInputStream gz =
          new GZIPInputStream(new ByteArrayInputStream(in, 0, length), 8192)) {
        int n;
        while ((n = gz.read(buf)) > 0) {
          total += n;
          if (total > limit) {
            throw new Refusal(
                Limit.DECOMPRESSED_TOO_LARGE,
                413,
                "body exceeds the limit of "
                    + limit
                    + " bytes once decompressed (http.max.body.bytes)");
          }
          charge(n);
          out.write(buf, 0, n);
        }
      }
      return out.toByteArray();
    }

    /**
     * Answers, then closes with a lingering close after a refusal, or waits for the next request.
     */
    private void refuse(ChannelHandlerContext ctx, Refusal r) {
      metrics.count(r.limit);
      keepAlive = false;
      String[] extra = r.status == 503 ? new String[] {"Retry-After", "1"} : new String[0];
      respond(ctx, Response.text(r.status, r.getMessage() + "\n", extra), false);
    }

    private void respond(ChannelHandlerContext ctx, Response r, boolean bodyPending) {
      String connection =
          !keepAlive
              ? "close"
              : request != null && request.head.protocolVersion().equals(HttpVersion.HTTP_1_0)
                  ? "keep-alive"
                  : null;
      ByteBuf resp = Unpooled.wrappedBuffer(encode(r, connection));
      observer.answered(request != null ? request.path() : OTHER_PATH, r.status());
      // written from the encoder's context: past the encoder, which takes only HTTP objects in this
      // state
      ChannelFuture f = ctx.pipeline().context("encoder").writeAndFlush(resp);
      if (!keepAlive) {
        state = State.CLOSING;
        reset();
        f.addListener(x -> lingeringClose(ctx.channel()));
      } else if (!bodyPending) {
        state = State.IDLE;
        since = System.nanoTime();
        reset();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (!(cause instanceof IOException)) {
        LOG.debug("connection from {} failed", ctx.channel().remoteAddress(), cause);
      }
      state = State.CLOSING;
      ChannelFuture unused = ctx.close();
    }
  }

  @Override
  public void close() {
    metrics.unregister(openGauge, inflightGauge);
    serverChannel.close().syncUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
