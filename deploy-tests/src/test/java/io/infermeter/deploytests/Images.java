package io.infermeter.deploytests;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * deploy/images.properties: the release tag and the image name of every app module, the one place
 * the Helm chart, the kustomization and deploy/docker/build.sh are checked against. Stateless,
 * thread-safe.
 */
final class Images {

  static final String TAG = "tag";

  private Images() {}

  static Properties load() {
    Properties p = new Properties();
    try {
      p.load(
          new StringReader(RepoFiles.read(RepoFiles.root().resolve("deploy/images.properties"))));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p;
  }

  static String tag() {
    return load().getProperty(TAG);
  }

  /** Module directory to image name (without tag), sorted by module. */
  static Map<String, String> byModule() {
    Map<String, String> m = new TreeMap<>();
    load()
        .forEach(
            (k, v) -> {
              if (!TAG.equals(k)) {
                m.put((String) k, (String) v);
              }
            });
    return new LinkedHashMap<>(m);
  }
}
