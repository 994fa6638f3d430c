package io.infermeter.schemas.config;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one redaction rule for secrets in anything an app prints: start-up logs and {@code
 * --print-config} ({@link Settings#describe()}), exception messages and dead-letter messages that
 * may echo configuration. Stateless and thread-safe.
 *
 * <ul>
 *   <li>{@link #isSecretKey(String)}: a key whose name says it holds a secret (password, secret,
 *       token, credentials, private key, key password, {@code sasl.jaas.config}, {@code
 *       basic.auth.user.info}, {@code ssl.keystore.key}, API/access keys, authorization headers);
 *       its whole value is replaced by {@link #MASK}.
 *   <li>{@link #redactText(String)}, for values of other keys and for free text: inline PEM
 *       private-key blocks ({@code -----BEGIN ... PRIVATE KEY-----} up to its END line, or to the
 *       end of the text when the END line is missing), URL user-info ({@code
 *       scheme://user:password@host}), query parameters whose name says secret ({@code
 *       access_token=}, {@code token=}, {@code password=}, {@code key=}, {@code sig=}, ...), and
 *       {@code name=value} / {@code name: value} pairs whose name says secret ({@code
 *       password="..."} inside a JAAS line, {@code Authorization: Bearer ...}).
 * </ul>
 *
 * <p>The rule errs on the side of masking: a false positive costs a value in a log, a false
 * negative a credential.
 */
public final class Redaction {

  /** What replaces a secret. */
  public static final String MASK = "[hidden]";

  /** Fragments of a (lower-cased) key name that mark its value secret. */
  private static final List<String> SECRET_KEY_FRAGMENTS =
      List.of(
          "password",
          "passwd",
          "secret",
          "token",
          "credential",
          "private.key",
          "private_key",
          "privatekey",
          "key.password",
          "sasl.jaas.config",
          "user.info",
          "userinfo",
          "ssl.keystore.key",
          "api.key",
          "api_key",
          "apikey",
          "access.key",
          "access_key",
          "authorization",
          "bearer",
          "cookie",
          "signature");

  /** A PEM private-key block (any label ending in PRIVATE KEY), terminated or cut off. */
  private static final Pattern PEM_PRIVATE_KEY =
      Pattern.compile(
          "-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END \\1-----|\\z)", Pattern.DOTALL);

  /**
   * {@code scheme://userinfo@}: the user-info part (user, user:password, or a token) is masked
   * whole.
   */
  private static final Pattern URL_USER_INFO =
      Pattern.compile("(?i)\\b([a-z][a-z0-9+._-]*://)[^/\\s@?#\"'<>]+@");

  /** Secret-looking names for query parameters and name=value pairs. */
  private static final String SECRET_NAME =
      "[\\w.-]*?(?:password|passwd|pwd|secret|token|credentials?"
          + "|jaas\\.config|user\\.info|private[_.-]?key|api[_.-]?key|access[_.-]?key|client[_.-]?secret|signature"
          + "|authorization)";

  /**
   * {@code ?name=value} or {@code &name=value} with a secret name, plus the short names used by
   * signed URLs.
   */
  private static final Pattern QUERY_PARAMETER =
      Pattern.compile("(?i)([?&;](?:" + SECRET_NAME + "|key|sig|auth|code)=)[^&;#\\s\"']*");

  /**
   * {@code name=value}, {@code name: value}, {@code name="v a l"} in free text with a secret name.
   */
  private static final Pattern NAME_VALUE =
      Pattern.compile(
          "(?i)(\\b"
              + SECRET_NAME
              + "\\b\"?\\s*[=:]\\s*)(\"[^\"]*\"?|'[^']*'?|(?:bearer|basic)\\s+\\S+|[^\\s,;&}\\]\"']+)");

  private Redaction() {}

  /** True when a key's whole value must never be shown. Case-insensitive; null is not secret. */
  public static boolean isSecretKey(String key) {
    if (key == null) {
      return false;
    }
    String k = key.toLowerCase(Locale.ROOT);
    for (String fragment : SECRET_KEY_FRAGMENTS) {
      if (k.contains(fragment)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The value of {@code key} as it may be shown: {@link #MASK} for a secret key, else {@link
   * #redactText}.
   */
  public static String redactValue(String key, String value) {
    if (value == null) {
      return null;
    }
    if (isSecretKey(key)) {
      return value.isEmpty() ? "" : MASK;
    }
    return redactText(value);
  }

  /**
   * {@code text} with PEM private keys, URL user-info, secret query parameters and secret pairs
   * masked.
   */
  public static String redactText(String text) {
    if (text == null || text.isEmpty()) {
      return text;
    }
    String s =
        PEM_PRIVATE_KEY
            .matcher(text)
            .replaceAll(
                m ->
                    Matcher.quoteReplacement(
                        "-----BEGIN "
                            + m.group(1)
                            + "----- "
                            + MASK
                            + " -----END "
                            + m.group(1)
                            + "-----"));
    s = URL_USER_INFO.matcher(s).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + MASK + "@"));
    s = QUERY_PARAMETER.matcher(s).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + MASK));
    s =
        NAME_VALUE
            .matcher(s)
            .replaceAll(
                m ->
                    Matcher.quoteReplacement(
                        m.group(2).startsWith("[hidden") ? m.group() : m.group(1) + MASK));
    return s;
  }
}
