package io.infermeter.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Infra's Testcontainers images are the versions the build and the local stack run: Kafka the root
 * pom's {@code kafka.version} (filtered in), ClickHouse the release of the local stack's chDB, the
 * registry the local stack's Apicurio.
 */
class ImagesTest {

  /** Surefire runs in the module directory. */
  private static final Path ROOT = Path.of("..");

  private static String first(Path file, String regex) throws IOException {
    Matcher m = Pattern.compile(regex).matcher(Files.readString(ROOT.resolve(file)));
    assertThat(m.find()).as("%s in %s", regex, file).isTrue();
    return m.group(1);
  }

  private static String tag(String image) {
    return image.substring(image.lastIndexOf(':') + 1);
  }

  @Test
  void kafkaIsTheBuildsKafkaVersion() throws IOException {
    assertThat(tag(Infra.images().get("kafka")))
        .isEqualTo(first(Path.of("pom.xml"), "<kafka\\.version>([^<]+)</kafka\\.version>"));
  }

  @Test
  void clickHouseIsTheReleaseOfTheLocalStacksChdb() throws IOException {
    String chdb = first(Path.of("deploy/local/stack.sh"), "CHDB_NPM_VERSION=\"(\\d+\\.\\d+)\\.");
    assertThat(tag(Infra.images().get("clickhouse"))).isEqualTo(chdb);
  }

  @Test
  void registryIsTheLocalStacksApicurio() throws IOException {
    assertThat(tag(Infra.images().get("registry")))
        .isEqualTo(
            first(
                Path.of("deploy/local/registry/pom.xml"),
                "<apicurio-registry\\.version>([^<]+)</apicurio-registry\\.version>"));
  }

  @Test
  void everyImageIsResolved() {
    Map<String, String> images = Infra.images();
    assertThat(images).containsOnlyKeys("kafka", "clickhouse", "registry");
    assertThat(images.values()).allSatisfy(i -> assertThat(i).doesNotContain("${").contains(":"));
  }
}
