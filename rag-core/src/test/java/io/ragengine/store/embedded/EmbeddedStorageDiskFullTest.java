package io.ragengine.store.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk, for real: a child process ({@link DiskFullWriter}) writes under a file-size limit,
 * so SQLite's writes fail with EFBIG as they would with no space left, then lifts the limit.
 *
 * <p>Regression: after the first such failure, sqlite-jdbc's rollback failed (SQLite had already
 * rolled back) before it began a new transaction, so the connection was left committing each
 * statement on its own: a later failed unit was stored in part (1 row of 40 in the audit that
 * found it), and every commit and read failed with "statement is not executing" until the storage
 * was reopened, even once the disk had room again.
 */
final class EmbeddedStorageDiskFullTest {
  /** Per file, in KB: above the native library sqlite-jdbc extracts, below a few hundred units. */
  private static final int FILE_LIMIT_KB = 3000;

  @TempDir Path directory;

  @Test
  void diskFull_failedUnitsLeaveNothing_andCommitsWorkAgainOnceThereIsRoom() throws Exception {
    assumeTrue(
        Files.isExecutable(Path.of("/bin/bash")) && onPath("prlimit"),
        "needs Linux with bash and prlimit (util-linux) to limit the child's file size");
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Path output = directory.resolve("child.out");
    Path data = Files.createDirectories(directory.resolve("data"));
    Process child =
        new ProcessBuilder(
                "/bin/bash",
                "-c",
                "ulimit -S -f " + FILE_LIMIT_KB + " && exec \"$@\"",
                "bash",
                java.toString(),
                "-Xmx128m",
                "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                DiskFullWriter.class.getName(),
                data.toString())
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    boolean ended = child.waitFor(120, TimeUnit.SECONDS);
    child.destroyForcibly();
    List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
    assertTrue(ended, "child still running after 120 s: " + lines);
    assertEquals(0, child.exitValue(), String.join("\n", lines));

    int lifted = lines.indexOf("lifted");
    assertTrue(lifted > 0, "the limit was never lifted: " + lines);
    List<String> before = lines.subList(0, lifted);
    assertEquals(
        DiskFullWriter.FAILURES,
        before.stream().filter(l -> l.startsWith("failed ")).count(),
        String.join("\n", before));
    List<String> after = lines.subList(lifted + 1, lines.size());
    assertEquals(
        DiskFullWriter.AFTER,
        after.stream().filter(l -> l.startsWith("committed ")).count(),
        "commits after the disk had room again: " + after);
    assertTrue(after.getLast().startsWith("read "), after.getLast());

    try (EmbeddedStorage storage =
        EmbeddedStorage.open(EmbeddedStorageConfig.builder().directory(data).build())) {
      Map<String, Integer> rows = new HashMap<>();
      for (String key : storage.kv().keys("u")) {
        rows.merge(key.substring(0, key.indexOf('-')), 1, Integer::sum);
      }
      for (String line : lines) {
        if (!line.startsWith("committed ") && !line.startsWith("failed ")) {
          continue;
        }
        boolean committed = line.startsWith("committed ");
        String u = line.substring(line.indexOf(' ') + 1).replaceFirst(":.*", "");
        assertEquals(
            committed ? DiskFullWriter.PUTS : 0,
            rows.getOrDefault("u" + u, 0),
            "rows of unit " + u + " (" + line + ")");
        assertEquals(
            committed, storage.docStatus().get("doc-" + u).isPresent(), "status of unit " + u);
      }
    }
  }

  private static boolean onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }
}
