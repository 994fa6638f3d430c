package io.infermeter.collector.ingest;

import static io.infermeter.collector.ingest.JsonLinesParserTest.NOW_US;
import static io.infermeter.collector.ingest.JsonLinesParserTest.VALIDATOR;
import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.RequestEvent;
import io.infermeter.collector.delivery.AvroBinary;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.InMemorySchemaRegistryClient;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The JSON-lines fast path (scanner values, validation on them, Avro bytes written directly)
 * against the reference path (Jackson's event, the validator on the event, the schemas module's
 * AvroSerializer), line by line.
 */
class RequestAvroEncoderTest {

  static List<EventDefaults> defaults() {
    return List.of(
        JsonLinesParserTest.DEFAULTS,
        // non-ASCII configured identity (UTF-8 of more than one byte per character), an engine, no
        // gpu type
        new EventDefaults("z\u00fcrich-\u6771", "r\u00e9gion", "h\u00f4te", null, "triton"),
        // long values: lengths above 63 take two varint bytes
        new EventDefaults(
            "c".repeat(70), "r".repeat(200), "h".repeat(64), "g".repeat(63), "e".repeat(65)));
  }

  /**
   * The differential corpus of JsonLinesParserTest plus numbers at the varint boundaries and long
   * strings.
   */
  static List<String> lines() {
    List<String> lines = new ArrayList<>(JsonLinesParserTest.differentialLines());
    long a = NOW_US - 10_000_000;
    long[] numbers = {
      0,
      1,
      -1,
      63,
      64,
      -64,
      -65,
      8191,
      8192,
      -8193,
      Integer.MAX_VALUE,
      Integer.MIN_VALUE,
      (long) Integer.MAX_VALUE + 1,
      999_999_999_999_999_999L,
      -999_999_999_999_999_999L,
      1L << 55,
      -(1L << 56)
    };
    for (long n : numbers) {
      lines.add(
          "{\"model\":\"m\",\"arrivalUs\":"
              + n
              + ",\"completedUs\":"
              + n
              + ",\"scheduledUs\":"
              + n
              + ",\"firstTokenUs\":"
              + n
              + ",\"maxInterTokenGapUs\":"
              + n
              + ",\"inputTokens\":"
              + n
              + ",\"outputTokens\":"
              + n
              + ",\"cachedTokens\":"
              + n
              + ",\"batchSize\":"
              + n
              + ",\"maxBatchSize\":"
              + n
              + "}");
    }
    lines.add(
        "{\"model\":\""
            + "x".repeat(300)
            + "\",\"requestId\":\""
            + "y".repeat(64)
            + "\",\"host\":\""
            + "h".repeat(20_000)
            + "\",\"arrivalUs\":"
            + a
            + ",\"e2eUs\":7}");
    lines.add("{\"model\":\"   \",\"arrivalUs\":" + a + ",\"e2eUs\":7}");
    lines.add(
        "{\"model\":\" m \",\"arrivalUs\":"
            + a
            + ",\"e2eUs\":7,\"engine\":\"\",\"status\":\"CANCELED\"}");
    for (String status : List.of("ok", "success", "error", "timeout", "cancelled", "unknown")) {
      lines.add(
          "{\"model\":\"m\",\"arrivalUs\":" + a + ",\"e2eUs\":7,\"status\":\"" + status + "\"}");
    }
    return lines;
  }

  @ParameterizedTest
  @MethodSource("defaults")
  void directBytesEqualTheSerializersBytesOfTheReferenceEvent(EventDefaults defaults)
      throws Exception {
    JsonLinesParser parser = new JsonLinesParser(defaults);
    RequestAvroEncoder encoder = new RequestAvroEncoder(defaults);
    AvroSerializer<RequestEvent> serializer =
        new AvroSerializer<>(
            new InMemorySchemaRegistryClient(),
            AvroSerdeConfig.from(Map.of("schema.registry.url", "http://in-memory.invalid")),
            false);
    Random random = new Random(7);
    JsonLinesParser.Scan scan =
        new JsonLinesParser.Scan(); // reused line after line, as ingest does
    int encoded = 0;
    int valid = 0;
    for (String line : lines()) {
      byte[] b =
          ("xx" + line + "yy").getBytes(StandardCharsets.UTF_8); // at an offset, as within a batch
      int off = 2;
      int len = b.length - 4;
      if (!JsonLinesParser.scan(b, off, len, scan)) {
        continue;
      }
      encoded++;
      RequestEvent reference =
          parser.parseWithJackson(b, off, len); // the scanner only takes what Jackson accepts
      long msb = random.nextLong();
      long lsb = random.nextLong();
      reference.setEventId(new UUID(msb, lsb).toString());
      byte[] expected = serializer.serialize("req", reference);
      byte[] header = Arrays.copyOf(expected, 5);
      assertThat(encoder.encode(scan, header, msb, lsb)).as("line %s", line).isEqualTo(expected);
      // the key is the event's host
      assertThat(scan.host(defaults)).isEqualTo(reference.getHost());
      // validation on the scanned values: the same outcome, reason and message as on the event
      Object onEvent = outcome(() -> VALIDATOR.validate(reference, NOW_US));
      Object onScan = outcome(() -> scan.validate(VALIDATOR, NOW_US));
      assertThat(onScan).as("validation of %s", line).isEqualTo(onEvent);
      if (onEvent.equals("valid")) {
        valid++;
      }
    }
    // the corpus exercises the fast path (not only the fallback), valid lines and rejected ones
    assertThat(encoded).isGreaterThan(500);
    assertThat(valid).isGreaterThan(100).isLessThan(encoded);
  }

