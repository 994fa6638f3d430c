package io.infermeter.bench.capacity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProcCpuTest {

  @Test
  void ticksAreUtimePlusStime() {
    String line =
        "12751 (java) S 1 12700 12700 0 -1 4194560 90000 0 12 0 4500 321 0 0 20 0 107 0 9876"
            + " 4000000000 100000 18446744073709551615 1 1 0 0 0 0 0 4096 16384 0 0 0 17 1 0 0"
            + " 0 0 0";
    assertThat(ProcCpu.ticks(line)).isEqualTo(4821);
  }

  @Test
  void aCommandNameWithSpacesAndParenthesesIsSkipped() {
    String line = "42 (my (odd) name) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0";
    assertThat(ProcCpu.ticks(line)).isEqualTo(10);
  }

  @Test
  void notAStatLine() {
    assertThatThrownBy(() -> ProcCpu.ticks("nonsense"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void machineBusyLeavesOutIdleAndIowait() {
    // user nice system idle iowait irq softirq steal guest guest_nice
    long[] t = ProcCpu.machineTicks("cpu  100 5 50 800 20 3 2 0 0 0");
    assertThat(t[1]).isEqualTo(980);
    assertThat(t[0]).isEqualTo(160);
  }

  @Test
  void ownProcessHasCpuTime() {
    assertThat(ProcCpu.processNanos(ProcessHandle.current().pid())).isPresent();
    assertThat(ProcCpu.processNanos(Long.MAX_VALUE)).isEmpty();
  }
}
