package io.infermeter.sink;

import io.infermeter.sink.internal.RollupTask;
import io.infermeter.sink.internal.SinkFactory;
import io.infermeter.sink.internal.SinkLoop;
import io.infermeter.sink.internal.SinkMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The Kafka-to-ClickHouse sink as a component: {@link #start()} runs the consume-insert-commit loop
 * on its own thread, {@link #close()} flushes the last batch and stops. See docs/SINK.md for the
 * guarantees (exactly once in effect through ReplacingMergeTree on natural keys, offsets committed
 * after ClickHouse acknowledged). With {@code rollup.interval} above zero a second thread brings
 * the hourly rollups behind the range views up to date ({@link RollupTask}, docs/SINK.md "Hourly
 * rollups"). Thread-safe: start and close may be called from any thread.
 */
public final class Sink implements AutoCloseable {

  private final SinkConfig config;
  private final SinkMetrics metrics;
  private final SinkLoop loop;
  private final Thread thread;
  private final ScheduledExecutorService rollups;

  private Sink(SinkConfig config, PrometheusRegistry registry) {
    this.config = config;
    this.metrics = new SinkMetrics(registry);
    this.loop = SinkFactory.loop(config, metrics, Clock.systemUTC());
    this.thread = new Thread(loop, "infermeter-sink");
    this.rollups =
        config.rollupInterval().isZero()
            ? null
            : Executors.newSingleThreadScheduledExecutor(
                r -> {
                  Thread t = new Thread(r, "infermeter-sink-rollups");
                  t.setDaemon(true);
                  return t;
                });
  }

  /**
   * Applies pending migrations when {@code clickhouse.migrate.on.start} is set, then builds the
   * sink.
   */
  public static Sink create(SinkConfig config, PrometheusRegistry registry) throws SQLException {
    if (config.migrateOnStart()) {
      SinkFactory.migrate(config);
    }
    return new Sink(config, registry);
  }

  /** Applies the bundled migrations without starting anything; returns the versions applied now. */
  public static List<Integer> migrate(SinkConfig config) throws SQLException {
    return SinkFactory.migrate(config);
  }

  public Sink start() {
    thread.start();
    if (rollups != null) {
      long every = config.rollupInterval().toMillis();
      // RollupTask logs and swallows its failures, so the schedule only ends with close(): its
      // future has nothing to report
      ScheduledFuture<?> unused =
          rollups.scheduleWithFixedDelay(
              new RollupTask(config, Clock.systemUTC()), every, every, TimeUnit.MILLISECONDS);
    }
    return this;
  }

  /** Whether the loop thread has been started and has not ended (the sink's readiness). */
  public boolean isRunning() {
    return thread.isAlive();
  }

  /** Blocks until the loop has ended (after {@link #close()} or a fatal error). */
  public void awaitTermination() throws InterruptedException {
    thread.join();
  }

  @Override
  public void close() {
    if (rollups != null) {
      rollups.shutdownNow();
    }
    loop.stop();
    try {
      thread.join(config.shutdownTimeout().plus(Duration.ofSeconds(10)).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
