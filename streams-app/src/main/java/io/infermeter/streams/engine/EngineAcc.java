package io.infermeter.streams.engine;

import io.infermeter.avro.EngineSample;
import io.infermeter.streams.state.Codec;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * One engine instance's samples in one host window: the highest and the latest KV-cache usage, the
 * waiting queue at the window's start and end, the preemptions counted in the window. The queue's
 * start is the instance's previous sample when it lies at most one window before the window start
 * (with the default 10 s scrape interval a 10 s window holds one sample, so "rising over the
 * window" needs the sample before it), else the window's first sample. Preemptions are the sum of
 * the counter's non-negative deltas between consecutive samples; a drop is an engine restart,
 * counted in {@code counterResets} and not a negative count. Units: us, counts, ratio 0-1; -1 and
 * NaN mean not reported. Mutable, not thread-safe (one task).
 */
public final class EngineAcc {

  public String engine = "";
  public String model = "";
  public String pod = "";
  public int samples;
  public double kvMax = Double.NaN;
  public double kvLast = Double.NaN;
  long kvLastTsUs = Long.MIN_VALUE;
  public long waitingStart = -1;
  long waitingStartTsUs = Long.MAX_VALUE;
  public long waitingEnd = -1;
  long waitingEndTsUs = Long.MIN_VALUE;
  public long runningMax = -1;
  public long preemptions;
  public int counterResets;

  /**
   * Adds {@code s}; {@code prev} is the instance's previous sample when {@code s} is newer than it
   * (null otherwise), {@code windowStartUs} and {@code windowSizeUs} bound the window {@code s} is
   * added to.
   */
  public void add(EngineSample s, EngineLast prev, long windowStartUs, long windowSizeUs) {
    long t = s.getTimestampUs();
    samples++;
    engine = s.getEngine();
    if (s.getModel() != null) {
      model = s.getModel();
    }
    if (s.getPod() != null) {
      pod = s.getPod();
    }
    Double kv = s.getKvCacheUsage();
    if (kv != null) {
      kvMax = Double.isNaN(kvMax) ? kv : Math.max(kvMax, kv);
      if (t >= kvLastTsUs) {
        kvLast = kv;
        kvLastTsUs = t;
      }
    }
    Long running = s.getRequestsRunning();
    if (running != null) {
      runningMax = Math.max(runningMax, running);
    }
    Long waiting = s.getRequestsWaiting();
    if (waiting != null) {
      if (prev != null
          && prev.waiting() >= 0
          && prev.tsUs() >= windowStartUs - windowSizeUs
          && prev.tsUs() < waitingStartTsUs) {
        waitingStart = prev.waiting();
        waitingStartTsUs = prev.tsUs();
      }
      if (t < waitingStartTsUs) {
        waitingStart = waiting;
        waitingStartTsUs = t;
      }
      if (t >= waitingEndTsUs) {
        waitingEnd = waiting;
        waitingEndTsUs = t;
      }
    }
    Long total = s.getPreemptionsTotal();
    if (total != null && prev != null && prev.preemptionsTotal() >= 0) {
      long d = total - prev.preemptionsTotal();
      if (d >= 0) {
        preemptions += d;
      } else {
        counterResets++;
      }
    }
  }

  /**
   * Requests waiting at the window's end minus at its start; 0 when the instance reports no queue.
   */
  public long waitingGrowth() {
    return waitingStart < 0 || waitingEnd < 0 ? 0 : waitingEnd - waitingStart;
  }

  void write(DataOutput out) throws IOException {
    Codec.writeString(out, engine);
    Codec.writeString(out, model);
    Codec.writeString(out, pod);
    out.writeInt(samples);
    out.writeDouble(kvMax);
    out.writeDouble(kvLast);
    out.writeLong(kvLastTsUs);
    out.writeLong(waitingStart);
    out.writeLong(waitingStartTsUs);
    out.writeLong(waitingEnd);
    out.writeLong(waitingEndTsUs);
    out.writeLong(runningMax);
    out.writeLong(preemptions);
    out.writeInt(counterResets);
  }

  static EngineAcc read(DataInput in) throws IOException {
    EngineAcc a = new EngineAcc();
    a.engine = Codec.readString(in);
    a.model = Codec.readString(in);
    a.pod = Codec.readString(in);
    a.samples = in.readInt();
    a.kvMax = in.readDouble();
    a.kvLast = in.readDouble();
    a.kvLastTsUs = in.readLong();
    a.waitingStart = in.readLong();
    a.waitingStartTsUs = in.readLong();
    a.waitingEnd = in.readLong();
    a.waitingEndTsUs = in.readLong();
    a.runningMax = in.readLong();
    a.preemptions = in.readLong();
    a.counterResets = in.readInt();
    return a;
  }

  /**
   * Writes {@code engines} (instance -> accumulator) as a count and entries, for the host window
   * codec.
   */
  public static void writeAll(DataOutput out, java.util.Map<String, EngineAcc> engines)
      throws IOException {
    out.writeInt(engines.size());
    for (java.util.Map.Entry<String, EngineAcc> e : engines.entrySet()) {
      Codec.writeString(out, e.getKey());
      e.getValue().write(out);
    }
  }

  /** Reads what {@link #writeAll} wrote into {@code engines}. */
  public static void readAll(DataInput in, java.util.Map<String, EngineAcc> engines)
      throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("negative engine count " + n);
    }
    for (int i = 0; i < n; i++) {
      String instance = Codec.readString(in);
      engines.put(instance, read(in));
    }
  }
}
