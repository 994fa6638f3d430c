package io.infermeter.streams;

import io.infermeter.streams.alerts.RuleState;
import io.infermeter.streams.energy.HostWindow;
import io.infermeter.streams.state.DedupStore;
import io.infermeter.streams.state.ObjectStore;
import io.infermeter.streams.support.StreamsCounters;
import io.infermeter.streams.windows.RequestAccumulator;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/** Builders of every named state store of the topology (all changelogged). Stateless. */
final class TopologyStores {

  private TopologyStores() {}

  /**
   * Window accumulators with the plain (uncompressed) histogram encoding: cheap on every commit.
   */
  static StoreBuilder<ObjectStore<RequestAccumulator>> accumulators(
      String name, boolean persistent) {
    return accumulators(name, persistent, null);
  }

  /** As {@link #accumulators(String, boolean)}, counting encode failures in {@code counters}. */
  static StoreBuilder<ObjectStore<RequestAccumulator>> accumulators(
      String name, boolean persistent, StreamsCounters counters) {
    return ObjectStore.builder(
        name,
        persistent,
        a -> a.toBytes(false),
        b -> RequestAccumulator.fromBytes(b, false),
        counters);
  }

  /** Alert rule states of the request and fleet windows (see {@link WindowAlerts}). */
  static StoreBuilder<ObjectStore<RuleState>> ruleStates(String name, boolean persistent) {
    return ruleStates(name, persistent, null);
  }

  static StoreBuilder<ObjectStore<RuleState>> ruleStates(
      String name, boolean persistent, StreamsCounters counters) {
    return ObjectStore.builder(
        name, persistent, RuleState::toBytes, RuleState::fromBytes, counters);
  }

  static StoreBuilder<ObjectStore<HostWindow>> hostWindows(String name, boolean persistent) {
    return hostWindows(name, persistent, null);
  }

  static StoreBuilder<ObjectStore<HostWindow>> hostWindows(
      String name, boolean persistent, StreamsCounters counters) {
    return ObjectStore.builder(
        name, persistent, HostWindow::toBytes, HostWindow::fromBytes, counters);
  }

  static StoreBuilder<KeyValueStore<String, Long>> longs(String name, boolean persistent) {
    return Stores.keyValueStoreBuilder(kv(name, persistent), Serdes.String(), Serdes.Long())
        .withCachingDisabled();
  }

  static StoreBuilder<KeyValueStore<String, byte[]>> bytes(String name, boolean persistent) {
    return Stores.keyValueStoreBuilder(kv(name, persistent), Serdes.String(), Serdes.ByteArray())
        .withCachingDisabled();
  }

  /** Seen event ids within the retention (see {@link DedupStore}). */
  static StoreBuilder<DedupStore> dedup(String name, boolean persistent, Duration retention) {
    return DedupStore.builder(name, persistent, retention.toMillis());
  }

  private static org.apache.kafka.streams.state.KeyValueBytesStoreSupplier kv(
      String name, boolean persistent) {
    return persistent ? Stores.persistentKeyValueStore(name) : Stores.inMemoryKeyValueStore(name);
  }
}
