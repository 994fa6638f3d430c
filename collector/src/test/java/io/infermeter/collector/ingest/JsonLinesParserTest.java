package io.infermeter.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.RequestEvent;
import io.infermeter.avro.RequestStatus;
import io.infermeter.collector.support.CollectorMetrics.RejectReason;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

public class JsonLinesParserTest {

  public static final long NOW_US = 1_763_900_000_000_000L;
  public static final EventDefaults DEFAULTS =
      new EventDefaults("c1", "eu-west-1", "host-a", "H100", null);
  public static final Clock CLOCK =
      Clock.fixed(Instant.ofEpochSecond(NOW_US / 1_000_000), ZoneOffset.UTC);
  public static final RequestValidator VALIDATOR =
      new RequestValidator(
          CLOCK, Duration.ofHours(1), Duration.ofMinutes(5), Duration.ofDays(7), 10_000_000);

  private final JsonLinesParser parser = new JsonLinesParser(DEFAULTS);

  private RequestEvent parse(String line) throws InvalidEventException {
    byte[] b = line.getBytes(StandardCharsets.UTF_8);
    return parser.parse(b, 0, b.length);
  }

  @Test
  void mapsEveryDocumentedField() throws Exception {
    long a = NOW_US - 10_000_000;
    RequestEvent e =
        parse(
            "{\"requestId\":\"r1\",\"model\":\"llama-3-8b\",\"modelVersion\":\"v2\",\"engine\":\"triton\","
                + "\"operation\":\"chat\",\"status\":\"timeout\",\"errorType\":\"deadline\",\"host\":\"h9\",\"cluster\":\"c9\","
                + "\"region\":\"us-east-1\",\"deviceId\":\"GPU-1\",\"gpuType\":\"A100\",\"sloClass\":\"gold\","
                + "\"arrivalUs\":"
                + a
                + ",\"scheduledUs\":"
                + (a + 100)
                + ",\"firstTokenUs\":"
                + (a + 5000)
                + ",\"completedUs\":"
                + (a + 90000)
                + ",\"maxInterTokenGapUs\":700,\"inputTokens\":12,\"outputTokens\":34,"
                + "\"cachedTokens\":4,\"batchSize\":8,\"maxBatchSize\":64,\"coldStart\":true,"
                + "\"attributes\":{\"tenant\":\"t1\",\"n\":3},\"unknownField\":[1,2]}");
    // a line with a requestId: its id is derived from (requestId, host, model), version 8
    assertThat(UUID.fromString(e.getEventId()).version()).isEqualTo(8);
    assertThat(e.getEventId()).isEqualTo(Ids.ofRequest("r1", "h9", "llama-3-8b"));
    assertThat(e.getSource()).isEqualTo("jsonl");
    assertThat(e.getRequestId()).isEqualTo("r1");
    assertThat(e.getModel()).isEqualTo("llama-3-8b");
    assertThat(e.getModelVersion()).isEqualTo("v2");
    assertThat(e.getEngine()).isEqualTo("triton");
    assertThat(e.getOperation()).isEqualTo("chat");
    assertThat(e.getStatus()).isEqualTo(RequestStatus.TIMEOUT);
    assertThat(e.getErrorType()).isEqualTo("deadline");
    assertThat(e.getHost()).isEqualTo("h9");
    assertThat(e.getCluster()).isEqualTo("c9");
    assertThat(e.getRegion()).isEqualTo("us-east-1");
    assertThat(e.getDeviceId()).isEqualTo("GPU-1");
    assertThat(e.getGpuType()).isEqualTo("A100");
    assertThat(e.getSloClass()).isEqualTo("gold");
    assertThat(e.getArrivalUs()).isEqualTo(a);
    assertThat(e.getScheduledUs()).isEqualTo(a + 100);
    assertThat(e.getFirstTokenUs()).isEqualTo(a + 5000);
    assertThat(e.getCompletedUs()).isEqualTo(a + 90000);
    assertThat(e.getMaxInterTokenGapUs()).isEqualTo(700L);
    assertThat(e.getInputTokens()).isEqualTo(12);
    assertThat(e.getOutputTokens()).isEqualTo(34);
    assertThat(e.getCachedTokens()).isEqualTo(4);
    assertThat(e.getBatchSize()).isEqualTo(8);
    assertThat(e.getMaxBatchSize()).isEqualTo(64);
    assertThat(e.getColdStart()).isTrue();
    assertThat(e.getAttributes()).containsEntry("tenant", "t1").containsEntry("n", "3");
    VALIDATOR.validate(e);
  }

