package io.infermeter.schemas.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An app's configuration keys declared once ({@link ConfigKey}: name, default, type, doc), in the
 * order its reference shows them: the app's defaults come from here, every value is checked against
 * its key's type at start ({@link #check}), and the reference table in docs/ is generated from here
 * ({@link #markdown}, kept current by the app's {@code *ConfigDocsTest}). Immutable, thread-safe.
 */
public final class ConfigTable {

  /** The line before the generated table in a Markdown file. */
  public static final String BEGIN =
      "<!-- generated from the app's ConfigTable by its ConfigDocsTest: edit the declaration, not"
          + " this table -->";

  /** The line after it. */
  public static final String END = "<!-- end of generated table -->";

  private final List<ConfigKey> keys;

  private ConfigTable(List<ConfigKey> keys) {
    this.keys = List.copyOf(keys);
  }

  /** A new, empty builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** The keys in declaration order. */
  public List<ConfigKey> keys() {
    return keys;
  }

  /** The defaults of the exact keys that have one, in declaration order. */
  public Map<String, String> defaults() {
    Map<String, String> out = new LinkedHashMap<>();
    for (ConfigKey k : keys) {
      if (k.exact() && k.defaultValue() != null) {
        out.put(k.name(), k.defaultValue());
      }
    }
    return Collections.unmodifiableMap(out);
  }

  /** The exact key names, in declaration order. */
  public List<String> exactNames() {
    return keys.stream().filter(ConfigKey::exact).map(ConfigKey::name).toList();
  }

  /**
   * Checks every non-empty value of {@code s} against the type of the first key or pattern it
   * matches; throws the {@link ConfigException} naming the key and value. Keys no declaration
   * matches are left to {@link KnownKeys}.
   */
  public void check(Settings s) {
    for (String key : s.asMap().keySet()) {
      if (!s.has(key)) {
        continue;
      }
      for (ConfigKey k : keys) {
        if (k.matches(key)) {
          k.type().check(s, key);
          break;
        }
      }
    }
  }

  /** The reference table (Markdown): key, default, type, meaning. */
  public String markdown() {
    StringBuilder b = new StringBuilder("| key | default | type | meaning |\n|---|---|---|---|\n");
    for (ConfigKey k : keys) {
      String def = k.shownDefaultMarkdown();
      b.append("| `")
          .append(k.name())
          .append("` | ")
          .append(cell(def))
          .append(" | ")
          .append(k.type().label)
          .append(" | ")
          .append(cell(k.doc()))
          .append(" |\n");
    }
    return b.toString();
  }

  private static String cell(String s) {
    return s.replace("|", "\\|");
  }

  /**
   * {@code markdown} with the text between {@link #BEGIN} and {@link #END} replaced by {@code
   * table}; throws when the markers are missing.
   */
  public static String withTable(String markdown, String table) {
    int begin = markdown.indexOf(BEGIN);
    int end = markdown.indexOf(END, begin + 1);
    if (begin < 0 || end < 0) {
      throw new IllegalArgumentException("no generated-table markers (" + BEGIN + ")");
    }
    return markdown.substring(0, begin + BEGIN.length()) + "\n" + table + markdown.substring(end);
  }

  /** Collects keys in order. Not thread-safe. */
  public static final class Builder {
    private final List<ConfigKey> keys = new ArrayList<>();

    private Builder() {}

    /** Adds a key, pattern or prefix. */
    public Builder key(String name, String defaultValue, ConfigKey.Type type, String doc) {
      return key(name, defaultValue, null, type, doc);
    }

    /**
     * Adds a key whose reference shows {@code shownDefault} (Markdown) instead of its default
     * value: a value computed per machine, or an empty one the app fills in.
     */
    public Builder key(
        String name, String defaultValue, String shownDefault, ConfigKey.Type type, String doc) {
      ConfigKey k = new ConfigKey(name, defaultValue, shownDefault, type, doc);
      for (ConfigKey other : keys) {
        if (other.name().equals(name)) {
          throw new IllegalArgumentException("declared twice: " + name);
        }
      }
      keys.add(k);
      return this;
    }

    /** Adds every key of {@code other} (a part shared by apps or kept beside its code). */
    public Builder addAll(ConfigTable other) {
      for (ConfigKey k : other.keys) {
        key(k.name(), k.defaultValue(), k.shownDefault(), k.type(), k.doc());
      }
      return this;
    }

    public ConfigTable build() {
      return new ConfigTable(keys);
    }
  }
}
