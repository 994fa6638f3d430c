package io.infermeter.deploytests;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Static checks of the apps' multi-stage Dockerfiles against the Maven build they run, for a
 * machine without a Docker engine: each check returns the problems found (empty = fine). Parses the
 * Dockerfile syntax the files use (instructions, line continuations, comments, ARG defaults before
 * the first FROM, stages) and .dockerignore patterns (BuildKit semantics: the last matching pattern
 * wins, '!' re-includes, '*' within one path segment). Stateless, thread-safe.
 */
final class Dockerfiles {

  /** One instruction: upper-case keyword and its arguments (continuations joined). */
  record Instruction(String keyword, String args) {}

  /**
   * One build stage: its base image (ARG defaults substituted), its name (or null) and its
   * instructions.
   */
  record Stage(String image, String name, List<Instruction> instructions) {
    List<Instruction> all(String keyword) {
      return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
    }
  }

  // name:tag with a version in the tag (a digit), never latest; or a digest
  private static final Pattern VERSIONED =
      Pattern.compile(
          "^[a-z0-9./_-]+(:[A-Za-z0-9_.-]*[0-9][A-Za-z0-9_.-]*)?(@sha256:[0-9a-f]{64})?$");
  private static final Pattern VAR = Pattern.compile("\\$\\{?([A-Za-z_][A-Za-z0-9_]*)}?");

  private Dockerfiles() {}

  static List<Instruction> instructions(String text) {
    List<Instruction> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (String raw : text.split("\n", -1)) {
      String line = raw.strip();
      if (cur.length() == 0 && (line.isEmpty() || line.startsWith("#"))) {
        continue;
      }
      if (cur.length() > 0 && line.startsWith("#")) {
        continue; // comment lines inside a continued instruction are dropped by Docker too
      }
      if (line.endsWith("\\")) {
        cur.append(line.substring(0, line.length() - 1).strip()).append(' ');
        continue;
      }
      cur.append(line);
      String full = cur.toString().strip();
      cur.setLength(0);
      int sp = full.indexOf(' ');
      out.add(
          new Instruction(
              full.substring(0, sp < 0 ? full.length() : sp).toUpperCase(Locale.ROOT),
              sp < 0 ? "" : full.substring(sp + 1).strip()));
    }
    return out;
  }

  static List<Stage> stages(String text) {
    Map<String, String> args = new LinkedHashMap<>();
    List<Stage> stages = new ArrayList<>();
    List<Instruction> current = null;
    for (Instruction i : instructions(text)) {
      if (i.keyword().equals("FROM")) {
        String[] parts = i.args().split("\\s+", -1);
        String image = substitute(parts[0], args);
        String name = parts.length >= 3 && parts[1].equalsIgnoreCase("AS") ? parts[2] : null;
        current = new ArrayList<>();
        stages.add(new Stage(image, name, current));
      } else if (current == null) {
        if (i.keyword().equals("ARG")) {
          String[] kv = i.args().split("=", 2);
          args.put(kv[0].strip(), kv.length == 2 ? kv[1].strip() : "");
        }
      } else {
        current.add(i);
      }
    }
    return stages;
  }

