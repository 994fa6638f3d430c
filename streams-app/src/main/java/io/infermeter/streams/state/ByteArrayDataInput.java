package io.infermeter.streams.state;

import java.io.DataInput;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;

/**
 * {@link DataInput} over a byte array without the per-byte synchronization of DataInputStream over
 * a ByteArrayInputStream (decoding accumulators reads histograms byte by byte as varints).
 * Big-endian like DataInputStream; modified UTF-8 strings through {@link
 * DataInputStream#readUTF(DataInput)} (legacy formats; new formats use {@link Codec#readString}).
 * Not thread-safe.
 */
public final class ByteArrayDataInput implements DataInput {

  private final byte[] buf;
  private int pos;

  public ByteArrayDataInput(byte[] buf) {
    this(buf, 0);
  }

  /** Reads {@code buf} from {@code offset}. */
  public ByteArrayDataInput(byte[] buf, int offset) {
    this.buf = buf;
    this.pos = offset;
  }

  /** Bytes left to read. */
  int remaining() {
    return buf.length - pos;
  }

  private void need(int n) throws EOFException {
    if (pos + n > buf.length) {
      throw new EOFException("needs " + n + " more bytes at offset " + pos + " of " + buf.length);
    }
  }

  @Override
  public void readFully(byte[] b) throws IOException {
    readFully(b, 0, b.length);
  }

  @Override
  public void readFully(byte[] b, int off, int len) throws IOException {
    need(len);
    System.arraycopy(buf, pos, b, off, len);
    pos += len;
  }

  @Override
  public int skipBytes(int n) {
    int k = Math.max(0, Math.min(n, buf.length - pos));
    pos += k;
    return k;
  }

  @Override
  public boolean readBoolean() throws IOException {
    return readByte() != 0;
  }

  @Override
  public byte readByte() throws IOException {
    need(1);
    return buf[pos++];
  }

  @Override
  public int readUnsignedByte() throws IOException {
    return readByte() & 0xFF;
  }

  @Override
  public short readShort() throws IOException {
    need(2);
    short v = (short) (((buf[pos] & 0xFF) << 8) | (buf[pos + 1] & 0xFF));
    pos += 2;
    return v;
  }

  @Override
  public int readUnsignedShort() throws IOException {
    return readShort() & 0xFFFF;
  }

  @Override
  public char readChar() throws IOException {
    return (char) readShort();
  }

  @Override
  public int readInt() throws IOException {
    need(4);
    int v =
        ((buf[pos] & 0xFF) << 24)
            | ((buf[pos + 1] & 0xFF) << 16)
            | ((buf[pos + 2] & 0xFF) << 8)
            | (buf[pos + 3] & 0xFF);
    pos += 4;
    return v;
  }

  @Override
  public long readLong() throws IOException {
    return ((long) readInt() << 32) | (readInt() & 0xFFFFFFFFL);
  }

  @Override
  public float readFloat() throws IOException {
    return Float.intBitsToFloat(readInt());
  }

  @Override
  public double readDouble() throws IOException {
    return Double.longBitsToDouble(readLong());
  }

  @Override
  public String readLine() {
    throw new UnsupportedOperationException("readLine is not part of the accumulator codec");
  }

  @Override
  public String readUTF() throws IOException {
    return DataInputStream.readUTF(this);
  }
}
