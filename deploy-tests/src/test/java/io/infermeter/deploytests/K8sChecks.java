package io.infermeter.deploytests;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermeter.deploytests.Manifests.Doc;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Static checks of Kubernetes manifests; each returns the problems found (empty = fine), naming the
 * document, so that negative tests can feed broken manifests. Stateless, thread-safe.
 */
final class K8sChecks {

  /** Kinds whose spec.template is a pod template. */
  static final Set<String> WORKLOADS =
      Set.of("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job");

  /** Kinds that live outside a namespace. */
  static final Set<String> CLUSTER_SCOPED =
      Set.of(
          "Namespace",
          "ClusterRole",
          "ClusterRoleBinding",
          "CustomResourceDefinition",
          "PriorityClass",
          "StorageClass",
          "RuntimeClass",
          "PersistentVolume");

  // name[:tag][@digest]; the name may carry a registry host with a port (host:5000/name)
  private static final Pattern IMAGE =
      Pattern.compile(
          "^(?<name>(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9._/-]+)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[0-9a-f]{64}))?$");

  private K8sChecks() {}

  static List<String> identity(List<Doc> docs) {
    List<String> p = new ArrayList<>();
    for (Doc d : docs) {
      for (String field : List.of("apiVersion", "kind")) {
        if (d.node().path(field).asText("").isBlank()) {
          p.add(d + ": no " + field);
        }
      }
      if (d.name().isBlank()) {
        p.add(d + ": no metadata.name");
      }
    }
    return p;
  }

  /** Every container (init containers included) of every workload, as (document, container). */
  static List<Map.Entry<Doc, JsonNode>> containers(List<Doc> docs) {
    List<Map.Entry<Doc, JsonNode>> out = new ArrayList<>();
    for (Doc d : docs) {
      JsonNode pod = podSpec(d);
      if (pod == null) {
        continue;
      }
      for (String list : List.of("initContainers", "containers")) {
        pod.path(list).forEach(c -> out.add(Map.entry(d, c)));
      }
    }
    return out;
  }

  /** The pod spec of a workload (CronJob included), or null for other kinds. */
  static JsonNode podSpec(Doc d) {
    if (WORKLOADS.contains(d.kind())) {
      return d.node().path("spec").path("template").path("spec");
    }
    if (d.kind().equals("CronJob")) {
      return d.node().path("spec").path("jobTemplate").path("spec").path("template").path("spec");
    }
    return null;
  }

  static List<String> pinnedImages(List<Doc> docs) {
    List<String> p = new ArrayList<>();
    for (Map.Entry<Doc, JsonNode> e : containers(docs)) {
      String where = e.getKey() + " container " + e.getValue().path("name").asText();
      String image = e.getValue().path("image").asText("");
      Matcher m = IMAGE.matcher(image);
      if (!m.matches()) {
        p.add(where + ": malformed image '" + image + "'");
      } else if (m.group("digest") == null && m.group("tag") == null) {
        p.add(where + ": image '" + image + "' has no tag");
      } else if ("latest".equals(m.group("tag"))) {
        p.add(where + ": image '" + image + "' uses the moving tag latest");
      }
    }
    if (containers(docs).isEmpty()) {
      p.add("no container at all");
    }
    return p;
  }

  static List<String> resources(List<Doc> docs) {
    List<String> p = new ArrayList<>();
    for (Map.Entry<Doc, JsonNode> e : containers(docs)) {
      String where = e.getKey() + " container " + e.getValue().path("name").asText();
      JsonNode r = e.getValue().path("resources");
      for (String section : List.of("requests", "limits")) {
        for (String res : List.of("cpu", "memory")) {
          if (r.path(section).path(res).asText("").isBlank()) {
            p.add(where + ": no resources." + section + "." + res);
          }
        }
      }
    }
    return p;
  }

