package io.infermeter.bench.streams;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where the stream thread's time goes, per stage of the topology, from a JFR recording of one
 * measured pass of {@link StreamsThroughputBenchmark} ({@code -Dprofile=<file.jfr>}).
 *
 * <p>Each execution sample of a stream thread (a name ending in the given part and digits, {@code
 * -StreamThread-<n>} by default; see {@link #isStreamThread}) is assigned to ONE stage: its stack
 * is walked from the top frame down, and the first frame ({@code class.method}, inlined frames
 * included) that starts with a rule's prefix decides; within one frame the rules are tried in the
 * order of {@link #RULES}. Frames no rule names (the JDK, Kafka's network and record classes,
 * Avro's generic data classes) are passed over, so their time goes to the caller that a rule names:
 * a {@code HashMap.get} under the window processor is window bookkeeping, a {@code String.hashCode}
 * under the Avro deserializer is decoding. A stack with no named frame is "other".
 *
 * <p>Usage: {@code StageBreakdown <file.jfr> [thread-name-part=-StreamThread-]
 * [stream-thread-CPU-us-per-event]}; the last argument overrides the figure the benchmark writes
 * into the recording ({@value #PASS_EVENT} event). Prints per stage: execution samples, their share
 * of the stream thread's samples, that share times the stream thread's CPU per event, and the
 * allocation samples' bytes per event; then the most frequent top frames of "other" and of the
 * Kafka Streams framework stage, and the stream thread's native-method samples by stage. A second
 * table cuts the same samples by their entry into infermeter's code ({@link #entry}): which
 * processor, punctuator, serde or store method the time was spent under. {@code -Dwithin=<text>}
 * keeps only the samples with a frame containing the text (e.g. {@code
 * RequestWindowProcessor.emit}); shares stay shares of all the stream thread's samples. Per stage
 * it also lists the deciding frames ({@code -Dtop=<n>}, default 6; {@code -Dleaves=true} adds each
 * with the sampled top frame).
 */
public final class StageBreakdown {

  /** The JFR event the benchmark commits when a profiled pass is drained. */
  public static final String PASS_EVENT = "io.infermeter.bench.MeasuredPass";

  /** The part of a Kafka Streams stream thread's name that the default filter looks for. */
  public static final String STREAM_THREAD = "-StreamThread-";

  static final String OTHER = "other";

  private static final java.util.regex.Pattern LAMBDA =
      java.util.regex.Pattern.compile("\\$\\$Lambda\\$\\d+[+/]0x[0-9a-f]+(\\.\\d+)?");

  /**
   * One rule: a frame {@code class.method} starting with {@code prefix} belongs to {@code stage}.
   */
  record Rule(String stage, String prefix) {}

  private static final String SP = "org.apache.kafka.streams.processor.internals.";
  private static final String IM = "io.infermeter.streams.";

  /**
   * The stage rules, in the order they are tried on each frame (the more specific first: a commit
   * method of Kafka Streams before the framework, the codecs before the window package).
   */
  static final List<Rule> RULES =
      List.of(
          // commit and transactions: Kafka Streams' commit path and the producer's transactions
          // (what the commit does besides writing state and producing: offsets, markers, waits)
          new Rule("commit/transactions", SP + "TaskManager.commit"),
          new Rule("commit/transactions", SP + "TaskManager.maybeCommit"),
          new Rule("commit/transactions", SP + "TaskManager.commitAll"),
          new Rule("commit/transactions", SP + "TaskExecutor.commit"),
          new Rule("commit/transactions", SP + "StreamThread.maybeCommit"),
          new Rule("commit/transactions", SP + "StreamTask.prepareCommit"),
          new Rule("commit/transactions", SP + "StreamTask.postCommit"),
          new Rule("commit/transactions", SP + "StreamTask.committableOffsetsAndMetadata"),
          new Rule("commit/transactions", SP + "StreamsProducer.commitTransaction"),
          new Rule("commit/transactions", SP + "StreamsProducer.maybeBeginTransaction"),
          new Rule(
              "commit/transactions", "org.apache.kafka.clients.producer.internals.Transaction"),
          new Rule("commit/transactions", "org.apache.kafka.clients.producer.KafkaProducer.commit"),
          new Rule(
              "commit/transactions", "org.apache.kafka.clients.producer.KafkaProducer.beginTrans"),
          new Rule(
              "commit/transactions", "org.apache.kafka.clients.producer.KafkaProducer.sendOffsets"),
          // state: the stores' codecs, write-behind layer, Kafka's store layers, RocksDB (JNI)
          new Rule("state stores + codecs", IM + "state.Codec"),
          new Rule("state stores + codecs", IM + "state.ByteArrayData"),
          new Rule("state stores + codecs", IM + "state.ObjectStore"),
          new Rule("state stores + codecs", IM + "state.WriteBehindStore"),
          new Rule("state stores + codecs", IM + "windows.RequestAccumulatorCodec"),
          new Rule("state stores + codecs", IM + "windows.AccumulatorSerde"),
          new Rule("state stores + codecs", IM + "latency.HistogramSerde"),
          new Rule("state stores + codecs", "org.rocksdb."),
          new Rule("state stores + codecs", "org.apache.kafka.streams.state."),
          // the per-record stages of the topology
          new Rule("dedup", IM + "state.DedupStore"),
          new Rule("dedup", IM + "state.LongHashSet"),
          new Rule("histograms", IM + "latency."),
          new Rule("window bookkeeping", IM + "windows."),
          new Rule("energy", IM + "energy."),
          new Rule("alerts", IM + "alerts."),
          new Rule("other topology (validation, engine, bottleneck)", IM),
          new Rule("no-op processor (floor)", "io.infermeter.bench."),
          // Avro decoding of the input; the generated classes' own decode/encode methods
          new Rule("decode", "io.infermeter.schemas.serde.AvroDeserializer"),
          new Rule("decode", "io.infermeter.avro.RequestEvent.customDecode"),
          new Rule("decode", "org.apache.avro.io.BinaryDecoder"),
          new Rule("decode", "org.apache.avro.io.ResolvingDecoder"),
          new Rule("decode", "org.apache.avro.io.ValidatingDecoder"),
          new Rule("decode", "org.apache.avro.io.ParsingDecoder"),
          new Rule("decode", "org.apache.avro.io.parsing."),
          new Rule("decode", "org.apache.avro.generic.GenericDatumReader"),
          new Rule("decode", "org.apache.avro.specific.SpecificDatumReader"),
          new Rule("decode", "org.apache.kafka.common.serialization.StringDeserializer"),
          new Rule("decode", SP + "RecordDeserializer"),
          // producing: outputs, repartition topics, changelogs (serializers included)
          new Rule("produce/repartition", "io.infermeter.schemas.serde.AvroSerializer"),
          new Rule("produce/repartition", "org.apache.avro.io.BinaryEncoder"),
          new Rule("produce/repartition", "org.apache.avro.io.BufferedBinaryEncoder"),
          new Rule("produce/repartition", "org.apache.avro.io.DirectBinaryEncoder"),
          new Rule("produce/repartition", "org.apache.avro.generic.GenericDatumWriter"),
          new Rule("produce/repartition", "org.apache.avro.specific.SpecificDatumWriter"),
          new Rule("produce/repartition", "org.apache.kafka.common.serialization.StringSerializer"),
          new Rule("produce/repartition", SP + "RecordCollectorImpl"),
          new Rule("produce/repartition", SP + "SinkNode"),
          new Rule("produce/repartition", SP + "StreamsProducer"),
          new Rule("produce/repartition", "org.apache.kafka.clients.producer."),
          // Kafka's metrics (sensors of the consumer, producer and Kafka Streams alike: a sensor
          // is the top named frame wherever it is recorded), the per-record end-to-end latency
          new Rule("Kafka metrics", "org.apache.kafka.common.metrics."),
          new Rule("Kafka metrics", SP + "metrics."),
          new Rule("Kafka metrics", SP + "StreamTask.maybeRecordE2ELatency"),
          // consuming
          new Rule("consume/poll", "org.apache.kafka.clients.consumer."),
          new Rule("Kafka Streams framework", "org.apache.kafka.streams."));

  private StageBreakdown() {}

  /**
   * The stage of one sample: its frames ({@code class.method}, top first) against {@link #RULES}.
   */
  static String classify(List<String> frames) {
    return match(frames).stage();
  }

  /**
   * The entry into infermeter's code: the bottom-most {@code io.infermeter.} frame (the processor,
   * punctuator, serde or store method Kafka Streams called), or null when the stack has none.
   */
  static String entry(List<String> frames) {
    for (int i = frames.size() - 1; i >= 0; i--) {
      if (frames.get(i).startsWith("io.infermeter.")) {
        return frames.get(i);
      }
    }
    return null;
  }

  /**
   * The entry and the next infermeter frame above it ({@code entry > callee}), or the entry alone
   * when the time was spent in the entry method itself or in Kafka and JDK code it called.
   */
  static String entryPath(List<String> frames) {
    for (int i = frames.size() - 1; i >= 0; i--) {
      if (frames.get(i).startsWith("io.infermeter.")) {
        for (int j = i - 1; j >= 0; j--) {
          if (frames.get(j).startsWith("io.infermeter.") && !frames.get(j).equals(frames.get(i))) {
            return frames.get(i) + " > " + frames.get(j);
          }
        }
        return frames.get(i);
      }
    }
    return null;
  }

  /** The stages in the order the table prints them. */
  static List<String> stages() {
    List<String> out = new ArrayList<>();
    for (Rule r : RULES) {
      if (!out.contains(r.stage())) {
        out.add(r.stage());
      }
    }
    out.add(OTHER);
    return out;
  }

  private static final String NO_ENTRY = "(no infermeter frame: Kafka and the JDK)";

  /** {@code io.infermeter.streams.windows.X.m} as {@code windows.X.m}, for the tables. */
  private static String short2(String frame) {
    return frame.replace("io.infermeter.streams.", "").replace("io.infermeter.", "");
  }

  static List<String> frames(RecordedStackTrace st) {
    List<String> out = new ArrayList<>();
    if (st == null) {
      return out;
    }
    for (RecordedFrame f : st.getFrames()) {
      if (f.isJavaFrame() && f.getMethod() != null) {
        // lambdas' hidden classes carry a per-run address: one name per lambda site
        String type = LAMBDA.matcher(f.getMethod().getType().getName()).replaceAll("\\$\\$Lambda");
        out.add(type + "." + f.getMethod().getName());
      }
    }
    return out;
  }

  /**
   * Whether a thread is a stream thread: its name contains {@code part} followed by digits only
   * ({@code <client-id>-StreamThread-1}); the producer's network thread, named {@code
   * kafka-producer-network-thread | <client-id>-StreamThread-1-producer}, is not.
   */
  static boolean isStreamThread(String name, String part) {
    int i = name == null ? -1 : name.lastIndexOf(part);
    return i >= 0 && name.substring(i + part.length()).matches("\\d+");
  }

  private static boolean matches(RecordedThread t, String part) {
    return t != null && isStreamThread(t.getJavaName(), part);
  }

  /** The stage of one sample and the frame that decided it (null for "other"). */
  record Match(String stage, String frame) {}

  /** As {@link #classify}, with the deciding frame. */
  static Match match(List<String> frames) {
    for (String frame : frames) {
      for (Rule r : RULES) {
        if (frame.startsWith(r.prefix())) {
          return new Match(r.stage(), frame);
        }
      }
    }
    return new Match(OTHER, null);
  }

  public static void main(String[] args) throws IOException {
    if (args.length < 1) {
      System.err.println(
          "usage: StageBreakdown <file.jfr> [thread-name-part=-StreamThread-] [cpu-us-per-event]");
      System.exit(2);
    }
    Path file = Path.of(args[0]);
    String part = args.length > 1 ? args[1] : STREAM_THREAD;
    int topN = Integer.getInteger("top", 6);
    Map<String, Long> samples = new HashMap<>();
    Map<String, Long> nativeSamples = new HashMap<>();
    Map<String, Long> allocBytes = new HashMap<>();
    Map<String, Long> otherTops = new HashMap<>();
    Map<String, Long> frameworkTops = new HashMap<>();
    Map<String, Long> nativeTops = new HashMap<>();
    Map<String, Map<String, Long>> deciding = new HashMap<>();
    Map<String, Long> entries = new HashMap<>();
    Map<String, Long> entryPaths = new HashMap<>();
    Map<String, Map<String, Long>> decidingMethod = new HashMap<>();
    long total = 0;
    long selected = 0;
    String within = System.getProperty("within");
    long events = 0;
    long cpuNanos = 0;
    double drainedRate = 0;
    String mode = "?";
    long periodNanos = 0;
    long first = Long.MAX_VALUE;
    long last = 0;
    try (RecordingFile rf = new RecordingFile(file)) {
      while (rf.hasMoreEvents()) {
        RecordedEvent e = rf.readEvent();
        String type = e.getEventType().getName();
        switch (type) {
          case "jdk.ExecutionSample" -> {
            if (!matches(e.getThread("sampledThread"), part)) {
              continue;
            }
            total++;
            long t = e.getStartTime().toEpochMilli();
            first = Math.min(first, t);
            last = Math.max(last, t);
            List<String> frames = frames(e.getStackTrace());
            if (within != null && frames.stream().noneMatch(f -> f.contains(within))) {
              continue;
            }
            selected++;
            Match m = match(frames);
            String stage = m.stage();
            samples.merge(stage, 1L, Long::sum);
            String in = entry(frames);
            String path = entryPath(frames);
            entryPaths.merge(path == null ? NO_ENTRY : short2(path), 1L, Long::sum);
            entries.merge(in == null ? NO_ENTRY : short2(in), 1L, Long::sum);
            if (m.frame() != null) {
              deciding
                  .computeIfAbsent(stage, k -> new HashMap<>())
                  .merge(
                      m.frame()
                          + (frames.get(0).equals(m.frame()) ? "" : " (via " + frames.get(0) + ")"),
                      1L,
                      Long::sum);
              decidingMethod
                  .computeIfAbsent(stage, k -> new HashMap<>())
                  .merge(m.frame(), 1L, Long::sum);
            }
            if (!frames.isEmpty()) {
              if (stage.equals(OTHER)) {
                otherTops.merge(String.join(" < ", head(frames, 3)), 1L, Long::sum);
              } else if (stage.equals("Kafka Streams framework")) {
                frameworkTops.merge(frames.get(0), 1L, Long::sum);
              }
            }
          }
          case "jdk.NativeMethodSample" -> {
            if (!matches(e.getThread("sampledThread"), part)) {
              continue;
            }
            List<String> frames = frames(e.getStackTrace());
            nativeSamples.merge(classify(frames), 1L, Long::sum);
            if (!frames.isEmpty()) {
              nativeTops.merge(String.join(" < ", head(frames, 2)), 1L, Long::sum);
            }
          }
          case "jdk.ObjectAllocationSample" -> {
            if (!matches(e.getThread(), part)) {
              continue;
            }
            List<String> frames = frames(e.getStackTrace());
            if (within != null && frames.stream().noneMatch(f -> f.contains(within))) {
              continue;
            }
            allocBytes.merge(classify(frames), e.getLong("weight"), Long::sum);
          }
          case PASS_EVENT -> {
            events = e.getLong("events");
            cpuNanos = e.getLong("streamThreadCpuNanos");
            drainedRate = e.getDouble("drainedRate");
            mode = e.getBoolean("floor") ? "floor (no-op processor)" : "topology";
            periodNanos = e.getLong("samplePeriodMs") * 1_000_000L;
          }
          default -> {}
        }
      }
    }
    double cpuUsPerEvent =
        args.length > 2 ? Double.parseDouble(args[2]) : events > 0 ? cpuNanos / 1e3 / events : 0;
    System.out.printf(
        Locale.ROOT,
        "%s: %s, %d input events, drained at %.0f events/s; stream thread CPU %.2f s = %.2f us"
            + " per event%n",
        file,
        mode,
        events,
        drainedRate,
        cpuNanos / 1e9,
        cpuUsPerEvent);
    System.out.printf(
        Locale.ROOT,
        "stream thread execution samples: %d over %.1f s, period %d ms: %.2f s in Java code by"
            + " wall clock (a thread waiting for a core counts) against %.2f s of CPU (%.0f %%);"
            + " native code, the kernel and the VM are not sampled%n",
        total,
        (last - first) / 1e3,
        periodNanos / 1_000_000,
        total * periodNanos / 1e9,
        cpuNanos / 1e9,
        cpuNanos > 0 ? 100.0 * total * periodNanos / cpuNanos : 0);
    long allocTotal = allocBytes.values().stream().mapToLong(Long::longValue).sum();
    System.out.println();
    System.out.println("| stage | samples | share | us per event | allocated per event |");
    System.out.println("|---|---|---|---|---|");
    for (String stage : stages()) {
      long s = samples.getOrDefault(stage, 0L);
      long a = allocBytes.getOrDefault(stage, 0L);
      if (s == 0 && a == 0) {
        continue;
      }
      double share = total > 0 ? (double) s / total : 0;
      System.out.printf(
          Locale.ROOT,
          "| %s | %d | %.1f %% | %.2f | %s |%n",
          stage,
          s,
          100 * share,
          share * cpuUsPerEvent,
          events > 0 ? String.format(Locale.ROOT, "%.0f B", (double) a / events) : "-");
    }
    System.out.printf(
        Locale.ROOT,
        "| **%s** | %d | %.1f %% | %.2f | %s |%n",
        within == null ? "stream thread" : "stream thread, within " + within,
        selected,
        total > 0 ? 100.0 * selected / total : 0,
        total > 0 ? cpuUsPerEvent * selected / total : 0,
        events > 0 ? String.format(Locale.ROOT, "%.0f B", (double) allocTotal / events) : "-");
    System.out.println();
    System.out.println(
        "by entry into infermeter's code (the bottom-most io.infermeter frame), all stages:");
    printShares("entry", entries, Math.max(topN, 12), total, cpuUsPerEvent);
    System.out.println();
    System.out.println("the same, with the next infermeter frame above the entry:");
    printShares("entry > callee", entryPaths, Math.max(topN, 16), total, cpuUsPerEvent);
    System.out.println();
    System.out.println(
        "per stage, the deciding frames (their share of all stream thread samples):");
    for (String stage : stages()) {
      Map<String, Long> m = decidingMethod.get(stage);
      if (m == null) {
        continue;
      }
      System.out.println("  " + stage + ":");
      long t = total;
      m.entrySet().stream()
          .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
          .limit(topN)
          .forEach(
              e ->
                  System.out.printf(
                      Locale.ROOT, "    %5.1f %%  %s%n", 100.0 * e.getValue() / t, e.getKey()));
    }
    if (Boolean.getBoolean("leaves")) {
      System.out.println("per stage, deciding frame with the sampled top frame:");
      for (String stage : stages()) {
        Map<String, Long> m = deciding.get(stage);
        if (m != null) {
          printTop("  " + stage, m, topN);
        }
      }
    }
    printTop("top frames of \"other\" samples (top < caller < caller)", otherTops, 15);
    printTop("top frames of Kafka Streams framework samples", frameworkTops, 15);
    System.out.println("native-method samples of the stream thread by stage (waits included):");
    nativeSamples.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .forEach(e -> System.out.printf(Locale.ROOT, "  %6d  %s%n", e.getValue(), e.getKey()));
    printTop("top native frames (top < caller)", nativeTops, 10);
  }

  private static List<String> head(List<String> frames, int n) {
    return frames.subList(0, Math.min(n, frames.size()));
  }

  private static void printTop(String title, Map<String, Long> counts, int limit) {
    System.out.println(title + ":");
    counts.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(limit)
        .forEach(e -> System.out.printf(Locale.ROOT, "  %6d  %s%n", e.getValue(), e.getKey()));
  }

  /**
   * Prints the {@code limit} largest counts of {@code counts} as a Markdown table: samples, share
   * of {@code total} and that share of {@code cpuUsPerEvent}.
   */
  private static void printShares(
      String keyHeader, Map<String, Long> counts, int limit, long total, double cpuUsPerEvent) {
    System.out.println("| " + keyHeader + " | samples | share | us per event |");
    System.out.println("|---|---|---|---|");
    counts.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(limit)
        .forEach(
            e ->
                System.out.printf(
                    Locale.ROOT,
                    "| %s | %d | %.1f %% | %.2f |%n",
                    e.getKey(),
                    e.getValue(),
                    100.0 * e.getValue() / total,
                    cpuUsPerEvent * e.getValue() / total));
  }
}