  private static String substitute(String s, Map<String, String> args) {
    Matcher m = VAR.matcher(s);
    StringBuilder b = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(b, Matcher.quoteReplacement(args.getOrDefault(m.group(1), "")));
    }
    m.appendTail(b);
    return b.toString();
  }

  /**
   * Base images pinned by a version tag (or digest), never latest or untagged; at least a build and
   * a run stage.
   */
  static List<String> pinnedBases(List<Stage> stages) {
    List<String> p = new ArrayList<>();
    if (stages.size() < 2) {
      p.add("expected a build stage and a runtime stage, found " + stages.size() + " stage(s)");
    }
    for (Stage s : stages) {
      if (!VERSIONED.matcher(s.image()).matches()
          || (!s.image().contains(":") && !s.image().contains("@"))) {
        p.add("base image '" + s.image() + "' is not pinned by a version");
      }
    }
    return p;
  }

  /**
   * The first stage runs {@code mvn ... -pl <module> -am package -DskipTests}, after COPYing the
   * root POM, every module POM of the reactor, the sources of every module of {@code closure} and
   * every {@code extraPaths} entry.
   */
  static List<String> buildStage(
      List<Stage> stages,
      String module,
      List<String> reactor,
      Set<String> closure,
      Set<String> extraPaths) {
    List<String> p = new ArrayList<>();
    if (stages.isEmpty()) {
      return List.of("no stage");
    }
    Stage build = stages.get(0);
    boolean mvn =
        build.all("RUN").stream()
            .map(Instruction::args)
            .anyMatch(
                a ->
                    a.matches(".*\\bmvn\\b.*")
                        && a.contains("-pl " + module + " ")
                        && a.contains(" -am")
                        && a.contains(" package")
                        && a.contains("-DskipTests"));
    if (!mvn) {
      p.add("build stage does not run mvn -pl " + module + " -am package -DskipTests");
    }
    Set<String> copied = new LinkedHashSet<>();
    for (Instruction c : build.all("COPY")) {
      List<String> words = new ArrayList<>(List.of(c.args().split("\\s+")));
      words.removeIf(w -> w.startsWith("--"));
      copied.addAll(words.subList(0, Math.max(0, words.size() - 1)));
    }
    if (!copied.contains("pom.xml")) {
      p.add("build stage does not COPY the root pom.xml");
    }
    for (String m : reactor) {
      if (!copied.contains(m + "/pom.xml")) {
        p.add(
            "build stage does not COPY "
                + m
                + "/pom.xml (Maven reads every module of the reactor)");
      }
    }
    for (String m : closure) {
      if (!copied.contains(m + "/src") && !copied.contains(m)) {
        p.add(
            "build stage does not COPY the sources of "
                + m
                + ", which the build of "
                + module
                + " needs");
      }
    }
    for (String x : extraPaths) {
      if (!copied.contains(x)) {
        p.add("build stage does not COPY " + x + ", which a POM of the build reads");
      }
    }
    return p;
  }

  /**
   * The last stage copies the jar and lib/ from the build stage, runs as a numeric non-root user,
   * exposes a port.
   */
  static List<String> runtimeStage(List<Stage> stages, String module, int metricsPort) {
    List<String> p = new ArrayList<>();
    Stage run = stages.get(stages.size() - 1);
    List<String> fromBuild =
        run.all("COPY").stream()
            .map(Instruction::args)
            .filter(a -> a.startsWith("--from="))
            .toList();
    for (String artifact :
        List.of(module + "/target/infermeter-" + module + ".jar", module + "/target/lib/")) {
      if (fromBuild.stream().noneMatch(a -> a.contains(artifact))) {
        p.add("runtime stage does not COPY --from the build stage " + artifact);
      }
    }
    List<Instruction> users = run.all("USER");
    String user = users.isEmpty() ? "" : users.get(users.size() - 1).args().split(":", -1)[0];
    if (!user.matches("[0-9]+") || Integer.parseInt(user) == 0) {
      p.add("runtime stage USER '" + user + "' is not a numeric non-root user");
    }
    if (run.all("EXPOSE").stream().noneMatch(e -> e.args().equals(Integer.toString(metricsPort)))) {
      p.add("runtime stage does not EXPOSE the metrics port " + metricsPort);
    }
    if (run.all("ENTRYPOINT").stream()
        .noneMatch(e -> e.args().contains("/app/infermeter-" + module + ".jar"))) {
      p.add("ENTRYPOINT does not run /app/infermeter-" + module + ".jar");
    }
    return p;
  }

  /**
   * Whether the .dockerignore patterns send {@code path} (a file or directory of the context) to
   * the build.
   */
  static boolean included(List<String> patterns, String path) {
    boolean included = true;
    for (String raw : patterns) {
      String pat = raw.strip();
      if (pat.isEmpty() || pat.startsWith("#")) {
        continue;
      }
      boolean negate = pat.startsWith("!");
      String glob = (negate ? pat.substring(1) : pat).replaceAll("^/+|/+$", "");
      // a pattern matches the path itself or one of its parent directories
      String[] segs = path.split("/");
      for (int n = 1; n <= segs.length; n++) {
        if (globMatches(glob, String.join("/", java.util.Arrays.copyOf(segs, n)))) {
          included = negate;
          break;
        }
      }
    }
    return included;
  }

  private static boolean globMatches(String glob, String path) {
    StringBuilder re = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
        re.append(".*");
        i++;
      } else if (c == '*') {
        re.append("[^/]*");
      } else if (c == '?') {
        re.append("[^/]");
      } else {
        re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return path.matches(re.toString());
  }

  /** Context paths the build stage COPYs (not --from) that the .dockerignore keeps out. */
  static List<String> ignoredCopies(List<Stage> stages, List<String> ignorePatterns) {
    List<String> p = new ArrayList<>();
    for (Stage s : stages) {
      for (Instruction c : s.all("COPY")) {
        if (c.args().contains("--from=")) {
          continue;
        }
        List<String> words = new ArrayList<>(List.of(c.args().split("\\s+")));
        words.removeIf(w -> w.startsWith("--"));
        for (String src : words.subList(0, Math.max(0, words.size() - 1))) {
          // a directory source is sent when something under it is: probe a file inside it as well
          if (!included(ignorePatterns, src) && !included(ignorePatterns, src + "/x")) {
            p.add("COPY " + src + " is excluded by the .dockerignore");
          }
        }
      }
    }
    return p;
  }
}
