package io.infermeter.deploytests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.infermeter.deploytests.Manifests.Doc;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Unit tests with Helm's own code (helm-java: Helm's Go library through JNI, no helm binary, no
 * cluster): {@code helm lint --strict} of deploy/helm/infermeter, then {@code helm template} with
 * the default values and with ci/tls-sasl-values.yaml (SASL_SSL, mTLS, private registry,
 * ServiceMonitor and PrometheusRule), each rendering checked with the typed Kubernetes model and
 * the same static checks as deploy/k8s (K8sChecks), the apps' settings (AppEnvironmentTest), the
 * images of deploy/images.properties and the alert rules' metric names and runbook links.
 */
class HelmChartTest {

  private static final String RELEASE = "infermeter";
  private static final String NAMESPACE = "observability";
  private static final String TLS_SASL = "ci/tls-sasl-values.yaml";

  /**
   * Cluster version assumed by helm template (its own default is older than the chart's kubeVersion
   * floor).
   */
  private static final String KUBE_VERSION = "1.31.0";

  /**
   * helm template of the chart with an optional values file (relative to the chart) and --set
   * pairs.
   */
  static List<Doc> render(String valuesFile, UnaryOperator<TemplateCommand> extra) {
    TemplateCommand cmd =
        new Helm(RepoFiles.helmChart())
            .template()
            .withName(RELEASE)
            .withNamespace(NAMESPACE)
            .withKubeVersion(KUBE_VERSION);
    if (valuesFile != null) {
      cmd = cmd.withValuesFile(RepoFiles.helmChart().resolve(valuesFile));
    }
    return Manifests.parse(
        "helm-template" + (valuesFile == null ? "" : "[" + valuesFile + "]"),
        extra.apply(cmd).call());
  }

  static List<Doc> render(String valuesFile) {
    return render(valuesFile, UnaryOperator.identity());
  }

