package io.infermeter.schemas.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.infermeter.schemas.TopicSpec;
import io.infermeter.schemas.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Keeps deploy/compose/docker-compose.yml and deploy/docker/Dockerfile.* valid without a Docker
 * engine: pinned images or builds from existing Dockerfiles, loopback-only published ports,
 * existing depends_on targets, healthchecks, the Kafka image at the project's Kafka version, every
 * topic created, and Dockerfiles copying the jar each module really builds.
 */
class DeployFilesTest {

  /** Surefire runs in the module directory (schemas/). */
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  private static final Path COMPOSE_FILE = ROOT.resolve("deploy/compose/docker-compose.yml");
  private static final List<String> APPS = List.of("collector", "streams-app", "sink");
  private static final Set<String> CONDITIONS =
      Set.of("service_started", "service_healthy", "service_completed_successfully");
  private static final Pattern PINNED_IMAGE =
      Pattern.compile(
          "[a-z0-9][a-z0-9._/-]*:(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(@sha256:[0-9a-f]{64})?");

  private static JsonNode compose() throws IOException {
    return new YAMLMapper().readTree(COMPOSE_FILE.toFile());
  }

  private static Iterable<Map.Entry<String, JsonNode>> services(JsonNode compose) {
    List<Map.Entry<String, JsonNode>> out = new ArrayList<>();
    compose.path("services").fields().forEachRemaining(out::add);
    return out;
  }

  @Test
  void declaresTheWholeStack() throws IOException {
    JsonNode services = compose().path("services");

    assertThat(services.isObject()).as("services in %s", COMPOSE_FILE).isTrue();
    for (String name :
        List.of("kafka", "schema-registry", "clickhouse", "collector", "streams-app", "sink")) {
      assertThat(services.has(name)).as("service %s", name).isTrue();
    }
    assertThat(services.path("schema-registry").path("image").asText())
        .startsWith("confluentinc/cp-schema-registry:");
    assertThat(services.path("clickhouse").path("image").asText())
        .startsWith("clickhouse/clickhouse-server:");
  }

  @Test
  void everyServiceHasAPinnedImageOrABuildFromAnExistingDockerfile() throws IOException {
    for (Map.Entry<String, JsonNode> s : services(compose())) {
      JsonNode service = s.getValue();
      if (service.has("build")) {
        JsonNode build = service.path("build");
        Path context =
            COMPOSE_FILE.getParent().resolve(build.path("context").asText(".")).normalize();
        Path dockerfile =
            context.resolve(build.path("dockerfile").asText("Dockerfile")).normalize();
        assertThat(dockerfile).as("Dockerfile of %s", s.getKey()).isRegularFile();
        assertThat(context).as("build context of %s", s.getKey()).isEqualTo(ROOT);
      } else {
        String image = service.path("image").asText("");
        Matcher m = PINNED_IMAGE.matcher(image);
        assertThat(m.matches())
            .as("service %s: image '%s' must carry an explicit tag", s.getKey(), image)
            .isTrue();
        assertThat(m.group("tag"))
            .as("service %s: image '%s'", s.getKey(), image)
            .isNotIn("latest", "stable", "head", "main", "master")
            .matches(".*\\d.*");
      }
    }
  }

  @Test
  void publishedPortsAreBoundToLoopbackOnly() throws IOException {
    for (Map.Entry<String, JsonNode> s : services(compose())) {
      for (JsonNode port : s.getValue().path("ports")) {
        if (port.isObject()) {
          assertThat(port.path("host_ip").asText())
              .as("%s port %s", s.getKey(), port)
              .isEqualTo("127.0.0.1");
        } else {
          assertThat(port.asText())
              .as("%s port", s.getKey())
              .matches("127\\.0\\.0\\.1:\\d+:\\d+(/tcp|/udp)?");
        }
      }
    }
  }

  @Test
  void dependsOnTargetsExistWithValidConditions() throws IOException {
    JsonNode compose = compose();
    for (Map.Entry<String, JsonNode> s : services(compose)) {
      JsonNode deps = s.getValue().path("depends_on");
      if (deps.isArray()) {
        deps.forEach(
            d ->
                assertThat(compose.path("services").has(d.asText()))
                    .as("%s depends on unknown %s", s.getKey(), d.asText())
                    .isTrue());
      } else {
        for (Iterator<Map.Entry<String, JsonNode>> it = deps.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> d = it.next();
          assertThat(compose.path("services").has(d.getKey()))
              .as("%s depends on unknown %s", s.getKey(), d.getKey())
              .isTrue();
          assertThat(d.getKey()).as("%s depends on itself", s.getKey()).isNotEqualTo(s.getKey());
          assertThat(d.getValue().path("condition").asText("service_started")).isIn(CONDITIONS);
          if (d.getValue().path("condition").asText().equals("service_healthy")) {
            assertThat(compose.path("services").path(d.getKey()).has("healthcheck"))
                .as(
                    "%s waits for %s to be healthy but it has no healthcheck",
                    s.getKey(), d.getKey())
                .isTrue();
          }
        }
      }
    }
  }

  @Test
  void everyLongRunningServiceHasAHealthcheck() throws IOException {
    for (Map.Entry<String, JsonNode> s : services(compose())) {
      boolean oneShot = s.getValue().path("restart").asText("").equals("no");
      if (!oneShot) {
        assertThat(s.getValue().path("healthcheck").path("test").isMissingNode())
            .as("healthcheck of %s", s.getKey())
            .isFalse();
      }
    }
  }

