package io.infermeter.deploytests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermeter.deploytests.Manifests.Doc;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Unit tests: the manifests of deploy/k8s, parsed as YAML, pass every static check (and broken ones
 * do not).
 */
class K8sManifestsTest {

  private static final List<Doc> DOCS = Manifests.all();

  @Test
  void everyManifestFileParsesIntoDocuments() {
    assertThat(Manifests.manifestFiles()).isNotEmpty();
    for (Path f : Manifests.manifestFiles()) {
      assertThat(Manifests.parse(f.getFileName().toString(), RepoFiles.read(f)))
          .as("%s", f)
          .isNotEmpty();
    }
  }

  @Test
  void everyDocumentHasApiVersionKindAndName() {
    assertThat(K8sChecks.identity(DOCS)).isEmpty();
  }

  @Test
  void everyContainerImageIsPinned() {
    assertThat(K8sChecks.pinnedImages(DOCS)).isEmpty();
  }

  @Test
  void everyContainerHasRequestsAndLimits() {
    assertThat(K8sChecks.resources(DOCS)).isEmpty();
  }

  @Test
  void oneNamespaceEverywhere() {
    assertThat(K8sChecks.namespace(DOCS, Manifests.kustomization())).isEmpty();
  }

  @Test
  void everySelectorMatchesAWorkloadsPods() {
    assertThat(K8sChecks.selectors(DOCS)).isEmpty();
  }

  @Test
  void kustomizationListsEveryManifestFile() {
    List<String> files =
        Manifests.manifestFiles().stream().map(p -> p.getFileName().toString()).toList();
    assertThat(K8sChecks.kustomizationResources(Manifests.kustomization(), files)).isEmpty();
  }

  @Test
  void referencesResolve() {
    assertThat(K8sChecks.references(DOCS)).isEmpty();
  }

  @Test
  void scrapeAnnotationsNameAnExposedPort() {
    assertThat(K8sChecks.scrapeAnnotations(DOCS)).isEmpty();
    assertThat(
            DOCS.stream()
                .filter(d -> d.kind().equals("Service"))
                .filter(
                    d -> d.node().path("metadata").path("annotations").has("prometheus.io/scrape")))
        .as("a scraped /metrics Service per app")
        .hasSize(4);
  }

  @Test
  void probesUseTheHealthEndpoints() {
    assertThat(K8sChecks.probes(DOCS)).isEmpty();
  }

  @Test
  void collectorMetricsPortIsNotDcgmExporters() {
    Doc ds = DOCS.stream().filter(d -> d.kind().equals("DaemonSet")).findFirst().orElseThrow();
    JsonNode ports = K8sChecks.podSpec(ds).path("containers").get(0).path("ports");
    assertThat(ports.findValuesAsText("containerPort")).contains("9464").doesNotContain("9400");
  }

  @Test
  void appsRunAsNonRoot() {
    assertThat(K8sChecks.nonRoot(DOCS)).isEmpty();
  }

  /** The apps run the images built from deploy/docker at the tag the kustomization pins. */
  @ParameterizedTest
  @CsvSource({
    "DaemonSet,infermeter-collector,infermeter/collector",
    "StatefulSet,infermeter-streams-app,infermeter/streams-app",
    "Deployment,infermeter-sink,infermeter/sink",
    "Deployment,infermeter-alert-forwarder,infermeter/alert-forwarder"
  })
  void appsRunTheirPinnedImage(String kind, String name, String image) {
    Doc d =
        DOCS.stream()
            .filter(x -> x.kind().equals(kind) && x.name().equals(name))
            .findFirst()
            .orElseThrow();
    String tag = null;
    for (JsonNode i : Manifests.kustomization().path("images")) {
      if (i.path("name").asText().equals(image)) {
        tag = i.path("newTag").asText();
      }
    }
    assertThat(tag).as("kustomization images entry of %s", image).isNotBlank();
    assertThat(K8sChecks.podSpec(d).path("containers").get(0).path("image").asText())
        .isEqualTo(image + ":" + tag);
    assertThat(
            RepoFiles.root()
                .resolve("deploy/docker/Dockerfile." + image.substring("infermeter/".length())))
        .isRegularFile();
  }

  /**
   * Metrics ports of the manifests agree with the env the apps read (INFERMETER_METRICS_PORT) and
   * bind 0.0.0.0.
   */
  @Test
  void appsExposeMetricsOnTheConfiguredPort() {
    int apps = 0;
    for (Doc d : DOCS) {
      JsonNode pod = K8sChecks.podSpec(d);
      if (pod == null) {
        continue;
      }
      for (JsonNode c : pod.path("containers")) { // init containers serve nothing
        apps++;
        Map<String, String> env = new LinkedHashMap<>();
        c.path("env").forEach(v -> env.put(v.path("name").asText(), v.path("value").asText()));
        int metricsPort = -1;
        for (JsonNode p : c.path("ports")) {
          if (p.path("name").asText().equals("metrics")) {
            metricsPort = p.path("containerPort").asInt();
          }
        }
        assertThat(env)
            .as("%s", d)
            .containsEntry("INFERMETER_METRICS_PORT", Integer.toString(metricsPort))
            .containsEntry("INFERMETER_METRICS_HOST", "0.0.0.0");
      }
    }
    assertThat(apps).isEqualTo(4);
  }