  @Test
  void durationsFromArrivalAndDefaults() throws Exception {
    long a = NOW_US - 1_000_000;
    RequestEvent e =
        parse(
            "{\"model\":\"m\",\"arrivalUs\":"
                + a
                + ",\"queueUs\":10,\"ttftUs\":2000,\"e2eUs\":50000}");
    assertThat(e.getScheduledUs()).isEqualTo(a + 10);
    assertThat(e.getFirstTokenUs()).isEqualTo(a + 2000);
    assertThat(e.getCompletedUs()).isEqualTo(a + 50000);
    assertThat(e.getStatus()).isEqualTo(RequestStatus.OK);
    assertThat(e.getHost()).isEqualTo("host-a");
    assertThat(e.getCluster()).isEqualTo("c1");
    assertThat(e.getGpuType()).isEqualTo("H100");
    assertThat(e.getInputTokens()).isNull();
    VALIDATOR.validate(e);
  }

  @Test
  void simulatedAndReplayedDataKeepTheirLabel() throws Exception {
    assertThat(parse("{\"model\":\"m\",\"source\":\"simulated\"}").getSource())
        .isEqualTo("simulated");
    assertThat(parse("{\"model\":\"m\",\"source\":\"replay\"}").getSource()).isEqualTo("replay");
    assertThat(parse("{\"model\":\"m\"}").getSource()).isEqualTo("jsonl");
  }

