package io.infermeter.collector;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.schemas.config.KnownKeys;
import org.junit.jupiter.api.Test;

class CollectorKnownKeysTest {

  @Test
  void defaultsAndKafkaProducerSettingsAreKnown() {
    KnownKeys known = CollectorConfig.knownKeys();
    CollectorConfig.defaults().keySet().forEach(k -> assertThat(known.isKnown(k)).as(k).isTrue());
    assertThat(known.isKnown("kafka.producer.linger.ms")).isTrue();
    assertThat(known.isKnown("kafka.streams.num.stream.threads")).isFalse();
    assertThat(known.closest("spool.max.byte")).contains("spool.max.bytes");
  }
}
