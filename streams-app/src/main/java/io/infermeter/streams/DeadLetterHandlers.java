package io.infermeter.streams;

import io.infermeter.avro.DeadLetter;
import io.infermeter.schemas.serde.SchemaRegistryException;
import io.infermeter.streams.support.DeadLetters;
import io.infermeter.streams.support.StreamsCounters;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The three Kafka Streams exception handlers, configured (not try/catch): a record that cannot be
 * deserialized or processed is sent to the dead-letter topic as a DeadLetter (with the reason,
 * source coordinates and raw bytes) and processing continues; a record that cannot be produced
 * because of itself (too large, invalid) is dead-lettered too, retriable production errors are
 * retried and any other production error fails the task (Kafka Streams revives it). A retryable
 * schema registry failure (registry unreachable or 5xx: no writer schema to read with, or an output
 * schema that cannot be registered) is not the record's fault: every handler fails the stream
 * thread after a short pause instead of dead-lettering, and the app's uncaught-exception handler
 * replaces the thread, which resumes from the last commit (exactly-once aborts the open
 * transaction), so nothing is lost or counted twice. Each handler gets its DeadLetter serializer,
 * dead-letter topic and counters from the streams config under {@link #CONTEXT_KEY} (an object, put
 * there by {@link InfermeterTopology#streamsProperties}).
 *
 * <p>No crash loops: every dead letter is cut to the dead-letter limits ({@link StreamsLimits}:
 * payload and key {@code limits.dead.letter.payload.max.bytes}, message {@code
 * limits.dead.letter.message.max.bytes}), so it fits where the record did not; a dead letter that
 * cannot be sent or built itself is counted ({@code dead_letter_send_failures}) and logged, never
 * dead-lettered again; and a production error that is not the record's fault (which fails the task
 * so it is re-processed) is retried at most {@code limits.failure.max.attempts} times for the same
 * source record (topic, partition, offset, processor), then logged at ERROR, dead-lettered and
 * skipped ({@code records_skipped_after_retries}). Registry outages are the one failure retried
 * without a bound: no record is at fault and every record would fail alike. Thread-safe.
 */
public final class DeadLetterHandlers {

  /** Config key holding the {@link Context} object. */
  public static final String CONTEXT_KEY = "infermeter.dead.letter.context";

  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterHandlers.class);

  private DeadLetterHandlers() {}

  /**
   * What the handlers need: the topic, a serializer, counters, the limits and the repeated-failure
   * tracker.
   */
  public record Context(
      String topic,
      Serializer<DeadLetter> serializer,
      StreamsCounters counters,
      Clock clock,
      StreamsLimits limits,
      FailureTracker failures) {

    /** With the default limits. */
    public Context(
        String topic, Serializer<DeadLetter> serializer, StreamsCounters counters, Clock clock) {
      this(topic, serializer, counters, clock, StreamsLimits.DEFAULT, new FailureTracker());
    }
  }

  /**
   * Failures per source record (topic, partition, offset, processor) that failed the task: a record
   * whose failure repeats is given up after {@code limits.failure.max.attempts}. Bounded (forgets
   * everything past 10,000 records: a record failing again after that starts over). Thread-safe.
   */
  public static final class FailureTracker {
    private static final int MAX_TRACKED = 10_000;
    private final java.util.concurrent.ConcurrentHashMap<String, Integer> attempts =
        new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Counts one more failure of {@code source}; returns the number of failures so far, this one
     * included.
     */
    int fail(String source) {
      if (attempts.size() >= MAX_TRACKED) {
        attempts.clear();
      }
      return attempts.merge(source, 1, Integer::sum);
    }

    void forget(String source) {
      attempts.remove(source);
    }
  }

  static String source(ErrorHandlerContext ec) {
    return ec.topic() + "-" + ec.partition() + "@" + ec.offset() + " in " + ec.processorNodeId();
  }

  static Context context(Map<String, ?> configs) {
    Object c = configs.get(CONTEXT_KEY);
    if (!(c instanceof Context ctx)) {
      throw new IllegalStateException(
          "streams config lacks '"
              + CONTEXT_KEY
              + "' (build the config with "
              + "InfermeterTopology.streamsProperties)");
    }
    return ctx;
  }

  /**
   * The dead letter of a record (payload, key and message cut to the limits), counted under {@code
   * reason}; empty when the dead letter cannot be built or serialized (counted as a send failure
   * and logged: never a dead letter of a dead letter). A retryable registry failure is rethrown:
   * the thread retries from the last commit.
   */
  static List<ProducerRecord<byte[], byte[]>> record(
      Context ctx, String reason, Exception e, ErrorHandlerContext ec, byte[] key, byte[] value) {
    try {
      byte[] k =
          key == null || key.length <= ctx.limits().deadLetterPayloadMaxBytes()
              ? key
              : java.util.Arrays.copyOf(key, ctx.limits().deadLetterPayloadMaxBytes());
      DeadLetter dl =
          DeadLetters.of(
              reason,
              String.valueOf(e.getMessage()),
              e,
              ec.topic(),
              ec.partition() < 0 ? null : ec.partition(),
              ec.offset() < 0 ? null : ec.offset(),
              ec.timestamp(),
              key,
              value,
              ctx.clock(),
              ctx.limits(),
              ctx.counters());
      List<ProducerRecord<byte[], byte[]>> out =
          List.of(
              new ProducerRecord<>(
                  ctx.topic(), null, k, ctx.serializer().serialize(ctx.topic(), dl)));
      ctx.counters().deadLetter(reason);
      return out;
    } catch (RuntimeException failure) {
      if (SchemaRegistryException.isRetryableCause(failure)) {
        throw failure;
      }
      ctx.counters().deadLetterSendFailures.increment();
      LOG.error(
          "cannot build the dead letter (reason {}) of {}; the record is skipped without one",
          reason,
          source(ec),
          failure);
      return List.of();
    }
  }

  /**
   * Logs and counts a dead letter that the producer refused; it is dropped, never dead-lettered
   * again.
   */
  static void deadLetterLost(Context ctx, ProducerRecord<?, ?> record, Exception e) {
    ctx.counters().deadLetterSendFailures.increment();
    LOG.error(
        "cannot send a dead letter to {} ({} bytes); dropped, not dead-lettered again",
        record.topic(),
        record.value() instanceof byte[] b ? b.length : -1,
        e);
  }

  /** Pause before failing on an unavailable registry, so a replaced thread does not hammer it. */
  static final java.time.Duration REGISTRY_PAUSE = java.time.Duration.ofSeconds(1);

  /** Logs and pauses for an unavailable registry; the caller then fails the thread. */
  static void registryDown(String what, Exception e) {
    LOG.warn(
        "schema registry unavailable while {}: failing the stream thread to retry from the last commit "
            + "(no dead letter); it keeps retrying until the registry at schema.registry.url answers: check that it is up "
            + "and reachable from this host",
        what,
        e);
    try {
      Thread.sleep(REGISTRY_PAUSE.toMillis());
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    }
  }

  /** Undecodable input: dead-letter (reason deserialization) and continue. */
  public static final class Deserialization implements DeserializationExceptionHandler {
    private Context ctx;

    @Override
    public void configure(Map<String, ?> configs) {
      ctx = context(configs);
    }

    @Override
    public Response handleError(
        ErrorHandlerContext ec, ConsumerRecord<byte[], byte[]> record, Exception e) {
      if (SchemaRegistryException.isRetryableCause(e)) {
        registryDown(
            "decoding " + record.topic() + "-" + record.partition() + "@" + record.offset(), e);
        return Response.fail();
      }
      LOG.warn(
          "undecodable record {}-{}@{} sent to dead letters",
          record.topic(),
          record.partition(),
          record.offset(),
          e);
      return Response.resume(record(ctx, "deserialization", e, ec, record.key(), record.value()));
    }
  }

  /** A processor threw: dead-letter the source record (reason processing) and continue. */
  public static final class Processing implements ProcessingExceptionHandler {
    private Context ctx;

    @Override
    public void configure(Map<String, ?> configs) {
      ctx = context(configs);
    }

    @Override
    public Response handleError(ErrorHandlerContext ec, Record<?, ?> record, Exception e) {
      if (SchemaRegistryException.isRetryableCause(e)) {
        registryDown("processing in " + ec.processorNodeId(), e);
        return Response.fail();
      }
      LOG.warn(
          "processing failed in {} for {}-{}@{}; sent to dead letters",
          ec.processorNodeId(),
          ec.topic(),
          ec.partition(),
          ec.offset(),
          e);
      return Response.resume(
          record(ctx, "processing", e, ec, ec.sourceRawKey(), ec.sourceRawValue()));
    }
  }

  /**
   * A record could not be serialized or produced: dead-letter it (reason production) and continue.
   */
  public static final class Production implements ProductionExceptionHandler {
    private Context ctx;

    @Override
    public void configure(Map<String, ?> configs) {
      ctx = context(configs);
    }

    @Override
    public Response handleError(
        ErrorHandlerContext ec, ProducerRecord<byte[], byte[]> record, Exception e) {
      if (e instanceof org.apache.kafka.common.errors.RetriableException) {
        return Response.retry();
      }
      if (ctx.topic().equals(record.topic())) {
        deadLetterLost(ctx, record, e);
        return Response.resume();
      }
      if (!isRecordProblem(e)) {
        // producer/transaction state problems are not this record's fault: let Kafka Streams fail
        // the task so it is
        // revived (exactly-once aborts and re-processes); dead-lettering here would hide a lost
        // output. A failure that
        // comes back on the same source record every time is given up after
        // limits.failure.max.attempts.
        String source = source(ec);
        int n = ctx.failures().fail(source);
        if (n < ctx.limits().failureMaxAttempts()) {
          LOG.warn(
              "cannot produce to {} for {} (failure {} of at most {}); failing the task to retry",
              record.topic(),
              source,
              n,
              ctx.limits().failureMaxAttempts(),
              e);
          return Response.fail();
        }
        ctx.failures().forget(source);
        ctx.counters().recordsSkippedAfterRetries.increment();
        LOG.error(
            "giving up on {}: producing its output to {} failed {} times (limits.failure.max.attempts); the "
                + "output is dead-lettered and the record skipped",
            source,
            record.topic(),
            n,
            e);
        return Response.resume(
            record(ctx, "production-retries-exhausted", e, ec, record.key(), record.value()));
      }
      LOG.warn("cannot produce to {}; sent to dead letters", record.topic(), e);
      return Response.resume(record(ctx, "production", e, ec, record.key(), record.value()));
    }

    /** Errors caused by the record itself (too large, rejected by the broker's validation). */
    static boolean isRecordProblem(Exception e) {
      return e instanceof org.apache.kafka.common.errors.RecordTooLargeException
          || e instanceof org.apache.kafka.common.InvalidRecordException
          || e instanceof org.apache.kafka.common.errors.RecordBatchTooLargeException;
    }

    @Override
    @SuppressWarnings("rawtypes") // the interface declares a raw ProducerRecord
    public Response handleSerializationError(
        ErrorHandlerContext ec,
        ProducerRecord record,
        Exception e,
        SerializationExceptionOrigin origin) {
      if (SchemaRegistryException.isRetryableCause(e)) {
        registryDown("serializing a record for " + record.topic(), e);
        return Response.fail();
      }
      if (ctx.topic().equals(record.topic())) {
        deadLetterLost(ctx, record, e);
        return Response.resume();
      }
      LOG.warn(
          "cannot serialize a record for {} ({}); sent to dead letters", record.topic(), origin, e);
      return Response.resume(record(ctx, "production", e, ec, null, null));
    }
  }
}
