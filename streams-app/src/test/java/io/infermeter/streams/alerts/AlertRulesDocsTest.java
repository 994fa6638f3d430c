package io.infermeter.streams.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every rule name of {@link AlertRules} is documented where an operator looks for it: a row of the
 * rules table in docs/STREAMS.md ("Alerts": condition, defaults, keys) and the {@code alertname}
 * row of docs/ALERTING.md (what Alertmanager receives); neither lists a rule the code does not
 * have. Recipe "add an alert rule" in docs/ARCHITECTURE.md.
 */
class AlertRulesDocsTest {

  /** Surefire runs in the module directory. */
  private static final Path DOCS = Path.of("../docs");

  private static final Pattern RULE_NAME = Pattern.compile("[a-z][a-z0-9_]*");
  private static final Pattern STREAMS_ROW = Pattern.compile("(?m)^\\| `([a-z][a-z0-9_]*)` \\|");
  private static final Pattern ALERTNAME_ROW =
      Pattern.compile("(?m)^\\| `alertname` \\|([^\\n]*)$");
  private static final Pattern CODE = Pattern.compile("`([a-z][a-z0-9_]*)`");

  /** The rule names: every public static final String constant of AlertRules. */
  static Set<String> rules() throws IllegalAccessException {
    Set<String> out = new TreeSet<>();
    for (Field f : AlertRules.class.getFields()) {
      int m = f.getModifiers();
      if (Modifier.isStatic(m) && Modifier.isFinal(m) && f.getType() == String.class) {
        String name = (String) f.get(null);
        assertThat(name).as("rule name %s", f.getName()).matches(RULE_NAME);
        out.add(name);
      }
    }
    return out;
  }

  /** Rule names of the rows of the table under "## Alerts" in STREAMS.md. */
  static Set<String> streamsTable(String markdown) {
    int from = markdown.indexOf("\n## Alerts\n");
    assertThat(from).as("docs/STREAMS.md has an '## Alerts' section").isNotNegative();
    int to = markdown.indexOf("\n## ", from + 1);
    Set<String> out = new TreeSet<>();
    Matcher row = STREAMS_ROW.matcher(markdown.substring(from, to < 0 ? markdown.length() : to));
    while (row.find()) {
      out.add(row.group(1));
    }
    return out;
  }

  /** Rule names listed in the {@code alertname} row of ALERTING.md. */
  static Set<String> alertnameRow(String markdown) {
    Matcher row = ALERTNAME_ROW.matcher(markdown);
    assertThat(row.find()).as("docs/ALERTING.md has an `alertname` row").isTrue();
    Set<String> out = new TreeSet<>();
    Matcher code = CODE.matcher(row.group(1));
    while (code.find()) {
      out.add(code.group(1));
    }
    out.remove("rule");
    return out;
  }

  @Test
  void everyRuleHasARowInStreamsMdAndOnlyThose() throws Exception {
    assertThat(streamsTable(Files.readString(DOCS.resolve("STREAMS.md")))).isEqualTo(rules());
  }

  @Test
  void everyRuleIsAnAlertnameInAlertingMdAndOnlyThose() throws Exception {
    assertThat(alertnameRow(Files.readString(DOCS.resolve("ALERTING.md")))).isEqualTo(rules());
  }

  @Test
  void aRuleMissingFromTheDocsIsReported() throws IOException, IllegalAccessException {
    Set<String> withNew = new LinkedHashSet<>(rules());
    withNew.add("kv_cache_pressure");
    assertThat(streamsTable(Files.readString(DOCS.resolve("STREAMS.md")))).isNotEqualTo(withNew);
    assertThat(alertnameRow(Files.readString(DOCS.resolve("ALERTING.md"))))
        .doesNotContain("kv_cache_pressure");
  }
}
