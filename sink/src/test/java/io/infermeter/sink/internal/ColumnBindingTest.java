package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.avro.LatencyStats;
import io.infermeter.avro.ModelAttribution;
import io.infermeter.schemas.SampleRecords;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/**
 * Each column bound to the field it is named after: every row the mappers produce from the schemas'
 * sample records ({@code SampleRecords}, whose fields hold distinct values) is checked column by
 * column, and a column whose name is a field of the mapped record (snake_case to camelCase, with or
 * without the {@code Us} suffix the column drops) must hold that field's value. Two columns of one
 * type swapped in a mapper pass {@link TableColumnsTest} (names and kinds agree) and fail here.
 * Rows of a nested list ({@code latencies}, {@code attributions}) are checked against their element
 * first. Unit test: no ClickHouse.
 */
class ColumnBindingTest {

  private record Mapped(Table table, Object[] row, SpecificRecord top, SpecificRecord nested) {}

  private static List<Mapped> mapAll() {
    List<Mapped> out = new ArrayList<>();
    var w = SampleRecords.windowAggregate();
    Map<Table, Integer> seen = new EnumMap<>(Table.class);
    RowMappers.windowAggregate(
        w,
        1,
        2,
        (t, row) -> {
          int i = seen.merge(t, 1, Integer::sum) - 1;
          List<LatencyStats> l = w.getLatencies();
          out.add(
              new Mapped(t, row, w, t == Table.WINDOW_LATENCY && i < l.size() ? l.get(i) : null));
        });
    var e = SampleRecords.deviceWindowEnergy();
    seen.clear();
    RowMappers.energy(
        e,
        1,
        2,
        (t, row) -> {
          int i = seen.merge(t, 1, Integer::sum) - 1;
          List<ModelAttribution> a = e.getAttributions();
          boolean model = t == Table.ENERGY_ATTRIBUTION && i < a.size();
          out.add(new Mapped(t, row, e, model ? a.get(i) : null));
        });
    var b = SampleRecords.bottleneck();
    RowMappers.bottleneck(b, 1, 2, (t, row) -> out.add(new Mapped(t, row, b, null)));
    var al = SampleRecords.alert();
    RowMappers.alert(al, 1, 2, (t, row) -> out.add(new Mapped(t, row, al, null)));
    var h = SampleRecords.hardwareSample();
    RowMappers.hardware(h, 1, 2, (t, row) -> out.add(new Mapped(t, row, h, null)));
    var en = SampleRecords.engineSample();
    RowMappers.engine(en, 1, 2, (t, row) -> out.add(new Mapped(t, row, en, null)));
    var d = SampleRecords.deadLetter();
    RowMappers.deadLetter(d, 1, 2, (t, row) -> out.add(new Mapped(t, row, d, null)));
    return out;
  }

  @Test
  void everyColumnNamedAfterAFieldHoldsThatFieldsValue() {
    Map<String, String> wrong = new TreeMap<>();
    int checked = 0;
    for (Mapped m : mapAll()) {
      List<String> columns = m.table().columns();
      for (int i = 0; i < columns.size(); i++) {
        String column = columns.get(i);
        String where = m.table().tableName() + "." + column;
        Object field = NONE;
        if (m.nested() != null) {
          field = field(m.nested(), column);
        }
        if (field == NONE && (m.nested() == null || !named(m.nested().getSchema(), column))) {
          // a row past the nested list (the idle row) takes no device-level total by the name
          // of an element's field
          boolean elementField =
              m.table() == Table.ENERGY_ATTRIBUTION
                  && named(ModelAttribution.getClassSchema(), column);
          field = elementField ? NONE : field(m.top(), column);
        }
        if (field == NONE) {
          continue;
        }
        checked++;
        Object expected = normalize(field);
        Object actual = normalize(m.row()[i]);
        if (!same(expected, actual)) {
          wrong.put(where, "holds " + actual + " where the field of its name is " + expected);
        }
      }
    }
    assertThat(wrong).as("columns holding another field's value").isEmpty();
    assertThat(checked).as("columns checked against a field of their name").isGreaterThan(100);
  }

  @Test
  void aSwappedPairOfColumnsIsCaught() {
    Mapped m =
        mapAll().stream().filter(x -> x.table() == Table.WINDOW_AGGREGATES).findFirst().get();
    List<String> columns = m.table().columns();
    int ok = columns.indexOf("ok");
    int errors = columns.indexOf("errors");
    Object[] row = m.row().clone();
    Object t = row[ok];
    row[ok] = row[errors];
    row[errors] = t;
    assertThat(same(normalize(field(m.top(), "ok")), normalize(row[ok]))).isFalse();
  }

  private static final Object NONE = new Object();

  private static boolean named(Schema schema, String column) {
    String camel = camel(column);
    return schema.getField(camel) != null || schema.getField(camel + "Us") != null;
  }

  /** The value of the field {@code column} names in {@code r}, or {@link #NONE}. */
  private static Object field(SpecificRecord r, String column) {
    String camel = camel(column);
    for (String name : new String[] {camel, camel + "Us"}) {
      Schema.Field f = r.getSchema().getField(name);
      if (f != null) {
        Object v = r.get(f.pos());
        return name.endsWith("Us") && v instanceof Long us && !column.endsWith("_us")
            ? RowMappers.micros(us)
            : v;
      }
    }
    return NONE;
  }

  private static String camel(String snake) {
    StringBuilder b = new StringBuilder();
    boolean up = false;
    for (char c : snake.toCharArray()) {
      if (c == '_') {
        up = true;
      } else {
        b.append(up ? Character.toUpperCase(c) : c);
        up = false;
      }
    }
    return b.toString();
  }

  private static Object normalize(Object v) {
    if (v instanceof CharSequence || v instanceof Enum<?>) {
      return v.toString();
    }
    if (v instanceof ByteBuffer bb) {
      return bb.duplicate();
    }
    if (v instanceof Instant) {
      return v;
    }
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(x -> out.add(normalize(x)));
      return out;
    }
    if (v instanceof Map<?, ?> mp) {
      Map<String, Object> out = new TreeMap<>();
      mp.forEach((k, x) -> out.put(k.toString(), normalize(x)));
      return out;
    }
    return v;
  }

  private static boolean same(Object a, Object b) {
    return a == null ? b == null : a.equals(b);
  }
}
