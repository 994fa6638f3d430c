package io.infermeter.schemas;

import io.infermeter.avro.RequestEvent;
import java.util.OptionalLong;

/**
 * The derived durations and token rates of a {@link RequestEvent}, as METRICS.md pins them.
 * Durations are microseconds, token rates milli-tokens per second (tokens/s x 1000); a value whose
 * inputs are absent (or would be negative) is empty. Stateless and thread-safe.
 *
 * <ul>
 *   <li>queue = scheduled - arrival
 *   <li>TTFT = first_token - arrival (includes queue and prefill; vLLM's Prometheus histogram
 *       convention)
 *   <li>prefill = first_token - scheduled
 *   <li>decode = completed - first_token
 *   <li>e2e = completed - arrival
 *   <li>TPOT = decode / (output_tokens - 1), only when output_tokens &gt; 1
 *   <li>busy = prefill + decode (the device time a request occupied; basis of energy attribution)
 *   <li>max inter-token gap = the source's longest gap between two output tokens (a stall), when it
 *       reports one and it fits in the decode time
 *   <li>output token rate = (output_tokens - 1) / decode, only when output_tokens &gt; 1 and decode
 *       &gt; 0 (AIPerf's output token throughput per user: 1 / its inter-token latency)
 *   <li>input token rate = input_tokens / prefill, only when input_tokens &gt; 0 and prefill &gt; 0
 *       (AIPerf divides by TTFT, which also holds the queue wait; see METRICS.md)
 * </ul>
 */
public final class RequestTimings {

  private RequestTimings() {}

  public static OptionalLong queueUs(RequestEvent e) {
    return diff(e.getScheduledUs(), e.getArrivalUs());
  }

  public static OptionalLong ttftUs(RequestEvent e) {
    return diff(e.getFirstTokenUs(), e.getArrivalUs());
  }

  public static OptionalLong prefillUs(RequestEvent e) {
    return diff(e.getFirstTokenUs(), e.getScheduledUs());
  }

  public static OptionalLong decodeUs(RequestEvent e) {
    return diff(e.getCompletedUs(), e.getFirstTokenUs());
  }

  public static OptionalLong e2eUs(RequestEvent e) {
    return diff(e.getCompletedUs(), e.getArrivalUs());
  }

  /**
   * Mean inter-token latency of the request; empty unless more than one output token was produced.
   */
  public static OptionalLong tpotUs(RequestEvent e) {
    Integer out = e.getOutputTokens();
    OptionalLong decode = decodeUs(e);
    if (out == null || out <= 1 || decode.isEmpty()) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(Math.round((double) decode.getAsLong() / (out - 1)));
  }

  /**
   * The longest gap between two consecutive output tokens, as the source reported it; empty when it
   * did not, when it is negative, or when it exceeds the decode time it must lie within.
   */
  public static OptionalLong maxInterTokenGapUs(RequestEvent e) {
    Long gap = e.getMaxInterTokenGapUs();
    if (gap == null || gap < 0) {
      return OptionalLong.empty();
    }
    OptionalLong decode = decodeUs(e);
    if (decode.isPresent() && gap > decode.getAsLong()) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(gap);
  }

  /** Milli-tokens per second in one token per microsecond: 10^6 tokens/s x 1000. */
  private static final double MILLI_TOKENS_PER_SEC_PER_TOKEN_PER_US = 1e9;

  /**
   * The request's output token rate after its first token, milli-tokens per second: (output tokens
   * - 1) / decode time, the first token excluded as it is from TPOT, so the value is 1 / TPOT
   * (computed from the unrounded inputs). Empty unless more than one output token was produced in a
   * decode time above zero.
   */
  public static OptionalLong outputTokenRateMilli(RequestEvent e) {
    Integer out = e.getOutputTokens();
    OptionalLong decode = decodeUs(e);
    if (out == null || out <= 1 || decode.isEmpty() || decode.getAsLong() == 0) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(
        Math.round((out - 1) * MILLI_TOKENS_PER_SEC_PER_TOKEN_PER_US / decode.getAsLong()));
  }

  /**
   * The request's prefill rate, milli-tokens per second: input tokens / prefill time (first token -
   * scheduled, the queue wait excluded). Empty unless the request has input tokens and a prefill
   * time above zero.
   */
  public static OptionalLong inputTokenRateMilli(RequestEvent e) {
    Integer in = e.getInputTokens();
    OptionalLong prefill = prefillUs(e);
    if (in == null || in <= 0 || prefill.isEmpty() || prefill.getAsLong() == 0) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(
        Math.round(in * MILLI_TOKENS_PER_SEC_PER_TOKEN_PER_US / prefill.getAsLong()));
  }

  /**
   * Device-busy time of the request: prefill + decode when both are known; otherwise completed -
   * scheduled; otherwise e2e minus nothing (the whole request, when only arrival and completion are
   * known).
   */
  public static long busyUs(RequestEvent e) {
    OptionalLong prefill = prefillUs(e);
    OptionalLong decode = decodeUs(e);
    if (prefill.isPresent() && decode.isPresent()) {
      return prefill.getAsLong() + decode.getAsLong();
    }
    OptionalLong sinceScheduled = diff(e.getCompletedUs(), e.getScheduledUs());
    if (sinceScheduled.isPresent()) {
      return sinceScheduled.getAsLong();
    }
    return e2eUs(e).orElse(0L);
  }

  private static OptionalLong diff(Long later, Long earlier) {
    if (later == null || earlier == null || later < earlier) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(later - earlier);
  }
}
