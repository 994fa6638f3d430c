package io.infermeter.deploytests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermeter.deploytests.Manifests.Doc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Unit tests: every INFERMETER_* variable the manifests give an app names a setting that app knows.
 * The apps' Settings map INFERMETER_FOO_BAR to key foo.bar and silently ignore unknown keys, so a
 * typo in a manifest would otherwise go unnoticed until production. Known keys are read from the
 * app's main sources (string literals and withPrefix(...) pass-through prefixes), without building
 * the apps.
 */
class AppEnvironmentTest {

  private static final String PREFIX = "INFERMETER_";
  private static final Pattern LITERAL = Pattern.compile("\"([a-z][a-z0-9-]*(?:\\.[a-z0-9-]+)*)\"");
  private static final Pattern PASS_THROUGH =
      Pattern.compile("withPrefix\\(\"([a-z0-9.-]+\\.)\"\\)");

  /**
   * The shared Kafka client configuration: a module that uses it passes its prefixes (kafka.*)
   * through.
   */
  private static final String KAFKA_CLIENT_CONFIG = "KafkaClientConfig";

  /**
   * The shared topic-creation keys: a module whose key table adds {@code TopicCreator.CONFIG} knows
   * the keys that class declares.
   */
  private static final String TOPIC_CREATOR = "TopicCreator";

  private static final Pattern PREFIX_CONSTANT =
      Pattern.compile("String [A-Z_]*PREFIX = \"([a-z0-9.-]+\\.)\"");
  private static final Map<String, String> MODULE_OF_CONTAINER =
      Map.of(
          "collector",
          "collector",
          "streams-app",
          "streams-app",
          "sink",
          "sink",
          "alert-forwarder",
          "alert-forwarder");

