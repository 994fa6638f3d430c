package io.infermeter.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * Keeps the generated parts of the docs current: an app's configuration reference is generated from
 * its key declaration, and its docs test fails when the file in the repository differs from what
 * the declaration gives. Stateless.
 */
public final class ConfigDocs {

  private ConfigDocs() {}

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
}
