package io.infermeter.deploytests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.infermeter.deploytests.Manifests.Doc;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Unit tests: every manifest document binds to the typed Kubernetes model (fabric8
 * kubernetes-model, generated from the Kubernetes OpenAPI schema) with no field left over: a
 * misspelled or misplaced field (readinesProbe, livenessProbe on the pod instead of the container)
 * would land in the model's additionalProperties, and a value of the wrong type fails to bind. This
 * is the closest to schema validation available without a cluster.
 */
class TypedManifestsTest {

  private static final ObjectMapper MAPPER =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
  private static final Map<String, Class<?>> TYPES =
      Map.ofEntries(
          Map.entry("v1/Namespace", Namespace.class),
          Map.entry("v1/ConfigMap", ConfigMap.class),
          Map.entry("v1/Secret", Secret.class),
          Map.entry("v1/ServiceAccount", ServiceAccount.class),
          Map.entry("v1/Service", Service.class),
          Map.entry("apps/v1/DaemonSet", DaemonSet.class),
          Map.entry("apps/v1/StatefulSet", StatefulSet.class),
          Map.entry("apps/v1/Deployment", Deployment.class),
          Map.entry("policy/v1/PodDisruptionBudget", PodDisruptionBudget.class),
          // Prometheus Operator CRDs of the Helm chart (fabric8 openshift-model-monitoring)
          Map.entry("monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class),
          Map.entry("monitoring.coreos.com/v1/PrometheusRule", PrometheusRule.class));

  /**
   * Problems of one document: an unknown apiVersion/kind, a binding error, or fields the model does
   * not know.
   */
  static List<String> problems(Doc d) {
    Class<?> type = TYPES.get(d.node().path("apiVersion").asText() + "/" + d.kind());
    if (type == null) {
      return List.of(
          d + ": no typed model for " + d.node().path("apiVersion").asText() + "/" + d.kind());
    }
    Object typed;
    try {
      typed = MAPPER.treeToValue(d.node(), type);
    } catch (Exception e) {
      return List.of(d + ": does not bind to " + type.getSimpleName() + ": " + e.getMessage());
    }
    List<String> out = new ArrayList<>();
    leftovers(typed, type.getSimpleName(), out, new IdentityHashMap<>());
    return out.stream().map(s -> d + ": unknown field " + s).toList();
  }

  /**
   * Walks the typed object graph and reports every non-empty additionalProperties map with its
   * path.
   */
  private static void leftovers(
      Object o, String path, List<String> out, Map<Object, Boolean> seen) {
    if (o == null || seen.put(o, Boolean.TRUE) != null) {
      return;
    }
    if (o instanceof Collection<?> c) {
      int i = 0;
      for (Object x : c) {
        leftovers(x, path + "[" + i++ + "]", out, seen);
      }
      return;
    }
    if (o instanceof Map<?, ?> m) {
      m.forEach((k, v) -> leftovers(v, path + "." + k, out, seen));
      return;
    }
    if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")
        && !o.getClass().getName().startsWith("io.fabric8.openshift.api.model.monitoring")) {
      return; // strings, numbers, Quantity/IntOrString internals
    }
    for (Method g : o.getClass().getMethods()) {
      if (g.getParameterCount() != 0
          || Modifier.isStatic(g.getModifiers())
          || !g.getName().startsWith("get")
          || g.getName().equals("getClass")) {
        continue;
      }
      Object v;
      try {
        v = g.invoke(o);
      } catch (IllegalAccessException | InvocationTargetException e) {
        continue;
      }
      if (g.getName().equals("getAdditionalProperties")) {
        if (v instanceof Map<?, ?> extra && !extra.isEmpty()) {
          extra.keySet().forEach(k -> out.add(path + "." + k));
        }
      } else {
        leftovers(v, path + "." + g.getName().substring(3), out, seen);
      }
    }
  }

  @Test
  void everyDocumentBindsToItsTypedModelWithoutLeftovers() {
    List<String> problems = new ArrayList<>();
    for (Doc d : Manifests.all()) {
      problems.addAll(problems(d));
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void misspelledAndMisplacedFieldsAreReported() {
    List<Doc> docs =
        Manifests.parse(
            "test.yaml",
            """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          selector: {matchLabels: {a: b}}
          template:
            metadata: {labels: {a: b}}
            spec:
              livenessProbe: {httpGet: {path: /metrics, port: 1}}
              containers:
                - name: c
                  image: x:1
                  readinesProbe: {httpGet: {path: /metrics, port: 1}}
        """);
    assertThat(problems(docs.get(0)))
        .hasSize(2)
        .anyMatch(s -> s.contains("readinesProbe"))
        .anyMatch(s -> s.contains("Spec.Template.Spec.livenessProbe"));
  }

  @Test
  void unknownKindsAndWrongTypesAreReported() {
    assertThat(
            problems(
                Manifests.parse("t.yaml", "apiVersion: v9\nkind: Gadget\nmetadata: {name: g}\n")
                    .get(0)))
        .singleElement()
        .asString()
        .contains("no typed model for v9/Gadget");
    assertThat(
            problems(
                Manifests.parse(
                        "t.yaml",
                        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: [1, 2]}\n")
                    .get(0)))
        .singleElement()
        .asString()
        .contains("does not bind to Deployment");
  }

  @Test
  void everyKindOfTheManifestsHasAModel() {
    Set<String> kinds = new java.util.TreeSet<>();
    Manifests.all().forEach(d -> kinds.add(d.node().path("apiVersion").asText() + "/" + d.kind()));
    assertThat(TYPES.keySet()).containsAll(kinds);
  }
}