  @Test
  void streamsAppKeepsStateOnAVolumeWithStandbys() {
    Doc sts = DOCS.stream().filter(d -> d.kind().equals("StatefulSet")).findFirst().orElseThrow();
    JsonNode c = K8sChecks.podSpec(sts).path("containers").get(0);
    Map<String, String> env = new LinkedHashMap<>();
    c.path("env").forEach(v -> env.put(v.path("name").asText(), v.path("value").asText()));
    String stateDir = env.get("INFERMETER_KAFKA_STREAMS_STATE_DIR");
    assertThat(stateDir).isNotBlank();
    String claim =
        sts.node()
            .path("spec")
            .path("volumeClaimTemplates")
            .get(0)
            .path("metadata")
            .path("name")
            .asText();
    boolean mounted = false;
    for (JsonNode m : c.path("volumeMounts")) {
      mounted |=
          m.path("name").asText().equals(claim)
              && stateDir.startsWith(m.path("mountPath").asText());
    }
    assertThat(mounted).as("state dir %s on the claim %s", stateDir, claim).isTrue();
    assertThat(Integer.parseInt(env.get("INFERMETER_KAFKA_STREAMS_NUM_STANDBY_REPLICAS")))
        .isPositive();
    assertThat(Integer.parseInt(env.get("INFERMETER_INTERNAL_REPLICATION_FACTOR"))).isEqualTo(3);
  }

  @Test
  void sinkReadsOnlyCommittedTransactions() {
    Doc sink =
        DOCS.stream()
            .filter(d -> d.kind().equals("Deployment") && d.name().equals("infermeter-sink"))
            .findFirst()
            .orElseThrow();
    Map<String, String> env = new LinkedHashMap<>();
    K8sChecks.podSpec(sink)
        .path("containers")
        .get(0)
        .path("env")
        .forEach(v -> env.put(v.path("name").asText(), v.path("value").asText()));
    assertThat(env).containsEntry("INFERMETER_KAFKA_CONSUMER_ISOLATION_LEVEL", "read_committed");
  }

  // ---- negative tests: each check reports what it must ----

  private static List<Doc> yaml(String text) {
    return Manifests.parse("test.yaml", text);
  }

