package io.ragengine.store.embedded;

import io.ragengine.store.DocStatusRecord;
import io.ragengine.store.UnitOfWork;
import java.nio.file.Path;
import java.time.Instant;

/**
 * The child process of {@link EmbeddedStorageDiskFullTest}, started under a file-size limit so
 * that SQLite's writes fail as on a full disk. Commits units {@code u0, u1, ...} (each {@link
 * #PUTS} rows of 1 KB and a document status) until {@link #FAILURES} have failed, lifts its own
 * limit with {@code prlimit} (the disk has room again), then commits {@link #AFTER} more and
 * reads. Prints {@code committed N}, {@code failed N: message}, {@code lifted} and {@code read N}
 * (the statuses stored) as it goes.
 */
final class DiskFullWriter {
  static final int PUTS = 40;
  static final int FAILURES = 5;
  static final int AFTER = 5;

  public static void main(String[] args) throws Exception {
    Path directory = Path.of(args[0]);
    String value = "x".repeat(1024);
    try (EmbeddedStorage storage =
        EmbeddedStorage.open(
            EmbeddedStorageConfig.builder().directory(directory).jdbcThreads(1).build())) {
      int failures = 0;
      int after = -1; // units committed since the limit was lifted; -1 before
      for (int u = 0; after < AFTER; u++) {
        UnitOfWork unit = new UnitOfWork();
        for (int k = 0; k < PUTS; k++) {
          unit.put("u", "u" + u + "-" + k, value);
        }
        unit.putDocStatus(DocStatusRecord.pending("doc-" + u, Instant.EPOCH));
        try {
          storage.commit(unit);
          System.out.println("committed " + u);
        } catch (RuntimeException e) {
          failures++;
          System.out.println("failed " + u + ": " + e.getMessage());
        }
        if (after >= 0) {
          after++;
        } else if (failures == FAILURES) {
          String pid = Long.toString(ProcessHandle.current().pid());
          int exit =
              new ProcessBuilder("prlimit", "--pid", pid, "--fsize=unlimited:unlimited")
                  .inheritIO()
                  .start()
                  .waitFor();
          if (exit != 0) {
            throw new IllegalStateException("prlimit exited with " + exit);
          }
          System.out.println("lifted");
          after = 0;
        }
      }
      System.out.println("read " + storage.docStatus().counts());
    }
  }
}
