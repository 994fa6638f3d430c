package io.infermeter.schemas.config;

/**
 * An invalid or missing setting; the message names the key, the value and what was expected. Not
 * retryable.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
