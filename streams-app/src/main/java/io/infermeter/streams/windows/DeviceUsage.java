package io.infermeter.streams.windows;

import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a window's requests took of each device key (a GPU or MIG id, a pod behind {@link
 * RequestAccumulator#POD_DEVICE_PREFIX}, or "" for requests that named neither): their in-flight
 * time clipped to the window, their count and output tokens ({@link Device}), and when they were in
 * flight ({@link Occupancy}, the busy time the energy task attributes by). Both maps have the same
 * keys. Beyond a cap, new keys are counted under {@value RequestAccumulator#OTHER}. Part of {@code
 * RequestAccumulator}, whose codec persists the devices and occupancies. Mutable, not thread-safe.
 */
public final class DeviceUsage {

  /** One device key's usage in the window. */
  public static final class Device {
    /** In-flight time of the window's requests clipped to the window, microseconds. */
    public long requestUs;

    /** Requests recorded in the window on this key. */
    public long requests;

    /** Their output tokens. */
    public long outputTokens;

    Device(long requestUs, long requests, long outputTokens) {
      this.requestUs = requestUs;
      this.requests = requests;
      this.outputTokens = outputTokens;
    }

    Device plus(Device o) {
      return new Device(
          requestUs + o.requestUs, requests + o.requests, outputTokens + o.outputTokens);
    }

    /** {requestUs, requests, outputTokens}: the energy input's layout. */
    public long[] toArray() {
      return new long[] {requestUs, requests, outputTokens};
    }
  }

  private final Map<String, Device> devices = new HashMap<>();
  private final Map<String, Occupancy> occupancy = new HashMap<>();

  /**
   * Whether a request on {@code device} is counted under its own key: it is known, or the window
   * has fewer than {@code cap} named keys. Otherwise it goes under {@value
   * RequestAccumulator#OTHER}.
   */
  public boolean fits(String device, int cap) {
    return devices.containsKey(device)
        || devices.size() < cap + (devices.containsKey(RequestAccumulator.OTHER) ? 1 : 0);
  }

  /**
   * Records one request under {@code key}: in flight over [{@code fromUs}, {@code toUs}), recorded
   * in the window [{@code windowStartMs}, {@code windowStartMs + windowSizeMs}), with {@code
   * outputTokens}; in-flight time up to {@code lookbackMs} before the window is kept. Returns the
   * change of the key's busy time in the window, microseconds.
   */
  public long add(
      String key,
      long fromUs,
      long toUs,
      long outputTokens,
      long windowStartMs,
      long windowSizeMs,
      long lookbackMs) {
    Device d = devices.get(key);
    if (d == null) {
      d = new Device(0, 0, 0);
      devices.put(key, d);
    }
    long ownStartUs = windowStartMs * 1000;
    d.requestUs +=
        Math.max(
            0, Math.min(toUs, ownStartUs + windowSizeMs * 1000) - Math.max(fromUs, ownStartUs));
    d.requests++;
    d.outputTokens += outputTokens;
    Occupancy o = occupancy.get(key);
    if (o == null) {
      o = new Occupancy();
      occupancy.put(key, o);
    }
    return o.add(fromUs, toUs, windowStartMs, windowSizeMs, lookbackMs);
  }

  /**
   * Appends {@code later}, the usage of a consecutive part of the same window (a 10 s window into
   * its 1 min window): counts added, occupancies appended at their offsets; beyond {@code cap}
   * named keys the ones with the fewest requests fold into {@value RequestAccumulator#OTHER}, with
   * their occupancy (a union: a lower bound for several devices). Each key's clipped request time
   * is then its own window's part, as when the later part's requests were recorded here directly.
   */
  public void append(
      DeviceUsage later, long windowStartMs, long windowSizeMs, long lookbackMs, int cap) {
    later.devices.forEach(
        (k, v) -> {
          Device mine = devices.get(k);
          devices.put(
              k, mine == null ? new Device(v.requestUs, v.requests, v.outputTokens) : mine.plus(v));
        });
    later.occupancy.forEach(
        (k, v) ->
            occupancy
                .computeIfAbsent(k, x -> new Occupancy())
                .append(v, windowStartMs, windowSizeMs, lookbackMs));
    RequestAccumulator.foldSmallest(devices, cap, d -> d.requests, Device::plus);
    for (String k : List.copyOf(occupancy.keySet())) {
      if (!devices.containsKey(k)) {
        Occupancy o = occupancy.remove(k);
        occupancy
            .computeIfAbsent(RequestAccumulator.OTHER, x -> new Occupancy())
            .merge(o, windowSizeMs);
      }
    }
    occupancy.forEach(
        (k, o) -> {
          Device d = devices.get(k);
          Occupancy.Part own = o.parts.get(windowStartMs);
          if (d != null && own != null) {
            d.requestUs = own.requestUs;
          }
        });
  }

  /** Sum over the keys of their busy time in the window, microseconds. */
  public long busyUs(long windowStartMs, long windowSizeMs) {
    long sum = 0;
    for (Occupancy o : occupancy.values()) {
      sum += o.busyUs(windowStartMs, windowSizeMs);
    }
    return sum;
  }

  /** The devices by key (a read-only view). */
  public Map<String, Device> devices() {
    return Collections.unmodifiableMap(devices);
  }

  /** The occupancies by key (a read-only view). */
  public Map<String, Occupancy> occupancy() {
    return Collections.unmodifiableMap(occupancy);
  }

  /** The usage of {@code key}, or null. */
  public Device device(String key) {
    return devices.get(key);
  }

  /** Sets a key's counts (the codec's read, tests). */
  public void put(String key, long requestUs, long requests, long outputTokens) {
    devices.put(key, new Device(requestUs, requests, outputTokens));
  }

  /** Sets a key's occupancy (the codec's read, tests). */
  public void putOccupancy(String key, Occupancy o) {
    occupancy.put(key, o);
  }

  /**
   * For state written without occupancy: each key's clipped request time as one busy run from the
   * window start, capped at the window (the busy fraction it was attributed by).
   */
  void occupancyFromSummedBusy(long windowStartMs, long windowSizeMs) {
    devices.forEach(
        (k, v) ->
            occupancy.put(k, Occupancy.fromSummedBusy(v.requestUs, windowStartMs, windowSizeMs)));
  }
}
