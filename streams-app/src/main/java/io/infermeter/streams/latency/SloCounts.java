package io.infermeter.streams.latency;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A window's requests and good requests (those that met every threshold of their class) per SLO
 * class, in class-name order: the goodput and attainment of {@link Goodput#stats} and the error
 * budget the SLO burn rule spends. Part of {@code RequestAccumulator}, whose codec persists the
 * classes in this order. Mutable, not thread-safe.
 */
public final class SloCounts {

  /** One class's counts. */
  public static final class Counts {
    /** Requests judged against the class. */
    public long requests;

    /** Of those, the successful ones within every threshold. */
    public long good;

    Counts(long requests, long good) {
      this.requests = requests;
      this.good = good;
    }
  }

  private final SortedMap<String, Counts> byClass = new TreeMap<>();

  /** Counts one request of {@code sloClass}; {@code good} when it met the class. */
  public void add(String sloClass, boolean good) {
    Counts c = byClass.get(sloClass);
    if (c == null) {
      c = new Counts(0, 0);
      byClass.put(sloClass, c);
    }
    c.requests++;
    if (good) {
      c.good++;
    }
  }

  /** Sets a class's counts (the codec's read). */
  public void put(String sloClass, long requests, long good) {
    byClass.put(sloClass, new Counts(requests, good));
  }

  /** Adds {@code other}'s counts class by class. */
  public void merge(SloCounts other) {
    other.byClass.forEach(
        (name, o) -> {
          Counts c = byClass.get(name);
          if (c == null) {
            byClass.put(name, new Counts(o.requests, o.good));
          } else {
            c.requests += o.requests;
            c.good += o.good;
          }
        });
  }

  /** The counts per class, in class-name order (a read-only view). */
  public SortedMap<String, Counts> byClass() {
    return Collections.unmodifiableSortedMap(byClass);
  }

  /** The counts of {@code sloClass}, or null when none of its requests were counted. */
  public Counts get(String sloClass) {
    return byClass.get(sloClass);
  }

  /** Requests over every class. */
  public long requests() {
    long n = 0;
    for (Counts c : byClass.values()) {
      n += c.requests;
    }
    return n;
  }

  /** Good requests over every class. */
  public long good() {
    long n = 0;
    for (Counts c : byClass.values()) {
      n += c.good;
    }
    return n;
  }
}