  /**
   * One Namespace document, every namespaced document in it, the kustomization's namespace the
   * same.
   */
  static List<String> namespace(List<Doc> docs, JsonNode kustomization) {
    List<String> p = new ArrayList<>();
    List<Doc> namespaces = docs.stream().filter(d -> d.kind().equals("Namespace")).toList();
    if (namespaces.size() != 1) {
      p.add("expected exactly one Namespace, found " + namespaces);
      return p;
    }
    String ns = namespaces.get(0).name();
    for (Doc d : docs) {
      if (!CLUSTER_SCOPED.contains(d.kind())
          && !ns.equals(d.node().path("metadata").path("namespace").asText())) {
        p.add(
            d
                + ": metadata.namespace '"
                + d.node().path("metadata").path("namespace").asText()
                + "' is not "
                + ns);
      }
    }
    if (kustomization != null && !ns.equals(kustomization.path("namespace").asText())) {
      p.add(
          "kustomization namespace '"
              + kustomization.path("namespace").asText()
              + "' is not "
              + ns);
    }
    return p;
  }

  /** Pod template labels of every workload. */
  static Map<Doc, Map<String, String>> podLabels(List<Doc> docs) {
    Map<Doc, Map<String, String>> out = new LinkedHashMap<>();
    for (Doc d : docs) {
      if (podSpec(d) != null) {
        JsonNode labels =
            d.kind().equals("CronJob")
                ? d.node()
                    .path("spec")
                    .path("jobTemplate")
                    .path("spec")
                    .path("template")
                    .path("metadata")
                    .path("labels")
                : d.node().path("spec").path("template").path("metadata").path("labels");
        out.put(d, stringMap(labels));
      }
    }
    return out;
  }

  /**
   * Every Service and PodDisruptionBudget selector, and every workload's own selector, selects the
   * pods of some workload; every named targetPort of a Service is a container port of the pods it
   * selects.
   */
  static List<String> selectors(List<Doc> docs) {
    List<String> p = new ArrayList<>();
    Map<Doc, Map<String, String>> pods = podLabels(docs);
    for (Doc d : docs) {
      Map<String, String> selector;
      switch (d.kind()) {
        case "Service" -> selector = stringMap(d.node().path("spec").path("selector"));
        case "PodDisruptionBudget" ->
            selector = stringMap(d.node().path("spec").path("selector").path("matchLabels"));
        default -> {
          if (podSpec(d) == null) {
            continue;
          }
          selector = stringMap(d.node().path("spec").path("selector").path("matchLabels"));
          if (!d.kind().equals("Job")
              && !d.kind().equals("CronJob")
              && !pods.get(d).entrySet().containsAll(selector.entrySet())) {
            p.add(
                d
                    + ": spec.selector "
                    + selector
                    + " does not match its own pod labels "
                    + pods.get(d));
          }
          continue;
        }
      }
      if (selector.isEmpty()) {
        p.add(d + ": empty selector");
        continue;
      }
      List<Doc> matched =
          pods.entrySet().stream()
              .filter(e -> namespaceOf(e.getKey()).equals(namespaceOf(d)))
              .filter(e -> e.getValue().entrySet().containsAll(selector.entrySet()))
              .map(Map.Entry::getKey)
              .toList();
      if (matched.isEmpty()) {
        p.add(d + ": selector " + selector + " matches no workload's pods");
        continue;
      }
      if (d.kind().equals("Service")) {
        Set<String> portNames = new LinkedHashSet<>();
        for (Doc w : matched) {
          for (String list : List.of("initContainers", "containers")) {
            podSpec(w)
                .path(list)
                .forEach(
                    c -> c.path("ports").forEach(cp -> portNames.add(cp.path("name").asText())));
          }
        }
        for (JsonNode port : d.node().path("spec").path("ports")) {
          JsonNode target = port.path("targetPort");
          if (target.isTextual() && !portNames.contains(target.asText())) {
            p.add(
                d
                    + ": targetPort '"
                    + target.asText()
                    + "' is no container port of "
                    + matched
                    + " "
                    + portNames);
          }
        }
      }
    }
    return p;
  }

