package io.infermeter.schemas.config;

import java.util.List;
import java.util.Locale;

/**
 * The one rule for which attribute or field names may hold prompt or completion text: the content
 * attributes of the OpenTelemetry GenAI semantic conventions ({@code gen_ai.prompt*}, {@code
 * gen_ai.completion*}, {@code gen_ai.input.messages}, {@code gen_ai.output.messages}, {@code
 * gen_ai.system_instructions}, tool call arguments and results), OpenInference's ({@code
 * llm.prompts}, {@code llm.input_messages}, {@code input.value} ...), any {@code *.content}, and
 * bare field names such as {@code prompt} or {@code messages}. The collector drops them from its
 * dead letters and the sink from every stage's dead letters before storing, so both use this rule.
 * Stateless and thread-safe.
 */
public final class PromptFields {

  private static final List<String> PREFIXES =
      List.of(
          "gen_ai.prompt",
          "gen_ai.completion",
          "gen_ai.input.messages",
          "gen_ai.output.messages",
          "gen_ai.system_instructions",
          "gen_ai.tool.call.arguments",
          "gen_ai.tool.call.result",
          "llm.prompts",
          "llm.input_messages",
          "llm.output_messages",
          "llm.prompt_template",
          "input.value",
          "output.value");
  private static final List<String> NAMES =
      List.of("prompt", "prompts", "completion", "completions", "messages", "content");

  private PromptFields() {}

  /** Whether an attribute or field of this name (any case) may hold prompt or completion text. */
  public static boolean isSensitive(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.endsWith(".content") || NAMES.contains(n)) {
      return true;
    }
    for (String p : PREFIXES) {
      if (n.startsWith(p)) {
        return true;
      }
    }
    return false;
  }
}
