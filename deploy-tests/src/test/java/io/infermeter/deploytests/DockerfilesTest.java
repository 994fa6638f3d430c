package io.infermeter.deploytests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermeter.deploytests.Dockerfiles.Stage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Unit tests of the images without a Docker engine (none on the build machines): each app's
 * multi-stage Dockerfile and .dockerignore are checked against the Maven build they run (the
 * reactor and the {@code -am} closure read from the POMs), deploy/docker/build.sh is run with
 * --dry-run, and the kustomization's images agree with deploy/images.properties. What this cannot
 * catch (a failing download, a base image without groupadd) needs a real {@code docker build}.
 */
class DockerfilesTest {

  private static final Pattern MODULE = Pattern.compile("<module>([^<]+)</module>");
  private static final Pattern ARTIFACT =
      Pattern.compile("<artifactId>(infermeter-[a-z0-9-]+)</artifactId>");
  private static final Pattern PARENT = Pattern.compile("<parent>.*?</parent>", Pattern.DOTALL);
  private static final Pattern OUTSIDE =
      Pattern.compile("\\$\\{project\\.basedir}/\\.\\./([A-Za-z0-9_./-]+)");
  private static final Map<String, String> VALUES_KEY =
      Map.of(
          "collector",
          "collector",
          "streams-app",
          "streamsApp",
          "sink",
          "sink",
          "alert-forwarder",
          "alertForwarder");

  static List<String> modules() {
    return List.copyOf(Images.byModule().keySet());
  }

