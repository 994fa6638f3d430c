package io.infermeter.streams;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.ConfigKey.Type;
import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.schemas.config.Settings;
import java.time.Duration;
import java.util.Map;

/**
 * The streams app's defensive limits against hostile or broken input, read from the app's settings
 * (keys, defaults and docs in {@link #KEYS}, every one listed in docs/STREAMS.md "Limits" and
 * docs/SECURITY.md "Streams app"). The collector limits strings at its door, but any producer can
 * write the input topics, so the app enforces its own. Immutable, thread-safe.
 *
 * @param dimensionMaxBytes largest UTF-8 size of a dimension string (host, model, cluster, ...); a
 *     record with a longer one is dead-lettered (reason {@code dimension-too-long})
 * @param errorTypeMaxBytes an error type longer than this (UTF-8 bytes) is truncated before it
 *     becomes a map key
 * @param errorTypesPerWindow distinct error types kept per window and key; the others are counted
 *     under {@code other}
 * @param devicesPerWindow distinct devices kept per window and key (request usage and hardware
 *     samples); the others are counted under {@code other}
 * @param deadLetterPayloadMaxBytes a dead letter's payload (and key) is cut to this many bytes
 * @param deadLetterMessageMaxBytes a dead letter's message is cut to this many bytes
 * @param failureMaxAttempts how often a failure that is not the record's fault is retried on the
 *     same source record before the record is dead-lettered and skipped
 * @param inactiveExpiry alert rule states, host-last-seen entries and device last samples untouched
 *     for this long (wall clock) are forgotten
 * @param evictionInterval how often (wall clock) expired state is looked for
 * @param maxKeysPerTask most keys each of those stores holds per task; a new key past it is refused
 *     (counted)
 */
public record StreamsLimits(
    int dimensionMaxBytes,
    int errorTypeMaxBytes,
    int errorTypesPerWindow,
    int devicesPerWindow,
    int deadLetterPayloadMaxBytes,
    int deadLetterMessageMaxBytes,
    int failureMaxAttempts,
    Duration inactiveExpiry,
    Duration evictionInterval,
    int maxKeysPerTask) {

  /**
   * Every key of the limits with its default, type and doc: part of {@link StreamsSettings#KEYS}
   * and of docs/STREAMS.md's configuration reference.
   */
  public static final ConfigTable KEYS =
      ConfigTable.builder()
          .key(
              "limits.dimension.max.bytes",
              "256",
              Type.POSITIVE_INTEGER,
              "longest dimension string (UTF-8 bytes); longer: dead letter `dimension-too-long`")
          .key(
              "limits.error.type.max.bytes",
              "256",
              Type.POSITIVE_INTEGER,
              "error types are cut to this (UTF-8 bytes)")
          .key(
              "limits.error.types.per.window",
              "32",
              Type.POSITIVE_INTEGER,
              "distinct error types per window and key; more count under `other`")
          .key(
              "limits.devices.per.window",
              "128",
              Type.POSITIVE_INTEGER,
              "distinct devices per window and key; more count under `other`")
          .key(
              "limits.dead.letter.payload.max.bytes",
              "65536",
              Type.POSITIVE_INTEGER,
              "dead-letter payload and key are cut to this (bytes)")
          .key(
              "limits.dead.letter.message.max.bytes",
              "4096",
              Type.POSITIVE_INTEGER,
              "dead-letter message is cut to this (bytes)")
          .key(
              "limits.failure.max.attempts",
              "3",
              Type.POSITIVE_INTEGER,
              "failures of the same source record before it is dead-lettered and skipped")
          .key(
              "state.inactive.expiry",
              "1h",
              Type.DURATION,
              "wall-clock inactivity after which rule states, host-last-seen and device entries"
                  + " are forgotten")
          .key(
              "state.eviction.interval",
              "1m",
              Type.DURATION,
              "how often expired rule states and device entries are looked for")
          .key(
              "state.max.keys.per.task",
              "100000",
              Type.POSITIVE_INTEGER,
              "keys per task in each of those stores; new keys past it are refused")
          .build();

  /** Default of every key. */
  public static final Map<String, String> DEFAULTS = KEYS.defaults();

  /** The defaults (tests, benchmarks). */
  public static final StreamsLimits DEFAULT = from(Settings.fromMap(DEFAULTS));

  /**
   * Reads the limits from {@code raw} (the app's layered settings), each missing key at its
   * default.
   */
  public static StreamsLimits from(Settings raw) {
    Settings s = Settings.fromMap(DEFAULTS).with(raw.asMap());
    StreamsLimits l =
        new StreamsLimits(
            s.positiveInt("limits.dimension.max.bytes"),
            s.positiveInt("limits.error.type.max.bytes"),
            s.positiveInt("limits.error.types.per.window"),
            s.positiveInt("limits.devices.per.window"),
            s.positiveInt("limits.dead.letter.payload.max.bytes"),
            s.positiveInt("limits.dead.letter.message.max.bytes"),
            s.positiveInt("limits.failure.max.attempts"),
            s.duration("state.inactive.expiry"),
            s.duration("state.eviction.interval"),
            s.positiveInt("state.max.keys.per.task"));
    if (l.inactiveExpiry.toMillis() <= 0) {
      throw new ConfigException(
          "invalid value '"
              + s.string("state.inactive.expiry")
              + "' for setting 'state.inactive.expiry': expected a positive duration");
    }
    if (l.evictionInterval.toMillis() <= 0) {
      throw new ConfigException(
          "invalid value '"
              + s.string("state.eviction.interval")
              + "' for setting 'state.eviction.interval': expected a positive duration");
    }
    return l;
  }

  /** The limits of {@code settings}. */
  public static StreamsLimits of(StreamsSettings settings) {
    return from(settings.raw());
  }
}
