package io.ragengine.store.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ragengine.store.DocStatus;
import io.ragengine.store.DocStatusRecord;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a writing process with SIGKILL 22 times and checks, after each kill, that every
 * acknowledged unit is complete, no unit is partly visible, and nothing is applied twice.
 *
 * <p>Deterministic: the child prints a line after each commit returns, and the parent kills it
 * right after reading the k-th line, k varying from 1 to 4, so the kill lands while the child is
 * building or committing the next unit. Where exactly inside the commit it lands varies with
 * scheduling, which is the point; the checks hold wherever it lands. Every other unit is {@code
 * DEFERRED} (committed without flushing the log), and must survive the kill all the same.
 */
final class EmbeddedStorageCrashTest {
  private static final int KILLS = 22;

  @TempDir Path directory;

  @Test
  void sigkill_atVariedPoints_leavesOnlyWholeCommittedUnits() throws Exception {
    int acknowledged = 0; // units the child said were committed, over all runs
    for (int run = 0; run < KILLS; run++) {
      int k = 1 + run % 4;
      acknowledged = Math.max(acknowledged, runAndKill(k, run));
      try (EmbeddedStorage storage =
          EmbeddedStorage.open(EmbeddedStorageConfig.builder().directory(directory).build())) {
        int count = Integer.parseInt(storage.kv().get("meta", "count").orElse("0"));
        assertTrue(count >= acknowledged, "lost a committed unit: " + count + " < " + acknowledged);
        check(storage, count);
      }
    }
  }

  /** Starts the child, kills it after its k-th commit line; returns the last acknowledged count. */
  private int runAndKill(int k, int run) throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Path errors = directory.resolve("child-" + run + ".err");
    Process child =
        new ProcessBuilder(
                java.toString(),
                "-Xmx128m",
                "-XX:TieredStopAtLevel=1",
                "-Xshare:auto",
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                CrashWriter.class.getName(),
                directory.toString())
            .redirectError(errors.toFile())
            .start();
    int last = 0;
    try (BufferedReader lines =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      int seen = 0;
      while (seen < k) {
        String line = lines.readLine();
        if (line == null) {
          fail("child ended early: " + Files.readString(errors));
        }
        if (line.startsWith("committed ")) {
          seen++;
          last = Integer.parseInt(line.substring("committed ".length())) + 1;
        }
      }
      child.destroyForcibly(); // SIGKILL on Unix
      assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child did not die");
    } finally {
      child.destroyForcibly();
    }
    return last;
  }

  private static void check(EmbeddedStorage storage, int count) {
    int chunks = CrashWriter.CHUNKS;
    assertEquals(count * chunks, storage.vectors().size("chunks"), "vectors");
    assertEquals(count * chunks, storage.kv().keys("chunks").size(), "chunks");
    assertEquals(count, storage.kv().keys("docs").size(), "docs");
    assertEquals(count + CrashWriter.SHARED, storage.graph().entityCount(), "entities");
    assertEquals(count * CrashWriter.SHARED, storage.graph().relationCount(), "relations");
    assertEquals(count, storage.docStatus().counts().get(DocStatus.PROCESSED), "statuses");
    List<String> expectedSources = new ArrayList<>();
    for (int doc = 0; doc < count; doc++) {
      String docId = "doc-" + doc;
      expectedSources.add(docId);
      DocStatusRecord status = storage.docStatus().get(docId).orElseThrow();
      assertEquals(chunks, status.chunkCount());
      assertTrue(storage.vectors().contains("chunks", docId + "-chunk-" + (chunks - 1)));
      assertEquals(CrashWriter.SHARED, storage.graph().degree(docId));
    }
    for (int s = 0; s < CrashWriter.SHARED; s++) {
      if (count > 0) {
        assertEquals(
            expectedSources,
            storage.graph().entity("shared-" + s).orElseThrow().sourceChunkIds(),
            "a unit applied twice or partly");
      }
    }
    String next = "doc-" + count;
    assertFalse(storage.kv().get("docs", next).isPresent(), "partial unit visible");
    assertFalse(storage.docStatus().get(next).isPresent(), "partial unit visible");
    assertFalse(storage.vectors().contains("chunks", next + "-chunk-0"), "partial unit visible");
  }
}