  /** Kustomization resources list every manifest file exactly once and nothing else. */
  static List<String> kustomizationResources(JsonNode kustomization, List<String> manifestFiles) {
    List<String> p = new ArrayList<>();
    List<String> resources = new ArrayList<>();
    kustomization.path("resources").forEach(r -> resources.add(r.asText()));
    for (String f : manifestFiles) {
      if (!resources.contains(f)) {
        p.add("kustomization does not list " + f);
      }
    }
    Set<String> seen = new LinkedHashSet<>();
    for (String r : resources) {
      if (!manifestFiles.contains(r)) {
        p.add("kustomization lists " + r + ", which is no manifest file of deploy/k8s");
      }
      if (!seen.add(r)) {
        p.add("kustomization lists " + r + " twice");
      }
    }
    return p;
  }

  /**
   * References between documents resolve: configMapRef / secretKeyRef / serviceAccountName / a
   * StatefulSet's serviceName (which must be a headless Service).
   */
  static List<String> references(List<Doc> docs) {
    List<String> p = new ArrayList<>();
    Set<String> names = new LinkedHashSet<>();
    docs.forEach(d -> names.add(d.kind() + "/" + d.name()));
    for (Map.Entry<Doc, JsonNode> e : containers(docs)) {
      String where = e.getKey() + " container " + e.getValue().path("name").asText();
      for (JsonNode from : e.getValue().path("envFrom")) {
        require(p, names, where, "ConfigMap", from.path("configMapRef").path("name"));
        require(p, names, where, "Secret", from.path("secretRef").path("name"));
      }
      for (JsonNode env : e.getValue().path("env")) {
        require(
            p,
            names,
            where,
            "ConfigMap",
            env.path("valueFrom").path("configMapKeyRef").path("name"));
        require(p, names, where, "Secret", env.path("valueFrom").path("secretKeyRef").path("name"));
      }
    }
    for (Doc d : docs) {
      JsonNode pod = podSpec(d);
      if (pod != null) {
        require(p, names, d.toString(), "ServiceAccount", pod.path("serviceAccountName"));
      }
      if (d.kind().equals("StatefulSet")) {
        String svc = d.node().path("spec").path("serviceName").asText("");
        boolean headless =
            docs.stream()
                .anyMatch(
                    s ->
                        s.kind().equals("Service")
                            && s.name().equals(svc)
                            && "None".equals(s.node().path("spec").path("clusterIP").asText()));
        if (!headless) {
          p.add(d + ": serviceName '" + svc + "' is no headless Service");
        }
      }
    }
    return p;
  }

  /** Scrape annotations (prometheus.io/scrape) name a port the Service exposes and a path. */
  static List<String> scrapeAnnotations(List<Doc> docs) {
    List<String> p = new ArrayList<>();
    for (Doc d : docs) {
      JsonNode ann = d.node().path("metadata").path("annotations");
      if (!d.kind().equals("Service")
          || !"true".equals(ann.path("prometheus.io/scrape").asText())) {
        continue;
      }
      String port = ann.path("prometheus.io/port").asText("");
      boolean exposed = false;
      for (JsonNode sp : d.node().path("spec").path("ports")) {
        exposed |= sp.path("port").asText().equals(port);
      }
      if (!exposed) {
        p.add(d + ": prometheus.io/port '" + port + "' is not a port of the Service");
      }
      if (!ann.path("prometheus.io/path").asText("").startsWith("/")) {
        p.add(d + ": no prometheus.io/path");
      }
    }
    return p;
  }

