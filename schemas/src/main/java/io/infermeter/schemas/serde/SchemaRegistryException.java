package io.infermeter.schemas.serde;

import org.apache.kafka.common.errors.SerializationException;

/**
 * A schema registry call failed. {@link #isRetryable()} is true for transport failures and 5xx
 * answers (the registry may come back), false for answers that will not change on retry
 * (incompatible schema, unknown subject or id, bad credentials).
 */
public final class SchemaRegistryException extends SerializationException {
  private static final long serialVersionUID = 1L;

  private final int httpStatus;
  private final int errorCode;
  private final boolean retryable;

  public SchemaRegistryException(
      String message, int httpStatus, int errorCode, boolean retryable, Throwable cause) {
    super(message, cause);
    this.httpStatus = httpStatus;
    this.errorCode = errorCode;
    this.retryable = retryable;
  }

  /** HTTP status of the registry's answer; 0 when no answer came. */
  public int httpStatus() {
    return httpStatus;
  }

  /**
   * Confluent error code from the answer body (e.g. 40403 schema not found, 409 incompatible); 0
   * when absent.
   */
  public int errorCode() {
    return errorCode;
  }

  public boolean isRetryable() {
    return retryable;
  }

  /**
   * Whether {@code e} or one of its causes is a retryable registry failure: the registry was
   * unreachable or failing, so the record being (de)serialized is not at fault and must be retried,
   * not dead-lettered.
   */
  public static boolean isRetryableCause(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SchemaRegistryException r) {
        return r.retryable;
      }
    }
    return false;
  }
}
