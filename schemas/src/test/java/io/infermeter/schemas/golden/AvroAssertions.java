package io.infermeter.schemas.golden;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.IndexedRecord;

/**
 * Compares a record decoded with a newer reader schema to the same data as its writer wrote it,
 * field by field by name, without going through Avro's schema resolution (the code under test):
 * reader fields the writer did not have must hold their default, every other field must hold the
 * written value (string/Utf8, enum symbol, int/long promotion tolerated).
 */
public final class AvroAssertions {

  private AvroAssertions() {}

  /**
   * Asserts that {@code actual} holds the data of {@code written}, as described above.
   *
   * @param actual the value decoded with the reader schema (specific or generic)
   * @param written the value as written (generic, decoded with the writer schema alone)
   */
  public static void assertSameData(String path, Object actual, Object written) {
    if (written == null) {
      assertThat(actual).as(path).isNull();
    } else if (written instanceof IndexedRecord w) {
      assertThat(actual).as(path).isInstanceOf(IndexedRecord.class);
      IndexedRecord a = (IndexedRecord) actual;
      for (Schema.Field readerField : a.getSchema().getFields()) {
        String fieldPath = path + "." + readerField.name();
        Schema.Field writerField = writerField(w.getSchema(), readerField);
        Object value = a.get(readerField.pos());
        if (writerField == null) {
          Object dflt = GenericData.get().getDefaultValue(readerField);
          assertSameData(fieldPath + " (absent in writer: default)", value, dflt);
        } else {
          assertSameData(fieldPath, value, w.get(writerField.pos()));
        }
      }
    } else if (written instanceof GenericEnumSymbol<?> || written instanceof Enum<?>) {
      assertThat(String.valueOf(actual)).as(path).isEqualTo(written.toString());
    } else if (written instanceof CharSequence) {
      assertThat(actual).as(path).isInstanceOf(CharSequence.class);
      assertThat(actual.toString()).as(path).isEqualTo(written.toString());
    } else if (written instanceof ByteBuffer wb) {
      assertThat(actual).as(path).isInstanceOf(ByteBuffer.class);
      assertThat(bytes((ByteBuffer) actual)).as(path).isEqualTo(bytes(wb));
    } else if (written instanceof GenericFixed wf) {
      assertThat(((GenericFixed) actual).bytes()).as(path).isEqualTo(wf.bytes());
    } else if (written instanceof Collection<?> wc) {
      assertThat(actual).as(path).isInstanceOf(Collection.class);
      List<?> ac = new ArrayList<>((Collection<?>) actual);
      List<?> wl = new ArrayList<>(wc);
      assertThat(ac).as(path).hasSameSizeAs(wl);
      for (int i = 0; i < wl.size(); i++) {
        assertSameData(path + "[" + i + "]", ac.get(i), wl.get(i));
      }
    } else if (written instanceof Map<?, ?> wm) {
      assertThat(actual).as(path).isInstanceOf(Map.class);
      Map<String, Object> am = byStringKey((Map<?, ?>) actual);
      Map<String, Object> wmap = byStringKey(wm);
      assertThat(am.keySet()).as(path).isEqualTo(wmap.keySet());
      wmap.forEach((k, v) -> assertSameData(path + "[" + k + "]", am.get(k), v));
    } else if (written instanceof Number wn && actual instanceof Number an) {
      if (isIntegral(wn) && isIntegral(an)) {
        assertThat(an.longValue()).as(path).isEqualTo(wn.longValue());
      } else {
        assertThat(an.doubleValue()).as(path).isEqualTo(wn.doubleValue());
      }
    } else {
      assertThat(actual).as(path).isEqualTo(written);
    }
  }

  private static Schema.Field writerField(Schema writer, Schema.Field readerField) {
    Schema.Field f = writer.getField(readerField.name());
    if (f != null) {
      return f;
    }
    for (String alias : readerField.aliases()) {
      f = writer.getField(alias);
      if (f != null) {
        return f;
      }
    }
    return null;
  }

  private static boolean isIntegral(Number n) {
    return n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte;
  }

  private static byte[] bytes(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }

  private static Map<String, Object> byStringKey(Map<?, ?> m) {
    Map<String, Object> out = new TreeMap<>();
    m.forEach((k, v) -> out.put(k.toString(), v));
    return out;
  }
}
