package io.infermeter.streams.alerts;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * NVML clock throttle (event) reason bits, as in {@code nvml.h} ({@code
 * nvmlClocksEventReason*}/{@code nvmlClocksThrottleReason*}), their names in words, and the default
 * set of bits the {@code throttling} rule counts ({@code alerts.throttle.reasons.mask}).
 *
 * <p>Counted by default: HW slowdown (0x8), SW thermal slowdown (0x20), HW thermal slowdown (0x40)
 * and HW power brake slowdown (0x80): each means the GPU runs slower than the work asks because of
 * heat, an external power-brake signal or a hardware protection, which an operator can act on.
 * Ignored: GPU idle (0x1, set on every idle GPU), applications clocks setting (0x2, set whenever
 * application clocks are pinned), sync boost (0x10) and display clock setting (0x100): none of them
 * is throttling. SW power cap (0x4) is ignored too: a GPU at full load sits at its power limit by
 * design (clocks settle where the board power equals the limit), so the bit is set on every busy
 * GPU and says the GPU is fully used, not that something is wrong. Stateless; thread-safe.
 */
public final class ThrottleReasons {

  public static final long GPU_IDLE = 0x1L;
  public static final long APPLICATIONS_CLOCKS_SETTING = 0x2L;
  public static final long SW_POWER_CAP = 0x4L;
  public static final long HW_SLOWDOWN = 0x8L;
  public static final long SYNC_BOOST = 0x10L;
  public static final long SW_THERMAL_SLOWDOWN = 0x20L;
  public static final long HW_THERMAL_SLOWDOWN = 0x40L;
  public static final long HW_POWER_BRAKE_SLOWDOWN = 0x80L;
  public static final long DISPLAY_CLOCK_SETTING = 0x100L;

  /** The bits counted as throttling unless configured otherwise: 0xe8. */
  public static final long DEFAULT_COUNTED =
      HW_SLOWDOWN | SW_THERMAL_SLOWDOWN | HW_THERMAL_SLOWDOWN | HW_POWER_BRAKE_SLOWDOWN;

  private static final long[] BITS = {
    HW_THERMAL_SLOWDOWN,
    SW_THERMAL_SLOWDOWN,
    HW_POWER_BRAKE_SLOWDOWN,
    HW_SLOWDOWN,
    SW_POWER_CAP,
    SYNC_BOOST,
    APPLICATIONS_CLOCKS_SETTING,
    DISPLAY_CLOCK_SETTING,
    GPU_IDLE
  };

  private static final String[] NAMES = {
    "HW thermal slowdown",
    "SW thermal slowdown",
    "HW power brake slowdown",
    "HW slowdown",
    "SW power cap",
    "sync boost",
    "applications clocks setting",
    "display clock setting",
    "GPU idle"
  };

  private ThrottleReasons() {}

  /**
   * The reasons of {@code mask} in words, most severe first, comma-separated; an unknown bit as its
   * hex value; "none" for 0.
   */
  public static String describe(long mask) {
    List<String> out = new ArrayList<>();
    long rest = mask;
    for (int i = 0; i < BITS.length; i++) {
      if ((mask & BITS[i]) != 0) {
        out.add(NAMES[i]);
        rest &= ~BITS[i];
      }
    }
    for (long bit = 1; rest != 0; bit <<= 1) {
      if ((rest & bit) != 0) {
        out.add(String.format(Locale.ROOT, "reason 0x%x", bit));
        rest &= ~bit;
      }
    }
    return out.isEmpty() ? "none" : String.join(", ", out);
  }
}
