package io.infermeter.streams.state;

import java.util.Arrays;

/**
 * A grow-only set of longs (open addressing, linear probing, load factor at most 1/2): about 16-32
 * bytes per element and no object per element. The value {@link Long#MIN_VALUE} marks an empty
 * slot, so it cannot be stored; callers map it to another value. Not thread-safe.
 */
final class LongHashSet {

  private static final long EMPTY = Long.MIN_VALUE;

  private long[] slots;
  private int size;

  LongHashSet() {
    slots = new long[1024];
    Arrays.fill(slots, EMPTY);
  }

  int size() {
    return size;
  }

  /** Adds {@code v}; false when it was present already. */
  boolean add(long v) {
    if (v == EMPTY) {
      throw new IllegalArgumentException("Long.MIN_VALUE cannot be stored");
    }
    if ((size + 1) * 2 > slots.length) {
      resize(slots.length * 2);
    }
    int mask = slots.length - 1;
    for (int i = index(v, mask); ; i = (i + 1) & mask) {
      long s = slots[i];
      if (s == v) {
        return false;
      }
      if (s == EMPTY) {
        slots[i] = v;
        size++;
        return true;
      }
    }
  }

  private void resize(int capacity) {
    long[] old = slots;
    slots = new long[capacity];
    Arrays.fill(slots, EMPTY);
    int mask = capacity - 1;
    for (long v : old) {
      if (v != EMPTY) {
        int i = index(v, mask);
        while (slots[i] != EMPTY) {
          i = (i + 1) & mask;
        }
        slots[i] = v;
      }
    }
  }

  private static int index(long v, int mask) {
    long h = v * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }
}