  private static final String DEPLOYMENT =
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: app, namespace: ns}
      spec:
        selector: {matchLabels: {app: a}}
        template:
          metadata: {labels: {app: a, tier: x}}
          spec:
            serviceAccountName: sa
            securityContext: {runAsNonRoot: true}
            containers:
              - name: c
                image: %s
                ports: [{name: metrics, containerPort: 9000}]
                securityContext: {allowPrivilegeEscalation: false}
                resources: %s
      """;
  private static final String RESOURCES =
      "{requests: {cpu: 1m, memory: 1Mi}, limits: {cpu: 1m, memory: 1Mi}}";

  @Test
  void unparsableYamlIsReported() {
    assertThatThrownBy(() -> yaml("kind: [unclosed"))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("test.yaml");
  }

  @Test
  void missingIdentityIsReported() {
    assertThat(K8sChecks.identity(yaml("kind: ConfigMap\nmetadata: {}\n")))
        .anyMatch(s -> s.contains("no apiVersion"))
        .anyMatch(s -> s.contains("no metadata.name"));
  }

  @ParameterizedTest
  @CsvSource({
    "nginx,has no tag",
    "nginx:latest,moving tag latest",
    "registry:5000/team/app,has no tag",
    "'Bad Image:1',malformed"
  })
  void unpinnedImagesAreReported(String image, String problem) {
    assertThat(K8sChecks.pinnedImages(yaml(DEPLOYMENT.formatted(image, RESOURCES))))
        .singleElement()
        .asString()
        .contains(problem);
  }

  @ParameterizedTest
  @CsvSource({
    "nginx:1.27.3",
    "registry:5000/team/app:0.1.0",
    "busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  })
  void pinnedImagesPass(String image) {
    assertThat(K8sChecks.pinnedImages(yaml(DEPLOYMENT.formatted(image, RESOURCES)))).isEmpty();
  }

  @Test
  void missingResourcesAreReported() {
    assertThat(K8sChecks.resources(yaml(DEPLOYMENT.formatted("a:1", "{requests: {cpu: 1m}}"))))
        .containsExactlyInAnyOrder(
            "test.yaml#0 Deployment/app container c: no resources.requests.memory",
            "test.yaml#0 Deployment/app container c: no resources.limits.cpu",
            "test.yaml#0 Deployment/app container c: no resources.limits.memory");
  }

  @Test
  void namespaceMismatchesAreReported() {
    List<Doc> docs =
        yaml(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n---\n"
                + DEPLOYMENT
                    .formatted("a:1", RESOURCES)
                    .replace("namespace: ns", "namespace: other"));
    JsonNode kust = yaml("namespace: elsewhere\n").get(0).node();
    assertThat(K8sChecks.namespace(docs, kust))
        .anyMatch(s -> s.contains("Deployment/app") && s.contains("'other'"))
        .anyMatch(s -> s.contains("kustomization namespace 'elsewhere'"));
    assertThat(K8sChecks.namespace(yaml(DEPLOYMENT.formatted("a:1", RESOURCES)), null))
        .singleElement()
        .asString()
        .contains("exactly one Namespace");
  }

  @Test
  void selectorsThatMatchNoPodsAreReported() {
    List<Doc> docs =
        yaml(
            DEPLOYMENT.formatted("a:1", RESOURCES)
                + """
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: s, namespace: ns}
        spec:
          selector: {app: b}
          ports: [{port: 1, targetPort: metrics}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: t, namespace: ns}
        spec:
          selector: {app: a}
          ports: [{port: 1, targetPort: nope}]
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata: {name: p, namespace: ns}
        spec: {maxUnavailable: 1, selector: {matchLabels: {tier: y}}}
        """);
    assertThat(K8sChecks.selectors(docs))
        .hasSize(3)
        .anyMatch(s -> s.startsWith("test.yaml#1 Service/s") && s.contains("matches no workload"))
        .anyMatch(s -> s.startsWith("test.yaml#2 Service/t") && s.contains("targetPort 'nope'"))
        .anyMatch(s -> s.startsWith("test.yaml#3 PodDisruptionBudget/p"));
    assertThat(
            K8sChecks.selectors(
                yaml(DEPLOYMENT.formatted("a:1", RESOURCES).replace("{app: a}}", "{app: z}}"))))
        .singleElement()
        .asString()
        .contains("does not match its own pod labels");
  }

  @Test
  void kustomizationDriftIsReported() {
    JsonNode kust = yaml("resources: [a.yaml, b.yaml, b.yaml]\n").get(0).node();
    assertThat(K8sChecks.kustomizationResources(kust, List.of("a.yaml", "c.yaml")))
        .containsExactlyInAnyOrder(
            "kustomization does not list c.yaml",
            "kustomization lists b.yaml, which is no manifest file of deploy/k8s",
            "kustomization lists b.yaml, which is no manifest file of deploy/k8s",
            "kustomization lists b.yaml twice");
  }

  @Test
  void danglingReferencesAreReported() {
    String text =
        DEPLOYMENT
            .formatted("a:1", RESOURCES)
            .replace(
                "resources: " + RESOURCES,
                "resources: "
                    + RESOURCES
                    + "\n          envFrom: [{configMapRef: {name: cm}}]"
                    + "\n          env: [{name: X, valueFrom: {secretKeyRef: {name: sec, key: k}}}]");
    assertThat(K8sChecks.references(yaml(text)))
        .anyMatch(s -> s.contains("ConfigMap 'cm'"))
        .anyMatch(s -> s.contains("Secret 'sec'"))
        .anyMatch(s -> s.contains("ServiceAccount 'sa'"));
  }

  @Test
  void rootContainersAreReported() {
    String text =
        DEPLOYMENT.formatted("a:1", RESOURCES).replace("{runAsNonRoot: true}", "{runAsUser: 0}");
    assertThat(K8sChecks.nonRoot(yaml(text)))
        .singleElement()
        .asString()
        .contains("may run as root");
  }

  @Test
  void probesOffTheHealthEndpointsAreReported() {
    String probes =
        "\n          livenessProbe: {httpGet: {path: /metrics, port: metrics}}"
            + "\n          readinessProbe: {httpGet: {path: /-/ready, port: admin}}"
            + "\n          startupProbe: {exec: {command: [true]}}";
    String text =
        DEPLOYMENT
            .formatted("a:1", RESOURCES)
            .replace("resources: " + RESOURCES, "resources: " + RESOURCES + probes);
    assertThat(K8sChecks.probes(yaml(text)))
        .containsExactlyInAnyOrder(
            "test.yaml#0 Deployment/app container c: livenessProbe on '/metrics', expected /-/healthy",
            "test.yaml#0 Deployment/app container c: readinessProbe port 'admin' is no container port [metrics, 9000]",
            "test.yaml#0 Deployment/app container c: no startupProbe httpGet");
    assertThat(K8sChecks.probes(yaml(DEPLOYMENT.formatted("a:1", RESOURCES))))
        .containsExactly(
            "test.yaml#0 Deployment/app container c: no livenessProbe httpGet",
            "test.yaml#0 Deployment/app container c: no readinessProbe httpGet");
  }

  @Test
  void scrapeAnnotationOnAnUnexposedPortIsReported() {
    List<Doc> docs =
        yaml(
            """
        apiVersion: v1
        kind: Service
        metadata:
          name: s
          annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9999"}
        spec: {ports: [{port: 9400}]}
        """);
    assertThat(K8sChecks.scrapeAnnotations(docs)).hasSize(2);
  }
}