  /** Keys (and pass-through prefixes ending in '.') a module's main sources mention. */
  static Set<String> knownKeys(String module) {
    Set<String> keys = new LinkedHashSet<>();
    Path src = RepoFiles.root().resolve(module).resolve("src/main/java");
    try (Stream<Path> files = Files.walk(src)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String text = RepoFiles.read(f);
        Matcher m = LITERAL.matcher(text);
        while (m.find()) {
          keys.add(m.group(1));
        }
        Matcher p = PASS_THROUGH.matcher(text);
        while (p.find()) {
          keys.add(p.group(1));
        }
        if (text.contains(KAFKA_CLIENT_CONFIG + ".")) {
          keys.addAll(kafkaClientPrefixes());
        }
        if (text.contains(TOPIC_CREATOR + ".CONFIG")) {
          keys.addAll(topicCreatorKeys());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return keys;
  }

  /** The key literals of schemas' TopicCreator (topics.create.missing, ...). */
  static Set<String> topicCreatorKeys() {
    Set<String> keys = new LinkedHashSet<>();
    Path src =
        RepoFiles.root()
            .resolve("schemas/src/main/java/io/infermeter/schemas/" + TOPIC_CREATOR + ".java");
    Matcher m = LITERAL.matcher(RepoFiles.read(src));
    while (m.find()) {
      if (m.group(1).startsWith("topics.")) {
        keys.add(m.group(1));
      }
    }
    return keys;
  }

  /** The PREFIX constants of schemas' KafkaClientConfig (kafka., kafka.consumer., ...). */
  static Set<String> kafkaClientPrefixes() {
    Set<String> prefixes = new LinkedHashSet<>();
    Path src =
        RepoFiles.root()
            .resolve(
                "schemas/src/main/java/io/infermeter/schemas/config/"
                    + KAFKA_CLIENT_CONFIG
                    + ".java");
    Matcher m = PREFIX_CONSTANT.matcher(RepoFiles.read(src));
    while (m.find()) {
      prefixes.add(m.group(1));
    }
    return prefixes;
  }

  /**
   * Settings key of an environment variable, as io.infermeter.schemas.config.Settings derives it.
   */
  static String keyOf(String env) {
    return env.substring(PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
  }

  /** Whether {@code key} is a key the app knows or falls under one of its pass-through prefixes. */
  static boolean known(String key, Set<String> keys) {
    if (keys.contains(key)) {
      return true;
    }
    for (String k : keys) {
      if (k.endsWith(".") && key.startsWith(k) && key.length() > k.length()) {
        return true;
      }
      // settings may spell a key with '-' where the variable can only have '_' (Settings matches
      // both)
      if (k.replace('-', '.').equals(key)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Unknown INFERMETER_* variables set in the manifests for each app container (explicit env and
   * ConfigMaps).
   */
  static List<String> unknownVariables(List<Doc> docs, Map<String, Set<String>> keysByModule) {
    List<String> problems = new ArrayList<>();
    Map<String, Set<String>> configMapUsers = new java.util.LinkedHashMap<>();
    for (Map.Entry<Doc, JsonNode> e : K8sChecks.containers(docs)) {
      String module = MODULE_OF_CONTAINER.get(e.getValue().path("name").asText());
      if (module == null) {
        continue;
      }
      Set<String> keys = keysByModule.get(module);
      for (JsonNode env : e.getValue().path("env")) {
        String name = env.path("name").asText();
        if (name.startsWith(PREFIX) && !known(keyOf(name), keys)) {
          problems.add(
              e.getKey()
                  + " container "
                  + module
                  + ": "
                  + name
                  + " (key "
                  + keyOf(name)
                  + ") is unknown to "
                  + module);
        }
      }
      for (JsonNode from : e.getValue().path("envFrom")) {
        String cm = from.path("configMapRef").path("name").asText("");
        if (!cm.isEmpty()) {
          configMapUsers.computeIfAbsent(cm, x -> new LinkedHashSet<>()).add(module);
        }
      }
    }
    // A shared ConfigMap's variable must be known to at least one of the apps that load it (the
    // others ignore it).
    for (Doc d : docs) {
      Set<String> users = configMapUsers.get(d.name());
      if (!d.kind().equals("ConfigMap") || users == null) {
        continue;
      }
      d.node()
          .path("data")
          .fieldNames()
          .forEachRemaining(
              name -> {
                if (name.startsWith(PREFIX)
                    && users.stream().noneMatch(m -> known(keyOf(name), keysByModule.get(m)))) {
                  problems.add(
                      d
                          + ": "
                          + name
                          + " (key "
                          + keyOf(name)
                          + ") is unknown to every app of "
                          + users);
                }
              });
    }
    return problems;
  }

  /** Known keys of every app module, by module directory (container name). */
  static Map<String, Set<String>> repositoryKeys() {
    Map<String, Set<String>> keys = new java.util.LinkedHashMap<>();
    MODULE_OF_CONTAINER.values().forEach(m -> keys.put(m, knownKeys(m)));
    return keys;
  }

  @Test
  void everyVariableOfTheManifestsIsASettingOfItsApp() {
    assertThat(unknownVariables(Manifests.all(), repositoryKeys())).isEmpty();
  }

  @Test
  void kafkaClientConfigPrefixesAreFound() {
    assertThat(kafkaClientPrefixes()).contains("kafka.", "kafka.consumer.", "kafka.streams.");
  }

  @ParameterizedTest
  @CsvSource({
    "INFERMETER_KAFKA_BOOTSTRAP_SERVERS,kafka.bootstrap.servers",
    "INFERMETER_HOST,host",
    "INFERMETER_KAFKA_STREAMS_NUM_STANDBY_REPLICAS,kafka.streams.num.standby.replicas"
  })
  void variablesMapToKeysAsSettingsDoes(String env, String key) {
    assertThat(keyOf(env)).isEqualTo(key);
  }

  @Test
  void unknownVariablesAreReported() {
    List<Doc> docs =
        Manifests.parse(
            "test.yaml",
            """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cm}
        data: {INFERMETER_SHARED_TYPO: x, INFERMETER_KNOWN_KEY: y, OTHER: z}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          template:
            spec:
              containers:
                - name: sink
                  envFrom: [{configMapRef: {name: cm}}]
                  env:
                    - {name: INFERMETER_METRICS_PORTT, value: "1"}
                    - {name: INFERMETER_KAFKA_CONSUMER_ISOLATION_LEVEL, value: read_committed}
                    - {name: INFERMETER_KAFKA, value: "no key under the prefix itself"}
                    - {name: JAVA_OPTS, value: "-Xmx1g"}
        """);
    Map<String, Set<String>> keys =
        Map.of("sink", Set.of("known.key", "metrics.port", "kafka.consumer."));
    assertThat(unknownVariables(docs, keys))
        .hasSize(3)
        .anyMatch(s -> s.contains("INFERMETER_METRICS_PORTT"))
        .anyMatch(s -> s.contains("INFERMETER_KAFKA ("))
        .anyMatch(s -> s.contains("INFERMETER_SHARED_TYPO"));
  }
}
