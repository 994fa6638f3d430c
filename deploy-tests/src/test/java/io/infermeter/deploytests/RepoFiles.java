package io.infermeter.deploytests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Locates the repository's deploy files from the test's working directory (the module directory
 * under Maven, the repository root in an IDE). Stateless, thread-safe.
 */
final class RepoFiles {

  private RepoFiles() {}

  /**
   * The repository root: the nearest directory, from the working directory upwards, that holds
   * deploy/k8s.
   */
  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("deploy/k8s")) && Files.isRegularFile(p.resolve("pom.xml"))) {
        return p;
      }
    }
    throw new IllegalStateException("no repository root with deploy/k8s above " + dir);
  }

  static Path k8sDir() {
    return root().resolve("deploy/k8s");
  }

  static Path helmChart() {
    return root().resolve("deploy/helm/infermeter");
  }

  static Path dockerDir() {
    return root().resolve("deploy/docker");
  }

  static Path grafanaDir() {
    return root().resolve("deploy/grafana");
  }

  static Path migrationsDir() {
    return root().resolve("deploy/clickhouse/migrations");
  }

  /**
   * Regular files directly in {@code dir} whose name ends with one of {@code suffixes}, sorted by
   * name.
   */
  static List<Path> list(Path dir, String... suffixes) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> Stream.of(suffixes).anyMatch(x -> p.getFileName().toString().endsWith(x)))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
