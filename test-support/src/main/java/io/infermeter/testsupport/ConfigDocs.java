package io.infermeter.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks an app's configuration keys against its Markdown reference: each key must appear in
 * backticks, verbatim or through a documented pattern whose {@code <placeholder>} parts stand for
 * one or more key segments ({@code cost.price.per.hour.<gpuType>}). Stateless.
 */
public final class ConfigDocs {

  private static final Pattern TICKED =
      Pattern.compile("`([a-z0-9_.\\-]*<[^`>]+>[a-z0-9_.<>\\-]*)`");

  private ConfigDocs() {}

  /**
   * The keys of {@code keys} that the Markdown file {@code doc} (relative to the repository root,
   * read from a module's directory as {@code ../doc}) does not document, in their order.
   */
  public static List<String> undocumentedIn(Collection<String> keys, String doc) {
    try {
      return undocumented(keys, Files.readString(Path.of("..").resolve(doc)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Whether the Markdown file {@code doc} (relative to the repository root) equals what {@code
   * regenerate} makes of it (its generated parts brought up to date). With {@code
   * -Dconfig.docs.write=true} the regenerated text is written to the file first, so the check then
   * passes and the change shows in the diff.
   */
  public static boolean generatedIsCurrent(String doc, UnaryOperator<String> regenerate) {
    Path path = Path.of("..").resolve(doc);
    try {
      String text = Files.readString(path);
      String current = regenerate.apply(text);
      if (Boolean.getBoolean("config.docs.write") && !current.equals(text)) {
        Files.writeString(path, current);
        return true;
      }
      return current.equals(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The keys of {@code keys} that {@code markdown} does not document, in their order. */
  public static List<String> undocumented(Collection<String> keys, String markdown) {
    List<Pattern> patterns = new ArrayList<>();
    Matcher m = TICKED.matcher(markdown);
    while (m.find()) {
      String p = m.group(1);
      StringBuilder regex = new StringBuilder();
      int i = 0;
      while (i < p.length()) {
        int open = p.indexOf('<', i);
        if (open < 0) {
          regex.append(Pattern.quote(p.substring(i)));
          break;
        }
        int close = p.indexOf('>', open);
        regex.append(Pattern.quote(p.substring(i, open))).append(".+");
        i = close + 1;
      }
      patterns.add(Pattern.compile(regex.toString()));
    }
    List<String> out = new ArrayList<>();
    for (String key : keys) {
      if (markdown.contains("`" + key + "`")) {
        continue;
      }
      if (patterns.stream().noneMatch(p -> p.matcher(key).matches())) {
        out.add(key);
      }
    }
    return out;
  }
}