  @Test
  void lintPassesStrict() {
    LintResult r = new Helm(RepoFiles.helmChart()).lint().strict().call();
    assertThat(r.isFailed()).as("helm lint --strict: %s", r.getMessages()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", TLS_SASL})
  void everyRenderedDocumentBindsToItsTypedModel(String values) {
    List<String> problems = new ArrayList<>();
    for (Doc d : render(values.isEmpty() ? null : values)) {
      problems.addAll(TypedManifestsTest.problems(d));
    }
    assertThat(problems).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", TLS_SASL})
  void renderedManifestsPassTheStaticChecks(String values) {
    List<Doc> docs = render(values.isEmpty() ? null : values);
    assertThat(K8sChecks.identity(docs)).isEmpty();
    assertThat(K8sChecks.pinnedImages(docs)).isEmpty();
    assertThat(K8sChecks.resources(docs)).isEmpty();
    assertThat(K8sChecks.selectors(docs)).isEmpty();
    assertThat(K8sChecks.scrapeAnnotations(docs)).isEmpty();
    assertThat(K8sChecks.nonRoot(docs)).isEmpty();
    assertThat(K8sChecks.probes(docs)).isEmpty();
    // Secrets are created out of band (existingSecret values): only they may be missing from the
    // rendering
    Set<String> external =
        Set.of("infermeter-clickhouse", "infermeter-kafka-sasl", "prod-cluster-ca-cert");
    assertThat(K8sChecks.references(docs))
        .allSatisfy(
            p ->
                assertThat(
                        external.stream()
                            .anyMatch(
                                s ->
                                    p.endsWith(
                                        "Secret '" + s + "' is not defined in the manifests")))
                    .as(p)
                    .isTrue());
    assertThat(AppEnvironmentTest.unknownVariables(docs, AppEnvironmentTest.repositoryKeys()))
        .isEmpty();
  }

  @Test
  void everyAppRunsWithHealthProbesOnItsMetricsPort() {
    Map<String, String> kinds = new LinkedHashMap<>();
    for (Doc d : render(null)) {
      JsonNode pod = K8sChecks.podSpec(d);
      if (pod != null) {
        kinds.put(pod.path("containers").get(0).path("name").asText(), d.kind());
      }
    }
    assertThat(kinds)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "collector",
                "DaemonSet",
                "streams-app",
                "StatefulSet",
                "sink",
                "Deployment",
                "alert-forwarder",
                "Deployment"));
  }

  /**
   * The chart deploys exactly the images of deploy/images.properties, at its tag, under the
   * configured registry.
   */
  @Test
  void imagesComeFromImagesProperties() {
    Map<String, String> expected = new LinkedHashMap<>();
    Images.byModule().forEach((module, image) -> expected.put(module, image + ":" + Images.tag()));
    assertThat(appImages(render(null))).isEqualTo(expected);
    Map<String, String> registry = new LinkedHashMap<>();
    expected.forEach((m, i) -> registry.put(m, "registry.example.com/platform/" + i));
    assertThat(appImages(render(TLS_SASL))).isEqualTo(registry);
    assertThat(appImages(render(null, c -> c.set("image.tag", "0.2.0-rc.1"))).values())
        .allSatisfy(i -> assertThat(i).endsWith(":0.2.0-rc.1"));
    JsonNode chart =
        Manifests.parse("Chart.yaml", RepoFiles.read(RepoFiles.helmChart().resolve("Chart.yaml")))
            .get(0)
            .node();
    assertThat(chart.path("appVersion").asText()).isEqualTo(Images.tag());
    assertThat(chart.path("version").asText()).isEqualTo(Images.tag());
  }

  private static Map<String, String> appImages(List<Doc> docs) {
    Map<String, String> images = new java.util.TreeMap<>();
    for (Doc d : docs) {
      JsonNode pod = K8sChecks.podSpec(d);
      if (pod != null) {
        JsonNode c = pod.path("containers").get(0);
        images.put(c.path("name").asText(), c.path("image").asText());
      }
    }
    return new LinkedHashMap<>(images);
  }

  @Test
  void defaultsUsePlaintextKafkaAndTheNvidiaRuntime() {
    List<Doc> docs = render(null);
    assertThat(configMap(docs)).containsEntry("INFERMETER_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT");
    assertThat(env(docs, "sink"))
        .doesNotContainKeys(
            "INFERMETER_KAFKA_SASL_JAAS_CONFIG", "INFERMETER_KAFKA_SSL_TRUSTSTORE_LOCATION");
    Doc ds = docs.stream().filter(d -> d.kind().equals("DaemonSet")).findFirst().orElseThrow();
    assertThat(K8sChecks.podSpec(ds).path("runtimeClassName").asText()).isEqualTo("nvidia");
    assertThat(env(docs, "collector"))
        .containsEntry("NVIDIA_VISIBLE_DEVICES", "all")
        .containsEntry("INFERMETER_METRICS_PORT", "9464");
    assertThat(docs)
        .noneMatch(d -> d.kind().equals("ServiceMonitor") || d.kind().equals("PrometheusRule"));
  }

  /**
   * SASL_SSL with mTLS: every app gets the JAAS line and store passwords from Secrets, the stores
   * mounted.
   */
  @Test
  void tlsAndSaslReachEveryAppFromSecrets() {
    List<Doc> docs = render(TLS_SASL);
    assertThat(configMap(docs)).containsEntry("INFERMETER_KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
    for (String app : List.of("collector", "streams-app", "sink", "alert-forwarder")) {
      JsonNode c = container(docs, app);
      // the forwarder reads its one client's kafka.consumer.* settings, the other apps kafka.*
      // (every client)
      String prefix =
          app.equals("alert-forwarder") ? "INFERMETER_KAFKA_CONSUMER_" : "INFERMETER_KAFKA_";
      Map<String, JsonNode> env = new LinkedHashMap<>();
      c.path("env")
          .forEach(v -> env.put(v.path("name").asText().replace(prefix, "INFERMETER_KAFKA_"), v));
      if (app.equals("alert-forwarder")) {
        assertThat(env.get("INFERMETER_KAFKA_SECURITY_PROTOCOL").path("value").asText())
            .isEqualTo("SASL_SSL");
      }
      assertThat(
              env.get("INFERMETER_KAFKA_SASL_JAAS_CONFIG")
                  .path("valueFrom")
                  .path("secretKeyRef")
                  .path("name")
                  .asText())
          .as(app)
          .isEqualTo("infermeter-kafka-sasl");
      assertThat(
              env.get("INFERMETER_KAFKA_SSL_TRUSTSTORE_PASSWORD")
                  .path("valueFrom")
                  .path("secretKeyRef")
                  .path("key")
                  .asText())
          .as(app)
          .isEqualTo("ca.password");
      assertThat(
              env.get("INFERMETER_KAFKA_SSL_KEYSTORE_PASSWORD")
                  .path("valueFrom")
                  .path("secretKeyRef")
                  .path("key")
                  .asText())
          .as(app)
          .isEqualTo("user.password");
      String truststore =
          env.get("INFERMETER_KAFKA_SSL_TRUSTSTORE_LOCATION").path("value").asText();
      String keystore = env.get("INFERMETER_KAFKA_SSL_KEYSTORE_LOCATION").path("value").asText();
      boolean mounted = false;
      for (JsonNode m : c.path("volumeMounts")) {
        mounted |=
            m.path("name").asText().equals("kafka-tls")
                && truststore.equals(m.path("mountPath").asText() + "/ca.p12")
                && keystore.equals(m.path("mountPath").asText() + "/user.p12");
      }
      assertThat(mounted).as("%s mounts the TLS Secret where its stores are read", app).isTrue();
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "kafka.securityProtocol=SASL_SSL",
        "kafka.securityProtocol=SASL_PLAINTEXT",
        "kafka.securityProtocol=SSL"
      })
  void securityWithoutItsSecretFailsToRender(String set) {
    String[] kv = set.split("=", 2);
    assertThatThrownBy(() -> render(null, c -> c.set(kv[0], kv[1])))
        .hasMessageContaining(
            kv[1].startsWith("SASL_")
                ? "kafka.sasl.existingSecret is required"
                : "kafka.tls.existingSecret is required");
  }

  @Test
  void runtimeClassIsOptional() {
    Doc ds =
        render(TLS_SASL).stream()
            .filter(d -> d.kind().equals("DaemonSet"))
            .findFirst()
            .orElseThrow();
    assertThat(K8sChecks.podSpec(ds).has("runtimeClassName")).isFalse();
  }

  /** The ServiceMonitor selects every app's metrics Service and scrapes the port they name. */
  @Test
  void serviceMonitorSelectsEveryMetricsService() {
    List<Doc> docs = render(TLS_SASL);
    Doc sm = docs.stream().filter(d -> d.kind().equals("ServiceMonitor")).findFirst().orElseThrow();
    assertThat(sm.node().path("metadata").path("labels").path("release").asText())
        .isEqualTo("kube-prometheus-stack");
    Map<String, String> selector =
        K8sChecks.stringMap(sm.node().path("spec").path("selector").path("matchLabels"));
    String port = sm.node().path("spec").path("endpoints").get(0).path("port").asText();
    List<String> selected = new ArrayList<>();
    for (Doc s : docs) {
      Map<String, String> labels = K8sChecks.stringMap(s.node().path("metadata").path("labels"));
      if (s.kind().equals("Service") && labels.entrySet().containsAll(selector.entrySet())) {
        assertThat(s.node().path("spec").path("ports").findValuesAsText("name"))
            .as("%s", s)
            .contains(port);
        selected.add(s.name());
      }
    }
    assertThat(selected)
        .containsExactlyInAnyOrder(
            "infermeter-collector-metrics",
            "infermeter-streams-app-metrics",
            "infermeter-sink-metrics",
            "infermeter-alert-forwarder-metrics");
    assertThat(sm.node().path("spec").path("namespaceSelector").path("matchNames").get(0).asText())
        .isEqualTo(NAMESPACE);
  }

  private static final Pattern METRIC = Pattern.compile("\\b(infermeter_[a-z0-9_]+)\\b");
  private static final Pattern DECLARED = Pattern.compile("\"(infermeter_[a-z0-9_]+)\"");

  /** Metric names the apps register (counters get the _total suffix Prometheus adds). */
  static Set<String> declaredMetrics() {
    Set<String> names = new LinkedHashSet<>();
    for (String module : List.of("collector", "streams-app", "sink", "alert-forwarder")) {
      Path src = RepoFiles.root().resolve(module).resolve("src/main/java");
      try (Stream<Path> files = java.nio.file.Files.walk(src)) {
        for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
          Matcher m = DECLARED.matcher(RepoFiles.read(f));
          while (m.find()) {
            names.add(m.group(1));
            names.add(m.group(1).endsWith("_total") ? m.group(1) : m.group(1) + "_total");
          }
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return names;
  }

  /**
   * Every alert names metrics the apps export, is scoped to the release's namespace, and links a
   * runbook section that exists in docs/DEPLOY.md.
   */
  @Test
  void alertRulesUseExportedMetricsAndLinkExistingRunbooks() {
    Doc rule =
        render(TLS_SASL).stream()
            .filter(d -> d.kind().equals("PrometheusRule"))
            .findFirst()
            .orElseThrow();
    Set<String> declared = declaredMetrics();
    Set<String> anchors =
        markdownAnchors(RepoFiles.read(RepoFiles.root().resolve("docs/DEPLOY.md")));
    String base =
        Manifests.parse("values.yaml", RepoFiles.read(RepoFiles.helmChart().resolve("values.yaml")))
            .get(0)
            .node()
            .path("prometheusRule")
            .path("runbookBaseUrl")
            .asText();
    List<String> alerts = new ArrayList<>();
    for (JsonNode group : rule.node().path("spec").path("groups")) {
      for (JsonNode r : group.path("rules")) {
        String alert = r.path("alert").asText();
        alerts.add(alert);
        String expr = r.path("expr").asText();
        Matcher m = METRIC.matcher(expr);
        int metrics = 0;
        while (m.find()) {
          metrics++;
          assertThat(declared).as("%s uses %s", alert, m.group(1)).contains(m.group(1));
        }
        assertThat(metrics).as(alert).isPositive();
        assertThat(expr).as(alert).contains("namespace=\"" + NAMESPACE + "\"");
        String runbook = r.path("annotations").path("runbook_url").asText();
        assertThat(runbook).as(alert).startsWith(base + "#");
        assertThat(anchors)
            .as("runbook of %s", alert)
            .contains(runbook.substring(runbook.indexOf('#') + 1));
        assertThat(r.path("labels").path("severity").asText())
            .as(alert)
            .isIn("warning", "critical");
      }
    }
    assertThat(alerts)
        .contains(
            "InfermeterStreamsConsumerLag",
            "InfermeterSinkConsumerLag",
            "InfermeterCollectorDroppingEvents",
            "InfermeterCollectorSpooling",
            "InfermeterDeadLetters");
  }

  private static final Path PROMTOOL = Path.of("/usr/bin/promtool");

  /**
   * Runs promtool (Debian's prometheus package) with the arguments; returns exit code and output.
   */
  private static Map.Entry<Integer, String> promtool(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(PROMTOOL.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS))
        .as("promtool finished")
        .isTrue();
    return Map.entry(p.exitValue(), out);
  }

  /** The rendered PrometheusRule's spec (its rule groups) as a Prometheus rule file. */
  private static Path ruleFile(Path dir) throws Exception {
    Doc rule =
        render(TLS_SASL).stream()
            .filter(d -> d.kind().equals("PrometheusRule"))
            .findFirst()
            .orElseThrow();
    Path file = dir.resolve("infermeter-rules.yaml");
    new com.fasterxml.jackson.databind.ObjectMapper(
            new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
        .writeValue(file.toFile(), rule.node().path("spec"));
    return file;
  }

  /**
   * Prometheus' own checker (promtool check rules, Debian's prometheus 2.42) parses every
   * expression and annotation template of the rendered rules; a broken expression fails it. Skipped
   * where promtool is not installed.
   */
  @Test
  void promtoolAcceptsTheRenderedRules(@org.junit.jupiter.api.io.TempDir Path dir)
      throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        java.nio.file.Files.isExecutable(PROMTOOL),
        "promtool is not installed (apt-get install prometheus)");
    Path rules = ruleFile(dir);
    Map.Entry<Integer, String> ok = promtool("check", "rules", rules.toString());
    assertThat(ok.getKey()).as(ok.getValue()).isZero();
    assertThat(ok.getValue()).contains("SUCCESS: 7 rules found");
    Path broken = dir.resolve("broken.yaml");
    java.nio.file.Files.writeString(
        broken, java.nio.file.Files.readString(rules).replaceFirst("> 0", "> > 0"));
    assertThat(promtool("check", "rules", broken.toString()).getKey()).isNotZero();
  }

  /**
   * promtool test rules: synthetic series of the apps' metrics make the alerts fire (and stay
   * quiet) as intended: a collector dropping events fires after 5 minutes, spooling fires only
   * after spoolingFor, a lag below the threshold does not fire. Skipped where promtool is not
   * installed.
   */
  @Test
  void alertsFireOnTheirSeries(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        java.nio.file.Files.isExecutable(PROMTOOL),
        "promtool is not installed (apt-get install prometheus)");
    Path rules = ruleFile(dir);
    String ns = "namespace=\"" + NAMESPACE + "\"";
    String runbooks =
        Manifests.parse("values.yaml", RepoFiles.read(RepoFiles.helmChart().resolve("values.yaml")))
            .get(0)
            .node()
            .path("prometheusRule")
            .path("runbookBaseUrl")
            .asText();
    String tests =
        """
        rule_files: [%s]
        evaluation_interval: 1m
        tests:
          - interval: 1m
            input_series:
              - series: 'infermeter_collector_dropped_total{%s, pod="c-1", reason="spool_full"}'
                values: '0+10x30'
              - series: 'infermeter_collector_spool_bytes{%s, pod="c-2"}'
                values: '0 4096x30'
              - series: 'infermeter_sink_consumer_lag_records{%s, pod="s-1"}'
                values: '500x30'
            alert_rule_test:
              - eval_time: 3m
                alertname: InfermeterCollectorDroppingEvents
                exp_alerts: []
              - eval_time: 10m
                alertname: InfermeterCollectorDroppingEvents
                exp_alerts:
                  - exp_labels: {severity: critical, %s, pod: c-1, reason: spool_full}
                    exp_annotations:
                      summary: 'collector c-1 drops events (spool_full)'
                      description: >-
                        Events are lost for good: the spool is full, Kafka rejected them, or they could not be
                        serialized.
                      runbook_url: '%s#infermetercollectordroppingevents'
              - eval_time: 10m
                alertname: InfermeterCollectorSpooling
                exp_alerts: []
              - eval_time: 20m
                alertname: InfermeterCollectorSpooling
                exp_alerts:
                  - exp_labels: {severity: warning, %s, pod: c-2}
                    exp_annotations:
                      summary: 'collector c-2 has spooled 4kiB for 15m'
                      description: >-
                        Kafka has not taken this node's events for 15m; when the spool fills, the oldest events
                        are dropped.
                      runbook_url: '%s#infermetercollectorspooling'
              - eval_time: 20m
                alertname: InfermeterSinkConsumerLag
                exp_alerts: []
        """
            .formatted(
                rules.getFileName(),
                ns,
                ns,
                ns,
                ns.replace("=", ": "),
                runbooks,
                ns.replace("=", ": "),
                runbooks);
    Path test = dir.resolve("infermeter-rules-test.yaml");
    java.nio.file.Files.writeString(test, tests);
    Map.Entry<Integer, String> r = promtool("test", "rules", test.toString());
    assertThat(r.getKey()).as(r.getValue()).isZero();
  }

  /**
   * GitHub's heading anchors: lower case, spaces to '-', punctuation other than '-' and '_'
   * dropped.
   */
  static Set<String> markdownAnchors(String markdown) {
    Set<String> anchors = new LinkedHashSet<>();
    boolean fenced = false;
    for (String line : markdown.lines().toList()) {
      if (line.startsWith("```")) {
        fenced = !fenced;
      } else if (!fenced && line.startsWith("#")) {
        anchors.add(
            line.replaceFirst("^#+\\s*", "")
                .trim()
                .toLowerCase(java.util.Locale.ROOT)
                .replaceAll("[^a-z0-9 _-]", "")
                .replace(' ', '-'));
      }
    }
    return anchors;
  }

  @Test
  void markdownAnchorsFollowGithub() {
    assertThat(
            markdownAnchors(
                "# Top\n## Health endpoints\n```bash\n# a comment\n```\n### InfermeterSinkConsumerLag\n"
                    + "text # no\n"))
        .containsExactly("top", "health-endpoints", "infermetersinkconsumerlag");
  }

  /** The chart's home, the POM's url and the runbook base point at the same repository. */
  @Test
  void chartPomAndRunbooksNameTheSameRepository() {
    JsonNode chart =
        Manifests.parse("Chart.yaml", RepoFiles.read(RepoFiles.helmChart().resolve("Chart.yaml")))
            .get(0)
            .node();
    Matcher url =
        Pattern.compile("<url>([^<]+)</url>")
            .matcher(RepoFiles.read(RepoFiles.root().resolve("pom.xml")));
    assertThat(url.find()).isTrue();
    assertThat(chart.path("home").asText()).isEqualTo(url.group(1));
    String base =
        Manifests.parse("values.yaml", RepoFiles.read(RepoFiles.helmChart().resolve("values.yaml")))
            .get(0)
            .node()
            .path("prometheusRule")
            .path("runbookBaseUrl")
            .asText();
    assertThat(base).startsWith(url.group(1) + "/");
  }

  private static Map<String, String> configMap(List<Doc> docs) {
    Doc cm = docs.stream().filter(d -> d.kind().equals("ConfigMap")).findFirst().orElseThrow();
    return K8sChecks.stringMap(cm.node().path("data"));
  }

  private static JsonNode container(List<Doc> docs, String name) {
    for (Map.Entry<Doc, JsonNode> e : K8sChecks.containers(docs)) {
      if (e.getValue().path("name").asText().equals(name)) {
        return e.getValue();
      }
    }
    throw new AssertionError("no container " + name);
  }

  private static Map<String, String> env(List<Doc> docs, String container) {
    Map<String, String> env = new LinkedHashMap<>();
    container(docs, container)
        .path("env")
        .forEach(v -> env.put(v.path("name").asText(), v.path("value").asText()));
    return env;
  }
}
