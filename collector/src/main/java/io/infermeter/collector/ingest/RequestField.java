package io.infermeter.collector.ingest;

import io.infermeter.avro.RequestEvent;
import java.util.HashMap;
import java.util.Map;

/**
 * The fields of a request line (docs/COLLECTOR.md, "JSON lines"), declared once: the scanner's
 * field ids are the positions (string-valued fields first, up to {@link #LAST_STRING}), the Jackson
 * path looks a name up here, and the validator checks the {@link Kind#DIMENSION} fields in this
 * order on both paths. Names are the JSON keys; all but the three durations are also the {@link
 * RequestEvent} field names ({@code RequestFieldTest} checks both against the schema). Adding a
 * field here without handling it in {@link JsonLinesParser}'s switches fails its exhaustiveness
 * check (Error Prone's MissingCasesInEnumSwitch) or the round-trip tests.
 */
enum RequestField {
  REQUEST_ID(0, "requestId", Kind.DIMENSION, 0),
  SOURCE(1, "source", Kind.SOURCE, 0),
  MODEL(2, "model", Kind.DIMENSION, 0),
  MODEL_VERSION(3, "modelVersion", Kind.DIMENSION, 0),
  ENGINE(4, "engine", Kind.DIMENSION, 0),
  OPERATION(5, "operation", Kind.DIMENSION, 0),
  STATUS(6, "status", Kind.STATUS, 0),
  ERROR_TYPE(7, "errorType", Kind.FREE_TEXT, 0),
  HOST(8, "host", Kind.DIMENSION, 0),
  CLUSTER(9, "cluster", Kind.DIMENSION, 0),
  REGION(10, "region", Kind.DIMENSION, 0),
  DEVICE_ID(11, "deviceId", Kind.DIMENSION, 0),
  GPU_TYPE(12, "gpuType", Kind.DIMENSION, 0),
  SLO_CLASS(13, "sloClass", Kind.DIMENSION, 0),
  ARRIVAL(14, "arrivalUs", Kind.TIMESTAMP, 0),
  SCHEDULED(15, "scheduledUs", Kind.TIMESTAMP, RequestValidator.SCHEDULED),
  FIRST_TOKEN(16, "firstTokenUs", Kind.TIMESTAMP, RequestValidator.FIRST_TOKEN),
  COMPLETED(17, "completedUs", Kind.TIMESTAMP, 0),
  QUEUE(18, "queueUs", Kind.DURATION, 0),
  TTFT(19, "ttftUs", Kind.DURATION, 0),
  E2E(20, "e2eUs", Kind.DURATION, 0),
  MAX_GAP(21, "maxInterTokenGapUs", Kind.MICROS, RequestValidator.GAP),
  INPUT_TOKENS(22, "inputTokens", Kind.COUNT, RequestValidator.INPUT_TOKENS),
  OUTPUT_TOKENS(23, "outputTokens", Kind.COUNT, RequestValidator.OUTPUT_TOKENS),
  CACHED_TOKENS(24, "cachedTokens", Kind.COUNT, RequestValidator.CACHED_TOKENS),
  BATCH_SIZE(25, "batchSize", Kind.COUNT, RequestValidator.BATCH_SIZE),
  MAX_BATCH_SIZE(26, "maxBatchSize", Kind.COUNT, RequestValidator.MAX_BATCH_SIZE),
  COLD_START(27, "coldStart", Kind.BOOLEAN, 0),
  ATTRIBUTES(28, "attributes", Kind.MAP, 0);

  /** What a field's value is, and so how each path reads and checks it. */
  enum Kind {
    /** A string that names something; at most validation.max.dimension.bytes. */
    DIMENSION,
    /** One of {@link JsonLinesParser#SOURCES}. */
    SOURCE,
    /** A {@code RequestStatus} name, in any case. */
    STATUS,
    /** A string cut to validation.max.message.bytes (never rejected for length). */
    FREE_TEXT,
    /** Epoch microseconds. */
    TIMESTAMP,
    /**
     * Microseconds from arrival, turned into a timestamp (a timestamp given wins); not negative.
     */
    DURATION,
    /** A duration in microseconds kept as it is. */
    MICROS,
    /** A 32-bit integer count. */
    COUNT,
    /** true or false; left to the Jackson path. */
    BOOLEAN,
    /** An object of scalars; left to the Jackson path. */
    MAP;

    /** Whether the value is a JSON string. */
    boolean isString() {
      return this == DIMENSION || this == SOURCE || this == STATUS || this == FREE_TEXT;
    }

