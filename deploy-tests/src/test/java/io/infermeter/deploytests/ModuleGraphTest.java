package io.infermeter.deploytests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.SAXException;

/**
 * The module graph of the real POMs: schemas and test-support below everything, and each app
 * (collector, streams app, sink, alert forwarder, report) on schemas and libraries only, never on
 * another app; test-support only in test scope (schemas' tests use it too). The harness modules
 * (demo, deploy-tests, benchmarks) run the apps together and may use any. The apps' {@code
 * *ArchitectureTest} checks the same on their classes.
 */
class ModuleGraphTest {

  static final String GROUP = "io.infermeter";
  static final Set<String> APPS =
      Set.of("collector", "streams-app", "sink", "alert-forwarder", "report");
  static final Set<String> HARNESSES = Set.of("demo", "deploy-tests", "benchmarks");
  static final Set<String> BASE = Set.of("schemas", "test-support");

  record Dep(String artifactId, String scope) {}

  @Test
  void everyModuleHasItsPlaceInTheGraph() throws Exception {
    List<String> modules = modules(RepoFiles.root().resolve("pom.xml"));
    assertThat(modules).as("modules of the root pom").containsAll(APPS).containsAll(BASE);
    for (String m : modules) {
      assertThat(APPS.contains(m) || HARNESSES.contains(m) || BASE.contains(m))
          .as(
              "module %s is new: give it its place in ModuleGraphTest (an app, a harness or the base)",
              m)
          .isTrue();
    }
  }

  @Test
  void appsDependOnSchemasAndLibrariesOnly() throws Exception {
    List<String> violations = new ArrayList<>();
    for (String m : modules(RepoFiles.root().resolve("pom.xml"))) {
      if (!HARNESSES.contains(m)) {
        try (InputStream in =
            Files.newInputStream(RepoFiles.root().resolve(m).resolve("pom.xml"))) {
          violations.addAll(violations(m, dependencies(in)));
        }
      }
    }
    assertThat(violations).isEmpty();
  }

  @Test
  void anAppOnAnotherAppOrOnTestSupportOutsideTestsIsReported() throws Exception {
    String pom =
        """
        <project><dependencies>
          <dependency><groupId>io.infermeter</groupId><artifactId>infermeter-schemas</artifactId></dependency>
          <dependency><groupId>io.infermeter</groupId><artifactId>infermeter-sink</artifactId></dependency>
          <dependency><groupId>io.infermeter</groupId><artifactId>infermeter-test-support</artifactId></dependency>
          <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId></dependency>
        </dependencies></project>""";
    List<Dep> deps = dependencies(new ByteArrayInputStream(pom.getBytes(StandardCharsets.UTF_8)));

    assertThat(violations("collector", deps))
        .containsExactly(
            "collector -> infermeter-sink (compile): an app depends on schemas and libraries only",
            "collector -> infermeter-test-support (compile): test-support is for tests only");
    assertThat(violations("schemas", deps)).hasSize(3);
    assertThat(violations("schemas", List.of(new Dep("infermeter-test-support", "test"))))
        .isEmpty();
  }

  /** What is wrong with {@code module}'s infermeter dependencies; empty when nothing. */
  static List<String> violations(String module, List<Dep> deps) {
    List<String> out = new ArrayList<>();
    for (Dep d : deps) {
      String name = module + " -> " + d.artifactId() + " (" + d.scope() + ")";
      if (d.artifactId().equals("infermeter-test-support")) {
        if (!d.scope().equals("test")) {
          out.add(name + ": test-support is for tests only");
        }
      } else if (BASE.contains(module)) {
        out.add(name + ": schemas and test-support depend on no module");
      } else if (!d.artifactId().equals("infermeter-schemas")) {
        out.add(name + ": an app depends on schemas and libraries only");
      }
    }
    return out;
  }

  static List<Dep> dependencies(InputStream pom)
      throws ParserConfigurationException, IOException, SAXException {
    Element project = parse(pom);
    List<Dep> out = new ArrayList<>();
    for (Element deps : children(project, "dependencies")) {
      for (Element d : children(deps, "dependency")) {
        if (GROUP.equals(text(d, "groupId"))) {
          String scope = text(d, "scope");
          out.add(new Dep(text(d, "artifactId"), scope == null ? "compile" : scope));
        }
      }
    }
    return out;
  }

  static List<String> modules(Path rootPom)
      throws ParserConfigurationException, IOException, SAXException {
    try (InputStream in = Files.newInputStream(rootPom)) {
      List<String> out = new ArrayList<>();
      for (Element modules : children(parse(in), "modules")) {
        for (Element m : children(modules, "module")) {
          out.add(m.getTextContent().strip());
        }
      }
      return out;
    }
  }

  private static Element parse(InputStream in)
      throws ParserConfigurationException, IOException, SAXException {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    return f.newDocumentBuilder().parse(in).getDocumentElement();
  }

  private static List<Element> children(Element parent, String name) {
    List<Element> out = new ArrayList<>();
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(name)) {
        out.add(e);
      }
    }
    return out;
  }

  private static String text(Element parent, String name) {
    List<Element> c = children(parent, name);
    return c.isEmpty() ? null : c.get(0).getTextContent().strip();
  }
}
