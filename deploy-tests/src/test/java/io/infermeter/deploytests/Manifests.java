package io.infermeter.deploytests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Kubernetes manifests parsed from YAML (several documents per file allowed). Stateless,
 * thread-safe.
 */
final class Manifests {

  /** One YAML document of a manifest file. */
  record Doc(String file, int index, JsonNode node) {
    String kind() {
      return node.path("kind").asText();
    }

    String name() {
      return node.path("metadata").path("name").asText();
    }

    @Override
    public String toString() {
      return file + "#" + index + " " + kind() + "/" + name();
    }
  }

  static final String KUSTOMIZATION = "kustomization.yaml";
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private Manifests() {}

  /** The YAML documents of {@code text}; empty documents (a trailing ---) are skipped. */
  static List<Doc> parse(String file, String text) {
    List<Doc> docs = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
      int i = 0;
      while (it.hasNextValue()) {
        JsonNode n = it.nextValue();
        if (n != null && !n.isNull() && !n.isMissingNode()) {
          docs.add(new Doc(file, i, n));
        }
        i++;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse " + file, e);
    }
    return docs;
  }

  /** Manifest files of deploy/k8s: every *.yaml / *.yml but the kustomization. */
  static List<Path> manifestFiles() {
    return RepoFiles.list(RepoFiles.k8sDir(), ".yaml", ".yml").stream()
        .filter(p -> !p.getFileName().toString().equals(KUSTOMIZATION))
        .toList();
  }

  /** Every document of every manifest file. */
  static List<Doc> all() {
    List<Doc> docs = new ArrayList<>();
    for (Path p : manifestFiles()) {
      docs.addAll(parse(p.getFileName().toString(), RepoFiles.read(p)));
    }
    return docs;
  }

  static JsonNode kustomization() {
    List<Doc> docs =
        parse(KUSTOMIZATION, RepoFiles.read(RepoFiles.k8sDir().resolve(KUSTOMIZATION)));
    if (docs.size() != 1) {
      throw new IllegalStateException(
          KUSTOMIZATION + " must hold one document, has " + docs.size());
    }
    return docs.get(0).node();
  }
}
