package io.infermeter.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The event id rules of {@link Ids}. The expected ids were computed outside Java from the
 * documented derivation (docs/COLLECTOR.md, "Event identity"), with Python's hashlib: {@code
 * SHA-256(tag + for each part: 4-byte big-endian length + bytes)[:16]}, version nibble 8, variant
 * 10.
 */
class IdsTest {

  /**
   * The trace and span ids of the OTLP example request (opentelemetry-proto, {@code
   * examples/trace.json}).
   */
  static final byte[] TRACE = HexFormat.of().parseHex("5b8efff798038103d269b633813fc60c");

  static final byte[] SPAN = HexFormat.of().parseHex("eee19b7ec3c1b174");

  @Test
  void spanIdsMatchTheDocumentedDerivation() {
    String id = Ids.ofSpan(TRACE, SPAN);
    assertThat(id).isEqualTo("7dd31a79-9a21-8442-a9f6-1f855a2e0dd3");
    assertThat(UUID.fromString(id).version()).isEqualTo(8);
    assertThat(UUID.fromString(id).variant()).isEqualTo(2);
    assertThat(Ids.ofSpan(TRACE.clone(), SPAN.clone())).isEqualTo(id); // the same span sent again
  }

  @Test
  void requestIdsMatchTheDocumentedDerivation() {
    assertThat(Ids.ofRequest("r1", "h9", "llama-3-8b"))
        .isEqualTo("105d336d-3ff3-87fe-a74f-46e3b9fd43f0");
  }

  @Test
  void nonAsciiAndLongPartsAreHashedAsTheirUtf8() {
    assertThat(Ids.ofRequest("r\u00e9-1", "h\u00f4st", "\u6a21\u578b"))
        .isEqualTo("a91d3a63-545f-8f65-8617-347a78582152");
    assertThat(Ids.ofRequest("x".repeat(5000), "h", "m"))
        .isEqualTo("35d6d4af-3962-8312-85f3-a14e442edab3");
    assertThat(
            Ids.ofSpan(
                com.google.protobuf.ByteString.copyFrom(TRACE),
                com.google.protobuf.ByteString.copyFrom(SPAN)))
        .isEqualTo(Ids.ofSpan(TRACE, SPAN));
  }

  @Test
  void differentSpansAndRequestsGetDifferentIds() {
    Set<String> ids = new HashSet<>();
    byte[] span = SPAN.clone();
    for (int i = 0; i < 10_000; i++) {
      span[7] = (byte) i;
      span[6] = (byte) (i >>> 8);
      ids.add(Ids.ofSpan(TRACE, span));
      ids.add(Ids.ofRequest("req-" + i, "h", "m"));
    }
    assertThat(ids).hasSize(20_000);
    // each part counts: host, model, and where one part ends and the next begins
    assertThat(
            Set.of(
                Ids.ofRequest("r1", "h9", "m"),
                Ids.ofRequest("r1", "h8", "m"),
                Ids.ofRequest("r1", "h9", "n"),
                Ids.ofRequest("r1h", "9", "m"),
                Ids.ofRequest("r", "1h9", "m")))
        .hasSize(5);
  }

  @Test
  void withoutARequestIdThereIsNoDerivedId() {
    assertThat(Ids.ofRequest(null, "h", "m")).isNull();
    assertThat(Ids.ofRequest("", "h", "m")).isNull();
    assertThat(UUID.fromString(Ids.newEventId()).version()).isEqualTo(4);
    assertThat(Ids.newEventId()).isNotEqualTo(Ids.newEventId());
  }

  @Test
  void abusiveValuesStillGiveAShortId() {
    String huge = "x".repeat(1 << 20);
    assertThat(Ids.ofRequest(huge, "h\u0000\n", "\uD83D\uDE00")).hasSize(36);
    assertThat(Ids.ofRequest("r", null, null)).isEqualTo(Ids.ofRequest("r", "", ""));
    assertThat(Ids.ofSpan(new byte[0], new byte[0])).hasSize(36);
  }
}
