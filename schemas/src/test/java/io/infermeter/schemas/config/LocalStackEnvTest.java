package io.infermeter.schemas.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Unit tests of finding and reading the local stack's stack.env. */
class LocalStackEnvTest {

  @TempDir Path root;

  private Path stackEnv(Path dir, String content) throws Exception {
    Files.createDirectories(dir);
    Path file = dir.resolve("stack.env");
    Files.writeString(file, content);
    return file;
  }

  @Test
  void foundInAParentDirectoryAndOverlaidByTheEnvironment() throws Exception {
    Path file =
        stackEnv(
            root.resolve(".local-stack"),
            "# written by stack.sh\nINFERMETER_KAFKA_BOOTSTRAP=127.0.0.1:9092\n\n"
                + "INFERMETER_CLICKHOUSE_URL=jdbc:clickhouse://127.0.0.1:8123/default\n");
    Path module = Files.createDirectories(root.resolve("demo/target"));
    assertThat(LocalStackEnv.find(Map.of(), module)).contains(file);
    assertThat(
            LocalStackEnv.resolve(
                Map.of(
                    "INFERMETER_KAFKA_BOOTSTRAP",
                    "10.0.0.1:9092",
                    "INFERMETER_EMPTY",
                    " ",
                    "PATH",
                    "/bin"),
                module))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "INFERMETER_KAFKA_BOOTSTRAP",
                "10.0.0.1:9092",
                "INFERMETER_CLICKHOUSE_URL",
                "jdbc:clickhouse://127.0.0.1:8123/default"));
  }

  @Test
  void stackDirVariableWinsAndAMissingFileIsNoFile() throws Exception {
    stackEnv(root.resolve(".local-stack"), "INFERMETER_KAFKA_BOOTSTRAP=a:1\n");
    Path other = stackEnv(root.resolve("elsewhere"), "INFERMETER_KAFKA_BOOTSTRAP=b:2\n");
    assertThat(
            LocalStackEnv.find(Map.of("INFERMETER_STACK_DIR", other.getParent().toString()), root))
        .contains(other);
    assertThat(
            LocalStackEnv.find(
                Map.of("INFERMETER_STACK_DIR", root.resolve("none").toString()), root))
        .isEmpty();
    assertThat(LocalStackEnv.resolve(Map.of(), Files.createDirectories(root.resolve("x"))))
        .containsEntry("INFERMETER_KAFKA_BOOTSTRAP", "a:1");
  }
}
