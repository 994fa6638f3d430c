package io.infermeter.sink.internal;

/**
 * A failure of a batch's write that the loop retries later, with the batch unchanged and
 * uncommitted. {@code bounded} when it is neither an outage nor a rejection (an exception without a
 * ClickHouse error code, a single row over the memory limit), so it is retried at most {@code
 * retry.unknown.max.attempts} times; an outage is retried for as long as it lasts.
 */
final class RetryLater extends Exception {

  final boolean bounded;

  RetryLater(Throwable cause, boolean bounded) {
    super(cause);
    this.bounded = bounded;
  }
}