  /**
   * An error type over validation.max.message.bytes is cut by validation on both paths: the encoded
   * bytes after {@code scan.validate} equal the serializer's bytes of the validated event, and each
   * cut is counted once.
   */
  @Test
  void longErrorTypesAreCutAlikeOnBothPaths() throws Exception {
    java.util.List<String> cuts = new java.util.concurrent.CopyOnWriteArrayList<>();
    RequestValidator validator =
        new RequestValidator(
            JsonLinesParserTest.CLOCK,
            java.time.Duration.ofHours(1),
            java.time.Duration.ofMinutes(5),
            java.time.Duration.ofDays(7),
            10_000_000,
            64,
            100,
            cuts::add);
    EventDefaults defaults = JsonLinesParserTest.DEFAULTS;
    JsonLinesParser parser = new JsonLinesParser(defaults);
    RequestAvroEncoder encoder = new RequestAvroEncoder(defaults);
    AvroSerializer<RequestEvent> serializer =
        new AvroSerializer<>(
            new InMemorySchemaRegistryClient(),
            AvroSerdeConfig.from(Map.of("schema.registry.url", "http://in-memory.invalid")),
            false);
    JsonLinesParser.Scan scan = new JsonLinesParser.Scan();
    long a = NOW_US - 10_000_000;
    int expectedCuts = 0;
    for (int n : new int[] {1, 99, 100, 101, 5_000, 70_000}) {
      String line =
          "{\"model\":\"m\",\"arrivalUs\":"
              + a
              + ",\"e2eUs\":7,\"errorType\":\""
              + "e".repeat(n)
              + "\"}";
      byte[] b = line.getBytes(StandardCharsets.UTF_8);
      assertThat(JsonLinesParser.scan(b, 0, b.length, scan)).isTrue();
      scan.validate(validator, NOW_US);
      RequestEvent reference = parser.parseWithJackson(b, 0, b.length);
      validator.validate(reference, NOW_US);
      assertThat(reference.getErrorType()).hasSize(Math.min(n, 100));
      reference.setEventId(new UUID(1, 2).toString());
      byte[] expected = serializer.serialize("req", reference);
      assertThat(encoder.encode(scan, Arrays.copyOf(expected, 5), 1, 2))
          .as("errorType of %d", n)
          .isEqualTo(expected);
      expectedCuts += n > 100 ? 2 : 0;
    }
    assertThat(cuts).hasSize(expectedCuts).containsOnly("errorType");
  }

  @Test
  void randomIdsHaveTheUuidText() throws Exception {
    JsonLinesParser.Scan scan = new JsonLinesParser.Scan();
    byte[] line =
        ("{\"model\":\"m\",\"arrivalUs\":" + NOW_US + ",\"e2eUs\":1}")
            .getBytes(StandardCharsets.UTF_8);
    assertThat(JsonLinesParser.scan(line, 0, line.length, scan)).isTrue();
    byte[] header = {0, 0, 0, 0, 1};
    byte[] wire = new RequestAvroEncoder(JsonLinesParserTest.DEFAULTS).encode(scan, header);
    RequestEvent e =
        (RequestEvent)
            AvroBinary.decode(AvroBinary.REQUEST, Arrays.copyOfRange(wire, 5, wire.length));
    UUID id = UUID.fromString(e.getEventId());
    assertThat(id.version()).isEqualTo(4);
    assertThat(id.variant()).isEqualTo(2);
    assertThat(id.toString()).isEqualTo(e.getEventId());
  }

  @Test
  void uuidTextMatchesUuidToString() {
    Random random = new Random(3);
    byte[] out = new byte[40];
    for (int i = 0; i < 10_000; i++) {
      long msb = i < 4 ? new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE}[i] : random.nextLong();
      long lsb = random.nextLong();
      Ids.writeText(msb, lsb, out, 2);
      assertThat(new String(out, 2, Ids.TEXT_LENGTH, StandardCharsets.US_ASCII))
          .isEqualTo(new UUID(msb, lsb).toString());
    }
  }

  @Test
  void varintIsAvrosLongEncoding() throws Exception {
    Random random = new Random(5);
    byte[] out = new byte[10];
    for (int i = 0; i < 20_000; i++) {
      long v =
          switch (i % 4) {
            case 0 -> random.nextLong();
            case 1 -> random.nextLong() >> random.nextInt(64);
            case 2 -> random.nextInt();
            default -> i / 4 - 2500;
          };
      ByteArrayOutputStream expected = new ByteArrayOutputStream();
      BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(expected, null);
      enc.writeLong(v);
      enc.flush();
      int n = RequestAvroEncoder.varint(v, out, 0);
      assertThat(Arrays.copyOf(out, n)).as("%d", v).isEqualTo(expected.toByteArray());
    }
  }

  @Test
  void compiledInSchemaIsTheOneTheEncoderWrites() {
    assertThat(RequestAvroEncoder.layoutOf(RequestEvent.getClassSchema()))
        .hasSize(28); // RequestEvent v2: pod
    assertThat(RequestAvroEncoder.SCHEMA_MATCHES).isTrue();
  }

  private interface Check {
    void run() throws InvalidEventException;
  }

  private static Object outcome(Check c) {
    try {
      c.run();
      return "valid";
    } catch (InvalidEventException ex) {
      return ex.reason() + ": " + ex.getMessage();
    }
  }
}
