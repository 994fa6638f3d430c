package io.infermeter.schemas.golden;

import static io.infermeter.schemas.golden.AvroAssertions.assertSameData;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermeter.avro.PriceUpdate;
import io.infermeter.schemas.SampleRecords;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden Avro binaries of every released schema version ({@code src/test/resources/golden}),
 * decoded with TODAY's generated classes: a schema change that breaks reading data already on a
 * topic fails here, before a registry or a consumer sees it.
 */
class GoldenFixturesTest {

  /** Surefire runs in the module directory. */
  static final Path GOLDEN = Path.of("src/test/resources/golden");

  @TempDir Path tmp;

  record Fixture(String record, int version) {
    Path dir() {
      return GOLDEN.resolve(record);
    }

    Schema writer() {
      return GoldenFixtures.readSchema(dir().resolve("v" + version + ".avsc"));
    }

    byte[] bin() {
      return read(dir().resolve("v" + version + ".bin"));
    }

    Path json() {
      return dir().resolve("v" + version + ".json");
    }

    @Override
    public String toString() {
      return record + " v" + version;
    }
  }

  static List<Fixture> fixtures() {
    List<Fixture> all = new ArrayList<>();
    for (String record : SampleRecords.all().keySet()) {
      for (int v : GoldenFixtures.versions(GOLDEN.resolve(record))) {
        all.add(new Fixture(record, v));
      }
    }
    return all;
  }

  static Stream<Arguments> everyFixture() {
    return fixtures().stream().map(Arguments::of);
  }

  static Schema today(String record) {
    return SampleRecords.all().get(record).getSchema();
  }

  @Test
  void everyRecordTypeHasAFixtureOfItsCurrentSchema() {
    for (Map.Entry<String, SpecificRecord> e : SampleRecords.all().entrySet()) {
      Path dir = GOLDEN.resolve(e.getKey());
      int latest =
          GoldenFixtures.latestVersion(dir)
              .orElseThrow(
                  () ->
                      new AssertionError(
                          "no golden fixture for "
                              + e.getKey()
                              + ": run GoldenFixtures (see its Javadoc)"));
      assertThat(GoldenFixtures.readSchema(dir.resolve("v" + latest + ".avsc")))
          .as(
              "%s changed since golden v%d: run GoldenFixtures to add v%d (never edit v%d)",
              e.getKey(), latest, latest + 1, latest)
          .isEqualTo(e.getValue().getSchema());
    }
  }

