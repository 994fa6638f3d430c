package io.infermeter.deploytests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.infermeter.deploytests.Manifests.Doc;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Unit test with the real kustomize: {@code kubectl kustomize deploy/k8s} (kustomize built into
 * kubectl, offline) must build the manifests, keep every object and put each namespaced one into
 * the namespace. Skipped where no kubectl is installed.
 */
class KustomizeBuildTest {

  private static Path kubectl() {
    String path = System.getenv().getOrDefault("PATH", "");
    return Stream.of(path.split(File.pathSeparator))
        .map(dir -> Path.of(dir, "kubectl"))
        .filter(Files::isExecutable)
        .findFirst()
        .orElse(null);
  }

  @Test
  void kustomizeBuildsEveryObjectIntoTheNamespace() throws IOException, InterruptedException {
    Path kubectl = kubectl();
    assumeTrue(kubectl != null, "kubectl is not installed");
    Path out = Files.createTempFile("kustomize", ".yaml");
    Path err = Files.createTempFile("kustomize", ".err");
    try {
      Process p =
          new ProcessBuilder(kubectl.toString(), "kustomize", RepoFiles.k8sDir().toString())
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      boolean done = p.waitFor(60, TimeUnit.SECONDS);
      if (!done) {
        p.destroyForcibly();
      }
      assertThat(done).as("kubectl kustomize finished within 60 s").isTrue();
      assertThat(p.exitValue())
          .as("kubectl kustomize: %s", Files.readString(err, StandardCharsets.UTF_8))
          .isZero();

      List<Doc> built =
          Manifests.parse("kustomize-build", Files.readString(out, StandardCharsets.UTF_8));
      List<Doc> sources = Manifests.all();
      assertThat(built)
          .extracting(d -> d.kind() + "/" + d.name())
          .containsExactlyInAnyOrderElementsOf(
              sources.stream().map(d -> d.kind() + "/" + d.name()).toList());
      String ns = Manifests.kustomization().path("namespace").asText();
      assertThat(K8sChecks.namespace(built, null)).isEmpty();
      assertThat(built.stream().filter(d -> !K8sChecks.CLUSTER_SCOPED.contains(d.kind())))
          .allSatisfy(
              d -> assertThat(d.node().path("metadata").path("namespace").asText()).isEqualTo(ns));
      assertThat(K8sChecks.pinnedImages(built)).isEmpty();
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
