package io.infermeter.schemas.serde;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * {@link SchemaRegistryClient} over the Confluent Schema Registry REST API (v1 content type), which
 * Confluent Schema Registry, Apicurio's ccompat API, Karapace and Redpanda all serve. Ids and
 * schemas are cached both ways for the life of the client, so the registry is called once per
 * (subject, schema) and once per id. Thread-safe.
 */
public final class HttpSchemaRegistryClient implements SchemaRegistryClient {

  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<URI> baseUrls;
  private final Optional<String> authorization;
  private final Duration timeout;
  private final HttpClient http;
  private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();

  public HttpSchemaRegistryClient(AvroSerdeConfig config) {
    List<URI> urls = new ArrayList<>();
    for (String part : config.registryUrl().split(",", -1)) {
      String trimmed = part.trim();
      if (!trimmed.isEmpty()) {
        urls.add(
            URI.create(
                trimmed.endsWith("/") ? trimmed.substring(0, trimmed.length() - 1) : trimmed));
      }
    }
    if (urls.isEmpty()) {
      throw new IllegalArgumentException(
          "no schema registry URL in '" + config.registryUrl() + "'");
    }
    this.baseUrls = List.copyOf(urls);
    this.authorization =
        config
            .userInfo()
            .map(
                info ->
                    "Basic "
                        + Base64.getEncoder().encodeToString(info.getBytes(StandardCharsets.UTF_8)))
            .or(() -> config.bearerToken().map(token -> "Bearer " + token));
    this.timeout = config.requestTimeout();
    // HTTP/1.1: registries speak it everywhere; the default HTTP/2 attempt adds an h2c upgrade to
    // the first request.
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(timeout)
            .sslContext(config.tls().sslContext())
            .build();
  }

  @Override
  public int register(String subject, Schema schema) {
    Map<Schema, Integer> ids =
        idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
    Integer cached = ids.get(schema);
    if (cached != null) {
      return cached;
    }
    String what = "register schema " + schema.getFullName() + " under subject '" + subject + "'";
    JsonNode answer;
    try {
      answer = call("POST", "/subjects/" + encode(subject) + "/versions", body(schema), what);
    } catch (SchemaRegistryException e) {
      if (!isCreateRace(e)) {
        throw e;
      }
      // Two clients created the subject at the same moment and the registry (Apicurio) answered the
      // loser 409
      // "already exists": the subject exists now, so registering again returns the id (or a real
      // incompatibility).
      answer = call("POST", "/subjects/" + encode(subject) + "/versions", body(schema), what);
    }
    int id = answer.path("id").asInt(-1);
    if (id < 0) {
      throw new SchemaRegistryException(
          "registry answered without an id when registering under '" + subject + "': " + answer,
          200,
          0,
          false,
          null);
    }
    ids.put(schema, id);
    schemasById.putIfAbsent(id, schema);
    return id;
  }

  /** A 409 that reports a concurrent creation of the subject, not an incompatible schema. */
  static boolean isCreateRace(SchemaRegistryException e) {
    return e.httpStatus() == 409
        && e.getMessage() != null
        && e.getMessage().contains("already exists");
  }

  @Override
  public int lookup(String subject, Schema schema) {
    Map<Schema, Integer> ids =
        idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
    Integer cached = ids.get(schema);
    if (cached != null) {
      return cached;
    }
    JsonNode answer =
        call(
            "POST",
            "/subjects/" + encode(subject),
            body(schema),
            "look up schema "
                + schema.getFullName()
                + " under subject '"
                + subject
                + "' (auto.register.schemas=false: register it first)");
    int id = answer.path("id").asInt(-1);
    if (id < 0) {
      // never cache (and then write) a made-up id
      throw new SchemaRegistryException(
          "registry answered without an id when looking up under '" + subject + "': " + answer,
          200,
          0,
          false,
          null);
    }
    ids.put(schema, id);
    schemasById.putIfAbsent(id, schema);
    return id;
  }

  @Override
  public Schema byId(int id) {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    JsonNode answer = call("GET", "/schemas/ids/" + id, null, "fetch schema id " + id);
    String text = answer.path("schema").asText(null);
    if (text == null) {
      throw new SchemaRegistryException(
          "registry answer for schema id " + id + " has no schema: " + answer, 200, 0, false, null);
    }
    Schema schema;
    try {
      schema = new Schema.Parser().parse(text);
    } catch (RuntimeException e) {
      throw new SchemaRegistryException(
          "schema id " + id + " is not a valid Avro schema: " + e.getMessage(), 200, 0, false, e);
    }
    Schema previous = schemasById.putIfAbsent(id, schema);
    return previous == null ? schema : previous;
  }

  private static String body(Schema schema) {
    return JSON.createObjectNode().put("schema", schema.toString()).toString();
  }

  private static String encode(String subject) {
    return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private JsonNode call(String method, String path, String body, String what) {
    SchemaRegistryException last = null;
    for (URI base : baseUrls) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(base + path))
              .timeout(timeout)
              .header("Accept", CONTENT_TYPE + ", application/json");
      authorization.ifPresent(a -> request.header("Authorization", a));
      if (body != null) {
        request
            .header("Content-Type", CONTENT_TYPE)
            .method(method, HttpRequest.BodyPublishers.ofString(body));
      } else {
        request.method(method, HttpRequest.BodyPublishers.noBody());
      }
      HttpResponse<String> response;
      try {
        response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        last =
            new SchemaRegistryException(
                "schema registry at " + base + " is unreachable while trying to " + what + ": " + e,
                0,
                0,
                true,
                e);
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SchemaRegistryException("interrupted while trying to " + what, 0, 0, true, e);
      }
      return parse(base, response, what);
    }
    throw last;
  }

  private static JsonNode parse(URI base, HttpResponse<String> response, String what) {
    int status = response.statusCode();
    JsonNode node;
    try {
      node =
          JSON.readTree(
              response.body() == null || response.body().isEmpty() ? "{}" : response.body());
    } catch (IOException e) {
      node = JSON.createObjectNode().put("message", response.body());
    }
    if (status >= 200 && status < 300) {
      return node;
    }
    int errorCode = node.path("error_code").asInt(0);
    String detail = node.path("message").asText(response.body());
    String reason =
        switch (status) {
          case 409 ->
              "the schema is incompatible with the subject's existing versions under its compatibility rule";
          case 422 -> "the registry rejected the schema as invalid";
          case 401, 403 ->
              "the registry refused the credentials (check basic.auth.user.info or bearer.auth.token)";
          case 404 -> "not found";
          default -> "HTTP " + status;
        };
    boolean retryable = status >= 500 || status == 408 || status == 429;
    throw new SchemaRegistryException(
        "schema registry "
            + base
            + " could not "
            + what
            + ": "
            + reason
            + " (HTTP "
            + status
            + ", error_code "
            + errorCode
            + ": "
            + detail
            + ")",
        status,
        errorCode,
        retryable,
        null);
  }
}
