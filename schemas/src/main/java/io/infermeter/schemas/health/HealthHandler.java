package io.infermeter.schemas.health;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Health endpoints of an app's metrics port, for Kubernetes probes and load balancers: {@code GET
 * /-/healthy} answers 200 while the process serves HTTP (liveness), {@code GET /-/ready} answers
 * 200 when {@code readiness} reports no problem and 503 with the reason otherwise (readiness). Any
 * other path is 404; a method other than GET or HEAD is 405. Plain text bodies, {@code
 * Cache-Control: no-store}.
 *
 * <p>Installed as the default ("/") handler of Prometheus' {@code HTTPServer}, which serves {@code
 * /metrics} itself and, since 1.0, also its own {@code /-/healthy} context; the {@code /-/healthy}
 * case here answers the same where a server routes it here. Thread-safe when {@code readiness} is
 * (it is called on the server's request threads).
 */
public final class HealthHandler implements HttpHandler {

  public static final String HEALTHY = "/-/healthy";
  public static final String READY = "/-/ready";

  private final Supplier<String> readiness;

  /**
   * @param readiness returns null when the app is ready, or a short reason (one line) why it is
   *     not; must be cheap (no I/O) and never throw
   */
  public HealthHandler(Supplier<String> readiness) {
    this.readiness = Objects.requireNonNull(readiness, "readiness");
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      String path = exchange.getRequestURI().getPath();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        respond(exchange, 405, "method not allowed\n");
      } else if (HEALTHY.equals(path)) {
        respond(exchange, 200, "healthy\n");
      } else if (READY.equals(path)) {
        String reason;
        try {
          reason = readiness.get();
        } catch (RuntimeException e) {
          reason = "readiness check failed: " + e;
        }
        if (reason == null) {
          respond(exchange, 200, "ready\n");
        } else {
          respond(exchange, 503, "not ready: " + oneLine(reason) + "\n");
        }
      } else {
        respond(exchange, 404, "not found; endpoints: /metrics " + HEALTHY + " " + READY + "\n");
      }
    }
  }

  private static String oneLine(String s) {
    return s.replaceAll("[\\r\\n]+", " ");
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }
}