  /** Module directories of the root POM's reactor. */
  static List<String> reactor() {
    List<String> out = new ArrayList<>();
    Matcher m = MODULE.matcher(RepoFiles.read(RepoFiles.root().resolve("pom.xml")));
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  private static String pom(String module) {
    return RepoFiles.read(RepoFiles.root().resolve(module).resolve("pom.xml"));
  }

  /**
   * The modules {@code mvn -pl module -am} builds: the module and its reactor dependencies of any
   * scope.
   */
  static Set<String> closure(String module) {
    Map<String, String> dirOfArtifact = new LinkedHashMap<>();
    for (String m : reactor()) {
      Matcher a = ARTIFACT.matcher(PARENT.matcher(pom(m)).replaceFirst(""));
      if (a.find()) {
        dirOfArtifact.put(a.group(1), m);
      }
    }
    Set<String> seen = new LinkedHashSet<>();
    Deque<String> todo = new ArrayDeque<>(List.of(module));
    while (!todo.isEmpty()) {
      String m = todo.pop();
      if (!seen.add(m)) {
        continue;
      }
      Matcher a = ARTIFACT.matcher(PARENT.matcher(pom(m)).replaceFirst(""));
      while (a.find()) {
        String dir = dirOfArtifact.get(a.group(1));
        if (dir != null && !seen.contains(dir)) {
          todo.push(dir);
        }
      }
    }
    return seen;
  }

  /** Paths outside their module that the POMs of the closure read (${project.basedir}/../path). */
  static Set<String> outsidePaths(Set<String> closure) {
    Set<String> out = new LinkedHashSet<>();
    for (String m : closure) {
      Matcher x = OUTSIDE.matcher(pom(m));
      while (x.find()) {
        out.add(x.group(1).replaceAll("/+$", ""));
      }
    }
    return out;
  }

  private static List<Stage> stages(String module) {
    return Dockerfiles.stages(
        RepoFiles.read(RepoFiles.dockerDir().resolve("Dockerfile." + module)));
  }

  private static List<String> ignore(String module) {
    return List.of(
        RepoFiles.read(RepoFiles.dockerDir().resolve("Dockerfile." + module + ".dockerignore"))
            .split("\n"));
  }

  private static int metricsPort(String module) {
    JsonNode values =
        Manifests.parse("values.yaml", RepoFiles.read(RepoFiles.helmChart().resolve("values.yaml")))
            .get(0)
            .node();
    return values.path(VALUES_KEY.get(module)).path("metricsPort").asInt();
  }

  @Test
  void everyImageHasAnAppModuleWithADockerfile() {
    assertThat(modules())
        .containsExactlyInAnyOrder("collector", "streams-app", "sink", "alert-forwarder");
    assertThat(reactor()).containsAll(modules());
    assertThat(closure("sink")).containsExactlyInAnyOrder("sink", "schemas", "test-support");
    assertThat(outsidePaths(closure("sink"))).containsExactly("deploy/clickhouse/migrations");
  }

  @ParameterizedTest
  @MethodSource("modules")
  void baseImagesArePinnedByVersion(String module) {
    List<Stage> stages = stages(module);
    assertThat(Dockerfiles.pinnedBases(stages)).isEmpty();
    assertThat(stages.get(0).image()).startsWith("maven:3.9").contains("eclipse-temurin-17");
    assertThat(stages.get(stages.size() - 1).image()).isEqualTo("eclipse-temurin:17-jre");
  }

  @ParameterizedTest
  @MethodSource("modules")
  void buildStageCopiesWhatTheModuleBuildNeeds(String module) {
    Set<String> closure = closure(module);
    assertThat(
            Dockerfiles.buildStage(
                stages(module), module, reactor(), closure, outsidePaths(closure)))
        .isEmpty();
  }

  @ParameterizedTest
  @MethodSource("modules")
  void dockerignoreSendsEveryCopiedPathAndNoBuildOutput(String module) {
    List<String> ignore = ignore(module);
    assertThat(Dockerfiles.ignoredCopies(stages(module), ignore)).isEmpty();
    for (String m : reactor()) {
      assertThat(Dockerfiles.included(ignore, m + "/target/infermeter-" + m + ".jar"))
          .as(m + "/target")
          .isFalse();
    }
    assertThat(Dockerfiles.included(ignore, ".git/config")).isFalse();
    assertThat(Dockerfiles.included(ignore, ".local-stack/stack.env")).isFalse();
  }

  @ParameterizedTest
  @MethodSource("modules")
  void runtimeStageRunsTheJarAsNonRoot(String module) {
    assertThat(Dockerfiles.runtimeStage(stages(module), module, metricsPort(module))).isEmpty();
  }

  /**
   * build.sh builds every image of images.properties under its name and tag (dry run: docker is not
   * needed).
   */
  @Test
  void buildScriptTagsFromImagesProperties() throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(
                "bash",
                RepoFiles.dockerDir().resolve("build.sh").toString(),
                "--dry-run",
                "--registry",
                "registry.example.com/team/")
            .redirectErrorStream(false)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    List<String> expected = new ArrayList<>();
    Images.byModule()
        .forEach(
            (m, image) ->
                expected.add(
                    "docker build -f deploy/docker/Dockerfile."
                        + m
                        + " -t registry.example.com/team/"
                        + image
                        + ":"
                        + Images.tag()
                        + " ."));
    assertThat(out.lines().toList()).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void kustomizationImagesFollowImagesProperties() {
    Map<String, String> byName = new LinkedHashMap<>();
    Manifests.kustomization()
        .path("images")
        .forEach(i -> byName.put(i.path("name").asText(), i.path("newTag").asText()));
    assertThat(byName).isNotEmpty();
    assertThat(Images.byModule().values()).containsAll(byName.keySet());
    assertThat(byName.values()).containsOnly(Images.tag());
  }

  // ---- negative tests: each check reports what it must ----

  private static final String BROKEN =
      """
      # syntax=docker/dockerfile:1
      ARG BASE=maven:latest
      FROM ${BASE} AS build
      COPY pom.xml ./
      COPY app/pom.xml \\
        app/
      COPY app/src app/src
      RUN mvn -B -pl app package
      FROM eclipse-temurin
      COPY --from=build /src/app/target/infermeter-app.jar /app/infermeter-app.jar
      USER root
      EXPOSE 1
      ENTRYPOINT ["java", "-jar", "/app/other.jar"]
      """;

  @Test
  void unpinnedBasesAreReported() {
    assertThat(Dockerfiles.pinnedBases(Dockerfiles.stages(BROKEN)))
        .containsExactly(
            "base image 'maven:latest' is not pinned by a version",
            "base image 'eclipse-temurin' is not pinned by a version");
    assertThat(Dockerfiles.pinnedBases(Dockerfiles.stages("FROM eclipse-temurin:17-jre\n")))
        .containsExactly("expected a build stage and a runtime stage, found 1 stage(s)");
  }

  @Test
  void aBuildStageMissingModulesIsReported() {
    assertThat(
            Dockerfiles.buildStage(
                Dockerfiles.stages(BROKEN),
                "app",
                List.of("lib", "app"),
                Set.of("lib", "app"),
                Set.of("deploy/sql")))
        .containsExactlyInAnyOrder(
            "build stage does not run mvn -pl app -am package -DskipTests",
            "build stage does not COPY lib/pom.xml (Maven reads every module of the reactor)",
            "build stage does not COPY the sources of lib, which the build of app needs",
            "build stage does not COPY deploy/sql, which a POM of the build reads");
  }

  @Test
  void aRootRuntimeStageIsReported() {
    assertThat(Dockerfiles.runtimeStage(Dockerfiles.stages(BROKEN), "app", 9))
        .containsExactlyInAnyOrder(
            "runtime stage does not COPY --from the build stage app/target/lib/",
            "runtime stage USER 'root' is not a numeric non-root user",
            "runtime stage does not EXPOSE the metrics port 9",
            "ENTRYPOINT does not run /app/infermeter-app.jar");
  }

  @Test
  void dockerignoreFollowsLastMatchWins() {
    List<String> ignore =
        List.of("*", "!pom.xml", "!*/pom.xml", "!app/src", "app/src/secret.txt", "# !other");
    assertThat(Dockerfiles.included(ignore, "pom.xml")).isTrue();
    assertThat(Dockerfiles.included(ignore, "lib/pom.xml")).isTrue();
    assertThat(Dockerfiles.included(ignore, "deploy/local/pom.xml")).isFalse();
    assertThat(Dockerfiles.included(ignore, "app/src/main/A.java")).isTrue();
    assertThat(Dockerfiles.included(ignore, "app/src/secret.txt")).isFalse();
    assertThat(Dockerfiles.included(ignore, "app/target/app.jar")).isFalse();
    assertThat(Dockerfiles.included(ignore, "other")).isFalse();
    assertThat(
            Dockerfiles.ignoredCopies(
                Dockerfiles.stages(BROKEN), List.of("*", "!pom.xml", "!*/pom.xml")))
        .containsExactly("COPY app/src is excluded by the .dockerignore");
  }

  @Test
  void continuationsAndCommentsParse() {
    assertThat(Dockerfiles.instructions("RUN a \\\n  # note\n  b\n# c\nUSER 1\n"))
        .extracting(Dockerfiles.Instruction::keyword, Dockerfiles.Instruction::args)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("RUN", "a b"),
            org.assertj.core.groups.Tuple.tuple("USER", "1"));
  }
}