    /** Whether the scanner reads it (else a line with it goes to Jackson). */
    boolean isScanned() {
      return this != BOOLEAN && this != MAP;
    }
  }

  /** The scanner's id of the field: its position in this declaration (checked at class load). */
  final int id;

  /** The JSON key. */
  final String jsonName;

  final Kind kind;

  /** The field's bit in {@link RequestValidator}'s presence mask of optional numbers; 0 if none. */
  final int presentBit;

  /** The string-valued fields are the ids 0 to this one's. */
  static final RequestField LAST_STRING = SLO_CLASS;

  private static final RequestField[] ALL = values();
  private static final Map<String, RequestField> BY_NAME = new HashMap<>();

  static {
    for (int k = 0; k < ALL.length; k++) {
      RequestField f = ALL[k];
      BY_NAME.put(f.jsonName, f);
      if (f.id != k) {
        throw new ExceptionInInitializerError(f + " has id " + f.id + " at position " + k);
      }
      if (f.kind.isString() != (f.id <= LAST_STRING.id)) {
        throw new ExceptionInInitializerError(
            "the string-valued fields must come first, up to " + LAST_STRING + ": " + f);
      }
    }
  }

  RequestField(int id, String jsonName, Kind kind, int presentBit) {
    this.id = id;
    this.jsonName = jsonName;
    this.kind = kind;
    this.presentBit = presentBit;
  }

  /** The field of a JSON key, or null for a key this collector does not read. */
  static RequestField byName(String jsonName) {
    return BY_NAME.get(jsonName);
  }

  /** The field with scanner id {@code id}. */
  static RequestField of(int id) {
    return ALL[id];
  }

  /** All fields in declaration order (a shared array: do not modify). */
  static RequestField[] all() {
    return ALL;
  }

  /**
   * The event's value of a {@link Kind#DIMENSION} or {@link Kind#SOURCE} field (null when absent).
   */
  String text(RequestEvent e) {
    return switch (this) {
      case REQUEST_ID -> e.getRequestId();
      case SOURCE -> e.getSource();
      case MODEL -> e.getModel();
      case MODEL_VERSION -> e.getModelVersion();
      case ENGINE -> e.getEngine();
      case OPERATION -> e.getOperation();
      case HOST -> e.getHost();
      case CLUSTER -> e.getCluster();
      case REGION -> e.getRegion();
      case DEVICE_ID -> e.getDeviceId();
      case GPU_TYPE -> e.getGpuType();
      case SLO_CLASS -> e.getSloClass();
      default -> throw new IllegalStateException(this + " is not a dimension");
    };
  }

  /** Sets a {@link Kind#DIMENSION} or {@link Kind#FREE_TEXT} field of the event. */
  void setText(RequestEvent e, String value) {
    switch (this) {
      case REQUEST_ID -> e.setRequestId(value);
      case MODEL -> e.setModel(value);
      case MODEL_VERSION -> e.setModelVersion(value);
      case ENGINE -> e.setEngine(value);
      case OPERATION -> e.setOperation(value);
      case ERROR_TYPE -> e.setErrorType(value);
      case HOST -> e.setHost(value);
      case CLUSTER -> e.setCluster(value);
      case REGION -> e.setRegion(value);
      case DEVICE_ID -> e.setDeviceId(value);
      case GPU_TYPE -> e.setGpuType(value);
      case SLO_CLASS -> e.setSloClass(value);
      default -> throw new IllegalStateException(this + " is not a plain string field");
    }
  }

  /** Sets a {@link Kind#TIMESTAMP} or {@link Kind#MICROS} field of the event. */
  void setMicros(RequestEvent e, long value) {
    switch (this) {
      case ARRIVAL -> e.setArrivalUs(value);
      case SCHEDULED -> e.setScheduledUs(value);
      case FIRST_TOKEN -> e.setFirstTokenUs(value);
      case COMPLETED -> e.setCompletedUs(value);
      case MAX_GAP -> e.setMaxInterTokenGapUs(value);
      default -> throw new IllegalStateException(this + " is not a microsecond field");
    }
  }

  /** Sets a {@link Kind#COUNT} field of the event. */
  void setCount(RequestEvent e, int value) {
    switch (this) {
      case INPUT_TOKENS -> e.setInputTokens(value);
      case OUTPUT_TOKENS -> e.setOutputTokens(value);
      case CACHED_TOKENS -> e.setCachedTokens(value);
      case BATCH_SIZE -> e.setBatchSize(value);
      case MAX_BATCH_SIZE -> e.setMaxBatchSize(value);
      default -> throw new IllegalStateException(this + " is not a count field");
    }
  }
}
