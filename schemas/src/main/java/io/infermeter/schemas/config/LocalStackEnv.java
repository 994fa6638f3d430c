package io.infermeter.schemas.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Where the local stack's servers are: the {@code stack.env} file that {@code deploy/local/stack.sh
 * start} writes ({@code INFERMETER_KAFKA_BOOTSTRAP=...} lines), found in {@code
 * $INFERMETER_STACK_DIR}, else in {@code .local-stack} of the working directory or one of its
 * parents. Used by the tools that run next to a checkout (demo, report); the apps themselves take
 * their addresses from their own settings. Stateless and thread-safe.
 */
public final class LocalStackEnv {

  private LocalStackEnv() {}

  /** The stack.env file, when there is one. */
  public static Optional<Path> find(Map<String, String> env, Path workingDir) {
    String dir = env.get("INFERMETER_STACK_DIR");
    if (dir != null && !dir.isBlank()) {
      Path file = Path.of(dir, "stack.env");
      return Files.isReadable(file) ? Optional.of(file) : Optional.empty();
    }
    for (Path p = workingDir.toAbsolutePath(); p != null; p = p.getParent()) {
      Path file = p.resolve(".local-stack").resolve("stack.env");
      if (Files.isReadable(file)) {
        return Optional.of(file);
      }
    }
    return Optional.empty();
  }

  /** The {@code KEY=VALUE} lines of a stack.env file ('#' comments and blank lines skipped). */
  public static Map<String, String> read(Path file) {
    Map<String, String> values = new LinkedHashMap<>();
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        String trimmed = line.trim();
        int eq = trimmed.indexOf('=');
        if (!trimmed.isEmpty() && !trimmed.startsWith("#") && eq > 0) {
          values.put(trimmed.substring(0, eq).trim(), trimmed.substring(eq + 1).trim());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return values;
  }

  /**
   * The stack.env values (if the file exists) overlaid by the non-blank {@code INFERMETER_*}
   * entries of {@code env}.
   */
  public static Map<String, String> resolve(Map<String, String> env, Path workingDir) {
    Map<String, String> values = new LinkedHashMap<>();
    find(env, workingDir).ifPresent(f -> values.putAll(read(f)));
    env.forEach(
        (k, v) -> {
          if (k.startsWith("INFERMETER_") && v != null && !v.isBlank()) {
            values.put(k, v);
          }
        });
    return values;
  }
}