  @Test
  void kafkaImageRunsTheProjectsKafkaVersion() throws IOException {
    String kafkaVersion = pomValue(ROOT.resolve("pom.xml"), "kafka.version");

    for (Map.Entry<String, JsonNode> s : services(compose())) {
      String image = s.getValue().path("image").asText("");
      if (image.startsWith("apache/kafka:")) {
        assertThat(image).as(s.getKey()).isEqualTo("apache/kafka:" + kafkaVersion);
      }
    }
  }

  @Test
  void initCreatesEveryTopic() throws IOException {
    String init = compose().path("services").path("kafka-init").path("command").toString();

    for (TopicSpec<?> topic : Topics.ALL) {
      assertThat(init).as("kafka-init creates %s", topic.name()).contains(topic.name());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"collector", "streams-app", "sink"})
  void appsGetTheirCoordinatesFromTheEnvironment(String app) throws IOException {
    JsonNode service = compose().path("services").path(app);
    JsonNode env = service.path("environment");

    assertThat(service.path("build").path("dockerfile").asText())
        .isEqualTo("deploy/docker/Dockerfile." + app);
    assertThat(env.path("INFERMETER_KAFKA_BOOTSTRAP_SERVERS").asText()).isEqualTo("kafka:19092");
    assertThat(env.path("INFERMETER_SCHEMA_REGISTRY_URL").asText())
        .isEqualTo("http://schema-registry:8081");
    if (app.equals("sink")) {
      assertThat(env.path("INFERMETER_CLICKHOUSE_URL").asText())
          .startsWith("jdbc:clickhouse://clickhouse:8123/");
    }
    // every INFERMETER_ variable is documented next to the compose file
    String readme = Files.readString(COMPOSE_FILE.resolveSibling("README.md"));
    env.fieldNames()
        .forEachRemaining(
            name -> assertThat(readme).as("README documents %s", name).contains(name));
  }

  @ParameterizedTest
  @ValueSource(strings = {"collector", "streams-app", "sink"})
  void dockerfileCopiesTheJarTheModuleBuilds(String app) throws IOException {
    Path pom = ROOT.resolve(app).resolve("pom.xml");
    String finalName = pomValue(pom, "finalName");
    String jar = app + "/target/" + finalName + ".jar";
    Path dockerfile = ROOT.resolve("deploy/docker/Dockerfile." + app);
    String text = Files.readString(dockerfile);

    assertThat(finalName).isEqualTo("infermeter-" + app);
    assertThat(text).containsPattern("(?m)^ARG JRE_IMAGE=eclipse-temurin:17[^\\s]*-jre[^\\s]*$");
    assertThat(text).containsPattern("(?m)^FROM \\$\\{JRE_IMAGE}$");
    // multi-stage: the build stage builds the module (deploy-tests' DockerfilesTest checks it
    // against the POMs)
    assertThat(text)
        .containsPattern(
            "(?m)^COPY --from=build /src/"
                + Pattern.quote(jar)
                + " /app/"
                + Pattern.quote(finalName + ".jar")
                + "$");
    assertThat(text)
        .containsPattern(
            "(?m)^COPY --from=build /src/" + Pattern.quote(app + "/target/lib/") + " /app/lib/$");
    assertThat(text).contains("-jar /app/" + finalName + ".jar");
    assertThat(text).containsPattern("(?m)^USER (?!root)\\S+$");
    // the manifest class path of the jar points at lib/ next to it
    assertThat(Files.readString(pom)).contains("<classpathPrefix>lib/</classpathPrefix>");
    // BuildKit's per-Dockerfile ignore file lets the POMs and the sources into the context, no
    // build output
    List<String> ignore =
        Files.readAllLines(dockerfile.resolveSibling("Dockerfile." + app + ".dockerignore"));
    assertThat(ignore)
        .contains("*", "!pom.xml", "!*/pom.xml", "!" + app + "/src")
        .noneMatch(l -> l.contains("target"));
  }

  @Test
  void noStrayDockerfiles() throws IOException {
    try (Stream<Path> files = Files.list(ROOT.resolve("deploy/docker"))) {
      List<String> dockerfiles =
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.startsWith("Dockerfile") && !n.endsWith(".dockerignore"))
              .sorted()
              .toList();
      // one per image of deploy/images.properties (its keys other than tag are module directories)
      Properties images = new Properties();
      try (var in = Files.newBufferedReader(ROOT.resolve("deploy/images.properties"))) {
        images.load(in);
      }
      assertThat(dockerfiles)
          .containsExactlyElementsOf(
              images.stringPropertyNames().stream()
                  .filter(k -> !k.equals("tag"))
                  .map(a -> "Dockerfile." + a)
                  .sorted()
                  .toList());
      assertThat(images.stringPropertyNames()).containsAll(APPS);
    }
  }

  /** The text of the first {@code <name>} element of a POM (a property or finalName). */
  static String pomValue(Path pom, String name) throws IOException {
    Matcher m =
        Pattern.compile(
                "<" + Pattern.quote(name) + ">\\s*([^<\\s]+)\\s*</" + Pattern.quote(name) + ">")
            .matcher(Files.readString(pom));
    assertThat(m.find()).as("<%s> in %s", name, pom).isTrue();
    return m.group(1);
  }
}
