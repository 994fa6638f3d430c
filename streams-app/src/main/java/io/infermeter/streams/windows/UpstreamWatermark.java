package io.infermeter.streams.windows;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * How far every upstream request task has got, as seen by one fleet task: each host partial
 * carries, in two record headers, the id of the task that closed it and that task's stream time at
 * the moment. A task emits all partials of a close pass before any later one, and a partition keeps
 * their order, so once every upstream task has reported a stream time past a window's end + grace,
 * every partial of that window has arrived. The watermark is therefore the minimum over upstream
 * tasks of (reported stream time - upstream grace). Closing fleet windows by it instead of by the
 * newest partial keeps a task that runs ahead (catching up on a backlog, event time many times
 * faster than real time) from closing windows the others have not reported yet.
 *
 * <p>A task that has not reported for {@code idleMs} of wall-clock time is left out (it stopped
 * serving this partition's models, or it is gone), so an idle upstream does not hold every window
 * open; if all are idle the newest report counts. Reports are kept in the fleet task's meta store,
 * so a restart resumes with them. On a first start (nothing restored) it cannot know a task that
 * has not reported yet, so it closes nothing until every expected task (the request topic's
 * partition count, when known) has reported, or {@code idleMs} has passed. A partial without the
 * headers (written by an older version) reports its own window end under the task id "unknown". Not
 * thread-safe.
 */
final class UpstreamWatermark {

  static final String TASK_HEADER = "infermeter.upstream.task";
  static final String TIME_HEADER = "infermeter.upstream.stream-time-ms";
  private static final String PREFIX = "upstream|";

  private final java.util.function.Supplier<Map<String, Long>> restore;
  private final java.util.function.BiConsumer<String, Long> persist;
  private final long graceMs;
  private final long idleMs;
  private final int expectedTasks;
  private final long startedAtMs;

  /** task -> {reported stream time ms, wall-clock ms of the report}. */
  private final Map<String, long[]> tasks = new HashMap<>();

  private boolean loaded;
  private boolean restoredAny;

  /**
   * @param restore the reports kept so far (task -> stream time), read on first use
   * @param persist keeps a task's newest report
   */
  UpstreamWatermark(
      java.util.function.Supplier<Map<String, Long>> restore,
      java.util.function.BiConsumer<String, Long> persist,
      long upstreamGraceMs,
      long idleMs,
      int expectedTasks,
      long startedAtMs) {
    this.restore = restore;
    this.persist = persist;
    this.graceMs = upstreamGraceMs;
    this.idleMs = idleMs;
    this.expectedTasks = expectedTasks;
    this.startedAtMs = startedAtMs;
  }

  /** Reports kept in {@code meta} under keys "upstream|task". */
  static UpstreamWatermark inStore(
      KeyValueStore<String, Long> meta,
      long upstreamGraceMs,
      long idleMs,
      int expectedTasks,
      long startedAtMs) {
    return new UpstreamWatermark(
        () -> {
          Map<String, Long> m = new HashMap<>();
          try (KeyValueIterator<String, Long> it =
              meta.prefixScan(
                  PREFIX, new org.apache.kafka.common.serialization.StringSerializer())) {
            while (it.hasNext()) {
              var kv = it.next();
              m.put(kv.key.substring(PREFIX.length()), kv.value);
            }
          }
          return m;
        },
        (task, t) -> meta.put(PREFIX + task, t),
        upstreamGraceMs,
        idleMs,
        expectedTasks,
        startedAtMs);
  }

  /**
   * Adds the headers an upstream task puts on a partial to {@code partial}'s own (mutable) headers
   * and returns it; built on the public {@link Record} API, which owns a fresh header set per
   * record.
   */
  static <K, V> Record<K, V> stamped(Record<K, V> partial, String taskId, long streamTimeMs) {
    partial
        .headers()
        .add(TASK_HEADER, taskId.getBytes(StandardCharsets.UTF_8))
        .add(TIME_HEADER, ByteBuffer.allocate(8).putLong(streamTimeMs).array());
    return partial;
  }

  /** Records the report a partial carries (or its window end when it carries none). */
  void report(Headers headers, long windowEndMs, long nowMs) {
    load(nowMs);
    Header task = headers == null ? null : headers.lastHeader(TASK_HEADER);
    Header time = headers == null ? null : headers.lastHeader(TIME_HEADER);
    String id = "unknown";
    long t = windowEndMs + graceMs;
    if (task != null && time != null && time.value() != null && time.value().length == 8) {
      id = new String(task.value(), StandardCharsets.UTF_8);
      t = ByteBuffer.wrap(time.value()).getLong();
    }
    long[] r = tasks.computeIfAbsent(id, k -> new long[] {Long.MIN_VALUE, nowMs});
    if (t > r[0]) {
      r[0] = t;
      persist.accept(id, t);
    }
    r[1] = nowMs;
  }

  /**
   * Min over upstream tasks heard from within {@code idleMs} of (reported stream time - grace); -1
   * before any, and -1 on a first start (nothing restored) until every expected task has reported
   * or {@code idleMs} has passed since the start (when the count is unknown, 0, until {@code
   * idleMs} has passed).
   */
  long watermark(long nowMs) {
    load(nowMs);
    if (!restoredAny
        && nowMs - startedAtMs < idleMs
        && (expectedTasks == 0 || known() < expectedTasks)) {
      return -1;
    }
    long min = Long.MAX_VALUE;
    long newest = -1;
    for (long[] r : tasks.values()) {
      newest = Math.max(newest, r[0]);
      if (nowMs - r[1] <= idleMs) {
        min = Math.min(min, r[0]);
      }
    }
    long t = min == Long.MAX_VALUE ? newest : min;
    return t < 0 ? -1 : t - graceMs;
  }

  private void load(long nowMs) {
    if (loaded) {
      return;
    }
    restore.get().forEach((task, t) -> tasks.put(task, new long[] {t, nowMs}));
    restoredAny = !tasks.isEmpty();
    loaded = true;
  }

  /** Upstream tasks that have reported (partials without headers not counted). */
  private int known() {
    return tasks.size() - (tasks.containsKey("unknown") ? 1 : 0);
  }
}
