package io.infermeter.schemas.golden;

import io.infermeter.schemas.SampleRecords;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaFormatter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * Writes the golden fixture of a NEW schema version; never touches an existing one.
 *
 * <p>Layout: {@code <dir>/<RecordName>/v<N>.avsc} (the writer schema of version N), {@code
 * v<N>.bin} (the Avro binary of {@link SampleRecords}' instance written with it, no wire-format
 * header) and {@code v<N>.json} (the same record in Avro's JSON encoding, the human-readable
 * expectation the tests decode independently). For each record type, when today's schema differs
 * from the latest fixture version (Avro schema equality: names, types, defaults, order;
 * documentation-only edits do not count), version N+1 is written from today's generated class and
 * sample; otherwise nothing is written. Files are created with {@code CREATE_NEW}, so an existing
 * version can never be overwritten.
 *
 * <p>Run after changing a schema (from the repository root):
 *
 * <pre>
 * mvn -B -ntp -o -q -pl schemas test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.infermeter.schemas.golden.GoldenFixtures \
 *     -Dexec.args=schemas/src/test/resources/golden
 * </pre>
 *
 * then review and commit the new {@code v<N>} files. Not thread-safe (a command-line tool).
 */
public final class GoldenFixtures {

  private static final Pattern VERSION = Pattern.compile("v(\\d+)\\.avsc");

  private GoldenFixtures() {}

  public static void main(String[] args) {
    Path dir = Path.of(args.length > 0 ? args[0] : "src/test/resources/golden");
    List<Path> written = writeNewVersions(dir, SampleRecords.all());
    if (written.isEmpty()) {
      System.out.println(
          "golden fixtures under " + dir.toAbsolutePath() + " are up to date; nothing written");
    } else {
      written.forEach(p -> System.out.println("wrote " + p));
    }
  }

  /**
   * Writes version N+1 of every record type whose schema is not the latest fixture version.
   *
   * @return the files written, in order
   */
  public static List<Path> writeNewVersions(
      Path dir, Map<String, ? extends SpecificRecord> samples) {
    List<Path> written = new ArrayList<>();
    samples.forEach(
        (name, record) -> {
          Schema today = record.getSchema();
          Path recordDir = dir.resolve(name);
          int latest = latestVersion(recordDir).orElse(0);
          if (latest > 0 && readSchema(recordDir.resolve("v" + latest + ".avsc")).equals(today)) {
            return;
          }
          int next = latest + 1;
          try {
            Files.createDirectories(recordDir);
            written.add(
                createNew(
                    recordDir.resolve("v" + next + ".avsc"),
                    (SchemaFormatter.format("json/pretty", today) + "\n")
                        .getBytes(StandardCharsets.UTF_8)));
            written.add(createNew(recordDir.resolve("v" + next + ".bin"), binary(record)));
            written.add(createNew(recordDir.resolve("v" + next + ".json"), json(record)));
          } catch (IOException e) {
            throw new UncheckedIOException(
                "cannot write golden fixture v" + next + " of " + name + " under " + dir, e);
          }
        });
    return written;
  }

  /**
   * The highest N of the {@code v<N>.avsc} files in {@code recordDir}; empty when there are none.
   */
  public static Optional<Integer> latestVersion(Path recordDir) {
    return versions(recordDir).stream().max(Integer::compare);
  }

  /** Every N of the {@code v<N>.avsc} files in {@code recordDir}, ascending. */
  public static List<Integer> versions(Path recordDir) {
    if (!Files.isDirectory(recordDir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(recordDir)) {
      return files
          .map(p -> VERSION.matcher(p.getFileName().toString()))
          .filter(Matcher::matches)
          .map(m -> Integer.parseInt(m.group(1)))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Schema readSchema(Path avsc) {
    try {
      return new Schema.Parser().parse(avsc.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path createNew(Path file, byte[] content) throws IOException {
    // CREATE_NEW: fails instead of overwriting a released version
    return Files.write(file, content, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
  }

  static byte[] binary(SpecificRecord record) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    new SpecificDatumWriter<SpecificRecord>(record.getSchema()).write(record, encoder);
    encoder.flush();
    return out.toByteArray();
  }

  static byte[] json(SpecificRecord record) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonEncoder encoder = EncoderFactory.get().jsonEncoder(record.getSchema(), out, true);
    new SpecificDatumWriter<SpecificRecord>(record.getSchema()).write(record, encoder);
    encoder.flush();
    out.write('\n');
    return out.toByteArray();
  }
}
