package io.infermeter.deploytests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Unit tests: the grafana service of deploy/compose/docker-compose.yml (owned with deploy/grafana)
 * mounts the provisioning and dashboards of this repository where the provisioning expects them,
 * pins Grafana and the plugin, and gives Grafana the variables the data source file reads. (The
 * rest of the compose file is checked by the schemas module's DeployFilesTest.) Skipped when the
 * compose file has no grafana service.
 */
class ComposeGrafanaTest {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern ENV_REF = Pattern.compile("\\$\\{([A-Z0-9_]+)}");
  private static Path composeDir;
  private static JsonNode grafana;

  @BeforeAll
  static void load() throws Exception {
    composeDir = RepoFiles.root().resolve("deploy/compose");
    grafana =
        YAML.readTree(composeDir.resolve("docker-compose.yml").toFile())
            .path("services")
            .path("grafana");
  }

  /**
   * Container path -> host path (resolved against the compose file's directory) of the bind mounts.
   */
  private static Map<String, Path> binds() {
    Map<String, Path> out = new LinkedHashMap<>();
    for (JsonNode v : grafana.path("volumes")) {
      String[] parts = v.asText().split(":", -1);
      if (parts[0].startsWith(".")) {
        out.put(parts[1], composeDir.resolve(parts[0]).normalize());
      }
    }
    return out;
  }

  @Test
  void mountsTheRepositoryProvisioningWhereGrafanaAndTheProviderLookForIt() throws Exception {
    assumeTrue(!grafana.isMissingNode(), "no grafana service in docker-compose.yml");
    Map<String, Path> binds = binds();
    assertThat(binds)
        .containsEntry("/etc/grafana/provisioning", RepoFiles.grafanaDir().resolve("provisioning"));
    String providerPath =
        YAML.readTree(
                RepoFiles.grafanaDir().resolve("provisioning/dashboards/infermeter.yaml").toFile())
            .path("providers")
            .get(0)
            .path("options")
            .path("path")
            .asText();
    assertThat(binds).containsEntry(providerPath, RepoFiles.grafanaDir().resolve("dashboards"));
  }

  @Test
  void pinsGrafanaAndThePlugin() {
    assumeTrue(!grafana.isMissingNode(), "no grafana service in docker-compose.yml");
    assertThat(grafana.path("image").asText()).matches("grafana/grafana:\\d+\\.\\d+\\.\\d+");
    assertThat(grafana.path("environment").path("GF_INSTALL_PLUGINS").asText())
        .matches("grafana-clickhouse-datasource \\d+\\.\\d+\\.\\d+");
  }

  /**
   * The plugin's documentation (grafana.com/docs/plugins/grafana-clickhouse-datasource,
   * "Requirements"): Grafana 11.6.0 and later needs plugin v4.15+, Grafana 9.x to 11.5.x plugin
   * v4.0 to v4.14.
   */
  @Test
  void pluginVersionMatchesTheGrafanaVersion() {
    assumeTrue(!grafana.isMissingNode(), "no grafana service in docker-compose.yml");
    int[] g = version(grafana.path("image").asText().replaceFirst(".*:", ""));
    int[] p =
        version(
            grafana
                .path("environment")
                .path("GF_INSTALL_PLUGINS")
                .asText()
                .replaceFirst(".* ", ""));
    boolean grafana116OrLater = g[0] > 11 || (g[0] == 11 && g[1] >= 6);
    if (grafana116OrLater) {
      assertThat(p[0] > 4 || (p[0] == 4 && p[1] >= 15))
          .as("plugin %s.%s for Grafana %s.%s", p[0], p[1], g[0], g[1])
          .isTrue();
    } else {
      assertThat(p[0] == 4 && p[1] <= 14)
          .as("plugin %s.%s for Grafana %s.%s", p[0], p[1], g[0], g[1])
          .isTrue();
    }
  }

  private static int[] version(String text) {
    String[] parts = text.split("\\.", -1);
    return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
  }

  @Test
  void providesEveryVariableTheDataSourceReads() {
    assumeTrue(!grafana.isMissingNode(), "no grafana service in docker-compose.yml");
    String text =
        RepoFiles.read(RepoFiles.grafanaDir().resolve("provisioning/datasources/clickhouse.yaml"));
    Matcher m = ENV_REF.matcher(text.replaceAll("(?m)#.*$", "")); // comments may mention ${VAR}
    int refs = 0;
    while (m.find()) {
      refs++;
      assertThat(grafana.path("environment").has(m.group(1)))
          .as("grafana environment %s", m.group(1))
          .isTrue();
    }
    assertThat(refs).isPositive();
  }
}
