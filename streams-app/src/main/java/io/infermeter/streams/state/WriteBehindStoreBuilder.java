package io.infermeter.streams.state;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * Builder of a store that keeps its working state in memory and writes it behind into a
 * changelogged byte store ({@link ObjectStore}, {@link DedupStore}): the inner store is RocksDB or
 * in-memory, never cached by Kafka Streams (the outer store is the cache), with a changelog topic
 * {@code <application.id>-<name>-changelog}.
 *
 * @param <T> the outer store type
 */
final class WriteBehindStoreBuilder<T extends org.apache.kafka.streams.processor.StateStore>
    implements StoreBuilder<T> {

  private final String name;
  private final boolean persistent;
  private final Function<KeyValueStore<Bytes, byte[]>, T> outer;
  private final Map<String, String> logConfig = new HashMap<>();
  private boolean logging = true;

  WriteBehindStoreBuilder(
      String name, boolean persistent, Function<KeyValueStore<Bytes, byte[]>, T> outer) {
    this.name = name;
    this.persistent = persistent;
    this.outer = outer;
  }

  @Override
  public StoreBuilder<T> withCachingEnabled() {
    return this; // the outer store is the cache
  }

  @Override
  public StoreBuilder<T> withCachingDisabled() {
    return this;
  }

  @Override
  public StoreBuilder<T> withLoggingEnabled(Map<String, String> config) {
    logging = true;
    logConfig.clear();
    logConfig.putAll(config);
    return this;
  }

  @Override
  public StoreBuilder<T> withLoggingDisabled() {
    logging = false;
    return this;
  }

  @Override
  public T build() {
    StoreBuilder<KeyValueStore<Bytes, byte[]>> b =
        Stores.keyValueStoreBuilder(
                persistent
                    ? Stores.persistentKeyValueStore(name)
                    : Stores.inMemoryKeyValueStore(name),
                Serdes.Bytes(),
                Serdes.ByteArray())
            .withCachingDisabled();
    b = logging ? b.withLoggingEnabled(logConfig) : b.withLoggingDisabled();
    return outer.apply(b.build());
  }

  @Override
  public Map<String, String> logConfig() {
    return logConfig;
  }

  @Override
  public boolean loggingEnabled() {
    return logging;
  }

  @Override
  public String name() {
    return name;
  }
}
