package io.infermeter.streams.energy;

import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.streams.state.ByteArrayDataInput;
import io.infermeter.streams.state.Codec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * What the per-host energy task consumes from its repartition topics ({@code energy-input}, {@code
 * hardware-by-host}, {@code engine-by-host}, all keyed by host): a hardware sample, a request-side
 * {@link HostUsage} or a serving-engine sample. Exactly one of the fields is non-null.
 */
public record EnergyInput(HardwareSample sample, HostUsage usage, EngineSample engine) {

  private static final SpecificDatumWriter<HardwareSample> WRITER =
      new SpecificDatumWriter<>(HardwareSample.class);
  private static final SpecificDatumReader<HardwareSample> READER =
      new SpecificDatumReader<>(HardwareSample.class);
  private static final SpecificDatumWriter<EngineSample> ENGINE_WRITER =
      new SpecificDatumWriter<>(EngineSample.class);
  private static final SpecificDatumReader<EngineSample> ENGINE_READER =
      new SpecificDatumReader<>(EngineSample.class);

  /** A hardware sample or a usage (the two inputs before engine samples). */
  public EnergyInput(HardwareSample sample, HostUsage usage) {
    this(sample, usage, null);
  }

  /** An engine sample. */
  public static EnergyInput ofEngine(EngineSample engine) {
    return new EnergyInput(null, null, engine);
  }

  /** Tag of a usage with per-device occupancy. */
  private static final byte USAGE = 5;

  /** Tag of a usage in the varint-string codec without occupancy; still read. */
  private static final byte USAGE_VARINT = 3;

  /**
   * Tag of a usage in the writeUTF codec written before it; still read from the repartition topic.
   */
  private static final byte USAGE_UTF = 2;

  /** Tag of an engine sample (Avro binary of today's EngineSample schema). */
  private static final byte ENGINE = 4;

  /**
   * Internal serde: a tag byte (the format version), then the sample's Avro binary (tag 1; no
   * registry: internal topic), the usage codec (tag 5; tag 3, without occupancy, and tag 2, the
   * writeUTF codec, are still read) or the engine sample's Avro binary (tag 4).
   */
  public static Serde<EnergyInput> serde() {
    Serializer<EnergyInput> ser =
        (topic, v) -> {
          if (v == null) {
            return null;
          }
          try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream(256);
            if (v.sample() != null) {
              bos.write(1);
              BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bos, null);
              synchronized (WRITER) {
                WRITER.write(v.sample(), enc);
              }
              enc.flush();
            } else if (v.engine() != null) {
              bos.write(ENGINE);
              BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bos, null);
              synchronized (ENGINE_WRITER) {
                ENGINE_WRITER.write(v.engine(), enc);
              }
              enc.flush();
            } else {
              return Codec.encode(
                  out -> {
                    out.writeByte(USAGE);
                    v.usage().write(out);
                  });
            }
            return bos.toByteArray();
          } catch (IOException e) {
            throw new SerializationException("cannot encode energy input", e);
          }
        };
    Deserializer<EnergyInput> de =
        (topic, bytes) -> {
          if (bytes == null) {
            return null;
          }
          try {
            if (bytes[0] == 1) {
              BinaryDecoder dec =
                  DecoderFactory.get().binaryDecoder(bytes, 1, bytes.length - 1, null);
              synchronized (READER) {
                return new EnergyInput(READER.read(null, dec), null);
              }
            }
            if (bytes[0] == ENGINE) {
              BinaryDecoder dec =
                  DecoderFactory.get().binaryDecoder(bytes, 1, bytes.length - 1, null);
              synchronized (ENGINE_READER) {
                return ofEngine(ENGINE_READER.read(null, dec));
              }
            }
            if (bytes[0] == USAGE || bytes[0] == USAGE_VARINT || bytes[0] == USAGE_UTF) {
              return new EnergyInput(
                  null,
                  HostUsage.read(
                      new ByteArrayDataInput(bytes, 1), bytes[0] != USAGE_UTF, bytes[0] == USAGE));
            }
            throw new SerializationException("unknown energy input tag " + bytes[0]);
          } catch (IOException | RuntimeException e) {
            throw new SerializationException("cannot decode energy input: " + e.getMessage(), e);
          }
        };
    return org.apache.kafka.common.serialization.Serdes.serdeFrom(ser, de);
  }
}
