package io.infermeter.streams.state;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The binary codec plumbing of the state objects (accumulators, host windows, rule states,
 * host-last-seen entries, device last samples): big-endian {@link DataOutput}/{@link DataInput}
 * (DataOutputStream's format) over a byte array, with a per-thread encoding buffer (stream threads
 * are long-lived; a nested encode gets a fresh buffer). Stateless apart from that buffer;
 * thread-safe.
 *
 * <p>Strings are written by {@link #writeString} as an unsigned LEB128 varint byte length followed
 * by standard UTF-8 (no 65,535-byte limit, unlike {@code writeUTF}); {@link #readString} refuses a
 * length over {@link #MAX_STRING_BYTES} or past the end of the input. Every persisted format starts
 * with a version: either its own version byte ({@link RequestAccumulator}) or {@link #FORMAT_MARK}
 * followed by a version byte. Formats written before the version existed start with a byte other
 * than the mark and are still read ({@code readUTF} strings).
 */
public final class Codec {

  /** Writes one object. */
  public interface Writer {
    void write(DataOutput out) throws IOException;
  }

  /** Reads one object. */
  public interface Reader<T> {
    T read(DataInput in) throws IOException;
  }

  private static final class Buffer {
    final ByteArrayDataOutput out = new ByteArrayDataOutput(1 << 16);
    boolean inUse;
  }

  private static final ThreadLocal<Buffer> BUFFER = ThreadLocal.withInitial(Buffer::new);

  /**
   * First byte of a versioned format that had no version byte before; the next byte is the version.
   * A legacy record never starts with it: its first byte is a boolean (rule state), the high byte
   * of an epoch time (host-last-seen, device last sample) or of a writeUTF length of at least
   * 65,024 bytes (host window).
   */
  public static final int FORMAT_MARK = 0xFE;

  /** Largest string {@link #readString} accepts: a corrupt length must not allocate gigabytes. */
  static final int MAX_STRING_BYTES = 16 << 20;

  private Codec() {}

  /** Writes {@code s} as a varint UTF-8 byte length and the UTF-8 bytes. */
  public static void writeString(DataOutput out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    writeVarInt(out, b.length);
    out.write(b);
  }

  /** Reads a string written by {@link #writeString}. */
  public static String readString(DataInput in) throws IOException {
    int n = readVarInt(in);
    if (n > MAX_STRING_BYTES || (in instanceof ByteArrayDataInput b && n > b.remaining())) {
      throw new IOException(
          "string length " + n + " exceeds the input or " + MAX_STRING_BYTES + " bytes");
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  /**
   * Reads a string of a format at {@code version}: varint strings from {@code varintSince} on,
   * writeUTF before.
   */
  public static String readString(DataInput in, int version, int varintSince) throws IOException {
    return version >= varintSince ? readString(in) : in.readUTF();
  }

  /** An unsigned LEB128 varint of a non-negative int. */
  static void writeVarInt(DataOutput out, int v) throws IOException {
    if (v < 0) {
      throw new IllegalArgumentException("negative length " + v);
    }
    while ((v & ~0x7F) != 0) {
      out.writeByte((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out.writeByte(v);
  }

  static int readVarInt(DataInput in) throws IOException {
    int v = 0;
    for (int shift = 0; shift < 32; shift += 7) {
      int b = in.readUnsignedByte();
      v |= (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        if (v < 0) {
          throw new IOException("varint out of range");
        }
        return v;
      }
    }
    throw new IOException("varint longer than 5 bytes");
  }

  /** An unsigned LEB128 varint of a non-negative long (counts: 1 byte below 128). */
  public static void writeVarLong(DataOutput out, long v) throws IOException {
    if (v < 0) {
      throw new IllegalArgumentException("negative varlong " + v);
    }
    while ((v & ~0x7FL) != 0) {
      out.writeByte((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.writeByte((int) v);
  }

  public static long readVarLong(DataInput in) throws IOException {
    long v = 0;
    for (int shift = 0; shift < 63; shift += 7) {
      int b = in.readUnsignedByte();
      v |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    throw new IOException("varlong longer than 9 bytes");
  }

  /** Writes {@link #FORMAT_MARK} and {@code version}. */
  public static void writeHeader(DataOutput out, int version) throws IOException {
    out.writeByte(FORMAT_MARK);
    out.writeByte(version);
  }

  /** True when {@code bytes} start with {@link #FORMAT_MARK} (a versioned format). */
  public static boolean hasHeader(byte[] bytes) {
    return bytes.length >= 2 && (bytes[0] & 0xFF) == FORMAT_MARK;
  }

  public static byte[] encode(Writer writer) {
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
  public static <T> T decode(byte[] bytes, String what, Reader<T> reader) {
    try {
      return reader.read(new ByteArrayDataInput(bytes));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("corrupt " + what + ": " + e.getMessage(), e);
    }
  }
}
