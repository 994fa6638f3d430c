package io.infermeter.streams.latency;

import io.infermeter.streams.state.Codec;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * The slowest {@value #K} requests of one latency distribution (one metric and cohort of a window):
 * value, event id and request id, slowest first. Slowest is the largest value, or the lowest for a
 * metric where {@code lowerIsSlower} (the token rates). Ties go to the smaller event id, so the
 * result does not depend on the order requests or partials arrive in. Recording a request that is
 * not among the slowest is one comparison and allocates nothing. Not thread-safe.
 */
public final class Exemplars {

  /** How many requests are kept per metric and cohort. */
  public static final int K = 3;

  private final long[] values = new long[K];
  private final String[] eventIds = new String[K];
  private final String[] requestIds = new String[K];
  private int size;

  public int size() {
    return size;
  }

  /** The {@code i}-th slowest value (0 = slowest). */
  public long value(int i) {
    return values[check(i)];
  }

  public String eventId(int i) {
    return eventIds[check(i)];
  }

  /** The request id of the {@code i}-th slowest; null when that request had none. */
  public String requestId(int i) {
    return requestIds[check(i)];
  }

  private int check(int i) {
    if (i < 0 || i >= size) {
      throw new IndexOutOfBoundsException(i);
    }
    return i;
  }

  /** Keeps the request when it is among the {@value #K} slowest so far. */
  public void offer(long value, String eventId, String requestId, boolean lowerIsSlower) {
    if (size == K && !slower(value, eventId, K - 1, lowerIsSlower)) {
      return;
    }
    int i = size < K ? size++ : K - 1;
    while (i > 0 && slower(value, eventId, i - 1, lowerIsSlower)) {
      values[i] = values[i - 1];
      eventIds[i] = eventIds[i - 1];
      requestIds[i] = requestIds[i - 1];
      i--;
    }
    values[i] = value;
    eventIds[i] = eventId;
    requestIds[i] = requestId;
  }

  /** Keeps the {@value #K} slowest of this and {@code other}. */
  public void merge(Exemplars other, boolean lowerIsSlower) {
    for (int i = 0; i < other.size; i++) {
      offer(other.values[i], other.eventIds[i], other.requestIds[i], lowerIsSlower);
    }
  }

  /** Whether (value, eventId) ranks before the kept entry {@code i}. */
  private boolean slower(long value, String eventId, int i, boolean lowerIsSlower) {
    if (value != values[i]) {
      return lowerIsSlower ? value < values[i] : value > values[i];
    }
    return eventId.compareTo(eventIds[i]) < 0;
  }

  public void write(DataOutput out) throws IOException {
    out.writeByte(size);
    for (int i = 0; i < size; i++) {
      out.writeLong(values[i]);
      Codec.writeString(out, eventIds[i]);
      out.writeBoolean(requestIds[i] != null);
      if (requestIds[i] != null) {
        Codec.writeString(out, requestIds[i]);
      }
    }
  }

  /** Reads what {@link #write} wrote into this (empty) instance. */
  public void read(DataInput in) throws IOException {
    int n = in.readByte();
    if (n < 0 || n > K) {
      throw new IOException("exemplar count " + n + " outside 0.." + K);
    }
    for (int i = 0; i < n; i++) {
      values[i] = in.readLong();
      eventIds[i] = Codec.readString(in);
      requestIds[i] = in.readBoolean() ? Codec.readString(in) : null;
    }
    size = n;
  }
}
