package io.infermeter.collector.delivery;

import io.infermeter.avro.DeadLetter;
import io.infermeter.avro.EngineSample;
import io.infermeter.avro.HardwareSample;
import io.infermeter.avro.RequestEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * Plain Avro binary (no registry header) of the four record types the collector publishes, for the
 * disk spool: the spool must not depend on the registry being reachable. Spooled bytes are decoded
 * with the same (compiled-in) schema they were written with. Thread-safe (datum readers/writers are
 * thread-safe; encoders are per call).
 */
public final class AvroBinary {

  public static final byte REQUEST = 1;
  public static final byte HARDWARE = 2;
  public static final byte DEAD_LETTER = 3;
  public static final byte ENGINE = 4;

  private static final SpecificDatumWriter<RequestEvent> REQUEST_WRITER =
      new SpecificDatumWriter<>(RequestEvent.class);
  private static final SpecificDatumWriter<HardwareSample> HARDWARE_WRITER =
      new SpecificDatumWriter<>(HardwareSample.class);
  private static final SpecificDatumReader<RequestEvent> REQUEST_READER =
      new SpecificDatumReader<>(RequestEvent.class);
  private static final SpecificDatumReader<HardwareSample> HARDWARE_READER =
      new SpecificDatumReader<>(HardwareSample.class);
  private static final SpecificDatumWriter<DeadLetter> DEAD_LETTER_WRITER =
      new SpecificDatumWriter<>(DeadLetter.class);
  private static final SpecificDatumReader<DeadLetter> DEAD_LETTER_READER =
      new SpecificDatumReader<>(DeadLetter.class);
  private static final SpecificDatumWriter<EngineSample> ENGINE_WRITER =
      new SpecificDatumWriter<>(EngineSample.class);
  private static final SpecificDatumReader<EngineSample> ENGINE_READER =
      new SpecificDatumReader<>(EngineSample.class);

  private AvroBinary() {}

  public static byte kindOf(SpecificRecord r) {
    return r instanceof RequestEvent
        ? REQUEST
        : r instanceof HardwareSample ? HARDWARE : r instanceof EngineSample ? ENGINE : DEAD_LETTER;
  }

  public static byte[] encode(SpecificRecord record) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(out, null);
    if (record instanceof RequestEvent r) {
      REQUEST_WRITER.write(r, enc);
    } else if (record instanceof HardwareSample h) {
      HARDWARE_WRITER.write(h, enc);
    } else if (record instanceof EngineSample es) {
      ENGINE_WRITER.write(es, enc);
    } else {
      DEAD_LETTER_WRITER.write((DeadLetter) record, enc);
    }
    enc.flush();
    return out.toByteArray();
  }

  public static SpecificRecord decode(byte kind, byte[] bytes) throws IOException {
    BinaryDecoder dec = DecoderFactory.get().binaryDecoder(bytes, null);
    return switch (kind) {
      case REQUEST -> REQUEST_READER.read(null, dec);
      case HARDWARE -> HARDWARE_READER.read(null, dec);
      case DEAD_LETTER -> DEAD_LETTER_READER.read(null, dec);
      case ENGINE -> ENGINE_READER.read(null, dec);
      default -> throw new IOException("unknown spool record kind " + kind);
    };
  }
}
