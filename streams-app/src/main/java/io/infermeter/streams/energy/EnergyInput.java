package io.infermeter.streams.energy;

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
 * What the per-host energy task consumes from its one repartition topic: a hardware sample or a request-side
 * {@link HostUsage}. One topic (not two) so both sides are co-partitioned by host without partition-count coupling.
 * Exactly one of the fields is non-null.
 */
public record EnergyInput(HardwareSample sample, HostUsage usage) {

  private static final SpecificDatumWriter<HardwareSample> WRITER = new SpecificDatumWriter<>(HardwareSample.class);
  private static final SpecificDatumReader<HardwareSample> READER = new SpecificDatumReader<>(HardwareSample.class);

  /** Tag of a usage in the varint-string codec. */
  private static final byte USAGE = 3;
  /** Tag of a usage in the writeUTF codec written before it; still read from the repartition topic. */
  private static final byte USAGE_UTF = 2;

  /**
   * Internal serde: a tag byte (the format version), then the sample's Avro binary (tag 1; no registry: internal
   * topic) or the usage codec (tag 3; tag 2, the writeUTF codec before it, is still read).
   */
  public static Serde<EnergyInput> serde() {
    Serializer<EnergyInput> ser = (topic, v) -> {
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
        } else {
          return Codec.encode(out -> {
            out.writeByte(USAGE);
            v.usage().write(out);
          });
        }
        return bos.toByteArray();
      } catch (IOException e) {
        throw new SerializationException("cannot encode energy input", e);
      }
    };
    Deserializer<EnergyInput> de = (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      try {
        if (bytes[0] == 1) {
          BinaryDecoder dec = DecoderFactory.get().binaryDecoder(bytes, 1, bytes.length - 1, null);
          synchronized (READER) {
            return new EnergyInput(READER.read(null, dec), null);
          }
        }
        if (bytes[0] == USAGE || bytes[0] == USAGE_UTF) {
          return new EnergyInput(null, HostUsage.read(new ByteArrayDataInput(bytes, 1), bytes[0] == USAGE));
        }
        throw new SerializationException("unknown energy input tag " + bytes[0]);
      } catch (IOException | RuntimeException e) {
        throw new SerializationException("cannot decode energy input: " + e.getMessage(), e);
      }
    };
    return org.apache.kafka.common.serialization.Serdes.serdeFrom(ser, de);
  }
}
