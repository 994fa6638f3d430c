package io.infermeter.sink.internal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Encodes rows of {@link Table#REQUESTS} in ClickHouse's RowBinary format, column after column in
 * the table's order: String and LowCardinality(String) as a LEB128 length and the UTF-8 bytes,
 * integers and DateTime64(6) little endian, Bool as one byte, Nullable(T) as a 0/1 null flag then T
 * when present, Map as a LEB128 entry count then the key-value pairs. Reuses one growing buffer;
 * not thread-safe (one encoder per writer).
 */
public final class RowBinaryRequests {

  /** Columns of {@link Table#REQUESTS} by wire type, in table order. */
  private enum Kind {
    DATETIME64,
    STRING,
    BOOL,
    UINT64,
    NULLABLE_UINT64,
    NULLABLE_UINT32,
    WINDOW_STARTS,
    ATTRIBUTES,
    UINT32
  }

  private static final Kind[] KINDS = kinds();

  private byte[] buf = new byte[1 << 16];
  private int pos;

  private static Kind[] kinds() {
    List<String> columns = Table.REQUESTS.columns();
    Kind[] k = new Kind[columns.size()];
    for (int i = 0; i < k.length; i++) {
      k[i] =
          switch (columns.get(i)) {
            case "completed_at" -> Kind.DATETIME64;
            case "cold_start" -> Kind.BOOL;
            case "e2e_us", "kafka_offset" -> Kind.UINT64;
            case "queue_us",
                "ttft_us",
                "prefill_us",
                "decode_us",
                "tpot_us",
                "max_inter_token_gap_us" ->
                Kind.NULLABLE_UINT64;
            case "input_tokens", "output_tokens", "cached_tokens", "batch_size", "max_batch_size" ->
                Kind.NULLABLE_UINT32;
            case "window_starts" -> Kind.WINDOW_STARTS;
            case "attributes" -> Kind.ATTRIBUTES;
            case "kafka_partition" -> Kind.UINT32;
            default -> Kind.STRING;
          };
    }
    return k;
  }

  /** Clears the buffer for the next insert. */
  public void reset() {
    pos = 0;
  }

  /** The bytes encoded since {@link #reset()}: {@code buffer()[0, size())}. */
  public byte[] buffer() {
    return buf;
  }

  public int size() {
    return pos;
  }

  /**
   * Appends one row; on a wrong value (a type the column cannot take) the buffer is left at the
   * row's start.
   */
  public void add(Object[] row) {
    if (row.length != KINDS.length) {
      throw new IllegalArgumentException(
          "requests row has " + row.length + " values for " + KINDS.length + " columns");
    }
    int start = pos;
    try {
      for (int i = 0; i < KINDS.length; i++) {
        write(KINDS[i], row[i]);
      }
    } catch (RuntimeException e) {
      pos = start;
      throw e;
    }
  }

  @SuppressWarnings("unchecked")
  private void write(Kind kind, Object v) {
    switch (kind) {
      case DATETIME64, UINT64 -> int64((Long) v);
      case STRING -> string((String) v);
      case BOOL -> byte1(((Boolean) v) ? 1 : 0);
      case UINT32 -> int32((Integer) v);
      case NULLABLE_UINT64 -> {
        if (v == null) {
          byte1(1);
        } else {
          byte1(0);
          int64((Long) v);
        }
      }
      case NULLABLE_UINT32 -> {
        if (v == null) {
          byte1(1);
        } else {
          byte1(0);
          int32((Integer) v);
        }
      }
      case WINDOW_STARTS -> {
        RawRequests.WindowStarts w = (RawRequests.WindowStarts) v;
        leb128(w.sizesMs().length);
        for (int i = 0; i < w.sizesMs().length; i++) {
          int32(w.sizesMs()[i]);
          int64(w.startsUs()[i]);
        }
      }
      case ATTRIBUTES -> {
        Map<String, String> m = (Map<String, String>) v;
        leb128(m.size());
        for (Map.Entry<String, String> e : m.entrySet()) {
          string(e.getKey());
          string(e.getValue());
        }
      }
      default -> throw new IllegalStateException("unhandled " + kind);
    }
  }

  private void ensure(int n) {
    if (pos + n > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
    }
  }

  private void byte1(int b) {
    ensure(1);
    buf[pos++] = (byte) b;
  }

  private void int32(int v) {
    ensure(4);
    buf[pos++] = (byte) v;
    buf[pos++] = (byte) (v >>> 8);
    buf[pos++] = (byte) (v >>> 16);
    buf[pos++] = (byte) (v >>> 24);
  }

  private void int64(long v) {
    ensure(8);
    for (int i = 0; i < 8; i++) {
      buf[pos++] = (byte) (v >>> (8 * i));
    }
  }

  private void leb128(long v) {
    ensure(10);
    while ((v & ~0x7FL) != 0) {
      buf[pos++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[pos++] = (byte) v;
  }

  private void string(String s) {
    // ASCII fast path (ids, host and model names): one byte per char, no intermediate array
    int n = s.length();
    boolean ascii = true;
    for (int i = 0; i < n; i++) {
      if (s.charAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      leb128(n);
      ensure(n);
      for (int i = 0; i < n; i++) {
        buf[pos++] = (byte) s.charAt(i);
      }
      return;
    }
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    leb128(b.length);
    ensure(b.length);
    System.arraycopy(b, 0, buf, pos, b.length);
    pos += b.length;
  }
}