  /**
   * Every long-running container runs as non-root (pod or container securityContext), without
   * privilege escalation; init containers may run as root only with every capability dropped but
   * named ones.
   */
  static List<String> nonRoot(List<Doc> docs) {
    List<String> p = new ArrayList<>();
    for (Doc d : docs) {
      JsonNode pod = podSpec(d);
      if (pod == null) {
        continue;
      }
      boolean podNonRoot = pod.path("securityContext").path("runAsNonRoot").asBoolean(false);
      for (JsonNode c : pod.path("containers")) {
        JsonNode sc = c.path("securityContext");
        boolean nonRoot = sc.has("runAsNonRoot") ? sc.path("runAsNonRoot").asBoolean() : podNonRoot;
        if (!nonRoot || sc.path("runAsUser").asInt(1) == 0) {
          p.add(d + " container " + c.path("name").asText() + ": may run as root");
        }
        if (sc.path("allowPrivilegeEscalation").asBoolean(true)
            || sc.path("privileged").asBoolean(false)) {
          p.add(
              d + " container " + c.path("name").asText() + ": privilege escalation not disabled");
        }
      }
      for (JsonNode c : pod.path("initContainers")) {
        JsonNode drop = c.path("securityContext").path("capabilities").path("drop");
        boolean dropsAll = false;
        for (JsonNode x : drop) {
          dropsAll |= x.asText().equals("ALL");
        }
        if (!dropsAll) {
          p.add(
              d
                  + " init container "
                  + c.path("name").asText()
                  + ": does not drop ALL capabilities");
        }
      }
    }
    return p;
  }

  /**
   * Every app container (one with a port named {@code metrics}) has a liveness probe on {@code
   * /-/healthy} and a readiness probe on {@code /-/ready}, each an httpGet on a port the container
   * declares (by name or number); a startup probe, where present, also on {@code /-/healthy}.
   * Liveness on {@code /metrics} would keep a wedged app alive, readiness on it would route to an
   * app that is not processing.
   */
  static List<String> probes(List<Doc> docs) {
    List<String> p = new ArrayList<>();
    for (Doc d : docs) {
      JsonNode pod = podSpec(d);
      if (pod == null) {
        continue;
      }
      for (JsonNode c : pod.path("containers")) {
        Set<String> ports = new LinkedHashSet<>();
        c.path("ports")
            .forEach(
                cp -> {
                  ports.add(cp.path("name").asText());
                  ports.add(cp.path("containerPort").asText());
                });
        if (!ports.contains("metrics")) {
          continue;
        }
        String where = d + " container " + c.path("name").asText();
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("livenessProbe", "/-/healthy");
        expected.put("readinessProbe", "/-/ready");
        if (c.has("startupProbe")) {
          expected.put("startupProbe", "/-/healthy");
        }
        expected.forEach(
            (probe, path) -> {
              JsonNode get = c.path(probe).path("httpGet");
              if (get.isMissingNode()) {
                p.add(where + ": no " + probe + " httpGet");
                return;
              }
              if (!path.equals(get.path("path").asText())) {
                p.add(
                    where
                        + ": "
                        + probe
                        + " on '"
                        + get.path("path").asText()
                        + "', expected "
                        + path);
              }
              if (!ports.contains(get.path("port").asText())) {
                p.add(
                    where
                        + ": "
                        + probe
                        + " port '"
                        + get.path("port").asText()
                        + "' is no container port "
                        + ports);
              }
            });
      }
    }
    return p;
  }

  private static void require(
      List<String> p, Set<String> names, String where, String kind, JsonNode name) {
    if (!name.isMissingNode() && !names.contains(kind + "/" + name.asText())) {
      p.add(where + ": " + kind + " '" + name.asText() + "' is not defined in the manifests");
    }
  }

  private static String namespaceOf(Doc d) {
    return d.node().path("metadata").path("namespace").asText("");
  }

  static Map<String, String> stringMap(JsonNode node) {
    Map<String, String> m = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = node.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      m.put(e.getKey(), e.getValue().asText());
    }
    return m;
  }
}
