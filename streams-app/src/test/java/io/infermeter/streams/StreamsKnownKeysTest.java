package io.infermeter.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.schemas.config.KnownKeys;
import org.junit.jupiter.api.Test;

class StreamsKnownKeysTest {

  @Test
  void defaultsTablesAndKafkaStreamsSettingsAreKnown() {
    KnownKeys known = StreamsSettings.knownKeys();
    StreamsSettings.DEFAULTS.keySet().forEach(k -> assertThat(known.isKnown(k)).as(k).isTrue());
    assertThat(known.isKnown("cost.price.per.hour.B200")).isTrue();
    assertThat(known.isKnown("slo.class.premium.ttft.max")).isTrue();
    assertThat(known.isKnown("kafka.streams.num.standby.replicas")).isTrue();
    assertThat(known.isKnown("kafka.streams.state.dir")).isTrue();
    assertThat(known.isKnown("kafka.streams.main.consumer.max.poll.records")).isTrue();
    assertThat(known.isKnown("kafka.streams.num.standby.replica")).isFalse();
    assertThat(known.closest("kafka.streams.num.standby.replica"))
        .contains("kafka.streams.num.standby.replicas");
  }
}
