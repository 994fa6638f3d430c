package io.infermeter.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Main code, scripts and deployment files describe the present: no comment (or message) refers to
 * working sessions, issue numbers or what the code did before. History belongs to CHANGELOG.md and
 * commit messages.
 */
class NoHistoryInMainCodeTest {

  /** Surefire runs in the module directory. */
  private static final Path ROOT = Path.of("..");

  /**
   * Wording that dates a text: each matches a phrase about the past of the code, not about the
   * present.
   */
  static final List<Pattern> HISTORY =
      Stream.of(
              "\\bsession\\s*\\d+\\b",
              "\\b(previous|earlier|last|this|next|later) session\\b",
              "\\bbefore this (change|version|commit|fix|session|refactoring)\\b",
              "\\bold code\\b",
              "\\bissue\\s*#\\s*\\d+",
              "\\bissue \\d+\\b",
              "\\bpreviously\\b",
              "\\bformerly\\b",
              "(?<!\\b(is|are|be|been|being|was|were|gets?) )\\bused to (be|do|have|read|write|run|send|keep|return|throw)\\b",
              "\\bwas (changed|renamed|rewritten|refactored|moved) (to|from|in)\\b")
          .map(p -> Pattern.compile(p, Pattern.CASE_INSENSITIVE))
          .toList();

  private static final Set<String> EXTENSIONS =
      Set.of(
          "java",
          "sh",
          "sql",
          "xml",
          "properties",
          "yaml",
          "yml",
          "tpl",
          "c",
          "h",
          "py",
          "js",
          "conf",
          "toml",
          "txt");
  private static final Set<String> SKIPPED_DIRS =
      Set.of("target", "node_modules", ".git", ".local-stack", "build");

  /** The {@code file:line: text} of every line of {@code text} that matches a history pattern. */
  static List<String> violations(String file, String text) {
    List<String> out = new ArrayList<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      if (HISTORY.stream().anyMatch(p -> p.matcher(line).find())) {
        out.add(file + ":" + (i + 1) + ": " + line.strip());
      }
    }
    return out;
  }

  /** Every module's src/main, deploy/ and the top-level scripts. */
  static List<Path> scannedFiles() throws IOException {
    List<Path> roots = new ArrayList<>();
    try (Stream<Path> modules = Files.list(ROOT)) {
      modules.map(m -> m.resolve("src/main")).filter(Files::isDirectory).forEach(roots::add);
    }
    for (String extra : List.of("deploy", "scripts")) {
      if (Files.isDirectory(ROOT.resolve(extra))) {
        roots.add(ROOT.resolve(extra));
      }
    }
    List<Path> files = new ArrayList<>();
    for (Path root : roots) {
      try (Stream<Path> walk = Files.walk(root)) {
        walk.filter(Files::isRegularFile)
            .filter(
                p ->
                    ROOT.relativize(p).toString().split("/").length > 0
                        && Stream.of(ROOT.relativize(p).toString().split("/"))
                            .noneMatch(SKIPPED_DIRS::contains))
            .filter(NoHistoryInMainCodeTest::scanned)
            .forEach(files::add);
      }
    }
    if (Files.isRegularFile(ROOT.resolve("infermeter"))) {
      files.add(ROOT.resolve("infermeter"));
    }
    return files;
  }

  private static boolean scanned(Path p) {
    String name = p.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return name.startsWith("Dockerfile")
        || (dot > 0 && EXTENSIONS.contains(name.substring(dot + 1)));
  }

  @Test
  void noMainFileTalksAboutSessionsIssuesOrFormerBehaviour() throws IOException {
    List<Path> files = scannedFiles();
    assertThat(files).as("files scanned").hasSizeGreaterThan(100);
    List<String> found = new ArrayList<>();
    for (Path f : files) {
      String text;
      try {
        text = Files.readString(f);
      } catch (MalformedInputException e) {
        continue; // not UTF-8 text
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      found.addAll(violations(ROOT.relativize(f).toString(), text));
    }
    assertThat(found).as("describe the present; history goes to CHANGELOG.md").isEmpty();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "// session 3: the spool was rewritten", "  * Fixed in Session 2.",
            "# before this change the key was host",
        "/* see issue #17 */", "-- previously the sink used JDBC", "// the old code sent one batch",
        "// this used to throw", "// the field was renamed to pod in V005"
      })
  void historyWordingIsFound(String line) {
    assertThat(violations("f", line)).hasSize(1);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "// the previous sample of each device",
        "/** A session of the TLS handshake. */",
        "// the codec is used to read legacy records",
        "kafka.session.timeout.ms=45000",
        "// partitions no longer assigned to this instance",
        "# an earlier run's data would mix in",
        "// a later record replaces an earlier one"
      })
  void presentTenseWordingIsNotFound(String line) {
    assertThat(violations("f", line)).isEmpty();
  }
}