  @Test
  void errorTypeWithoutStatusMeansError() throws Exception {
    RequestEvent e = parse("{\"model\":\"m\",\"arrivalUs\":1,\"e2eUs\":5,\"errorType\":\"oom\"}");
    assertThat(e.getStatus()).isEqualTo(RequestStatus.ERROR);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "not json|{model|MALFORMED",
        "array|[1,2]|MALFORMED",
        "two objects|{\"model\":\"m\"} {\"model\":\"n\"}|MALFORMED",
        "model not string|{\"model\":5}|INVALID_VALUE",
        "arrival not number|{\"model\":\"m\",\"arrivalUs\":\"soon\"}|INVALID_VALUE",
        "tokens float|{\"model\":\"m\",\"inputTokens\":1.5}|INVALID_VALUE",
        "tokens overflow|{\"model\":\"m\",\"inputTokens\":9999999999}|INVALID_VALUE",
        "bad status|{\"model\":\"m\",\"status\":\"meh\"}|INVALID_VALUE",
        "bad source|{\"model\":\"m\",\"source\":\"otlp\"}|INVALID_VALUE",
        "coldStart not bool|{\"model\":\"m\",\"coldStart\":\"yes\"}|INVALID_VALUE",
        "attributes not object|{\"model\":\"m\",\"attributes\":[1]}|INVALID_VALUE",
        "nested attribute|{\"model\":\"m\",\"attributes\":{\"a\":{\"b\":1}}}|INVALID_VALUE",
        "negative queue|{\"model\":\"m\",\"arrivalUs\":5,\"queueUs\":-1}|NEGATIVE_DURATION",
        "negative e2e|{\"model\":\"m\",\"arrivalUs\":5,\"e2eUs\":-10}|NEGATIVE_DURATION",
      })
  void parseRejects(String name, String line, RejectReason reason) {
    assertThatThrownBy(() -> parse(line))
        .isInstanceOfSatisfying(
            InvalidEventException.class, ex -> assertThat(ex.reason()).isEqualTo(reason));
  }

  // --- the scanner (parseCommon) against the reference path (Jackson): same event or same reject,
  // always

  /**
   * Lines of every kind; for each, parse (scanner, Jackson when it gives up) must equal Jackson
   * alone.
   */
  public static List<String> differentialLines() {
    long a = NOW_US - 10_000_000;
    List<String> lines =
        new ArrayList<>(
            List.of(
                "{\"requestId\":\"r-7-1\",\"model\":\"llama-3-8b\",\"arrivalUs\":"
                    + a
                    + ",\"scheduledUs\":"
                    + (a + 10)
                    + ",\"firstTokenUs\":"
                    + (a + 200)
                    + ",\"completedUs\":"
                    + (a + 4000)
                    + ",\"inputTokens\":128,\"outputTokens\":64}",
                "{\"model\":\"m\",\"arrivalUs\":"
                    + a
                    + ",\"queueUs\":10,\"ttftUs\":2000,\"e2eUs\":50000}",
                "  { \"model\" : \"m\" ,\t\"arrivalUs\" :\r" + a + " , \"e2eUs\": 5 }  ",
                "{\"model\":\"m\",\"arrivalUs\":"
                    + a
                    + ",\"e2eUs\":5,\"completedUs\":"
                    + (a + 9)
                    + "}",
                "{\"model\":\"m\",\"model\":\"n\",\"status\":\"ok\",\"status\":\"TimeOut\"}",
                "{\"model\":\"m\",\"errorType\":\"oom\"}",
                "{\"model\":\"m\",\"errorType\":\"oom\",\"status\":\"success\"}",
                "{\"model\":\"m\",\"modelVersion\":\"v2\",\"engine\":\"vllm\",\"operation\":\"chat\",\"host\":\"h\","
                    + "\"cluster\":\"c\",\"region\":\"r\",\"deviceId\":\"GPU-0\",\"gpuType\":\"A100\",\"sloClass\":\"gold\","
                    + "\"maxInterTokenGapUs\":7,\"cachedTokens\":3,\"batchSize\":4,\"maxBatchSize\":8,\"source\":\"replay\"}",
                "{\"model\":\"m\",\"unknown\":\"x\",\"other\":12,\"more\":-3}",
                "{\"model\":\"m\",\"arrivalUs\":-0,\"inputTokens\":-5,\"scheduledUs\":-7}",
                "{}",
                "{ }",
                "",
                "   ",
                "{",
                "}",
                "{\"model\"}",
                "{\"model\":}",
                "{\"model\":\"m\",}",
                "{,}",
                "{\"model\":\"m\"",
                "{\"model\":\"m\"}x",
                "{\"model\":\"m\"} {\"model\":\"n\"}",
                "[1,2]",
                "5",
                "\"s\"",
                "{\"model\":\"m\",\"arrivalUs\":012}",
                "{\"model\":\"m\",\"arrivalUs\":-}",
                "{\"model\":\"m\",\"arrivalUs\":1.5}",
                "{\"model\":\"m\",\"arrivalUs\":1e3}",
                "{\"model\":\"m\",\"arrivalUs\":1E3}",
                "{\"model\":\"m\",\"arrivalUs\":123456789012345678}",
                "{\"model\":\"m\",\"arrivalUs\":1234567890123456789}",
                "{\"model\":\"m\",\"arrivalUs\":99999999999999999999}",
                "{\"model\":\"m\",\"arrivalUs\":12abc}",
                "{\"model\":\"m\",\"inputTokens\":2147483647}",
                "{\"model\":\"m\",\"inputTokens\":2147483648}",
                "{\"model\":\"m\",\"inputTokens\":-2147483649}",
                "{\"model\":\"m\",\"queueUs\":-1,\"arrivalUs\":5}",
                "{\"model\":\"m\",\"ttftUs\":-1}",
                "{\"model\":\"m\",\"e2eUs\":-10}",
                "{\"model\":5}",
                "{\"model\":\"m\",\"arrivalUs\":\"soon\"}",
                "{\"model\":\"m\",\"status\":\"meh\"}",
                "{\"model\":\"m\",\"source\":\"otlp\"}",
                "{\"model\":\"m\",\"source\":\"simulated\"}",
                "{\"model\":\"m\",\"coldStart\":true}",
                "{\"model\":\"m\",\"coldStart\":\"yes\"}",
                "{\"model\":\"m\",\"attributes\":{\"a\":\"b\",\"n\":3}}",
                "{\"model\":\"m\",\"attributes\":[1]}",
                "{\"model\":null,\"requestId\":null}",
                "{\"model\":\"m\",\"x\":true,\"y\":[1,{\"z\":2}]}",
                "{\"model\":\"a\\\"b\\u00e9\"}",
                "{\"model\":\"caf\u00e9\"}",
                "{\"mod\\u0065l\":\"m\"}",
                "{\"model\":\"tab\there\"}",
                "{\"model\":\"m\"}\u00a0",
                "\ufeff{\"model\":\"m\"}",
                "{'model':'m'}",
                "{model:\"m\"}",
                "{\"model\":\"m\" /* c */}",
                "{\"\":1,\"model\":\"m\"}",
                "{\"requestId\":123}",
                "{\"inputTokens\":\"1\"}",
                "{\"batchSize\":1.0}"));
    // string limits: dimensions at and over validation.max.dimension.bytes (256), on both paths
    // (escapes: Jackson's)
    for (String field :
        List.of(
            "model",
            "host",
            "cluster",
            "region",
            "gpuType",
            "deviceId",
            "sloClass",
            "requestId",
            "modelVersion",
            "engine",
            "operation")) {
      for (int n : new int[] {256, 257, 65_536}) {
        lines.add(
            "{\"model\":\"m\",\"arrivalUs\":"
                + a
                + ",\"e2eUs\":7,\""
                + field
                + "\":\""
                + "x".repeat(n)
                + "\"}");
      }
      lines.add(
          "{\"model\":\"m\",\"arrivalUs\":"
              + a
              + ",\"e2eUs\":7,\""
              + field
              + "\":\""
              + "\u00e9".repeat(129)
              + "\"}"); // 258 bytes in 129 characters
    }
    lines.add(
        "{\"model\":\"m\",\"arrivalUs\":"
            + a
            + ",\"e2eUs\":7,\"errorType\":\""
            + "e".repeat(70_000)
            + "\"}");
    // random mutations of valid lines: deleted, inserted, replaced and duplicated bytes
    Random random = new Random(42);
    List<String> seeds = List.copyOf(lines.subList(0, 10));
    String alphabet = "{}[]\":,.-+eE0123456789 \t\\/abcmnoptrsuxyz\u00e9";
    for (int n = 0; n < 3000; n++) {
      StringBuilder sb = new StringBuilder(seeds.get(random.nextInt(seeds.size())));
      int edits = 1 + random.nextInt(3);
      for (int k = 0; k < edits && sb.length() > 0; k++) {
        int at = random.nextInt(sb.length());
        char ch = alphabet.charAt(random.nextInt(alphabet.length()));
        switch (random.nextInt(4)) {
          case 0 -> sb.deleteCharAt(at);
          case 1 -> sb.insert(at, ch);
          case 2 -> sb.setCharAt(at, ch);
          default -> sb.insert(at, sb.charAt(at));
        }
      }
      lines.add(sb.toString());
    }
    return lines;
  }

  /**
   * The line: a 64 KiB model is rejected at the door with its reason, on the scanner's path
   * too.
   */
  @Test
  void overLongDimensionsAreRejectedWithAReasonOnBothPaths() throws Exception {
    long a = NOW_US - 10_000_000;
    String line = "{\"model\":\"" + "m".repeat(65_536) + "\",\"arrivalUs\":" + a + ",\"e2eUs\":7}";
    byte[] b = line.getBytes(StandardCharsets.UTF_8);
    JsonLinesParser.Scan scan = new JsonLinesParser.Scan();
    assertThat(JsonLinesParser.scan(b, 0, b.length, scan)).isTrue();
    assertThatThrownBy(() -> scan.validate(VALIDATOR, NOW_US))
        .isInstanceOf(InvalidEventException.class)
        .hasMessage("model is 65536 bytes (UTF-8), over validation.max.dimension.bytes (256)")
        .extracting(e -> ((InvalidEventException) e).reason())
        .isEqualTo(RejectReason.TOO_LONG);
    RequestEvent e = parser.parseWithJackson(b, 0, b.length);
    assertThatThrownBy(() -> VALIDATOR.validate(e, NOW_US))
        .hasMessage("model is 65536 bytes (UTF-8), over validation.max.dimension.bytes (256)");
  }

  /**
   * Bytes that are not UTF-8 reject the line (malformed), whichever byte is wrong; the scanner
   * leaves them to Jackson.
   */
  @Test
  void nonUtf8BytesRejectTheLine() {
    for (byte[] bad :
        List.of(
            new byte[] {(byte) 0xff},
            new byte[] {(byte) 0xc3},
            new byte[] {(byte) 0xe2, (byte) 0x82},
            new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
            new byte[] {(byte) 0xc0, (byte) 0xaf})) {
      byte[] head = "{\"model\":\"m".getBytes(StandardCharsets.US_ASCII);
      byte[] tail = "\",\"arrivalUs\":1,\"e2eUs\":7}".getBytes(StandardCharsets.US_ASCII);
      byte[] line = new byte[head.length + bad.length + tail.length];
      System.arraycopy(head, 0, line, 0, head.length);
      System.arraycopy(bad, 0, line, head.length, bad.length);
      System.arraycopy(tail, 0, line, head.length + bad.length, tail.length);
      assertThat(parser.parseCommon(line, 0, line.length)).isNull();
      assertThatThrownBy(() -> parser.parse(line, 0, line.length))
          .isInstanceOf(InvalidEventException.class)
          .extracting(e -> ((InvalidEventException) e).reason())
          .isEqualTo(RejectReason.MALFORMED);
    }
  }

  /**
   * The UTF-8 check agrees with the JDK's strict decoder on random bytes biased to multi-byte
   * sequences.
   */
  @Test
  void utf8CheckAgreesWithTheJdksStrictDecoder() {
    Random random = new Random(11);
    int invalid = 0;
    for (int n = 0; n < 20_000; n++) {
      byte[] b = new byte[1 + random.nextInt(8)];
      for (int i = 0; i < b.length; i++) {
        b[i] = (byte) (random.nextInt(3) == 0 ? random.nextInt(128) : 0x80 + random.nextInt(128));
      }
      boolean jdk;
      try {
        StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b));
        jdk = true;
      } catch (java.nio.charset.CharacterCodingException e) {
        jdk = false;
      }
      assertThat(JsonLinesParser.invalidUtf8(b, 0, b.length) < 0)
          .as("%s", java.util.HexFormat.of().formatHex(b))
          .isEqualTo(jdk);
      invalid += jdk ? 0 : 1;
    }
    assertThat(invalid).isBetween(1000, 19_000); // both outcomes are exercised
  }

  @Test
  void scannerAndJacksonAgreeOnEveryLine() {
    int scanned = 0;
    for (String line : differentialLines()) {
      byte[] b =
          ("xx" + line + "yy").getBytes(StandardCharsets.UTF_8); // at an offset, as within a batch
      int off = 2;
      int len = b.length - 4;
      Object expected = outcome(() -> parser.parseWithJackson(b, off, len));
      Object actual = outcome(() -> parser.parse(b, off, len));
      assertThat(actual).as("line %s", line).isEqualTo(expected);
      if (parser.parseCommon(b, off, len) != null) {
        scanned++;
        assertThat(expected)
            .as("the scanner accepted what Jackson rejects: %s", line)
            .isInstanceOf(RequestEvent.class);
      }
    }
    // the scanner really is the path of the common lines (otherwise this test would compare Jackson
    // with itself)
    assertThat(scanned).isGreaterThan(100);
  }

  @Test
  void scannerTakesTheCommonShapeOfALine() {
    for (String line : differentialLines().subList(0, 10)) {
      byte[] b = line.getBytes(StandardCharsets.UTF_8);
      assertThat(parser.parseCommon(b, 0, b.length)).as(line).isNotNull();
    }
  }

  private interface Parse {
    RequestEvent run() throws InvalidEventException;
  }

  /** The event with a fixed id (ids are random), or the reject's reason and message. */
  private static Object outcome(Parse p) {
    try {
      RequestEvent e = p.run();
      e.setEventId("fixed");
      return e;
    } catch (InvalidEventException ex) {
      return ex.reason() + ": " + ex.getMessage();
    }
  }
}
