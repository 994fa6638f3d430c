package io.infermeter.streams.latency;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.RequestTimings;
import java.util.OptionalLong;

/**
 * The per-request distributions of a window, each derived with {@link RequestTimings} (never
 * re-derived here): latencies in microseconds, and the per-request token rates ({@link
 * #OUTPUT_TPS}, {@link #INPUT_TPS}) in milli-tokens per second, which share the histograms, the
 * {@code LatencyStats} fields and the {@code window_latency} columns with the latencies.
 */
public enum LatencyMetric {
  E2E("e2e", 0),
  TTFT("ttft", 1),
  TPOT("tpot", 2),
  QUEUE("queue", 3),
  PREFILL("prefill", 4),
  DECODE("decode", 5),
  MAX_ITL("max_itl", 6),
  /** Output tokens per second of one request after its first token, x 1000. */
  OUTPUT_TPS("output_tps", 7),
  /** Input (prompt) tokens per second of prefill of one request, x 1000. */
  INPUT_TPS("input_tps", 8);

  private static final LatencyMetric[] VALUES = byIndex();
  private final String wireName;
  private final int index;

  LatencyMetric(String wireName, int index) {
    this.wireName = wireName;
    this.index = index;
  }

  public String wireName() {
    return wireName;
  }

  /**
   * The metric's position in {@code RequestAccumulator}'s persisted bytes (its presence bits and
   * histogram order): part of the state format, so a new metric takes the next free index and an
   * index is never reused or moved, whatever the constants' order in this file.
   */
  public int index() {
    return index;
  }

  private static LatencyMetric[] byIndex() {
    LatencyMetric[] out = new LatencyMetric[values().length];
    for (LatencyMetric m : values()) {
      if (m.index < 0 || m.index >= out.length || out[m.index] != null) {
        throw new IllegalStateException("LatencyMetric indexes must be 0..n-1, once each: " + m);
      }
      out[m.index] = m;
    }
    return out;
  }

  /**
   * Whether the slowest requests have the lowest values (the token rates), not the largest (the
   * latencies): the order of the {@link Exemplars}.
   */
  public boolean lowerIsSlower() {
    return this == OUTPUT_TPS || this == INPUT_TPS;
  }

  /** Every metric, in {@link #index()} order. */
  public static LatencyMetric[] all() {
    return VALUES;
  }

  /**
   * The metric's value for {@code e}, microseconds (milli-tokens per second for {@link #OUTPUT_TPS}
   * and {@link #INPUT_TPS}); empty when its inputs are absent.
   */
  public OptionalLong of(RequestEvent e) {
    return switch (this) {
      case E2E -> RequestTimings.e2eUs(e);
      case TTFT -> RequestTimings.ttftUs(e);
      case TPOT -> RequestTimings.tpotUs(e);
      case QUEUE -> RequestTimings.queueUs(e);
      case PREFILL -> RequestTimings.prefillUs(e);
      case DECODE -> RequestTimings.decodeUs(e);
      case MAX_ITL -> RequestTimings.maxInterTokenGapUs(e);
      case OUTPUT_TPS -> RequestTimings.outputTokenRateMilli(e);
      case INPUT_TPS -> RequestTimings.inputTokenRateMilli(e);
    };
  }
}