  @Test
  void versionsAreContiguousAndComplete() {
    for (String record : SampleRecords.all().keySet()) {
      List<Integer> versions = GoldenFixtures.versions(GOLDEN.resolve(record));
      for (int i = 0; i < versions.size(); i++) {
        int v = versions.get(i);
        assertThat(v).as("%s versions %s", record, versions).isEqualTo(i + 1);
        assertThat(GOLDEN.resolve(record).resolve("v" + v + ".bin")).isRegularFile();
        assertThat(GOLDEN.resolve(record).resolve("v" + v + ".json")).isRegularFile();
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("everyFixture")
  void todaysSchemaCanReadTheWriterSchema(Fixture f) {
    SchemaCompatibility.SchemaPairCompatibility result =
        SchemaCompatibility.checkReaderWriterCompatibility(today(f.record()), f.writer());

    assertThat(result.getType())
        .as("%s: %s", f, result.getResult().getIncompatibilities())
        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("everyFixture")
  void fixtureIsSelfConsistent(Fixture f) throws IOException {
    Schema writer = f.writer();
    GenericRecord fromBin = decodeGeneric(f.bin(), writer);

    assertThat(fromBin).isEqualTo(fromJson(f.json(), writer));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("everyFixture")
  void todaysClassDecodesTheFixtureToTheWrittenValues(Fixture f) throws IOException {
    Schema writer = f.writer();
    Schema reader = today(f.record());
    byte[] bin = f.bin();
    BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bin, null);

    SpecificRecord decoded =
        new SpecificDatumReader<SpecificRecord>(writer, reader).read(null, decoder);

    assertThat(decoder.isEnd()).as("every byte of %s consumed", f).isTrue();
    assertThat(decoded).isInstanceOf(SpecificData.get().getClass(reader));
    assertSameData(f.toString(), decoded, fromJson(f.json(), writer));
  }

  @Test
  void theSampleOfAVersionIsWhatItsFixtureHolds() throws IOException {
    // The latest fixture of each type was written from SampleRecords; decoding it gives the sample
    // back exactly.
    for (Map.Entry<String, SpecificRecord> e : SampleRecords.all().entrySet()) {
      Path dir = GOLDEN.resolve(e.getKey());
      int latest = GoldenFixtures.latestVersion(dir).orElseThrow();
      Schema schema = e.getValue().getSchema();
      SpecificRecord decoded =
          new SpecificDatumReader<SpecificRecord>(schema)
              .read(
                  null,
                  DecoderFactory.get()
                      .binaryDecoder(read(dir.resolve("v" + latest + ".bin")), null));
      assertThat(decoded)
          .as(
              "SampleRecords' %s no longer matches golden v%d: fixtures are frozen, change a sample only together"
                  + " with a new schema version",
              e.getKey(), latest)
          .isEqualTo(e.getValue());
    }
  }

  @Test
  void generatorWritesNothingWhenFixturesAreCurrent() throws IOException {
    Path copy = tmp.resolve("golden");
    copyTree(GOLDEN, copy);

    assertThat(GoldenFixtures.writeNewVersions(copy, SampleRecords.all())).isEmpty();
  }

  @Test
  void generatorIsDeterministic() throws IOException {
    List<Path> first = GoldenFixtures.writeNewVersions(tmp.resolve("a"), SampleRecords.all());
    List<Path> second = GoldenFixtures.writeNewVersions(tmp.resolve("b"), SampleRecords.all());

    assertThat(first).hasSize(3 * SampleRecords.all().size());
    for (int i = 0; i < first.size(); i++) {
      assertThat(Files.readAllBytes(second.get(i)))
          .as(second.get(i).toString())
          .isEqualTo(Files.readAllBytes(first.get(i)));
    }
  }

  @Test
  void generatorAddsTheNextVersionAndLeavesOlderOnesAlone() throws IOException {
    Path dir = tmp.resolve("golden").resolve("PriceUpdate");
    Files.createDirectories(dir);
    String olderSchema =
        """
        {"type":"record","name":"PriceUpdate","namespace":"io.infermeter.avro","fields":[
          {"name":"gpuType","type":"string"},{"name":"pricePerHour","type":"double"}]}""";
    Files.writeString(dir.resolve("v1.avsc"), olderSchema);
    Files.write(dir.resolve("v1.bin"), new byte[] {1, 2, 3});
    Map<String, PriceUpdate> samples = Map.of("PriceUpdate", SampleRecords.priceUpdate());

    List<Path> written = GoldenFixtures.writeNewVersions(tmp.resolve("golden"), samples);

    assertThat(written)
        .extracting(p -> p.getFileName().toString())
        .containsExactly("v2.avsc", "v2.bin", "v2.json");
    assertThat(Files.readString(dir.resolve("v1.avsc"))).isEqualTo(olderSchema);
    assertThat(Files.readAllBytes(dir.resolve("v1.bin"))).containsExactly(1, 2, 3);
    assertThat(GoldenFixtures.readSchema(dir.resolve("v2.avsc")))
        .isEqualTo(PriceUpdate.getClassSchema());
    // run again: v2 is now current
    assertThat(GoldenFixtures.writeNewVersions(tmp.resolve("golden"), samples)).isEmpty();
  }

  @Test
  void generatorRefusesToOverwriteAStrayFile() throws IOException {
    Path dir = tmp.resolve("golden").resolve("PriceUpdate");
    Files.createDirectories(dir);
    Files.write(
        dir.resolve("v1.bin"), new byte[] {9}); // a .bin without its .avsc: version 1 looks absent

    assertThatThrownBy(
            () ->
                GoldenFixtures.writeNewVersions(
                    tmp.resolve("golden"), Map.of("PriceUpdate", SampleRecords.priceUpdate())))
        .isInstanceOf(UncheckedIOException.class)
        .hasCauseInstanceOf(FileAlreadyExistsException.class);
    assertThat(Files.readAllBytes(dir.resolve("v1.bin"))).containsExactly(9);
  }

  static GenericRecord decodeGeneric(byte[] bin, Schema writer) throws IOException {
    BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bin, null);
    GenericRecord r = new GenericDatumReader<GenericRecord>(writer).read(null, decoder);
    assertThat(decoder.isEnd()).isTrue();
    return r;
  }

  static GenericRecord fromJson(Path json, Schema writer) throws IOException {
    try (InputStream in = Files.newInputStream(json)) {
      return new GenericDatumReader<GenericRecord>(writer)
          .read(null, DecoderFactory.get().jsonDecoder(writer, in));
    }
  }

  static byte[] read(Path p) {
    try {
      return Files.readAllBytes(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path p : paths.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
