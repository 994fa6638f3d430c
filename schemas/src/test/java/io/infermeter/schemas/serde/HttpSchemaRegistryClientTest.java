package io.infermeter.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.type;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.infermeter.avro.PriceUpdate;
import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.SampleRecords;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The HTTP registry client against a tiny in-test HTTP server on 127.0.0.1 that answers like
 * Confluent Schema Registry: success paths, caching, and the retryable / not-retryable
 * classification of every error.
 */
class HttpSchemaRegistryClientTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Schema SCHEMA = RequestEvent.getClassSchema();

  private HttpServer server;
  private final java.util.concurrent.ExecutorService executor =
      java.util.concurrent.Executors.newCachedThreadPool();
  private String url;
  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final Map<String, String> authHeaders = new ConcurrentHashMap<>();
  private final Map<String, String> contentTypes = new ConcurrentHashMap<>();
  private final Map<String, String> bodies = new ConcurrentHashMap<>();
  private volatile Canned canned = (method, path, body) -> new Answer(500, "{}");
  private final CountDownLatch release = new CountDownLatch(1);

  @FunctionalInterface
  interface Canned {
    Answer answer(String method, String path, String body);
  }

  record Answer(int status, String body) {}

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
    url = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    release.countDown();
    server.stop(0);
    executor.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    String method = exchange.getRequestMethod();
    String path = exchange.getRequestURI().getRawPath();
    String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    calls.add(method + " " + path);
    Optional.ofNullable(exchange.getRequestHeaders().getFirst("Authorization"))
        .ifPresent(a -> authHeaders.put(path, a));
    Optional.ofNullable(exchange.getRequestHeaders().getFirst("Content-Type"))
        .ifPresent(c -> contentTypes.put(path, c));
    bodies.put(path, body);
    Answer answer = canned.answer(method, path, body);
    byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/vnd.schemaregistry.v1+json");
    exchange.sendResponseHeaders(answer.status(), bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private HttpSchemaRegistryClient client() {
    return client(url, 5_000, Map.of());
  }

  private static HttpSchemaRegistryClient client(
      String url, int timeoutMs, Map<String, String> extra) {
    Map<String, Object> m = new java.util.HashMap<>(extra);
    m.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, url);
    m.put(AvroSerdeConfig.REQUEST_TIMEOUT_MS, String.valueOf(timeoutMs));
    return new HttpSchemaRegistryClient(AvroSerdeConfig.from(m));
  }

  private static String error(int code, String message) {
    return JSON.createObjectNode().put("error_code", code).put("message", message).toString();
  }

  @Test
  void registersWithTheSchemaAsJsonAndCachesTheId() throws IOException {
    canned = (m, p, b) -> new Answer(200, "{\"id\":17}");
    HttpSchemaRegistryClient client = client();

    assertThat(client.register("infermeter-requests-value", SCHEMA)).isEqualTo(17);
    assertThat(client.register("infermeter-requests-value", SCHEMA)).isEqualTo(17);

    assertThat(calls).containsExactly("POST /subjects/infermeter-requests-value/versions");
    String sent = bodies.get("/subjects/infermeter-requests-value/versions");
    assertThat(new Schema.Parser().parse(JSON.readTree(sent).path("schema").asText()))
        .isEqualTo(SCHEMA);
    assertThat(contentTypes.get("/subjects/infermeter-requests-value/versions"))
        .isEqualTo("application/vnd.schemaregistry.v1+json");
    // the id of a schema this client registered is known without asking
    assertThat(client.byId(17)).isEqualTo(SCHEMA);
    assertThat(calls).hasSize(1);
  }

  @Test
  void cachesPerSubject() {
    AtomicInteger next = new AtomicInteger(1);
    canned = (m, p, b) -> new Answer(200, "{\"id\":" + next.getAndIncrement() + "}");
    HttpSchemaRegistryClient client = client();

    client.register("a-value", SCHEMA);
    client.register("b-value", SCHEMA);
    client.register("a-value", SCHEMA);

    assertThat(calls)
        .containsExactly("POST /subjects/a-value/versions", "POST /subjects/b-value/versions");
  }

  @Test
  void encodesSubjectsInThePath() {
    canned = (m, p, b) -> new Answer(200, "{\"id\":3}");

    client().register("topic with space/and+plus", SCHEMA);

    assertThat(calls).containsExactly("POST /subjects/topic%20with%20space%2Fand%2Bplus/versions");
  }

  @Test
  void looksUpWithoutRegistering() {
    canned =
        (m, p, b) ->
            new Answer(
                200,
                "{\"subject\":\"s\",\"id\":5,\"version\":2,\"schema\":"
                    + JSON.valueToTree(SCHEMA.toString())
                    + "}");
    HttpSchemaRegistryClient client = client();

    assertThat(client.lookup("s", SCHEMA)).isEqualTo(5);
    assertThat(client.lookup("s", SCHEMA)).isEqualTo(5);
    assertThat(calls).containsExactly("POST /subjects/s");
  }

  @Test
  void fetchesSchemasByIdOnce() {
    canned =
        (m, p, b) ->
            new Answer(
                200,
                "{\"schema\":" + JSON.valueToTree(PriceUpdate.getClassSchema().toString()) + "}");
    HttpSchemaRegistryClient client = client();

    assertThat(client.byId(42)).isEqualTo(PriceUpdate.getClassSchema());
    assertThat(client.byId(42)).isEqualTo(PriceUpdate.getClassSchema());
    assertThat(calls).containsExactly("GET /schemas/ids/42");
  }

  @ParameterizedTest(name = "HTTP {0} error_code {1}")
  @CsvSource({
    "409, 409,   false, the schema is incompatible",
    "422, 42201, false, rejected the schema as invalid",
    "401, 40101, false, refused the credentials",
    "403, 40301, false, refused the credentials",
    "404, 40401, false, not found",
    "500, 50001, true,  HTTP 500",
    "502, 0,     true,  HTTP 502",
    "503, 50003, true,  HTTP 503",
    "429, 42901, true,  HTTP 429",
    "408, 0,     true,  HTTP 408",
    "400, 0,     false, HTTP 400",
  })
  void classifiesRegistryErrors(int status, int errorCode, boolean retryable, String reason) {
    canned = (m, p, b) -> new Answer(status, error(errorCode, "registry says no"));

    assertThatThrownBy(() -> client().register("orders-value", SCHEMA))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(
            e -> {
              assertThat(e.httpStatus()).isEqualTo(status);
              assertThat(e.errorCode()).isEqualTo(errorCode);
              assertThat(e.isRetryable()).isEqualTo(retryable);
              assertThat(e.getMessage())
                  .contains(
                      "could not register schema io.infermeter.avro.RequestEvent under subject 'orders-value'")
                  .contains(reason)
                  .contains("registry says no")
                  .contains("HTTP " + status);
            });
  }

  @Test
  void incompatibleSchemaIsNotRetryableAndSaysSo() {
    canned =
        (m, p, b) ->
            new Answer(
                409,
                error(
                    409,
                    "Schema being registered is incompatible with an earlier schema for subject \"orders-value\""));

    assertThatThrownBy(() -> client().register("orders-value", SCHEMA))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(e -> assertThat(e.isRetryable()).isFalse())
        .extracting(Throwable::getMessage)
        .asString()
        .contains("incompatible with the subject's existing versions");
  }

  @Test
  void failedRegistrationIsNotCached() {
    AtomicInteger call = new AtomicInteger();
    canned =
        (m, p, b) ->
            call.getAndIncrement() == 0 ? new Answer(503, "") : new Answer(200, "{\"id\":9}");
    HttpSchemaRegistryClient client = client();

    assertThatThrownBy(() -> client.register("s", SCHEMA))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(e -> assertThat(e.isRetryable()).isTrue());
    assertThat(client.register("s", SCHEMA)).isEqualTo(9);
    assertThat(calls).hasSize(2);
  }

  @Test
  void nonJsonErrorBodyIsQuoted() {
    canned = (m, p, b) -> new Answer(502, "<html>Bad Gateway</html>");

    assertThatThrownBy(() -> client().byId(1))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(e -> assertThat(e.isRetryable()).isTrue())
        .extracting(Throwable::getMessage)
        .asString()
        .contains("could not fetch schema id 1")
        .contains("<html>Bad Gateway</html>");
  }

  @Test
  void unknownIdIsNotRetryable() {
    canned = (m, p, b) -> new Answer(404, error(40403, "Schema 77 not found"));

    assertThatThrownBy(() -> client().byId(77))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(
            e -> {
              assertThat(e.isRetryable()).isFalse();
              assertThat(e.errorCode()).isEqualTo(40403);
              assertThat(e.getMessage())
                  .contains("fetch schema id 77")
                  .contains("Schema 77 not found");
            });
  }

  @Test
  void lookupOfAnUnregisteredSchemaSaysToRegisterItFirst() {
    canned = (m, p, b) -> new Answer(404, error(40403, "Schema not found"));

    assertThatThrownBy(() -> client().lookup("s", SCHEMA))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(e -> assertThat(e.isRetryable()).isFalse())
        .extracting(Throwable::getMessage)
        .asString()
        .contains("auto.register.schemas=false: register it first");
  }

  @Test
  void successWithoutAnIdIsAnError() {
    canned = (m, p, b) -> new Answer(200, "{\"unexpected\":true}");

    assertThatThrownBy(() -> client().register("s", SCHEMA))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(e -> assertThat(e.isRetryable()).isFalse())
        .extracting(Throwable::getMessage)
        .asString()
        .contains("without an id");
    assertThatThrownBy(() -> client().lookup("s", SCHEMA))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(e -> assertThat(e.isRetryable()).isFalse())
        .extracting(Throwable::getMessage)
        .asString()
        .contains("without an id");
  }

  @Test
  void answerWithoutOrWithABrokenSchemaIsAnError() {
    canned = (m, p, b) -> new Answer(200, p.endsWith("/1") ? "{}" : "{\"schema\":\"{not avro\"}");
    HttpSchemaRegistryClient client = client();

    assertThatThrownBy(() -> client.byId(1))
        .isInstanceOf(SchemaRegistryException.class)
        .hasMessageContaining("has no schema");
    assertThatThrownBy(() -> client.byId(2))
        .isInstanceOf(SchemaRegistryException.class)
        .hasMessageContaining("is not a valid Avro schema");
  }

  @Test
  void sendsBasicAuthWhenConfigured() {
    canned = (m, p, b) -> new Answer(200, "{\"id\":1}");
    HttpSchemaRegistryClient client =
        client(
            url,
            5_000,
            Map.of(
                AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE,
                "USER_INFO",
                AvroSerdeConfig.BASIC_AUTH_USER_INFO,
                "svc:pw"));

    client.register("s", SCHEMA);

    String expected =
        "Basic "
            + java.util.Base64.getEncoder()
                .encodeToString("svc:pw".getBytes(StandardCharsets.UTF_8));
    assertThat(authHeaders).containsEntry("/subjects/s/versions", expected);
  }

  @Test
  void sendsNoAuthorizationByDefault() {
    canned = (m, p, b) -> new Answer(200, "{\"id\":1}");

    client().register("s", SCHEMA);

    assertThat(authHeaders).isEmpty();
  }

  @Test
  void unreachableRegistryIsRetryableAndNamesTheUrl() throws IOException {
    String dead = "http://127.0.0.1:" + freePort();

    assertThatThrownBy(() -> client(dead, 2_000, Map.of()).register("s", SCHEMA))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(
            e -> {
              assertThat(e.isRetryable()).isTrue();
              assertThat(e.httpStatus()).isZero();
              assertThat(e.getMessage())
                  .contains("schema registry at " + dead + " is unreachable")
                  .contains("register schema io.infermeter.avro.RequestEvent under subject 's'");
            });
  }

  @Test
  void slowRegistryTimesOutRetryably() {
    canned =
        (m, p, b) -> {
          try {
            release.await(
                30, TimeUnit.SECONDS); // held until the test ends; the client gives up long before
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return new Answer(200, "{\"id\":1}");
        };

    assertThatThrownBy(() -> client(url, 300, Map.of()).register("s", SCHEMA))
        .asInstanceOf(type(SchemaRegistryException.class))
        .satisfies(
            e -> {
              assertThat(e.isRetryable()).isTrue();
              assertThat(e.getCause()).isInstanceOf(java.net.http.HttpTimeoutException.class);
            });
  }

  @Test
  void failsOverToTheNextUrlWhenOneIsUnreachable() throws IOException {
    canned = (m, p, b) -> new Answer(200, "{\"id\":11}");
    String both = "http://127.0.0.1:" + freePort() + "," + url + "/";

    assertThat(client(both, 2_000, Map.of()).register("s", SCHEMA)).isEqualTo(11);
    assertThat(calls).containsExactly("POST /subjects/s/versions");
  }

  @Test
  void keepsTheBasePathOfTheUrl() {
    canned = (m, p, b) -> new Answer(200, "{\"id\":1}");

    client(url + "/apis/ccompat/v7/", 5_000, Map.of()).register("s", SCHEMA);

    assertThat(calls).containsExactly("POST /apis/ccompat/v7/subjects/s/versions");
  }

  @Test
  void serdeFromConfigMapRoundTripsThroughTheRegistry() {
    Map<Integer, String> stored = new ConcurrentHashMap<>();
    canned =
        (m, p, b) -> {
          if (m.equals("POST")) {
            try {
              stored.put(21, JSON.readTree(b).path("schema").asText());
            } catch (IOException e) {
              return new Answer(422, error(42201, "bad json"));
            }
            return new Answer(200, "{\"id\":21}");
          }
          return new Answer(200, "{\"schema\":" + JSON.valueToTree(stored.get(21)) + "}");
        };
    Map<String, Object> props = Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, url);
    RequestEvent event = SampleRecords.requestEvent();

    byte[] bytes =
        AvroSerde.forValues(RequestEvent.class, props).serializer().serialize("t", event);
    // a separate serde (fresh client, empty caches) must fetch the writer schema by id
    RequestEvent back =
        AvroSerde.forValues(RequestEvent.class, props).deserializer().deserialize("t", bytes);

    assertThat(back).isEqualTo(event);
    assertThat(calls).containsExactly("POST /subjects/t-value/versions", "GET /schemas/ids/21");
  }

  @Test
  void kafkaStyleReflectiveConfigurationWorks() {
    canned =
        (m, p, b) ->
            new Answer(
                200,
                m.equals("POST")
                    ? "{\"id\":4}"
                    : "{\"schema\":"
                        + JSON.valueToTree(RequestEvent.getClassSchema().toString())
                        + "}");
    Map<String, Object> props =
        Map.of(
            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
            url,
            AvroDeserializer.SPECIFIC_TYPE_CONFIG,
            RequestEvent.class.getName());
    AvroSerializer<RequestEvent> serializer = new AvroSerializer<>();
    serializer.configure(props, false);
    AvroDeserializer<RequestEvent> deserializer = new AvroDeserializer<>();
    deserializer.configure(props, false);
    RequestEvent event = SampleRecords.requestEvent();

    assertThat(deserializer.deserialize("t", serializer.serialize("t", event))).isEqualTo(event);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
