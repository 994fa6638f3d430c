package io.infermeter.sink.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One versioned migration file {@code V<nnn>__<description>.sql}: its version, description, raw
 * text and checksum (SHA-256 of the raw text, before placeholder substitution, so changing a TTL
 * setting does not change the checksum). Immutable.
 */
record Migration(int version, String description, String script, String checksum) {

  private static final Pattern NAME = Pattern.compile("V(\\d+)__([A-Za-z0-9_]+)\\.sql");
  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([a-z_]+)}");

  /** Parses a file name and text; the name must match {@code V<digits>__<words>.sql}. */
  static Migration of(String fileName, String script) {
    Matcher m = NAME.matcher(fileName);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "migration file name '" + fileName + "' does not match V<number>__<description>.sql");
    }
    return new Migration(
        Integer.parseInt(m.group(1)), m.group(2).replace('_', ' '), script, sha256(script));
  }

  /**
   * The statements of the script with placeholders substituted. Statements end with ';' at the end
   * of a line; comment lines ({@code --}) are dropped.
   *
   * @throws IllegalArgumentException naming a placeholder with no value
   */
  List<String> statements(Map<String, String> placeholders) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : script.split("\n", -1)) {
      String trimmed = line.strip();
      if (trimmed.startsWith("--") || (trimmed.isEmpty() && current.length() == 0)) {
        continue;
      }
      current.append(line).append('\n');
      if (trimmed.endsWith(";")) {
        String sql = current.toString().strip();
        out.add(substitute(sql.substring(0, sql.length() - 1), placeholders));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) {
      throw new IllegalArgumentException(
          "migration V" + version + " ends with a statement without ';'");
    }
    return out;
  }

  private String substitute(String sql, Map<String, String> placeholders) {
    Matcher m = PLACEHOLDER.matcher(sql);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String value = placeholders.get(m.group(1));
      if (value == null) {
        throw new IllegalArgumentException(
            "migration V"
                + version
                + " uses placeholder ${"
                + m.group(1)
                + "} which has no value; known: "
                + placeholders.keySet());
      }
      m.appendReplacement(sb, Matcher.quoteReplacement(value));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  static String sha256(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
