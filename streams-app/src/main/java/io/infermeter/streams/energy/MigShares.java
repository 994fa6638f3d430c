package io.infermeter.streams.energy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The share of its parent GPU each MIG instance of a host window takes: its GPU slices over the
 * parent's (a 3g.40gb instance of an H100 takes 3/7 of the H100's energy and price). When the
 * instances of one parent claim more slices than it has, each takes its slices over their sum. The
 * parent keeps the rest (its free slices). An instance without a parent or known slices takes no
 * share. Stateless.
 */
final class MigShares {

  private MigShares() {}

  /** MIG instance device id -> its fraction of its parent, for the instances with known slices. */
  static Map<String, Double> of(HostWindow w) {
    Map<String, List<String>> byParent = new HashMap<>();
    for (Map.Entry<String, HostWindow.DeviceAcc> e : w.devices.entrySet()) {
      HostWindow.DeviceAcc d = e.getValue();
      if (d.kind.equals("MIG") && !d.parent.isEmpty() && d.migSlices > 0) {
        byParent.computeIfAbsent(d.parent, k -> new ArrayList<>()).add(e.getKey());
      }
    }
    Map<String, Double> out = new HashMap<>();
    for (List<String> children : byParent.values()) {
      int total = 0;
      int claimed = 0;
      for (String c : children) {
        HostWindow.DeviceAcc d = w.devices.get(c);
        total = Math.max(total, d.migSlicesTotal);
        claimed += d.migSlices;
      }
      int denominator = Math.max(total, claimed);
      for (String c : children) {
        out.put(c, (double) w.devices.get(c).migSlices / denominator);
      }
    }
    return out;
  }

  /** Whether {@code deviceId} is the parent of an instance in {@code shares}. */
  static boolean isParent(Map<String, Double> shares, HostWindow w, String deviceId) {
    for (String c : shares.keySet()) {
      if (w.devices.get(c).parent.equals(deviceId)) {
        return true;
      }
    }
    return false;
  }
}
