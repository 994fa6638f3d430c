package io.infermeter.bench.capacity;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * CPU time from Linux's /proc: a process's utime + stime ({@code /proc/<pid>/stat}, all of its
 * threads, JIT compiler and GC included) and the whole machine's busy and total time ({@code
 * /proc/stat}). Both count in clock ticks of {@link #TICK_NANOS} (USER_HZ, 100 per second on
 * Linux).
 */
final class ProcCpu {

  /** One clock tick (USER_HZ = 100 on Linux), nanoseconds. */
  static final long TICK_NANOS = 10_000_000L;

  private ProcCpu() {}

  /**
   * utime + stime, in clock ticks, of one line of {@code /proc/<pid>/stat}. The command name (field
   * 2, in parentheses) may hold spaces and parentheses, so the fields are counted from the last
   * ')'.
   */
  static long ticks(String statLine) {
    int close = statLine.lastIndexOf(')');
    if (close < 0) {
      throw new IllegalArgumentException("not a /proc/<pid>/stat line: " + statLine);
    }
    // after ") ": state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8) flags(9) minflt(10)
    // cminflt(11) majflt(12) cmajflt(13) utime(14) stime(15)
    String[] f = statLine.substring(close + 2).trim().split(" +", -1);
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /** CPU time of process {@code pid}, nanoseconds; empty when it is gone or unreadable. */
  static OptionalLong processNanos(long pid) {
    try {
      String line = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      return OptionalLong.of(ticks(line) * TICK_NANOS);
    } catch (IOException | RuntimeException e) {
      return OptionalLong.empty();
    }
  }

  /**
   * {busy, total} clock ticks of all cores together from the first ("cpu ") line of /proc/stat:
   * total = user + nice + system + idle + iowait + irq + softirq + steal; busy = total - idle -
   * iowait.
   */
  static long[] machineTicks(String cpuLine) {
    String[] f = cpuLine.trim().split(" +", -1);
    if (!f[0].equals("cpu")) {
      throw new IllegalArgumentException("not the cpu line of /proc/stat: " + cpuLine);
    }
    long total = 0;
    for (int i = 1; i <= 8 && i < f.length; i++) {
      total += Long.parseLong(f[i]);
    }
    long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
    return new long[] {total - idle, total};
  }

  /** {@link #machineTicks} of this machine now; {0, 0} when /proc/stat is unreadable. */
  static long[] machineTicks() {
    try {
      String first = Files.readAllLines(Path.of("/proc/stat"), StandardCharsets.US_ASCII).get(0);
      return machineTicks(first);
    } catch (IOException | RuntimeException e) {
      return new long[] {0, 0};
    }
  }

  /** The 1-minute load average (/proc/loadavg); NaN when unreadable. */
  static double loadAverage1m() {
    try {
      return Double.parseDouble(
          Files.readString(Path.of("/proc/loadavg")).trim().split(" ", -1)[0]);
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }
}
