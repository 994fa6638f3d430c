package io.infermeter.streams.internal;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The binary codec plumbing of the state objects (accumulators, host windows, rule states, host-last-seen entries):
 * big-endian {@link DataOutput}/{@link DataInput} (DataOutputStream's format) over a byte array, with a per-thread
 * encoding buffer (stream threads are long-lived; a nested encode gets a fresh buffer). Stateless apart from that
 * buffer; thread-safe.
 */
final class Codec {

  /** Writes one object. */
  interface Writer {
    void write(DataOutput out) throws IOException;
  }

  /** Reads one object. */
  interface Reader<T> {
    T read(DataInput in) throws IOException;
  }

  private static final class Buffer {
    final ByteArrayDataOutput out = new ByteArrayDataOutput(1 << 16);
    boolean inUse;
  }

  private static final ThreadLocal<Buffer> BUFFER = ThreadLocal.withInitial(Buffer::new);

  private Codec() {}

  static byte[] encode(Writer writer) {
    Buffer b = BUFFER.get();
    ByteArrayDataOutput out = b.inUse ? new ByteArrayDataOutput(256) : b.out;
    boolean owner = !b.inUse;
    b.inUse = true;
    try {
      out.reset();
      writer.write(out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // not thrown by a byte-array sink
    } finally {
      if (owner) {
        b.inUse = false;
      }
    }
  }

  /** Decodes {@code bytes}; corrupt input gives an IllegalArgumentException naming {@code what}. */
  static <T> T decode(byte[] bytes, String what, Reader<T> reader) {
    try {
      return reader.read(new ByteArrayDataInput(bytes));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("corrupt " + what + ": " + e.getMessage(), e);
    }
  }
}
