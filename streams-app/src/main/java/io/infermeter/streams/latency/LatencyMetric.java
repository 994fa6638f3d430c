package io.infermeter.streams.latency;

import io.infermeter.avro.RequestEvent;
import io.infermeter.schemas.RequestTimings;
import java.util.OptionalLong;

/**
 * The six latency metrics of a window, each derived with {@link RequestTimings} (never re-derived
 * here).
 */
public enum LatencyMetric {
  E2E("e2e"),
  TTFT("ttft"),
  TPOT("tpot"),
  QUEUE("queue"),
  PREFILL("prefill"),
  DECODE("decode");

  private static final LatencyMetric[] VALUES = values();
  private final String wireName;

  LatencyMetric(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }

  public static LatencyMetric[] all() {
    return VALUES;
  }

  /** The metric's value for {@code e}, microseconds; empty when its inputs are absent. */
  public OptionalLong of(RequestEvent e) {
    return switch (this) {
      case E2E -> RequestTimings.e2eUs(e);
      case TTFT -> RequestTimings.ttftUs(e);
      case TPOT -> RequestTimings.tpotUs(e);
      case QUEUE -> RequestTimings.queueUs(e);
      case PREFILL -> RequestTimings.prefillUs(e);
      case DECODE -> RequestTimings.decodeUs(e);
    };
  }
}
