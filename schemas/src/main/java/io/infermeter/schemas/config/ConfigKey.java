package io.infermeter.schemas.config;

import java.util.regex.Pattern;

/**
 * One configuration key of an app, as its {@link ConfigTable} declares it: the name (a dotted key,
 * whose segments after the first may hold upper case, such as {@code cost.price.per.hour.H100}, or
 * a pattern with {@code <placeholder>} segments such as {@code cost.price.per.hour.<gpuType>}, or a
 * prefix ending in {@code .*} whose keys are passed through), the default ({@code null}: none), the
 * type every value must parse as, and the one-line doc the reference table in docs/ shows.
 *
 * @param name key, {@code <placeholder>} pattern or {@code prefix.*}
 * @param defaultValue the default, {@code ""} for the empty string, {@code null} for none
 * @param shownDefault what the reference shows as the default when the value itself would mislead
 *     (one computed per machine, or an empty value the app fills in); {@code null}: the value
 * @param type what a value must be
 * @param doc what the key does, with its unit; Markdown allowed, one line
 */
public record ConfigKey(
    String name, String defaultValue, String shownDefault, Type type, String doc) {

  /**
   * What a value must parse as; {@link #check} throws the typed getter's {@link ConfigException}.
   */
  public enum Type {
    STRING("string"),
    INTEGER("integer"),
    POSITIVE_INTEGER("integer > 0"),
    LONG("integer"),
    DECIMAL("number"),
    DURATION("duration"),
    BOOLEAN("boolean"),
    LIST("list"),
    /** Passed through to a client library, which checks it. */
    PASSED_THROUGH("passed through");

    /** The type as the reference table shows it. */
    public final String label;

    Type(String label) {
      this.label = label;
    }

    /** Checks the value of {@code key} in {@code s} (present and non-empty) against this type. */
    void check(Settings s, String key) {
      switch (this) {
        case INTEGER -> s.integer(key);
        case POSITIVE_INTEGER -> s.positiveInt(key);
        case LONG -> s.longValue(key);
        case DECIMAL -> s.decimal(key);
        case DURATION -> s.duration(key);
        case BOOLEAN -> s.bool(key);
        case STRING, LIST, PASSED_THROUGH -> {}
      }
    }
  }

  private static final Pattern NAME =
      Pattern.compile("[a-z0-9_\\-]+(\\.([a-zA-Z0-9_\\-]+|<[a-zA-Z]+>))*(\\.\\*)?");

  public ConfigKey {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("not a key, pattern or prefix: " + name);
    }
    if (doc == null || doc.isBlank() || doc.contains("\n")) {
      throw new IllegalArgumentException(name + ": the doc must be one non-empty line");
    }
  }

  /** A key whose reference shows its default value. */
  public ConfigKey(String name, String defaultValue, Type type, String doc) {
    this(name, defaultValue, null, type, doc);
  }

  /** The default as the reference table shows it (Markdown). */
  public String shownDefaultMarkdown() {
    if (shownDefault != null) {
      return shownDefault;
    }
    if (defaultValue == null) {
      return "(none)";
    }
    return defaultValue.isEmpty() ? "(empty)" : "`" + defaultValue + "`";
  }

  /** Whether this is one exact key (not a pattern or prefix). */
  public boolean exact() {
    return !name.contains("<") && !name.endsWith(".*");
  }

  /** Whether {@code key} is this key, or matches this pattern or prefix. */
  public boolean matches(String key) {
    if (exact()) {
      return name.equals(key);
    }
    if (name.endsWith(".*")) {
      String prefix = name.substring(0, name.length() - 1);
      return key.startsWith(prefix) && key.length() > prefix.length();
    }
    StringBuilder regex = new StringBuilder();
    for (String part : name.split("\\.", -1)) {
      if (regex.length() > 0) {
        regex.append("\\.");
      }
      regex.append(part.startsWith("<") ? "[^.]+" : Pattern.quote(part));
    }
    return key.matches(regex.toString());
  }
}
